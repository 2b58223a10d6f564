"""The README's key tables say what the action registry binds, and every binding of the
app and its screens comes from the registry."""

from __future__ import annotations

import re
from pathlib import Path

from console.ui.actions import ACTIONS, APP, actions_for

README = Path(__file__).resolve().parents[2] / "README.md"
PALETTE = "ctrl+p"  # Textual's own command palette key


def _table_keys(heading: str) -> set[str]:
    """Keys in the first column of the markdown table whose header starts with `heading`."""
    lines = README.read_text(encoding="utf-8").splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith(f"| {heading} |"))
    keys: set[str] = set()
    for line in lines[start + 2:]:
        if not line.startswith("|"):
            break
        cell = line.split("|")[1].strip()
        for key in re.split(r"\s*/\s*", cell):
            keys.add(key.lower())
    return keys


def _registry_keys(scope: str) -> set[str]:
    return {a.key for a in actions_for(scope)}


def test_the_booth_key_table_matches_the_registry() -> None:
    assert _table_keys("key") == _registry_keys(APP) | {PALETTE}


def test_the_exit_desk_key_table_matches_the_registry() -> None:
    assert _table_keys("exit desk key") == _registry_keys("exit-desk")


def test_every_binding_has_an_id_and_no_key_is_bound_twice_in_a_scope() -> None:
    seen: set[tuple[str, str]] = set()
    for action in ACTIONS:
        assert action.id and action.label
        assert (action.scope, action.key) not in seen, f"{action.key} bound twice in {action.scope}"
        seen.add((action.scope, action.key))
    assert len({a.id for a in ACTIONS}) == len(ACTIONS)


def test_the_palette_offers_only_what_the_role_may_do() -> None:
    from console.domain.staff import Role

    reports = next(a for a in ACTIONS if a.id == "booth.reports")
    autopay = next(a for a in ACTIONS if a.id == "booth.autopay")
    assert not reports.allowed(Role.ATTENDANT, demo=False) and reports.allowed(Role.MANAGER, demo=False)
    assert not autopay.allowed(Role.MANAGER, demo=False) and autopay.allowed(Role.MANAGER, demo=True)
    assert not any(a.allowed(None, demo=True) for a in ACTIONS)  # nobody signed in: nothing
