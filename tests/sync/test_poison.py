"""No event can block the sync: one event the cloud cannot store, among many, is refused
for itself, parked at the booth for the manager, and everything after it is delivered."""

from __future__ import annotations

import time
from dataclasses import replace
from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import func, select

from console.cli import main as booth
from console.domain.clock import FixedClock
from console.store import outbox, visits
from console.store.database import Store
from console.store.tables import OutboxRow
from console.sync.client import CloudClient
from tests.sync.conftest import FAST, Cloud, wait_until

NOW = datetime(2026, 3, 2, 8, 0, tzinfo=timezone.utc)


def _enter(store: Store, start: int, count: int) -> None:
    for i in range(start, start + count):
        store.apply(visits.record_entry, plate=f"PX{i:05d}", zone="P1", lane="IN1", at=NOW + timedelta(seconds=i), currency="EUR")


def _poison(store: Store) -> str:
    """A payment of 10^30 cents: valid JSON, a valid event, more than any database integer."""
    with store.write() as s:
        return outbox.enqueue(s, type="payment.recorded", occurred_at=NOW, payload={
            "payment_id": "pay-poison", "visit_id": "visit-poison", "method": "cash",
            "amount_minor": 10**30, "currency": "EUR", "attendant": "ann", "reference": None,
        })


def test_one_event_the_cloud_cannot_store_is_parked_and_the_rest_delivered(
    store: Store, cloud: Cloud, make_sync, capsys: pytest.CaptureFixture[str]  # type: ignore[no-untyped-def]
) -> None:
    _enter(store, 0, 300)
    bad = _poison(store)
    _enter(store, 300, 300)
    began = time.perf_counter()
    sync = make_sync(cloud.url, cloud.token, FixedClock(NOW), tuning=replace(FAST, batch_size=100))
    assert sync.flush(30)
    drained = time.perf_counter() - began
    books = cloud.books()
    assert books["visits"] == 600  # all 600 entries, also those in the poisoned batch
    with store.read() as s:
        unsent = s.execute(select(func.count()).select_from(OutboxRow).where(OutboxRow.sent_at.is_(None))).scalar_one()  # type: ignore[union-attr]
        parked = outbox.refused(s)
    assert unsent == 1 and [e.id for e in parked] == [bad]  # kept, never lost
    assert "cannot be stored" in parked[0].reason
    wait_until(lambda: sync.status().refused == 1)
    assert "1 refused by the cloud" in sync.status().summary()
    print(f"1 bad event among 601: 600 delivered, 1 parked, drained in {drained:.2f} s")

    # It is not sent again: later rounds leave it alone.
    _enter(store, 600, 5)
    assert sync.flush(10)
    assert cloud.books()["visits"] == 605
    with store.read() as s:
        assert [(e.id, e.attempts) for e in outbox.refused(s)] == [(bad, 1)]  # offered once only

    # The manager sees it and can send it again once the cause is fixed.
    url = str(store.engine.url.render_as_string(hide_password=False))
    capsys.readouterr()
    assert booth(["cloud", "refused", "--db", url]) == 0
    listed = capsys.readouterr().out
    assert "1 event(s) refused by the cloud" in listed and bad in listed and "payment.recorded" in listed
    assert booth(["cloud", "refused", "--db", url, "--requeue"]) == 0
    with store.read() as s:
        assert outbox.refused_count(s) == 0 and outbox.backlog(s)[0] == 1


def test_the_cloud_answers_a_poisoned_batch_event_by_event(store: Store, cloud: Cloud) -> None:
    _enter(store, 0, 20)
    bad = _poison(store)
    with store.read() as s:
        events = outbox.fetch_unsent(s, 100)
    client = CloudClient(cloud.url, cloud.site_id)
    client.set_token(cloud.token)
    try:
        ack = client.post_events("booth-1", NOW, events)
    finally:
        client.close()
    assert ack.acknowledged == {e.id for e in events} - {bad}
    assert [rid for rid, _why in ack.rejected] == [bad]
    assert cloud.books()["visits"] == 20


def test_payment_references_reach_the_cloud_for_reconciliation(store: Store, cloud: Cloud, make_sync) -> None:  # type: ignore[no-untyped-def]
    from console.domain.money import Money
    from console.domain.payments import NewPayment
    from console.domain.quote import Quote
    from console.sync.server import db as cloud_db

    visit = store.apply(visits.record_entry, plate="CARD1", zone="P1", lane="IN1", at=NOW, currency="EUR")
    fee = Money(750, "EUR")
    store.apply(visits.close_visit, visit_id=visit.id, exit_lane="OUT1", exit_at=NOW + timedelta(hours=2),
                quote=Quote(fee, "test@1"), payments=[NewPayment("card", fee, reference="APPROVAL-4711")],
                attendant="ann", idempotency_key="exit-card1")
    sync = make_sync(cloud.url, cloud.token, FixedClock(NOW))
    assert sync.flush(10)
    with cloud.engine.connect() as conn:
        rows = conn.execute(select(cloud_db.payment.c.method, cloud_db.payment.c.reference)).all()
    assert [tuple(r) for r in rows] == [("card", "APPROVAL-4711")]


def test_acknowledged_events_leave_the_outbox_after_their_retention(store: Store, cloud: Cloud, make_sync) -> None:  # type: ignore[no-untyped-def]
    _enter(store, 0, 30)
    clock = FixedClock(NOW)
    sync = make_sync(cloud.url, cloud.token, clock, tuning=replace(FAST, sent_retention=3600.0, prune_interval=0.0))
    assert sync.flush(10)
    with store.read() as s:
        assert s.execute(select(func.count()).select_from(OutboxRow)).scalar_one() == 30  # kept while recent
    clock.advance(hours=2)
    _enter(store, 30, 1)  # a new event, not yet sent: never pruned
    sync.retry_now()
    assert sync.flush(10)
    wait_until(lambda: store.query(lambda s: s.execute(select(func.count()).select_from(OutboxRow)).scalar_one()) == 1)
    assert cloud.books()["visits"] == 31
