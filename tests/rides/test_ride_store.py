"""Ride records on the real SQLite store: one transaction with audit and outbox,
search, statements by SQL aggregates, card loading, the snapshot purge, swipe timeouts
and a database that refuses writes."""

from __future__ import annotations

import json
import os
from datetime import timedelta

import pytest
from sqlmodel import Session, col, select

from console.domain.clock import FixedClock
from console.domain.money import Money
from console.domain.rides import Card, RideKind, RideQuery, month_period
from console.site.elevator import RideRecorded, SnapshotsPurged
from console.store.audit import verify_chain
from console.store.database import Store
from console.store.engine import StoreError
from console.store.ride_tables import ElevatorRideRow
from console.store.rides import (
    NewRide,
    find_card,
    purge_snapshots,
    record_ride,
    search_rides,
    statement,
    sync_cards,
)
from console.store.tables import AuditRow, OutboxRow
from tests.rides.conftest import BERLIN

JPEG = b"\xff\xd8" + os.urandom(3000) + b"\xff\xd9"


def _ride(clock: FixedClock, card: str = "AA01", floor: int = 5, fee: int = 80, minutes: float = 0, **kw) -> NewRide:  # type: ignore[no-untyped-def]
    at = clock.now() + timedelta(minutes=minutes)
    return NewRide(kind=kw.pop("kind", RideKind.RIDE), car=1, floor=floor, doors_open_at=at, fee=Money(fee, "EUR"),
                   card=card, swiped_at=at, snapshot=kw.pop("snapshot", JPEG), **kw)


def test_record_writes_ride_audit_and_outbox_together(store: Store, clock: FixedClock) -> None:
    ride = store.apply(record_ride, _ride(clock, flagged=True, flag_reason="nobody detected"), at=clock.now())
    assert ride.has_snapshot and ride.snapshot_bytes == len(JPEG) and ride.flagged
    with Session(store.engine) as s:
        (out,) = s.exec(select(OutboxRow)).all()
        payload = json.loads(out.payload)
        assert payload["ride_id"] == ride.id and payload["flag_reason"] == "nobody detected"
        assert set(payload) >= {"card", "car", "floor", "doors_open_at", "fee_minor", "snapshot_jpeg_b64"}
        (audit,) = s.exec(select(AuditRow)).all()
        assert (audit.action, audit.subject) == ("ride.ride", ride.id)
        assert verify_chain(s).ok


def test_a_refused_write_records_nothing(store: Store, clock: FixedClock) -> None:
    with store.engine.begin() as conn:  # BEGIN IMMEDIATE: another writer holds the lock
        with pytest.raises(StoreError, match="busy"):
            store.apply(record_ride, _ride(clock), at=clock.now())
        conn.rollback()
    with Session(store.engine) as s:
        assert s.exec(select(ElevatorRideRow)).all() == [] and s.exec(select(AuditRow)).all() == []


def test_search_by_card_floor_time_and_kind(store: Store, clock: FixedClock) -> None:
    a = store.apply(record_ride, _ride(clock, "04A1B2C3", 5, minutes=0), at=clock.now())
    b = store.apply(record_ride, _ride(clock, "04A1FFFF", -2, minutes=30), at=clock.now())
    c = store.apply(record_ride, _ride(clock, "0B000000", 5, minutes=90), at=clock.now())
    u = store.apply(record_ride, _ride(clock, None, 7, minutes=95, kind=RideKind.UNCLAIMED, snapshot=None), at=clock.now())  # type: ignore[arg-type]
    ids = lambda q: [r.id for r in store.query(search_rides, q)]  # noqa: E731
    assert ids(RideQuery()) == [u.id, c.id, b.id, a.id]
    assert ids(RideQuery(card="04A1")) == [b.id, a.id]
    assert ids(RideQuery(floor=5)) == [c.id, a.id]
    assert ids(RideQuery(since=clock.now() + timedelta(minutes=20), until=clock.now() + timedelta(minutes=91))) == [c.id, b.id]
    assert ids(RideQuery(kinds=(RideKind.UNCLAIMED,))) == [u.id]
    assert ids(RideQuery(card="04A1%")) == []  # wildcards are literal


def test_statement_per_card_and_period(store: Store, clock: FixedClock) -> None:
    store.apply(sync_cards, [Card("AA01", "resident", "FLAT-1")], at=clock.now())
    start, end = month_period(2026, 3, BERLIN)
    for minutes, floor, fee in ((0, 5, 80), (60, 5, 80), (120, -2, 100)):
        store.apply(record_ride, _ride(clock, "AA01", floor, fee, minutes, account_id="FLAT-1"), at=clock.now())
    store.apply(record_ride, _ride(clock, "AA01", 5, 80, 60 * 24 * 40, account_id="FLAT-1"), at=clock.now())  # April
    store.apply(record_ride, _ride(clock, "BB02", 5, 80), at=clock.now())  # another card
    store.apply(record_ride, _ride(clock, "AA01", 5, 0, 5, kind=RideKind.TIMEOUT, flagged=True), at=clock.now())
    st = store.query(statement, "aa01", start, end, "EUR")
    assert (st.card, st.account_id, st.rides, st.total, st.flagged) == ("AA01", "FLAT-1", 3, Money(260, "EUR"), 0)
    assert [(line.floor, line.rides, line.total.minor) for line in st.lines] == [(-2, 1, 100), (5, 2, 160)]
    empty = store.query(statement, "CC03", start, end, "EUR")
    assert empty.rides == 0 and empty.total == Money(0, "EUR")


