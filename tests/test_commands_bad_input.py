"""Every `booth` command given a site file it cannot use answers with a short message
naming the problem and a non-zero exit code, never a traceback: the walk covers each
command the parser knows, so a new command is walked too."""

from __future__ import annotations

import argparse
import contextlib
import io
import os
import sys
import threading
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


# -- bad arguments -------------------------------------------------------------------------
# Every command, given arguments it cannot use: wrong types, dates outside the calendar a
# booth works in (year 1, year 9999), negative or huge money, unknown plates, lanes, cards
# and piles, missing files, bytes that are not UTF-8. Each is one clear refusal, exit 2.
NOT_UTF8 = b"\xff\xfe caf\xe9 \x80".decode("utf-8", "surrogateescape")  # how Python hands such argv bytes over


R = "=refused"  # a case that starts with it expects exit 1


def _bad_arguments(tmp: Path) -> dict[str, list[list[str]]]:
    """For each command (as `booth --help` names it), argument lists it must refuse. `{db}`
    and `{site}` stand for a working database and site file, `{missing}` for a path that
    is not there, `{garbage}` for a file of bytes that are not UTF-8."""
    return {
        "run": [["--db", "no-scheme.sqlite3"], ["--db", "mysql://host/db"], ["--site", "{garbage}"]],
        "demo": [["--headless", "--seconds", "-1"], ["--headless", "--seconds", "nan"], ["--headless", "--seconds", "1e400"],
                 ["--headless", "--speed", "0"], ["--headless", "--speed", "-2"], ["--headless", "--seconds", "x"],
                 ["--headless", "--locale", "xx_QQ"]],
        "migrate": [["--db", "nope"], ["--site", "{garbage}"]],
        "init": [[str(tmp)], ["x.toml", "--locale", "klingon"], [NOT_UTF8 + "/site.toml"]],
        "user add": [["", "--role", "attendant", "--pin-stdin"], ["x" * 100_000, "--pin-stdin"], ["bob", "--role", "owner"],
                     [NOT_UTF8, "--pin-stdin"]],
        "user unlock": [["nobody-here"], [NOT_UTF8]],
        "rides statement": [["C-1", "--month", "2026-13"], ["C-1", "--month", "0001-01"], ["C-1", "--month", "9999-12"],
                            ["C-1", "--month", "soon"], ["C-1", "--month", "9" * 400], [NOT_UTF8, "--month", "2026-11"]],
        "quote": [["--tariff", "{tariff}", "--entry", "2026-01-01T10:00", "--exit", "9999-12-31T23:59"],
                  ["--tariff", "{tariff}", "--entry", "0001-01-01T00:00", "--exit", "2026-01-01T10:00"],
                  ["--tariff", "{tariff}", "--entry", "2026-01-02T10:00", "--exit", "2026-01-01T10:00"],
                  ["--tariff", "{tariff}", "--entry", "yesterday", "--exit", "2026-01-01T10:00"],
                  ["--tariff", "{tariff}", "--entry", "2026-01-01T10:00", "--exit", "2026-01-01T12:00", "--previous-paid", "-5"],
                  ["--tariff", "{tariff}", "--entry", "2026-01-01T10:00", "--exit", "2026-01-01T12:00", "--previous-paid", "1e400"],
                  ["--tariff", "{tariff}", "--entry", "2026-01-01T10:00", "--exit", "2026-01-01T12:00", "--class", "spaceship"],
                  ["--tariff", "{tariff}", "--entry", "2026-01-01T10:00", "--exit", "2026-01-01T12:00", "--validation", "no-such-stamp"],
                  ["--tariff", "{tariff}", "--entry", "2026-01-01T10:00", "--exit", "2026-01-01T12:00", "--paid-until", "0001-01-01T00:00"],
                  ["--tariff", "{missing}", "--entry", "2026-01-01T10:00", "--exit", "2026-01-01T12:00"],
                  ["--tariff", "{garbage}", "--entry", "2026-01-01T10:00", "--exit", "2026-01-01T12:00"],
                  ["--tariff", "{tariff}", "--entry", NOT_UTF8, "--exit", "2026-01-01T12:00"]],
        "tariff check": [[R, "{missing}"], [R, "{garbage}"], [R, str(tmp)]],
        "report shift": [["--shift", "no-such-shift"], ["--booth", NOT_UTF8], ["--last", "--out", "{missing}/deeper/z.txt"],
                         ["--last", "--format", "pdf", "--font", "{missing}"]],
        "report shifts": [["--limit", "-1"], ["--limit", "9" * 40], ["--limit", "x"]],
        "report manager": [["--from", "9999-12-31"], ["--from", "0001-01-01"], ["--from", "x"],
                           ["--from", "2026-02-01", "--to", "2026-01-01"], ["--out", "{missing}/deeper/m.csv"]],
        "audit verify": [["--anchor", "not-an-anchor"], ["--anchors", "{garbage}"]],  # a missing file: no anchors
        "audit key show": [["--db", "nope"]],
        "audit key export": [["--db", "nope"]],
        "audit key import": [["--db", "nope"]],
        "cloud serve": [["--port", "-1"], ["--port", "70000"], ["--db", "nope"], ["--tls-cert", "{missing}", "--tls-key", "{missing}"],
                        ["--plate-regions", "atlantis"], ["--smtp-port", "99999"]],
        "cloud login": [["--url", "not a url"], ["--url", "ftp://example.org"], ["--site-file", "{missing}"]],
        "cloud logout": [["--url", "not a url"], ["--site-file", "{missing}"]],
        "cloud refused": [["--limit", "-1"], ["--limit", "x"]],
        "cloud admin add-site": [["S1", "--lat", "91"], ["S1", "--lat", "nan"], ["S1", "--lon", "200"], ["S1", "--currency", "EURO"],
                                 ["", "--name", "x"], ["S1", "--db", "nope"]],
        "cloud admin tariff": [["S1", "{missing}"], ["S1", "{garbage}"]],
        "cloud admin members": [["S1", "{missing}"], ["S1", "{garbage}"]],
        "cloud admin accounts": [["S1", "{missing}"], ["S1", "{garbage}"]],
        "cloud admin books": [["NO-SUCH-SITE"], ["S1", "--db", "nope"]],
        "cloud admin building": [["NO-SUCH-SITE", "B1"], ["S1", "B1", "--cars", "-1"], ["S1", "B1", "--cars", "lots"]],
        "cloud admin franchise": [["F1", "--webhook", "not a url"]],
        "cloud admin purge": [["--db", "nope"]],
        "cloud user add": [["mia", "--role", "tenant", "--grant", "nonsense"], ["mia", "--role", "tenant", "--email", "not-an-email"],
                           ["", "--role", "tenant"]],
        "cloud user list": [["--db", "nope"]],
        "cloud user disable": [["nobody-here"]],
        "doctor": [["--timeout", "-1"], ["--timeout", "nan"], ["--timeout", "x"]],
        "backup": [["--to", "{garbage}"], ["--db", "nope"]],
        "restore": [["{missing}"], [R, "{garbage}"]],
        "charging bind": [[R, "not-a-qr", "--account", "A-1"]],
        "charging block": [[R, "NO-SUCH-CARD", "--reason", "lost"], [R, "C-1", "--reason", ""]],
        "charging top-up": [[R, "A-1", "-5"], [R, "A-1", "five"], [R, "A-1", "1e30"], [R, "A-1", "5.001"], [R, "NO-SUCH-ACCOUNT", "5"],
                            [R, "A-1", "nan"]],
        "charging usage": [[R, "--card", "NO-SUCH-CARD"], ["--account", NOT_UTF8]],
        "charging authorize": [[R, "NO-SUCH-CARD", "P1"], [R, "C-1", "NO-SUCH-PILE"]],
        "charging qr": [[R, "NO-SUCH-PILE", "1"], ["P1", "-1"], ["P1", "0"], ["P1", "99999999999999999999"]],
        "charging piles": [[R, "NO-SUCH-CARD"]],
        "charging bind-code": [[R, "not-a-qr", "--account", "A-1"], [R, "not-a-qr", "--account", "A-1", "--hours", "-1"],
                               ["not-a-qr", "--account", "A-1", "--hours", "x"]],
        "charging pay": [[R, "A-1", "-5"], [R, "A-1", "five"], [R, "A-1", "1e30"], [R, "NO-SUCH-ACCOUNT", "5"], [R, "A-1", "nan"]],
        "charging pin": [[R, "NO-SUCH-CARD"], [NOT_UTF8]],
        "cloud admin unlock-card": [["NO-SUCH-SITE", "C-1"], ["S1", "C-1", "--db", "nope"]],
        "emergency status": [["--db", "nope"], ["--site", "{garbage}"]],
        "emergency merge": [["--db", "nope"], ["--site", "{garbage}"]],
        "emergency conflicts": [["--db", "nope"], ["--site", "{garbage}"]],
        "emergency resolve": [[R, "no-such-conflict", "--note", "checked"], ["no-such-conflict", "--note", ""], [NOT_UTF8, "--note", "x"]],
    }


