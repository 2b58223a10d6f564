"""The `booth` command as a user runs it, in a subprocess."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _booth(*args: str, env_extra: dict[str, str] | None = None, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, **(env_extra or {})}
    return subprocess.run([sys.executable, "-m", "console.cli", *args], capture_output=True, text=True, cwd=ROOT, env=env, timeout=timeout)


def test_help_lists_the_commands() -> None:
    out = _booth("--help").stdout
    for command in ("run", "demo", "migrate", "init"):
        assert command in out


def test_headless_demo_reports_what_the_database_holds(tmp_path: Path) -> None:
    db = tmp_path / "demo.sqlite3"
    result = _booth("demo", "--headless", "--seconds", "4", "--db", str(db), env_extra={"BOOTH_DATA_DIR": str(tmp_path)})
    assert result.returncode == 0, result.stderr
    summary = json.loads(result.stdout.strip().splitlines()[-1])
    assert summary["entries"] > 0
    assert summary["currency"] == "EUR" and summary["capacity"] == 200
    conn = sqlite3.connect(db)
    entries, exits, open_visits = conn.execute("select count(*), sum(state = 'closed'), sum(state = 'open') from visit").fetchone()
    revenue = conn.execute("select coalesce(sum(amount_minor), 0) from payment").fetchone()[0]
    assert summary["entries"] == entries
    assert summary["exits"] == exits
    assert summary["occupied"] == entries - exits == open_visits
    assert summary["revenue_minor"] == revenue


def test_lang_on_the_command_line_wins_over_the_site_language(tmp_path: Path) -> None:
    # The English demo site says `[ui] language = "en"`; the attendant asked for Chinese.
    result = _booth("--lang", "zh-CN", "demo", "--headless", "--seconds", "1", "--db", str(tmp_path / "d.sqlite3"),
                    env_extra={"BOOTH_DATA_DIR": str(tmp_path)})
    assert result.returncode == 0, result.stderr
    assert "模拟站点无界面运行" in result.stdout.splitlines()[0]


def test_init_then_migrate_then_bad_site(tmp_path: Path) -> None:
    site = tmp_path / "site.toml"
    assert _booth("init", str(site)).returncode == 0
    assert "[[lanes]]" in site.read_text()
    again = _booth("init", str(site))
    assert again.returncode != 0 and "exists" in again.stderr
    db = f"sqlite:///{tmp_path / 'm.sqlite3'}"
    migrated = _booth("migrate", "--site", str(site), "--db", db)
    assert migrated.returncode == 0 and "revision" in migrated.stdout
    site.write_text(site.read_text().replace('currency = "EUR"', 'currency = "EURO"'))
    bad = _booth("run", "--site", str(site), "--db", db)
    assert bad.returncode == 2
    assert "site.currency: unknown currency" in bad.stderr
    assert "Traceback" not in bad.stderr


def test_database_that_cannot_be_opened(tmp_path: Path) -> None:
    junk = tmp_path / "junk.sqlite3"
    junk.write_bytes(b"garbage" * 1000)
    result = _booth("demo", "--headless", "--seconds", "1", "--db", str(junk), "--keep", env_extra={"BOOTH_DATA_DIR": str(tmp_path)})
    assert result.returncode == 3
    assert "cannot open the database" in result.stderr and "Traceback" not in result.stderr
    assert junk.read_bytes() == b"garbage" * 1000


def test_user_add_from_the_command_line(tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path / 'u.sqlite3'}"
    env = {"BOOTH_DATA_DIR": str(tmp_path)}
    ok = subprocess.run([sys.executable, "-m", "console.cli", "user", "add", "Maria", "--role", "manager", "--pin-stdin", "--db", db],
                        input="258046\n", capture_output=True, text=True, cwd=ROOT, env={**os.environ, **env}, timeout=60)
    assert ok.returncode == 0 and "added Maria (manager)" in ok.stdout
    short = subprocess.run([sys.executable, "-m", "console.cli", "user", "add", "Max", "--role", "manager", "--pin-stdin", "--db", db],
                           input="2580\n", capture_output=True, text=True, cwd=ROOT, env={**os.environ, **env}, timeout=60)
    assert short.returncode == 2 and "6 to 12 digits" in short.stderr  # a manager's PIN is longer
    weak = subprocess.run([sys.executable, "-m", "console.cli", "user", "add", "Ben", "--pin-stdin", "--db", db],
                          input="1111\n", capture_output=True, text=True, cwd=ROOT, env={**os.environ, **env}, timeout=60)
    assert weak.returncode == 2 and "too easy" in weak.stderr
    conn = sqlite3.connect(tmp_path / "u.sqlite3")
    rows = conn.execute("select name, role, pin_hash like '$argon2id$%' from booth_user").fetchall()
    assert rows == [("Maria", "manager", 1)]
    conn.execute("update booth_user set locked_until = '2999-01-01 00:00:00.000000', lockouts = 3")
    conn.commit()
    unlocked = subprocess.run([sys.executable, "-m", "console.cli", "user", "unlock", "Maria", "--db", db],
                              capture_output=True, text=True, cwd=ROOT, env={**os.environ, **env}, timeout=60)
    assert unlocked.returncode == 0 and "Maria may sign in again" in unlocked.stdout
    assert conn.execute("select locked_until, lockouts from booth_user").fetchall() == [(None, 0)]
    assert conn.execute("select actor from audit_entry where action = 'user.unlocked'").fetchall() == [("booth user unlock",)]
    nobody = subprocess.run([sys.executable, "-m", "console.cli", "user", "unlock", "Nobody", "--db", db],
                            capture_output=True, text=True, cwd=ROOT, env={**os.environ, **env}, timeout=60)
    assert nobody.returncode == 2 and "no user called Nobody" in nobody.stderr and "Traceback" not in nobody.stderr


def test_rides_statement_for_a_month(tmp_path: Path) -> None:
    from datetime import datetime, timezone

    from console.domain.money import Money
    from console.domain.rides import RideKind
    from console.site.build import open_store
    from console.store.rides import NewRide, record_ride

    db = f"sqlite:///{tmp_path / 'r.sqlite3'}"
    store = open_store(db)
    for day, fee in ((3, 80), (4, 80), (5, 120)):
        at = datetime(2026, 11, day, 9, 0, tzinfo=timezone.utc)
        store.apply(record_ride, NewRide(RideKind.RIDE, 1, 7 if fee == 80 else 12, at, Money(fee, "EUR"), card="04A1", account_id="acme"), at=at)
    store.engine.dispose()
    out = subprocess.run([sys.executable, "-m", "console.cli", "rides", "statement", "04a1", "--month", "2026-11", "--json", "--db", db],
                         capture_output=True, text=True, cwd=ROOT, env={**os.environ, "BOOTH_DATA_DIR": str(tmp_path)}, timeout=60)
    assert out.returncode == 0, out.stderr
    result = json.loads(out.stdout)
    assert (result["rides"], result["total_minor"], result["account"]) == (3, 280, "acme")
    bad = subprocess.run([sys.executable, "-m", "console.cli", "rides", "statement", "04A1", "--month", "November", "--db", db],
                         capture_output=True, text=True, cwd=ROOT, env={**os.environ, "BOOTH_DATA_DIR": str(tmp_path)}, timeout=60)
    assert bad.returncode == 2 and "YYYY-MM" in bad.stderr


def test_bad_inputs_named_in_one_line_without_a_traceback(tmp_path: Path) -> None:
    """A year-9999 exit, a database path where no file is, and a PostgreSQL URL whose
    driver is missing (None in sys.modules: `import psycopg` fails as if not installed)."""
    no_driver = ("import sys, runpy; sys.modules['psycopg'] = None; "
                 "sys.argv = ['booth', 'rides', 'statement', 'C-1', '--month', '2026-11', '--db', 'postgresql://u@127.0.0.1:1/db']; "
                 "runpy.run_module('console.cli', run_name='__main__')")
    runs = {
        "outside the years": _booth("quote", "--tariff", "default.toml", "--entry", "2026-01-01T10:00", "--exit", "9999-12-31T23:59"),
        "no database file there": _booth("rides", "statement", "C-1", "--month", "2026-11", "--db", str(tmp_path / "booth.sqlite3")),
        "PostgreSQL support is not installed": subprocess.run([sys.executable, "-c", no_driver], capture_output=True, text=True, cwd=ROOT, timeout=60),
    }
    for words, result in runs.items():
        said = (result.stdout + result.stderr).strip()
        assert result.returncode != 0, said
        assert words in said and "Traceback" not in said and len(said.splitlines()) == 1, said


def test_every_command_takes_the_path_of_a_database_file_where_it_takes_a_url(tmp_path: Path) -> None:
    db = tmp_path / "booth.sqlite3"
    env = {"BOOTH_DATA_DIR": str(tmp_path), "BOOTH_CONFIG_DIR": str(tmp_path / "config")}
    assert _booth("migrate", "--db", f"sqlite:///{db}", env_extra=env).returncode == 0
    for words in (("emergency", "status"), ("rides", "statement", "C-1", "--month", "2026-11"), ("report", "manager", "--format", "json")):
        result = _booth(*words, "--db", str(db), env_extra=env)
        said = result.stdout + result.stderr
        assert result.returncode == 0 and "Traceback" not in said, (words, said)
    typo = _booth("emergency", "status", "--db", str(tmp_path / "boot.sqlite3"), env_extra=env)
    assert typo.returncode == 2 and "no database file there" in typo.stderr
    assert not (tmp_path / "boot.sqlite3").exists()  # a mistyped path is not a new, empty database


def test_run_without_a_site_file_says_how_to_make_one(tmp_path: Path) -> None:
    env = {"BOOTH_DATA_DIR": str(tmp_path), "BOOTH_CONFIG_DIR": str(tmp_path / "config")}
    result = _booth("run", env_extra=env)
    assert result.returncode == 2
    assert "no site file at" in result.stderr and "booth init" in result.stderr and "booth demo" in result.stderr
    assert "Traceback" not in result.stderr
    assert not (tmp_path / "booth.sqlite3").exists()  # nothing was simulated into a database


def test_run_refuses_the_sample_site_with_its_simulated_devices(tmp_path: Path) -> None:
    site = tmp_path / "site.toml"
    env = {"BOOTH_DATA_DIR": str(tmp_path)}
    assert _booth("init", str(site), env_extra=env).returncode == 0
    result = _booth("run", "--site", str(site), env_extra=env)
    assert result.returncode == 2
    assert "lanes[0].gate" in result.stderr and "elevator.url" in result.stderr and "charging.epiles[0].url" in result.stderr
    assert "simulated = true" in result.stderr and "Traceback" not in result.stderr
    assert not (tmp_path / "booth.sqlite3").exists()


def test_a_site_file_that_says_simulated_may_run_its_simulators(tmp_path: Path) -> None:
    import argparse

    from console.cli import _site_to_run
    from console.site.config import sample_site_text

    site = tmp_path / "site.toml"
    site.write_text(sample_site_text("en").replace("# simulated = true", "simulated = true"))
    config = _site_to_run(argparse.Namespace(site=str(site)))
    assert config.site.simulated
