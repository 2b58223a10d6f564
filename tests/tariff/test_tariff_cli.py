"""`booth quote` and `booth tariff check`, run as a real process and through register()."""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import REPO

from console.commands import tariff as tariff_cli


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "console.commands.tariff", *args], cwd=REPO,
                          capture_output=True, text=True, timeout=60)


def test_quote_json() -> None:
    done = run("quote", "--tariff", "tariffs/default.toml", "--entry", "2026-03-02T18:30",
               "--exit", "2026-03-03T09:00", "--json")
    assert done.returncode == 0, done.stderr
    data = json.loads(done.stdout)
    assert data["total_minor"] == 1500
    assert data["currency"] == "EUR"
    assert data["tariff_id"] == "default@1"
    assert [i["amount_minor"] for i in data["items"]] == [1000, 1100, -600]
    assert all(isinstance(i["label"], str) and i["label"] for i in data["items"])
    assert data["entry"] == "2026-03-02T18:30:00+01:00"


def test_quote_for_people() -> None:
    done = run("quote", "--tariff", "tariffs/mall.toml", "--entry", "2026-03-03T10:00",
               "--exit", "2026-03-03T11:45", "--validation", "ALDI", "--validation", "CINEMA")
    assert done.returncode == 0, done.stderr
    out = done.stdout
    assert "Entry  Tue 2026-03-03 10:00" in out
    assert "stay 1 h 45 min" in out
    assert "Supermarket stamp (ALDI): 30 min free" in out
    assert out.rstrip().splitlines()[-1].split() == ["Total", "EUR", "0.80"]


def test_quote_options() -> None:
    done = run("quote", "--tariff", "tariffs/default.toml", "--entry", "2026-03-02T10:35",
               "--exit", "2026-03-02T11:20", "--previous-entry", "2026-03-02T09:00",
               "--previous-exit", "2026-03-02T10:30", "--previous-paid", "5.00", "--json")
    assert json.loads(done.stdout)["total_minor"] == 250
    done = run("quote", "--tariff", "tariffs/default.toml", "--exit", "2026-03-02T11:20",
               "--lost-ticket", "--class", "motorcycle", "--json")
    assert json.loads(done.stdout)["total_minor"] == 1000
    done = run("quote", "--tariff", "tariffs/residential.toml", "--entry", "2026-03-03T08:00Z",
               "--exit", "2026-03-03T15:00Z", "--member", "resident-p2", "--zone", "P2", "--json")
    assert json.loads(done.stdout)["total_minor"] == 0
    done = run("quote", "--tariff", "tariffs/default.toml", "--entry", "2026-03-02T09:00",
               "--exit", "2026-03-02T12:05", "--paid-until", "2026-03-02T11:55", "--json")
    assert json.loads(done.stdout)["total_minor"] == 0


@pytest.mark.parametrize(("args", "message"), [
    (["--entry", "yesterday", "--exit", "2026-03-02T10:00"], "is not an ISO 8601 time"),
    (["--entry", "2026-03-02T10:00", "--exit", "2026-03-02T09:00"], "is before entry"),
    (["--entry", "2026-03-02T10:00", "--exit", "2026-03-02T11:00", "--class", "tank"],
     "unknown vehicle class 'tank'"),
    (["--entry", "2026-03-02T10:00", "--exit", "2026-03-02T11:00", "--validation", "X"],
     "unknown validation code 'X'"),
])
def test_quote_refuses_bad_input(args: list[str], message: str) -> None:
    done = run("quote", "--tariff", "tariffs/default.toml", *args)
    assert done.returncode == 2
    assert message in done.stderr
    assert done.stdout == ""


def test_check_good_files() -> None:
    files = sorted(str(p.relative_to(REPO)) for p in (REPO / "tariffs").glob("*.toml"))
    done = run("tariff", "check", *files)
    assert done.returncode == 0, done.stderr
    assert len(done.stdout.splitlines()) == len(files)
    assert "tariffs/default.toml: OK default@1" in done.stdout


def test_check_lists_every_problem(tmp_path: Path) -> None:
    bad = tmp_path / "bad.toml"
    text = (REPO / "tariffs" / "default.toml").read_text()
    bad.write_text(text.replace('"EUR"', '"EURO"').replace('to = "07:00"', 'to = "06:00"')
                   .replace('price = "1.00"', 'price = "-1.00"'))
    done = run("tariff", "check", str(bad))
    assert done.returncode == 1
    lines = done.stderr.splitlines()
    assert any(f"{bad}: tariff.currency: unknown currency 'EURO'" in line for line in lines)
    assert any(f"{bad}: windows: no window covers 06:00-07:00 on Mondays" in line for line in lines)
    assert any(f"{bad}: classes.car.rates.night.price: must not be negative" in line for line in lines)
    assert lines[-1].endswith("problems")


def test_check_bad_toml_and_missing_file(tmp_path: Path) -> None:
    bad = tmp_path / "broken.toml"
    bad.write_text("[tariff\nid = 1\n")
    done = run("tariff", "check", str(bad), str(tmp_path / "missing.toml"))
    assert done.returncode == 1
    assert "not valid TOML" in done.stderr
    assert "missing.toml: cannot read" in done.stderr


def test_register_into_another_parser(capsys: pytest.CaptureFixture[str]) -> None:
    parser = argparse.ArgumentParser(prog="booth")
    sub = parser.add_subparsers(dest="command")
    tariff_cli.register(sub)
    args = parser.parse_args(["quote", "--tariff", str(REPO / "tariffs" / "city_garage.toml"),
                              "--entry", "2026-03-03T07:30", "--exit", "2026-03-03T18:00", "--json"])
    assert args.func(args) == 0
    assert json.loads(capsys.readouterr().out)["total_minor"] == 1000
    args = parser.parse_args(["tariff", "check", str(REPO / "tariffs" / "airport.toml")])
    assert args.func(args) == 0
