"""A start reads every page of the SQLite file (quick_check) unless the console closed it
cleanly and nothing touched it since: a year of visits is then not read again at every start,
and any write, crash or damage after the close still means the full check (real files)."""

from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path

import pytest

from console.site.build import build_site, open_store
from console.store import visits
from console.store.engine import StoreError, check_integrity, make_engine, sqlite_url
from drivers.gate.simworld import Traffic
from tests.conftest import small_site

AT = datetime(2026, 3, 2, 8, 0, tzinfo=timezone.utc)
pytestmark = pytest.mark.sqlite_only


def _filled(db: Path, n: int = 300) -> None:
    store = open_store(sqlite_url(db))
    for i in range(n):
        store.apply(visits.record_entry, plate=f"CC{i}", zone="P1", lane="IN1", at=AT, currency="EUR")
    store.close_cleanly()


def _check(db: Path) -> str:
    engine = make_engine(sqlite_url(db))
    try:
        return check_integrity(engine)
    finally:
        engine.dispose()


def test_a_file_left_by_a_clean_close_is_not_read_again(tmp_path: Path) -> None:
    db = tmp_path / "booth.sqlite3"
    _filled(db)
    assert (tmp_path / "booth.sqlite3.closed").exists()
    assert _check(db) == "unchanged"
    # The note is gone once a start used it: a run that then crashes leaves none.
    assert not (tmp_path / "booth.sqlite3.closed").exists()
    assert _check(db) == "checked"


def test_a_write_after_the_close_means_a_full_check(tmp_path: Path) -> None:
    db = tmp_path / "booth.sqlite3"
    _filled(db)
    other = open_store(sqlite_url(db))  # another program (booth user add, a report) writes
    other.apply(visits.record_entry, plate="LATE1", zone="P1", lane="IN1", at=AT, currency="EUR")
    other.dispose()  # and closes without the console's note
    assert (tmp_path / "booth.sqlite3.closed").exists()  # the old note is still there...
    assert _check(db) == "checked"  # ...and does not match the file any more


def test_damage_after_a_clean_close_is_still_refused(tmp_path: Path) -> None:
    db = tmp_path / "booth.sqlite3"
    _filled(db, 400)
    raw = bytearray(db.read_bytes())
    page = 4096
    for n in range(2, len(raw) // page):  # torn page headers all through the file
        raw[n * page: n * page + 64] = b"\xa5" * 64
    db.write_bytes(bytes(raw))
    with pytest.raises(StoreError, match=r"damaged"):
        open_store(sqlite_url(db), integrity=True)


def test_a_site_that_stops_closes_cleanly(tmp_path: Path) -> None:
    db = tmp_path / "booth.sqlite3"
    for _run in range(2):  # each start finds the file as the last stop left it
        store = open_store(sqlite_url(db), integrity=True)
        site = build_site(small_site(), store, traffic=Traffic(seed=1))
        site.start()
        site.lanes.gates["IN1"].arrive("AB1234C")  # type: ignore[attr-defined]
        site.stop()
        assert (tmp_path / "booth.sqlite3.closed").exists()
    assert _check(db) == "unchanged"
    # A start that then crashed (the note used, none written): the next start reads it all.
    assert _check(db) == "checked"
