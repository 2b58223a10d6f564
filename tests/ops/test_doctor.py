"""`booth doctor` against real things: a pseudo-terminal lane controller, a missing serial
port, the network printer simulator on loopback (paper sensor), real SQLite files with
their modes, and the command in a subprocess for its table and exit code."""

from __future__ import annotations

import os
import subprocess
import sys
import tty
from pathlib import Path

from console.ops.doctor import (
    CHECKS,
    Checkup,
    Level,
    check_database,
    check_lanes,
    check_permissions,
    check_printer,
    run_checks,
)
from console.site.build import open_store
from console.site.config import parse_site
from console.store.engine import sqlite_url
from drivers.printer.simulator import NetworkPrinterSimulator, PrinterState
from tests.conftest import HOURLY_TARIFF

ROOT = Path(__file__).resolve().parents[2]


def _site_text(lanes: list[tuple[str, str, str]], printer: str = "", *, simulated: bool = False) -> str:
    text = f"""
[site]
name = "Doctor Garage"
timezone = "Europe/Berlin"
currency = "EUR"
simulated = {str(simulated).lower()}

[tariff]
file = "{HOURLY_TARIFF}"

[[zones]]
id = "P1"
capacity = 10
"""
    for lane_id, direction, gate in lanes:
        text += f'\n[[lanes]]\nid = "{lane_id}"\ndirection = "{direction}"\nzone = "P1"\ngate = "{gate}"\n'
    if printer:
        text += f'\n[printer]\nurl = "{printer}"\n'
    return text


def _checkup(text: str, tmp_path: Path) -> Checkup:
    return Checkup(config=parse_site(text, "site.toml"), data=tmp_path, timeout=1.0)


def test_lanes_real_pty_missing_port_and_simulated(tmp_path: Path) -> None:
    master, slave = os.openpty()
    tty.setraw(master)
    try:
        pty_path = os.ttyname(slave)
        checkup = _checkup(_site_text([
            ("IN1", "entry", f"{pty_path}?baud=9600"),
            ("OUT1", "exit", "/dev/ttyUSB97?baud=9600"),
            ("OUT2", "exit", "sim://?timing=fast"),
        ]), tmp_path)
        found = {f.check: f for f in check_lanes(checkup)}
    finally:
        os.close(master)
        os.close(slave)
    assert found["lane IN1"].level is Level.OK
    assert found["lane OUT1"].level is Level.FAIL and "does not exist" in found["lane OUT1"].detail and found["lane OUT1"].fix
    assert found["lane OUT2"].level is Level.INFO and "simulated" in found["lane OUT2"].detail


def test_printer_paper_sensor_and_a_printer_that_is_off(tmp_path: Path) -> None:
    lanes = [("IN1", "entry", "sim://"), ("OUT1", "exit", "sim://")]
    with NetworkPrinterSimulator() as printer:
        [ok] = check_printer(_checkup(_site_text(lanes, printer.url), tmp_path))
        printer.set_state(PrinterState.PAPER_NEAR_END)
        [low] = check_printer(_checkup(_site_text(lanes, printer.url), tmp_path))
        printer.set_state(PrinterState.PAPER_OUT)
        [out] = check_printer(_checkup(_site_text(lanes, printer.url), tmp_path))
        printer.set_state(PrinterState.OFFLINE)
        [off] = check_printer(_checkup(_site_text(lanes, printer.url), tmp_path))
    assert ok.level is Level.OK
    assert low.level is Level.WARN and "paper" in low.fix
    assert out.level is Level.FAIL and "paper" in out.detail.lower()
    assert off.level is Level.FAIL


def test_database_migrations_and_permissions(tmp_path: Path) -> None:
    text = _site_text([("IN1", "entry", "sim://"), ("OUT1", "exit", "sim://")])
    checkup = _checkup(text, tmp_path)
    db = tmp_path / "booth.sqlite3"
    checkup.database_url = sqlite_url(db)
    [absent] = check_database(checkup)
    assert absent.level is Level.INFO and not db.exists()  # the doctor creates nothing
    open_store(sqlite_url(db)).engine.dispose()
    # Opened but never run by the console: its audit chain is not sealed yet.
    assert [(f.check, f.level) for f in check_database(checkup)] == [("migrations", Level.OK), ("audit key", Level.INFO)]
    assert oct(db.stat().st_mode & 0o777) == "0o600"  # the console creates its database 0600
    tmp_path.chmod(0o755)
    found = {f.check: f for f in check_permissions(checkup)}
    assert found["data folder"].level is Level.WARN and f"chmod 700 {tmp_path}" in found["data folder"].fix
    assert found["database file"].level is Level.OK
    db.chmod(0o644)
    tmp_path.chmod(0o700)
    found = {f.check: f for f in check_permissions(checkup)}
    assert found["data folder"].level is Level.OK and found["database file"].level is Level.WARN


def test_progress_names_every_check_and_a_broken_site_file_is_a_fail(tmp_path: Path) -> None:
    site = tmp_path / "site.toml"
    site.write_text('[site]\nname = "X"\ncurrency = "EURO"\n', encoding="utf-8")
    heard: list[str] = []
    findings = run_checks(Checkup(site_file=site, data=tmp_path / "data"), heard.append)
    assert heard == [name for name, _ in CHECKS]
    assert findings[0].level is Level.FAIL and "site.currency" in findings[0].detail


def test_the_command_prints_one_table_and_fails_on_a_missing_port(tmp_path: Path) -> None:
    site = tmp_path / "site.toml"
    site.write_text(_site_text([("IN1", "entry", "sim://"), ("OUT1", "exit", "/dev/ttyUSB98")], simulated=True), encoding="utf-8")
    env = {**os.environ, "BOOTH_DATA_DIR": str(tmp_path / "data")}
    done = subprocess.run([sys.executable, "-m", "console.cli", "doctor", "--site", str(site), "--timeout", "1"],
                          capture_output=True, text=True, cwd=ROOT, env=env, timeout=120)
    assert done.returncode == 1, done.stdout + done.stderr
    lines = done.stdout.splitlines()
    assert lines[0].split() == ["STATE", "CHECK", "DETAIL"]
    assert any(line.startswith("FAIL") and "lane OUT1" in line for line in lines)
    assert "1 failed" in done.stdout and "Traceback" not in done.stderr
    site.write_text(_site_text([("IN1", "entry", "sim://"), ("OUT1", "exit", "sim://")], simulated=True), encoding="utf-8")
    ok = subprocess.run([sys.executable, "-m", "console.cli", "doctor", "--site", str(site), "--json"],
                        capture_output=True, text=True, cwd=ROOT, env=env, timeout=120)
    assert ok.returncode == 0 and '"check": "backups"' in ok.stdout


def test_simulated_devices_in_a_site_file_that_does_not_say_simulated_stop_booth_run(tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    from console.ops.doctor import check_site_file

    site = tmp_path / "site.toml"
    site.write_text(_site_text([("IN1", "entry", "/dev/ttyUSB0"), ("OUT1", "exit", "sim://")]), encoding="utf-8")
    found = check_site_file(Checkup(site_file=site, data=tmp_path))
    assert found[0].level is Level.FAIL and "lanes[1].gate" in found[0].detail and "simulated = true" in found[0].fix
    monkeypatch.setenv("BOOTH_SITE", str(tmp_path / "nowhere.toml"))
    missing = check_site_file(Checkup(site_file=None, data=tmp_path))
    assert missing[0].level is Level.FAIL and "does not start" in missing[0].detail