def test_cards_follow_the_site_file(store: Store, clock: FixedClock) -> None:
    assert store.apply(sync_cards, [Card("AA01", "resident", "F1"), Card("BB02", "staff", None)], at=clock.now()) == 2
    assert store.apply(sync_cards, [Card("AA01", "resident", "F1"), Card("BB02", "staff", None)], at=clock.now()) == 0
    assert store.apply(sync_cards, [Card("aa01", "visitor", "F1")], at=clock.now()) == 2  # changed + removed
    assert store.query(find_card, "AA01") == Card("AA01", "visitor", "F1")
    assert store.query(find_card, "BB02") is None


def test_purge_deletes_old_snapshots_keeps_rides(store: Store, clock: FixedClock, run_service) -> None:  # type: ignore[no-untyped-def]
    old = store.apply(record_ride, _ride(clock, minutes=0), at=clock.now())
    new = store.apply(record_ride, _ride(clock, minutes=60 * 24 * 20), at=clock.now())
    service, events = run_service(start=False)  # default retention: 30 days
    clock.advance(days=31)
    assert service.purge_now() == 1
    assert service.purge_now() == 0  # nothing left to delete: harmless
    rides = {r.id: r for r in store.query(search_rides, RideQuery())}
    assert not rides[old.id].has_snapshot and rides[old.id].snapshot_purged_at == clock.now()
    assert rides[old.id].snapshot_bytes == len(JPEG)  # the record stays, with its size
    assert rides[new.id].has_snapshot and rides[new.id].snapshot_purged_at is None
    assert [e.count for e in events.of(SnapshotsPurged)] == [1]
    with Session(store.engine) as s:
        assert s.exec(select(AuditRow.action).order_by(col(AuditRow.seq).desc())).first() == "ride.snapshots_purged"
    assert store.apply(purge_snapshots, older_than=clock.now() + timedelta(days=1), at=clock.now()) == 1


@pytest.mark.sqlite_only
def test_a_purged_portrait_is_nowhere_in_the_booths_files(store: Store, clock: FixedClock, run_service) -> None:  # type: ignore[no-untyped-def]
    import base64
    from pathlib import Path

    from console.store import outbox

    portrait = b"\xff\xd8" + os.urandom(4000) + b"\xff\xd9"
    ride = store.apply(record_ride, _ride(clock, snapshot=portrait), at=clock.now())
    with store.write() as s:  # the cloud already acknowledged the ride event
        outbox.mark_sent(s, [e.id for e in outbox.fetch_unsent(s, 100)], clock.now())
    store.apply(record_ride, _ride(clock, card="BB02", snapshot=portrait[::-1]), at=clock.now())  # still unsent
    service, _events = run_service(start=False)
    clock.advance(days=31)
    assert service.purge_now() == 2
    database = Path(store.engine.url.database or "")
    files = [f for f in database.parent.iterdir() if f.name.startswith(database.name)]
    data_dir = Path(os.environ["BOOTH_DATA_DIR"])
    files += [f for f in data_dir.rglob("*") if f.is_file()] if data_dir.exists() else []
    needles = {name: blob for picture in (portrait, portrait[::-1])
               for name, blob in (("raw", picture[100:140]), ("base64", base64.b64encode(picture)[200:260]))}
    found = [(f.name, what) for f in files for what, blob in needles.items() if blob in f.read_bytes()]
    assert found == [], found
    with store.read() as s:  # the unsent ride still goes to the cloud, without its picture
        (left,) = outbox.fetch_unsent(s, 100)
    assert left.payload["snapshot_jpeg_b64"] is None and left.payload["snapshot_purged"] is True
    assert {r.id for r in store.query(search_rides, RideQuery())} >= {ride.id}


def test_swipe_without_doors_times_out_and_is_recorded(run_service, clock: FixedClock) -> None:  # type: ignore[no-untyped-def]
    service, events = run_service(start=False, swipe_timeout_s=60)
    from drivers.elevator import ElevatorEvent, ElevatorEventKind

    service._handle(ElevatorEvent(ElevatorEventKind.CARD_SWIPED, 1, 9, "AA01"), clock.now())
    service.tick()
    assert service.pending_swipes() == 1 and events.of(RideRecorded) == []
    clock.advance(seconds=61)
    service.tick()
    (rec,) = events.of(RideRecorded)
    assert rec.ride.kind is RideKind.TIMEOUT and rec.ride.card == "AA01" and rec.ride.flagged
    assert service.pending_swipes() == 0
    assert any("never opened" in text for _, text in events.reports)
