"""Harder failures: the cloud killed in the middle of a batch and restarted; a booth whose
clock is 10 minutes off; a whole day offline, then reconnecting."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import IO

import pytest
from sqlalchemy import select

from console.domain.clock import FixedClock
from console.store import cloud_copies, visits
from console.store.database import Store
from console.store.engine import sqlite_url
from console.sync.server import admin
from console.sync.server import db as cloud_db
from tests.sync.activity import booth_revenue_by_method, booth_visit_count, simulate_day
from tests.sync.conftest import SITE, Cloud, wait_until
from tests.sync.netfaults import Switch
from tests.sync.phone import hourly_versions, order, pay_by_phone

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]


class CloudProcess:
    def __init__(self, db_url: str, mode: str, seconds: float = 30.0) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, str(HERE / "cloud_process.py"), db_url, mode, str(seconds)],
            stdout=subprocess.PIPE,
            text=True,
            cwd=ROOT,
        )
        first = self._line()
        assert first.startswith("PORT "), first
        self.port = int(first.split()[1])

    def _line(self) -> str:
        out: IO[str] | None = self.proc.stdout
        assert out is not None
        return out.readline().strip()

    def wait_for(self, word: str) -> None:
        line = self._line()
        assert line == word, line

    def kill(self) -> None:
        os.kill(self.proc.pid, signal.SIGKILL)
        self.proc.wait(10)

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(10)


@pytest.mark.parametrize("moment", ["before", "after"])
def test_cloud_killed_in_the_middle_of_a_batch_and_restarted(store: Store, tmp_path: Path, make_sync, moment: str) -> None:  # type: ignore[no-untyped-def]
    """`before`: killed while the batch is in flight, nothing committed. `after`:
    killed after committing the batch but before answering. Either way the booth
    resends and the cloud's books hold every event exactly once."""
    db_url = sqlite_url(tmp_path / "cloud.sqlite3")
    engine = cloud_db.open_cloud_db(db_url)
    token = admin.register_site(engine, SITE)
    first = CloudProcess(db_url, moment)
    switch = Switch(first.port)
    second: CloudProcess | None = None
    try:
        for i in range(120):
            store.apply(visits.record_entry, plate=f"K{i:04d}", zone="P1", lane="IN1", at=datetime(2026, 3, 2, 8, tzinfo=timezone.utc) + timedelta(seconds=i), currency="EUR")
        sync = make_sync(switch.url, token, FixedClock(datetime(2026, 3, 2, 9, tzinfo=timezone.utc)))
        first.wait_for("HOLDING" if moment == "before" else "COMMITTED")
        first.kill()
        wait_until(lambda: sync.status().state == "offline")
        assert sync.status().backlog == 120  # nothing marked sent without an answer
        second = CloudProcess(db_url, "none")
        switch.target_port = second.port
        sync.retry_now()
        assert sync.flush(20)
        books = admin.site_books(engine, SITE)
        assert books["events"] == 120 and books["visits"] == 120
        if moment == "after":
            assert books["deliveries"]["duplicates"] >= 50  # the committed batch came again
    finally:
        switch.close()
        first.stop()
        if second is not None:
            second.stop()
        engine.dispose()


@pytest.mark.parametrize("skew", [timedelta(minutes=10), timedelta(minutes=-10)])
def test_a_booth_clock_ten_minutes_off_breaks_nothing(store: Store, cloud: Cloud, make_sync, skew: timedelta, server_clock) -> None:  # type: ignore[no-untyped-def]
    booth_now = datetime.now(timezone.utc) + skew
    clock = FixedClock(booth_now)
    visit = store.apply(visits.record_entry, plate="SKEW1", zone="P1", lane="IN1", at=booth_now, currency="EUR")
    sync = make_sync(cloud.url, cloud.token, clock, tariff_versions=hourly_versions)
    assert sync.flush(10)
    real_now = datetime.now(timezone.utc)
    with cloud.engine.connect() as conn:
        row = conn.execute(select(cloud_db.event.c.occurred_at, cloud_db.event.c.received_at)).one()
    assert row.occurred_at == booth_now  # the booth's time is kept as data
    assert abs((row.received_at - real_now).total_seconds()) < 5  # the books use the server's clock

    # A driver pays on the phone "now" (server time). A booth that asked for payments
    # "since its own clock" would miss it when 10 minutes ahead; the cursor does not.
    server_clock.offset = timedelta(hours=1, minutes=15)  # the driver pays an hour later, by the cloud's clock
    link = order(cloud.url, SITE, "SKEW1")
    assert link.status_code == 201  # the cloud knows the car is inside: it quoted the stay
    paid = pay_by_phone(cloud.url, SITE, "SKEW1")
    sync.pull_now()
    wait_until(lambda: len(store.query(cloud_copies.remote_payments_for, "SKEW1")) == 1)
    found = store.query(cloud_copies.remote_payments_for, "SKEW1")[0]
    assert found.id == paid["remote_payment_id"] and found.amount_minor == paid["amount_minor"]
    assert visit.plate == "SKEW1"
    status = sync.status()
    assert status.online and status.last_error is None
    assert status.last_success_at is not None and status.last_success_at == booth_now


def _day_offline_then_reconnect(store: Store, cloud: Cloud, make_sync, visits: int) -> None:  # type: ignore[no-untyped-def]
    clock = FixedClock(datetime(2026, 3, 2, 0, 0, tzinfo=timezone.utc))
    switch = Switch(cloud.server.port)
    switch.link_up = False  # the whole day without a network
    try:
        sync = make_sync(switch.url, cloud.token, clock)
        day = simulate_day(store, clock, visits)
        status = sync.status()
        assert status.state == "offline" and status.backlog > 0
        assert status.oldest_unsent_age is not None and status.oldest_unsent_age > timedelta(hours=20)
        assert cloud.books()["events"] == 0
        assert set(day.by_method) == {"cash", "card"}

        switch.link_up = True
        sync.retry_now()
        assert sync.flush(60)
        books = cloud.books()
        booth = booth_revenue_by_method(store)
        assert booth == day.by_method
        assert books["revenue_minor"] == {"EUR": booth}  # equal by method, to the cent
        assert books["visits"] == booth_visit_count(store) == day.visits == visits
        assert books["visits_closed"] == day.exits
        assert sync.status().backlog == 0
    finally:
        switch.close()


def test_a_day_offline_then_reconnect_totals_match(store: Store, cloud: Cloud, make_sync) -> None:  # type: ignore[no-untyped-def]
    _day_offline_then_reconnect(store, cloud, make_sync, visits=300)


@pytest.mark.slow
def test_a_busy_day_offline_then_reconnect_totals_match(store: Store, cloud: Cloud, make_sync) -> None:  # type: ignore[no-untyped-def]
    _day_offline_then_reconnect(store, cloud, make_sync, visits=3000)