# Commands whose own contract answers some bad input with another code than 2 (tested
# elsewhere; the walk still checks that they answer in a few clear lines):
# - `tariff check` is a checker: a file it cannot use is a finding (exit 1), like `doctor`;
# - `booth charging` says "refused" with exit 1 (tests/charging/test_charging_cli.py);
# - `restore` refuses a file that does not verify as a backup with exit 1;
# - `emergency resolve` of an id that names no open conflict says so with exit 1, like
#   `emergency conflicts` while any is open;
# - `--db` naming no usable database is exit 2 or 3 (3: the database cannot be used).


def _every_command() -> dict[str, argparse.ArgumentParser]:
    return {" ".join(path): parser for path, parser in _leaves(cli.build_parser())}


@pytest.fixture(scope="module")
def workplace(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """A site file, its migrated database, a cloud database, a tariff and a garbage file."""
    tmp = tmp_path_factory.mktemp("bad-arguments")
    os.environ["BOOTH_DATA_DIR"] = str(tmp / "data")
    site = tmp / "site.toml"
    garbage = tmp / "garbage.toml"
    garbage.write_bytes(b"\xff\xfe\x00[site\x80\x81 name = \xc3\x28\n" * 20)
    place = {"site": str(site), "db": f"sqlite:///{tmp / 'booth.sqlite3'}", "cloud_db": f"sqlite:///{tmp / 'cloud.sqlite3'}",
             "tariff": str(Path(__file__).resolve().parent / "fixtures" / "hourly.toml"), "missing": str(tmp / "not-there"),
             "garbage": str(garbage), "tmp": str(tmp)}
    assert _run(["init", str(site)])[0] == 0
    assert _run(["migrate", "--site", str(site), "--db", place["db"]])[0] == 0
    return place


def _run_guarded(words: list[str], seconds: float = 60.0) -> tuple[int | None, str]:
    """`booth WORDS` in this process, its output written as a terminal would take it
    (strict UTF-8: a message that cannot be printed is a crash too), stdin empty. None
    when it has not answered within `seconds` (it did not refuse: it ran)."""
    out = io.BytesIO()
    result: dict[str, object] = {}

    def run() -> None:
        stream = io.TextIOWrapper(out, encoding="utf-8", errors="strict", write_through=True)
        stdin = io.TextIOWrapper(io.BytesIO(b""), encoding="utf-8")
        old_stdin = sys.stdin
        sys.stdin = stdin
        try:
            with contextlib.redirect_stdout(stream), contextlib.redirect_stderr(stream):
                try:
                    result["code"] = cli.main(words)
                except SystemExit as exit_:
                    result["code"] = int(exit_.code or 0) if not isinstance(exit_.code, str) else 2
                except BaseException as exc:  # a crash: shown as the traceback a user would see
                    import traceback

                    result["code"] = "crash"
                    stream.write("Traceback\n" + "".join(traceback.format_exception(exc))[-1500:])
        finally:
            sys.stdin = old_stdin
            stream.flush()
            stream.detach()  # closing the wrapper would close `out` before it is read

    worker = threading.Thread(target=run, daemon=True)
    worker.start()
    worker.join(seconds)
    said = out.getvalue().decode("utf-8", "replace")
    if worker.is_alive():
        return None, said
    code = result.get("code")
    return (code if isinstance(code, int) else -1), said


def _fill(word: str, workplace: dict[str, str]) -> str:
    for key, value in workplace.items():
        word = word.replace("{" + key + "}", value)
    return word.replace(_PLACE, workplace["tmp"])


_PLACE = "/nowhere/bad-arguments"


def _cases() -> list[tuple[str, list[str]]]:
    return [(name, case) for name, cases in _bad_arguments(Path(_PLACE)).items() for case in cases]


def test_every_command_has_bad_arguments_to_try() -> None:
    """A new command joins the walk: it needs its own bad arguments here."""
    assert set(_bad_arguments(Path(_PLACE))) == set(_every_command())


@pytest.mark.parametrize(("name", "case"), _cases(), ids=[f"{n}:{i}" for n, cs in _bad_arguments(Path(_PLACE)).items() for i in range(len(cs))])
def test_a_bad_argument_is_one_clear_refusal(name: str, case: list[str], workplace: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(workplace["tmp"])
    parser = _every_command()[name]
    options = {s for a in parser._actions for s in a.option_strings}
    refused = case[:1] == [R]
    words = [_fill(w, workplace) for w in case[refused:]]
    if "--site" in options and "--site" not in words and name != "demo":  # the demo brings its own site
        words += ["--site", workplace["site"]]
    if "--db" in options and "--db" not in words:
        words += ["--db", workplace["cloud_db" if name.startswith("cloud ") else "db"]]
    code, said = _run_guarded([*name.split(), *words])
    shown = f"booth {name} {' '.join(case)!r}: exit {code}\n{said}"
    assert code is not None, f"{shown}\n(it did not refuse: it ran)"
    assert "Traceback" not in said, shown
    expected = {2, 3} if "nope" in words else {1} if refused else {2}
    assert code in expected, shown
    lines = said.strip().splitlines()
    assert lines and len(lines) <= 8, shown


def test_a_fault_of_the_program_is_one_line_and_its_traceback_goes_to_the_log(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The last net: a command that fails for a reason nobody foresaw says so in one line
    (exit 70) and names the log file, where the traceback is."""
    monkeypatch.setenv("BOOTH_DATA_DIR", str(tmp_path / "data"))

    def broken(args: argparse.Namespace) -> int:
        raise RuntimeError("a fault nobody foresaw")

    monkeypatch.setattr(cli, "cmd_init", broken)
    code, said = _run_guarded(["init", str(tmp_path / "site.toml")])
    assert code == 70 and "Traceback" not in said and len(said.strip().splitlines()) == 1, said
    assert "RuntimeError" in said and "booth.log" in said, said
    log = next((tmp_path / "data").rglob("booth.log"))
    assert "Traceback" in log.read_text(encoding="utf-8") and "a fault nobody foresaw" in log.read_text(encoding="utf-8")
