"""Shared helpers for the tariff tests."""

from __future__ import annotations

import sys
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from console.domain.tariff import Tariff, parse_tariff

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
TARIFFS = REPO / "tariffs"

# naive_reference.py lives beside the tests; make it importable however pytest is run.
if str(HERE) not in sys.path:
    sys.path.insert(0, str(HERE))


def load(name: str) -> Tariff:
    """A shipped example tariff from tariffs/<name>.toml."""
    path = TARIFFS / f"{name}.toml"
    return parse_tariff(path.read_text(encoding="utf-8"), source=str(path))


def at(tz: str, text: str) -> datetime:
    """A local time "YYYY-MM-DD HH:MM" in zone `tz`, as an aware datetime."""
    return datetime.fromisoformat(text).replace(tzinfo=ZoneInfo(tz))


@pytest.fixture(scope="session")
def shipped() -> dict[str, Tariff]:
    """Every tariff file shipped in tariffs/, parsed once."""
    return {p.stem: parse_tariff(p.read_text(encoding="utf-8"), str(p))
            for p in sorted(TARIFFS.glob("*.toml"))}
