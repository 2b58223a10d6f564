"""A database file that is gone where the booth kept its books is not silently created
again, empty: the console, `booth migrate` and every command that opens the store refuse
and name the way back (a restore), and nothing is created. A path that never held books
opens as a new database, and a fresh demo starts its books again with their companions."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import datetime, timezone
from pathlib import Path

import pytest

from console.site.build import open_store
from console.store import visits
from console.store.backup import restore, take_backup
from console.store.companions import ANCHORS, CLOSED, companion
from console.store.engine import StoreError, mark_clean_close, sqlite_url
from console.store.migrate import is_known_revision

ROOT = Path(__file__).resolve().parents[2]
AT = datetime(2026, 3, 2, 8, 0, tzinfo=timezone.utc)


def _booth(*args: str, data: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "BOOTH_DATA_DIR": str(data), "XDG_CONFIG_HOME": str(data / "cfg")}
    return subprocess.run([sys.executable, "-m", "console.cli", *args], capture_output=True, text=True, cwd=ROOT, env=env, timeout=120)


def _books(db: Path) -> None:
    store = open_store(sqlite_url(db))
    store.apply(visits.record_entry, plate="京A12345", zone="P1", lane="IN1", at=AT, currency="CNY")
    mark_clean_close(store.engine)  # as the console leaves it: a note of the clean close beside it


def test_a_removed_database_is_refused_not_created_and_a_restore_brings_it_back(tmp_path: Path) -> None:
    db = tmp_path / "booth.sqlite3"
    _books(db)
    copy = take_backup(db, tmp_path / "backups", AT).path
    assert companion(db, CLOSED).exists()
    db.unlink()
    with pytest.raises(StoreError) as refused:
        open_store(sqlite_url(db), integrity=True)
    message = str(refused.value)
    assert str(db) in message and str(companion(db, CLOSED)) in message
    assert "booth restore FILE" in message and "booth backup --status" in message
    assert not db.exists()
    with pytest.raises(StoreError):  # every opener refuses, not only the console's start
        open_store(sqlite_url(db))
    assert not db.exists()

    restore(copy, db, AT, known_revision=is_known_revision)
    store = open_store(sqlite_url(db), integrity=True)
    with store.read() as tx:
        assert visits.open_visit_for(tx, "京A12345") is not None
    store.dispose()


def test_an_empty_file_left_where_the_database_was_is_refused_too(tmp_path: Path) -> None:
    db = tmp_path / "booth.sqlite3"
    _books(db)
    companion(db, ANCHORS).write_text('{"seq": 1}\n', encoding="utf-8")
    db.write_bytes(b"")
    with pytest.raises(StoreError, match="missing"):
        open_store(sqlite_url(db))
    assert db.stat().st_size == 0


def test_a_path_that_never_held_books_opens_as_a_new_database(tmp_path: Path) -> None:
    db = tmp_path / "new.sqlite3"
    Path(f"{db}.lock").touch()  # a start that failed before SQLite made the file leaves only this
    store = open_store(sqlite_url(db))
    store.dispose()
    assert db.exists()


def test_the_console_refuses_in_the_attendants_language_and_a_fresh_demo_starts_again(tmp_path: Path) -> None:
    db = tmp_path / "demo.sqlite3"
    first = _booth("demo", "--headless", "--seconds", "2", "--db", str(db), data=tmp_path)
    assert first.returncode == 0, first.stderr
    kept = [p for p in tmp_path.iterdir() if p.name.startswith(db.name + ".") and not p.name.endswith(".lock")]
    assert kept, "the demo leaves the companions of its books beside them"
    for suffix in ("", "-wal", "-shm"):
        Path(f"{db}{suffix}").unlink(missing_ok=True)

    refused = _booth("--lang", "zh-CN", "demo", "--headless", "--keep", "--seconds", "1", "--db", str(db), data=tmp_path)
    assert refused.returncode == 3, refused.stdout + refused.stderr
    assert "数据库" in refused.stderr and "booth restore FILE" in refused.stderr
    assert "Traceback" not in refused.stderr + refused.stdout
    assert not db.exists()
    migrate = _booth("migrate", "--db", sqlite_url(db), data=tmp_path)
    assert migrate.returncode != 0 and "Traceback" not in migrate.stderr and not db.exists()

    fresh = _booth("demo", "--headless", "--seconds", "1", "--db", str(db), data=tmp_path)
    assert fresh.returncode == 0, fresh.stderr
    assert db.exists()
