"""Several booths drain one shared outbox (PostgreSQL) to the reference cloud, each pump in
a process of its own, and one is killed in the middle of the drain: the cloud's books hold
every event exactly once, nothing is lost, and no page but the one cut by the kill is sent
twice (one booth drains at a time)."""

from __future__ import annotations

import multiprocessing
import os
import signal
import time
from datetime import timedelta

import pytest
from sqlalchemy import func, select, text

from console.store import visits
from console.store.engine import make_engine
from console.store.tables import OutboxRow
from console.sync.server import db as cloud_db
from tests.support.booths import T0, outbox_drainer, pay_exit, start_booth, stop_booth
from tests.sync.conftest import Cloud

pytestmark = pytest.mark.postgresql

BOOTHS = 3
ENTRIES = 1200
PAID = 20


def _cloud_events(cloud: Cloud) -> int:
    with cloud.engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(cloud_db.event)).scalar_one())


def test_booths_draining_one_outbox_deliver_every_event_once_though_one_dies(pg_migrated_url: str, cloud: Cloud) -> None:
    url = pg_migrated_url
    booth = start_booth(url, 1, epoch=time.time())
    try:
        # A backlog as after an outage: entries of many vehicles, some paid at the exit.
        for first in range(0, ENTRIES, 100):
            with booth.store.write() as tx:
                for i in range(first, first + 100):
                    visits.record_entry(tx, plate=f"Q{i:05d}", zone="P1", lane="IN1", at=T0 - timedelta(hours=3) + timedelta(seconds=i),
                                        currency="EUR", booth_id="booth-1")
        for i in range(PAID):
            assert pay_exit(booth, "OUT1", f"Q{i:05d}", "card", attendant="att1") == "paid"
    finally:
        stop_booth(booth)
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            total = int(conn.execute(select(func.count()).select_from(OutboxRow)).scalar_one())
            ids = set(conn.execute(text("SELECT id FROM outbox_event")).scalars())
            revenue = int(conn.execute(text("SELECT sum(amount_minor) FROM payment")).scalar_one())
        assert total >= ENTRIES + 2 * PAID

        ctx = multiprocessing.get_context("spawn")
        # An event per process: one the killed process waited on would never be set again.
        stops = [ctx.Event() for _ in range(BOOTHS)]
        readies = [ctx.Event() for _ in range(BOOTHS)]
        pumps = [ctx.Process(target=outbox_drainer, args=(url, cloud.url, cloud.token, cloud.site_id, n + 1, 20, readies[n], stops[n]),
                             name=f"pump-{n + 1}") for n in range(BOOTHS)]
        for pump in pumps:
            pump.start()
        try:
            # Killed mid-drain: some of the backlog in the cloud, most still to send.
            for ready in readies:
                assert ready.wait(timeout=60)
            deadline = time.monotonic() + 120
            while _cloud_events(cloud) < total // 10:
                assert time.monotonic() < deadline, "the drain did not start"
                assert pumps[0].is_alive()
                time.sleep(0.02)
            assert pumps[0].pid is not None
            os.kill(pumps[0].pid, signal.SIGKILL)
            at_kill = _cloud_events(cloud)
            assert at_kill < total
            while True:
                with engine.connect() as conn:
                    unsent = int(conn.execute(text("SELECT count(*) FROM outbox_event WHERE sent_at IS NULL")).scalar_one())
                if unsent == 0:
                    break
                assert time.monotonic() < deadline, f"{unsent} events never sent"
                time.sleep(0.1)
        finally:
            for stop in stops[1:]:
                stop.set()
            for pump in pumps:
                pump.join(timeout=30)
                if pump.is_alive():
                    pump.kill()
        assert pumps[0].exitcode == -signal.SIGKILL
        assert [pump.exitcode for pump in pumps[1:]] == [0] * (BOOTHS - 1)
    finally:
        engine.dispose()

    with cloud.engine.connect() as conn:
        received = list(conn.execute(select(cloud_db.event.c.event_id)).scalars())
    assert len(received) == len(set(received)) == total  # every event, once
    assert set(received) == ids
    books = cloud.books()
    assert books["visits"] == ENTRIES and books["visits_closed"] == PAID and books["payments"] == PAID
    assert books["revenue_minor"] == {"EUR": {"card": revenue}}  # each payment counted once
    # One booth sends at a time: only the page the killed booth had posted without marking
    # it sent can reach the cloud twice.
    assert books["deliveries"]["duplicates"] <= 20
    print(f"\n{BOOTHS} booths drained {total} events (one killed after {at_kill}): every event in the cloud once; "
          f"{books['deliveries']['duplicates']} sent twice and counted once, {books['deliveries']['batches']} batches")


def test_a_booth_leaves_the_outbox_to_the_booth_sending_it_and_takes_over_when_it_is_gone(pg_migrated_url: str, cloud: Cloud) -> None:
    """While another booth holds the drain (a real session holding the lock), this booth's
    pump sends nothing; once that session ends, the pump sends the backlog within a couple
    of seconds, and its flush waits for it rather than spinning."""
    from console.domain.clock import SystemClock
    from console.site.build import open_store
    from console.site.config import CloudSection
    from console.store.locks import OUTBOX_DRAIN_LOCK_KEY
    from console.sync.service import SyncService, SyncTuning

    store = open_store(pg_migrated_url, migrate=False)
    other = make_engine(pg_migrated_url)
    holder = other.connect()
    assert holder.execute(text("SELECT pg_try_advisory_lock(:k)"), {"k": OUTBOX_DRAIN_LOCK_KEY}).scalar() is True
    holder.commit()
    tuning = SyncTuning(batch_size=50, poll_interval=30.0, config_interval=30.0, remote_payment_interval=30.0,
                        occupancy_interval=30.0, backoff_base=0.2, backoff_cap=1.0, connect_timeout=2.0, read_timeout=10.0)
    service = SyncService(store, CloudSection(url=cloud.url), cloud.site_id, SystemClock(), lambda _text: None, lambda: cloud.token,
                          booth_id="booth-2", tuning=tuning)
    try:
        with store.write() as tx:
            for i in range(120):
                visits.record_entry(tx, plate=f"H{i:04d}", zone="P1", lane="IN1", at=T0 + timedelta(seconds=i), currency="EUR", booth_id="booth-2")
        service.start()
        started = time.monotonic()
        assert service.flush(timeout=2.5) is False  # nobody sends while the other booth holds the drain
        flushing_took = time.monotonic() - started
        assert _cloud_events(cloud) == 0
        assert flushing_took >= 2.0
        holder.invalidate()  # that booth is gone: the server drops its lock with the connection
        handed_over = time.monotonic()
        assert service.flush(timeout=15) is True
        took = time.monotonic() - handed_over
        assert _cloud_events(cloud) == 120
        assert cloud.books()["deliveries"]["duplicates"] == 0
        print(f"\nhanded over {took:.2f} s after the draining booth's session ended")
        assert took < 5
    finally:
        service.stop()
        store.dispose()
        other.dispose()
