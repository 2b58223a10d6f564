"""Backups, restore and upgrades on real SQLite files, through the store and the `booth` command."""

from __future__ import annotations

import hashlib
import os
import sqlite3
import subprocess
import sys
import threading
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from alembic import command

from console.domain.clock import FixedClock
from console.site.backup import BackupService, backup_status, run_backup
from console.site.build import open_store
from console.site.config import parse_site
from console.store import migrate, visits
from console.store.backup import (
    RestoreRefused,
    list_backups,
    restore,
    take_backup,
    verify_copy,
)
from console.store.engine import make_engine, sqlite_url
from console.store.migrate import SchemaTooNew, head_revision, is_known_revision
from drivers.health import DeviceHealth, HealthState
from tests.conftest import site_text

ROOT = Path(__file__).resolve().parents[2]
T0 = datetime(2026, 3, 2, 8, 0, tzinfo=timezone.utc)


def _fill(db: Path, plates: int, start: int = 0) -> None:
    store = open_store(sqlite_url(db))
    for n in range(start, start + plates):
        store.apply(visits.record_entry, plate=f"B{n:05d}", zone="P1", lane="IN1", at=T0 + timedelta(minutes=n), currency="EUR")
    store.engine.dispose()


def _visits(db: Path) -> int:
    con = sqlite3.connect(db)
    try:
        return int(con.execute("SELECT count(*) FROM visit").fetchone()[0])
    finally:
        con.close()


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _booth(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "console.cli", *args], capture_output=True, text=True, cwd=ROOT,
                          env={**os.environ, **env}, timeout=120)


def test_a_backup_taken_while_the_lanes_write_is_consistent_and_verified(tmp_path: Path) -> None:
    db = tmp_path / "booth.sqlite3"
    _fill(db, 50)
    store = open_store(sqlite_url(db))
    stop = threading.Event()

    def write() -> None:
        n = 1000
        while not stop.is_set():
            store.apply(visits.record_entry, plate=f"W{n:05d}", zone="P1", lane="IN1", at=T0, currency="EUR")
            n += 1

    writer = threading.Thread(target=write)
    writer.start()
    try:
        backup = take_backup(db, tmp_path / "backups", T0)
    finally:
        stop.set()
        writer.join()
        store.engine.dispose()
    check = verify_copy(backup.path)
    assert check.ok and check.revision == head_revision() and check.audit_entries >= 50
    assert oct(backup.path.stat().st_mode & 0o777) == "0o600"
    assert not Path(f"{backup.path}-wal").exists()  # one self-contained file
    assert _visits(backup.path) >= 50


def test_retention_keeps_the_newest_and_the_status_says_when(tmp_path: Path) -> None:
    db = tmp_path / "booth.sqlite3"
    _fill(db, 3)
    config = parse_site(site_text(extra=f'\n[backup]\nfolder = "{tmp_path / "b"}"\nevery_hours = 6\nkeep = 2\n'), "site.toml")
    url = sqlite_url(db)
    for hours in (0, 6, 12):
        run_backup(config, url, T0 + timedelta(hours=hours))
    assert [b.taken_at for b in list_backups(tmp_path / "b")] == [T0 + timedelta(hours=6), T0 + timedelta(hours=12)]
    status = backup_status(config, url)
    assert status.last_good_at == T0 + timedelta(hours=12)
    assert not status.overdue(T0 + timedelta(hours=18))
    assert status.overdue(T0 + timedelta(hours=19))


def test_the_background_service_takes_the_backup_and_reports_its_health(tmp_path: Path) -> None:
    db = tmp_path / "booth.sqlite3"
    _fill(db, 3)
    folder = tmp_path / "usb"
    folder.mkdir()  # the service writes only into a folder that is there (a mounted disk)
    config = parse_site(site_text(extra=f'\n[backup]\nfolder = "{folder}"\nevery_hours = 1\n'), "site.toml")
    seen: list[DeviceHealth] = []
    clock = FixedClock(T0)
    service = BackupService(config, sqlite_url(db), report=lambda level, text: None, health=seen.append, clock=clock)
    service.check_once()
    assert seen[-1].state is HealthState.OK and len(list_backups(folder)) == 1
    service.check_once()  # not due: no second copy
    assert len(list_backups(folder)) == 1
    for backup in list_backups(folder):
        backup.path.unlink()
    folder.rmdir()  # the disk was unplugged
    service.check_once()
    assert seen[-1].state is HealthState.OFFLINE and "cannot be reached" in seen[-1].detail
    folder.mkdir()
    take_backup(db, folder, T0 - timedelta(hours=3))
    service.takes_backups = False  # as on PostgreSQL: the service only watches
    service.check_once()
    assert seen[-1].state is HealthState.DEGRADED and "3.0 h ago" in seen[-1].detail


