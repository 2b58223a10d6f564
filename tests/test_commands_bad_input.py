"""Every `booth` command given a site file it cannot use answers with a short message
naming the problem and a non-zero exit code, never a traceback: the walk covers each
command the parser knows, so a new command is walked too."""

from __future__ import annotations

import argparse
import contextlib
import io
import os
from pathlib import Path

import pytest

from console import cli


def _leaves(parser: argparse.ArgumentParser, path: tuple[str, ...] = ()) -> list[tuple[tuple[str, ...], argparse.ArgumentParser]]:
    found: list[tuple[tuple[str, ...], argparse.ArgumentParser]] = []
    subs = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
    if not subs:
        return [(path, parser)]
    for action in subs:
        for name, child in action.choices.items():
            found += _leaves(child, (*path, name))
    return found


def _with_site_option() -> list[tuple[tuple[str, ...], list[str]]]:
    """Each command that reads a site file, with dummy values for its positionals."""
    walked = []
    for path, parser in _leaves(cli.build_parser()):
        options = {s for a in parser._actions for s in a.option_strings}
        if "--site" not in options:
            continue
        positionals = ["x" for a in parser._actions if not a.option_strings and a.nargs not in ("?", "*") and not isinstance(a, argparse._SubParsersAction)]
        required = []
        for action in parser._actions:
            if action.option_strings and action.required:
                required += [action.option_strings[0], "x"]
        walked.append((path, [*positionals, *required]))
    return walked


COMMANDS = _with_site_option()


def _run(words: list[str]) -> tuple[int, str]:
    out = io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(out):
        try:
            code = cli.main(words)
        except SystemExit as exit_:  # argparse's own refusals
            code = int(exit_.code or 0)
    return code, out.getvalue()


def test_the_walk_finds_the_commands() -> None:
    names = {" ".join(path) for path, _ in COMMANDS}
    assert {"run", "demo", "doctor", "audit verify", "report shift", "user add"} <= names, names
    assert len(COMMANDS) >= 15


@pytest.mark.parametrize(("path", "extra"), COMMANDS, ids=[" ".join(p) for p, _ in COMMANDS])
def test_a_broken_or_missing_site_file_is_one_clear_refusal(path: tuple[str, ...], extra: list[str], tmp_path: Path,
                                                             monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)  # a command that writes something writes it here
    monkeypatch.setenv("BOOTH_DATA_DIR", str(tmp_path / "data"))
    broken = tmp_path / "broken.toml"
    broken.write_text('[site\nname = "no closing bracket"\n', encoding="utf-8")
    wrong = tmp_path / "wrong.toml"
    wrong.write_text('[site]\nname = "X"\ncurrency = "EURO"\n', encoding="utf-8")
    for site in (broken, wrong, tmp_path / "missing.toml"):
        code, said = _run([*path, *extra, "--site", str(site)])
        # Bad input is exit 2; the doctor reports it as a FAIL finding (exit 1).
        assert code == (1 if path == ("doctor",) else 2), f"{' '.join(path)} --site {site.name}: exit {code}\n{said}"
        assert site.name in said or "required" in said, f"{' '.join(path)} does not name {site.name}:\n{said}"
        assert "Traceback" not in said and len(said.strip().splitlines()) <= 8, f"{' '.join(path)} --site {site.name}:\n{said}"
        assert said.strip(), f"{' '.join(path)} --site {site.name} said nothing"
    assert not any(p.suffix == ".sqlite3" for p in tmp_path.rglob("*")), "a refused command created a database"
    assert os.getcwd() == str(tmp_path)
