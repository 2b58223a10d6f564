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


@pytest.mark.parametrize(("args", "message"), [
    (["--entry", "0001-01-01T10:00", "--exit", "2026-03-02T10:00"], "outside the years"),
    (["--entry", "2026-03-02T10:00", "--exit", "9999-12-31T23:59"], "outside the years"),
    (["--entry", "2026-03-02T10:00", "--exit", "9999-12-31T23:59+14:00"], "outside the years"),
    (["--entry", "2026-03-02T10:00", "--exit", "2038-03-02T10:00"], "longer than the ten years"),
    (["--entry", "2025-06-01T10:00", "--exit", "2026-03-02T10:00"],
     "no version of tariff 'default' is in force at 2025-06-01T10:00:00+02:00"),
    (["--entry", "2026-03-02T10:00", "--exit", "2026-03-02T11:00", "--paid-until",
      "9999-01-01T00:00"], "outside the years"),
])
def test_quote_refuses_out_of_range_dates_in_one_line(args: list[str], message: str) -> None:
    done = run("quote", "--tariff", "tariffs/default.toml", *args)
    assert done.returncode == 2, done.stderr
    assert message in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1, done.stderr
    assert "Traceback" not in done.stderr and done.stdout == ""


def test_quote_uses_the_version_in_force_at_entry(tmp_path: Path) -> None:
    v1 = (REPO / "tariffs" / "default.toml").read_text()
    v2 = (v1.replace("version = 1", "version = 2")
          .replace("effective_from = 2026-01-01T00:00:00", "effective_from = 2026-04-01T00:00:00")
          .replace('unit = "1h"\nprice = "2.50"', 'unit = "1h"\nprice = "3.00"', 1))
    (tmp_path / "v2.toml").write_text(v2)
    both = ["--tariff", "tariffs/default.toml", "--tariff", str(tmp_path / "v2.toml")]
    done = run("quote", *both, "--entry", "2026-03-31T22:00", "--exit", "2026-04-01T12:00",
               "--json")
    data = json.loads(done.stdout)
    assert data["tariff_id"] == "default@1"  # entered before version 2 took effect
    done = run("quote", *both, "--entry", "2026-04-02T10:00", "--exit", "2026-04-02T12:00",
               "--json")
    data = json.loads(done.stdout)
    assert (data["tariff_id"], data["total_minor"]) == ("default@2", 600)
    done = run("quote", "--tariff", str(tmp_path / "v2.toml"), "--entry", "2026-03-02T10:00",
               "--exit", "2026-03-02T12:00")
    assert done.returncode == 2 and "no version of tariff 'default' is in force" in done.stderr


def test_quote_shows_tax_and_counted_lines(tmp_path: Path) -> None:
    text = (REPO / "tariffs" / "hospital.toml").read_text().replace(
        "[rules]", '[tax]\nrates.vat = { label = "VAT", percent = "20" }\n\n[rules]', 1)
    (tmp_path / "h.toml").write_text(text)
    done = run("quote", "--tariff", str(tmp_path / "h.toml"), "--entry", "2026-04-07T09:00",
               "--exit", "2026-05-07T09:00")
    assert done.returncode == 0, done.stderr
    assert "Parking (0 h-720 h): 30 x up to 24 h @ 12.00" in done.stdout
    assert "VAT 20 %: net 300.00, tax 60.00, gross 360.00" in done.stdout
    done = run("quote", "--tariff", str(tmp_path / "h.toml"), "--entry", "2026-04-07T09:00",
               "--exit", "2026-05-07T09:00", "--json")
    data = json.loads(done.stdout)
    assert data["items"] == [{"label": "Parking (0 h-720 h): 30 x up to 24 h @ 12.00",
                              "amount_minor": 36000, "quantity": 30}]
    assert data["taxes"][0]["tax_minor"] == 6000
