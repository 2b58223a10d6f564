"""`booth report ...` and `booth audit verify`, through a real argument parser and, for the
exit codes a script relies on, a real subprocess."""

from __future__ import annotations

import argparse
import csv
import io
import json
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from console.commands.reports import EXIT_BROKEN, EXIT_INPUT, EXIT_OK, EXIT_STORE, register
from console.store.database import Store
from tests.reports.builders import Rows, utc
from tests.reports.conftest import Day
from tests.reports.pdftext import pdf_text

ROOT = Path(__file__).resolve().parents[2]

SITE = """
[site]
name = "Test Garage"
booth_id = "booth-1"
timezone = "Europe/Berlin"
currency = "EUR"

[[zones]]
id = "P1"
capacity = 50

[[lanes]]
id = "IN1"
direction = "entry"
zone = "P1"
gate = "sim://"
"""


@pytest.fixture
def site_file(tmp_path: Path) -> Path:
    path = tmp_path / "site.toml"
    path.write_text(SITE, encoding="utf-8")
    return path


def run(*argv: str) -> int:
    parser = argparse.ArgumentParser(prog="booth")
    register(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(list(argv))
    return int(args.func(args))


def db_path(db_url: str) -> str:
    return db_url.removeprefix("sqlite:///")


def test_shift_report_last_as_json(store, day: Day, db_url: str, site_file: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    assert run("report", "shift", "--last", "--format", "json", "--site", str(site_file), "--db", db_url) == EXIT_OK
    data = json.loads(capsys.readouterr().out)
    assert data["shift"]["id"] == day.s1 and data["site"] == "Test Garage"
    assert data["cash"]["expected"]["minor"] == 6550


def test_shift_report_files(store, day: Day, db_url: str, site_file: Path, tmp_path: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    out_csv, out_pdf = tmp_path / "z.csv", tmp_path / "z.pdf"
    common = ["--site", str(site_file), "--db", db_path(db_url)]  # a plain file path works too
    assert run("report", "shift", "--shift", day.s1, "--format", "csv", "--out", str(out_csv), *common) == EXIT_OK
    rows = list(csv.DictReader(io.StringIO(out_csv.read_text(encoding="utf-8"), newline="")))
    assert any(r["section"] == "payment" and r["item"] == "total" and r["amount"] == "92.40" for r in rows)
    assert run("report", "shift", "--shift", day.s1, "--format", "pdf", "--out", str(out_pdf), *common) == EXIT_OK
    assert "Test Garage" in pdf_text(out_pdf.read_bytes())
    assert run("report", "shift", "--shift", day.s2, *common) == EXIT_OK  # the open shift: X report as text
    text = capsys.readouterr().out
    assert "X REPORT (SHIFT STILL OPEN)" in text and "Opening float" in text


def test_bad_requests_change_nothing(store, day: Day, db_url: str, site_file: Path, tmp_path: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    common = ["--site", str(site_file)]
    assert run("report", "shift", "--shift", "nope", *common, "--db", db_url) == EXIT_INPUT
    assert "no shift 'nope'" in capsys.readouterr().err
    assert run("report", "shift", "--last", "--booth", "booth-7", *common, "--db", db_url) == EXIT_INPUT
    assert "no closed shift" in capsys.readouterr().err
    missing = tmp_path / "missing.sqlite3"
    assert run("report", "shift", "--last", *common, "--db", str(missing)) == EXIT_STORE
    assert "no database at" in capsys.readouterr().err
    assert not missing.exists()  # not created by asking
    blank = tmp_path / "blank.sqlite3"
    sqlite3.connect(blank).execute("create table t(a)").connection.close()
    assert run("audit", "verify", *common, "--db", str(blank)) == EXIT_STORE
    assert "not a booth database" in capsys.readouterr().err
    damaged = tmp_path / "damaged.sqlite3"
    damaged.write_bytes(b"this is not a database file " * 10)
    assert run("report", "shift", "--last", *common, "--db", str(damaged)) == EXIT_STORE
    assert "damaged" in capsys.readouterr().err
    assert damaged.read_bytes() == b"this is not a database file " * 10
    assert run("report", "manager", "--from", "2026-13-01", *common, "--db", db_url) == EXIT_INPUT
    assert "not a date" in capsys.readouterr().err
    assert run("report", "manager", "--from", "2026-03-05", "--to", "2026-03-01", *common, "--db", db_url) == EXIT_INPUT
    assert "before it starts" in capsys.readouterr().err
    assert run("report", "shift", "--last", "--out", str(tmp_path / "no" / "dir" / "z.csv"), "--format", "csv",
               *common, "--db", db_url) == EXIT_INPUT
    assert "cannot write" in capsys.readouterr().err
    bad_site = tmp_path / "bad.toml"
    bad_site.write_text("[site]\nname = 'x'\ntimezone = 'Mars/Base'\n", encoding="utf-8")
    assert run("audit", "verify", "--site", str(bad_site), "--db", db_url) == EXIT_INPUT
    assert "unknown time zone" in capsys.readouterr().err


def test_manager_report_and_shift_list(store, day: Day, db_url: str, site_file: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    common = ["--site", str(site_file), "--db", db_url]
    assert run("report", "manager", "--from", "2026-03-02", "--to", "2026-03-02", "--format", "json", *common) == EXIT_OK
    assert json.loads(capsys.readouterr().out)["payment_count"] == 10
    assert run("report", "shifts", "--booth", "booth-1", *common) == EXIT_OK
    listed = capsys.readouterr().out.splitlines()
    assert [line.split()[0] for line in listed] == [day.s2, day.s1, day.s0]


def _audit_rows(store) -> None:  # type: ignore[no-untyped-def]
    rows = Rows(store.engine)
    for minute in range(5):
        rows.audit("visit.entry", at=utc(2026, 3, 2, 8, minute), subject=f"v{minute}", detail={"plate": f"A-{minute}"})


def _tamper(store: Store, sql: str) -> None:
    """Change the audit table behind the console's back, on either database."""
    with store.engine.begin() as conn:
        conn.exec_driver_sql(sql)


def test_audit_verify_intact_then_tampered(store, db_url: str, site_file: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    _audit_rows(store)
    common = ["--site", str(site_file), "--db", db_url]
    assert run("audit", "verify", *common) == EXIT_OK
    assert "intact: 5 entries" in capsys.readouterr().out

    _tamper(store, """update audit_entry set detail = '{"plate":"B-9"}' where seq = 3""")
    assert run("audit", "verify", *common) == EXIT_BROKEN
    out = capsys.readouterr().out
    assert "BROKEN at entry 3: entry 3 was altered after it was written" in out
    assert "The 2 entries before it are intact" in out


def test_audit_verify_names_a_deleted_entry(store, db_url: str, site_file: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    _audit_rows(store)
    _tamper(store, "delete from audit_entry where seq = 4")
    assert run("audit", "verify", "--site", str(site_file), "--db", db_url) == EXIT_BROKEN
    assert "entry 4 is missing" in capsys.readouterr().out


def test_audit_verify_exit_codes_in_a_subprocess(store, db_url: str, site_file: Path) -> None:  # type: ignore[no-untyped-def]
    _audit_rows(store)

    def verify() -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "console.commands.reports", "audit", "verify", "--site", str(site_file), "--db", db_url],
            capture_output=True, text=True, cwd=ROOT, timeout=60,
        )

    ok = verify()
    assert ok.returncode == 0, ok.stderr
    _tamper(store, "update audit_entry set actor = 'mallory' where seq = 1")
    broken = verify()
    assert broken.returncode == 1
    assert "entry 1 was altered" in broken.stdout