def test_restore_refuses_a_copy_that_does_not_verify(tmp_path: Path) -> None:
    db = tmp_path / "booth.sqlite3"
    _fill(db, 5)
    good = take_backup(db, tmp_path / "b", T0)
    tampered = tmp_path / "tampered.sqlite3"
    tampered.write_bytes(good.path.read_bytes())
    con = sqlite3.connect(tampered)
    con.execute("UPDATE audit_entry SET actor = 'someone else' WHERE seq = 2")
    con.commit()
    con.close()
    junk = tmp_path / "junk.sqlite3"
    junk.write_bytes(b"not a database" * 100)
    before = _digest(db)
    for bad, reason in ((tampered, "entry 2 was altered"), (junk, "not a readable SQLite database")):
        with pytest.raises(RestoreRefused, match=reason):
            restore(bad, db, T0, known_revision=is_known_revision)
    assert _digest(db) == before and not (tmp_path / "replaced").exists()


def test_restore_refuses_a_database_in_use_and_keeps_the_one_it_replaces(tmp_path: Path) -> None:
    db = tmp_path / "booth.sqlite3"
    _fill(db, 5)
    good = take_backup(db, tmp_path / "b", T0)
    _fill(db, 7, start=100)  # taken after the backup: 12 visits live, 5 in the copy
    store = open_store(sqlite_url(db))
    with pytest.raises(RestoreRefused, match="in use"):
        restore(good.path, db, T0, known_revision=is_known_revision)
    store.engine.dispose()
    result = restore(good.path, db, T0, known_revision=is_known_revision)
    assert _visits(db) == 5
    kept = [p for p in result.replaced if p.suffix == ".sqlite3"]
    assert kept and _visits(kept[0]) == 12  # the replaced database, whole
    reopened = open_store(sqlite_url(db))  # the restored database works as a live one
    reopened.apply(visits.record_entry, plate="AFTER1", zone="P1", lane="IN1", at=T0, currency="EUR")
    reopened.engine.dispose()
    assert verify_copy(db).ok


def test_an_upgrade_takes_a_backup_first(tmp_path: Path) -> None:
    db = tmp_path / "booth.sqlite3"
    engine = make_engine(sqlite_url(db))
    cfg = migrate._config()
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "0005_rides")
    engine.dispose()
    before, after = migrate.upgrade(make_engine(sqlite_url(db)))
    assert (before, after) == ("0005_rides", head_revision())
    [backup] = list_backups(tmp_path / "backups")
    assert backup.label == f"before-{head_revision()}"
    assert verify_copy(backup.path).revision == "0005_rides"


def test_a_database_from_a_newer_version_is_refused_with_both_versions(tmp_path: Path) -> None:
    db = tmp_path / "booth.sqlite3"
    _fill(db, 2)
    con = sqlite3.connect(db)
    con.execute("UPDATE alembic_version SET version_num = '0042_from_the_future'")
    con.commit()
    con.close()
    before = _digest(db)
    with pytest.raises(SchemaTooNew) as caught:
        open_store(sqlite_url(db))
    message = str(caught.value)
    assert "0042_from_the_future" in message and str(head_revision()) in message and migrate.booth_version() in message
    done = _booth("migrate", "--db", sqlite_url(db), env={"BOOTH_DATA_DIR": str(tmp_path)})
    assert done.returncode == 3 and "0042_from_the_future" in done.stderr and "Traceback" not in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1
    assert _digest(db) == before


def test_backup_and_restore_commands(tmp_path: Path) -> None:
    db = tmp_path / "booth.sqlite3"
    _fill(db, 4)
    env = {"BOOTH_DATA_DIR": str(tmp_path)}
    url = sqlite_url(db)
    made = _booth("backup", "--db", url, "--to", str(tmp_path / "usb"), env=env)
    assert made.returncode == 0, made.stderr
    [backup] = list_backups(tmp_path / "usb")
    assert str(backup.path) in made.stdout
    _fill(db, 3, start=50)
    restored = _booth("restore", str(backup.path), "--db", url, env=env)
    assert restored.returncode == 0, restored.stderr
    assert "moved to" in restored.stdout and _visits(db) == 4
    for bad in (["backup", "--db", url], ["restore", str(tmp_path / "none.sqlite3"), "--db", url],
                ["restore"], ["backup", "--every", "3"], ["doctor", "--timeout", "-1"]):
        done = _booth(*bad, env=env)
        assert done.returncode == 2, (bad, done.stderr)
        assert len(done.stderr.strip().splitlines()) == 1 and "Traceback" not in done.stderr, done.stderr
