"""The console checks an SQLite file before it writes to it: a damaged one is refused
with the way back (a verified backup), and the file is left exactly as it was."""

from __future__ import annotations

import hashlib
from datetime import datetime, timezone
from pathlib import Path

import pytest

from console.site.build import open_store
from console.store import visits
from console.store.engine import StoreError, sqlite_url


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_a_damaged_database_is_refused_at_start_and_left_alone(tmp_path: Path) -> None:
    db = tmp_path / "booth.sqlite3"
    store = open_store(sqlite_url(db))
    at = datetime(2026, 3, 2, 8, 0, tzinfo=timezone.utc)
    for n in range(400):
        store.apply(visits.record_entry, plate=f"DMG{n}", zone="P1", lane="IN1", at=at, currency="EUR")
    store.engine.dispose()
    healthy = open_store(sqlite_url(db), integrity=True)  # a sound file opens
    healthy.engine.dispose()
    assert not Path(f"{db}-wal").exists() or Path(f"{db}-wal").stat().st_size == 0  # all of it in the file
    raw = bytearray(db.read_bytes())
    page = 4096
    pages = len(raw) // page
    assert pages > 8
    for n in range(2, pages):  # torn pages all through the file (headers of each b-tree page)
        raw[n * page: n * page + 64] = b"\xa5" * 64
    db.write_bytes(bytes(raw))
    before = _digest(db)
    with pytest.raises(StoreError, match=r"damaged .*booth restore FILE"):
        open_store(sqlite_url(db), integrity=True)
    assert _digest(db) == before
