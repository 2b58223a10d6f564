"""The outbox pump against a real reference cloud on loopback: batches, acknowledgement,
failures (500, 429, lost answers, link down, refused token), occupancy, status."""

from __future__ import annotations

import threading
import time
from dataclasses import replace
from datetime import datetime, timedelta, timezone

from sqlalchemy import func, select

from console.domain.clock import FixedClock, SystemClock
from console.domain.occupancy import ZoneOccupancy
from console.store import visits
from console.store.database import Store
from console.store.tables import OutboxRow
from console.sync.client import CloudClient
from console.sync.server import db as cloud_db
from console.sync.service import SyncStatus
from tests.sync.conftest import FAST, Cloud, wait_until
from tests.sync.netfaults import Switch

NOW = datetime(2026, 3, 2, 8, 0, tzinfo=timezone.utc)


def _entries(store: Store, count: int, start: datetime = NOW, prefix: str = "AB") -> None:
    for i in range(count):
        store.apply(visits.record_entry, plate=f"{prefix}{i:04d}", zone="P1", lane="IN1", at=start + timedelta(seconds=i), currency="EUR")


def _unsent(store: Store) -> int:
    with store.write() as s:
        return int(s.execute(select(func.count()).select_from(OutboxRow).where(OutboxRow.sent_at.is_(None))).scalar_one())  # type: ignore[union-attr]


def _server_events(cloud: Cloud) -> int:
    with cloud.engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(cloud_db.event)).scalar_one())


def test_backlog_drains_in_batches_and_is_marked_sent(store: Store, cloud: Cloud, make_sync) -> None:  # type: ignore[no-untyped-def]
    _entries(store, 120)
    sync = make_sync(cloud.url, cloud.token, FixedClock(NOW))
    assert sync.flush(15)
    assert _unsent(store) == 0
    books = cloud.books()
    assert books["events"] == 120 and books["visits"] == 120
    # Pages of at most batch_size (50): 120 events need 3 batches, never one big read.
    posts = cloud.faults.requests("/events", "POST")
    assert len(posts) == 3
    status = sync.status()
    assert status.online and status.state == "online"
    assert status.backlog == 0 and status.sent == 120 and status.last_error is None
    assert status.last_success_at == NOW  # booth clock


def test_the_same_batch_delivered_twice_counts_once(store: Store, cloud: Cloud) -> None:
    _entries(store, 10)
    from console.store.outbox import fetch_unsent

    with store.write() as s:
        events = fetch_unsent(s, 100)
    client = CloudClient(cloud.url, cloud.site_id)
    client.set_token(cloud.token)
    try:
        first = client.post_events("booth-1", NOW, events)
        second = client.post_events("booth-1", NOW, events)
    finally:
        client.close()
    ids = {e.id for e in events}
    assert first.acknowledged == ids and first.accepted == 10 and first.duplicates == 0
    assert second.acknowledged == ids and second.accepted == 0 and second.duplicates == 10
    books = cloud.books()
    assert books["events"] == 10 and books["visits"] == 10
    assert books["deliveries"]["duplicates"] == 10


def test_answers_lost_after_the_server_committed_are_retried_and_counted_once(store: Store, cloud: Cloud, make_sync) -> None:  # type: ignore[no-untyped-def]
    switch = Switch(cloud.server.port)
    try:
        switch.drop_next_responses(2)  # the first two batches commit on the server, the booth never hears
        _entries(store, 100)
        sync = make_sync(switch.url, cloud.token, FixedClock(NOW))
        assert sync.flush(20)
        assert switch.dropped == 2
        assert _unsent(store) == 0
        books = cloud.books()
        assert books["events"] == 100 and books["visits"] == 100  # exactly once in the books
        assert books["deliveries"]["duplicates"] >= 50  # the retried batch was seen again
        assert sync.status().duplicates >= 50
    finally:
        switch.close()


def test_a_500_is_retried_with_backoff(store: Store, cloud: Cloud, make_sync) -> None:  # type: ignore[no-untyped-def]
    cloud.faults.fail_next(2, 500)
    _entries(store, 5)
    errors: list[SyncStatus] = []
    sync = make_sync(cloud.url, cloud.token, FixedClock(NOW), start=False)
    sync.subscribe(lambda st: errors.append(st) if st.state == "offline" else None)
    sync.start()
    assert sync.flush(15)
    posts = cloud.faults.requests("/events", "POST")
    assert [p.status for p in posts] == [500, 500, 200]
    # Equal jitter: the n-th wait is at least half of base * 2**n (base 0.2 s).
    assert posts[1].at - posts[0].at >= 0.1 - 0.01
    assert posts[2].at - posts[1].at >= 0.2 - 0.01
    assert errors and "500" in (errors[0].last_error or "") and errors[0].retry_in
    assert cloud.books()["events"] == 5


def test_429_retry_after_is_honoured(store: Store, cloud: Cloud, make_sync) -> None:  # type: ignore[no-untyped-def]
    cloud.faults.fail_next(1, 429, headers=(("Retry-After", "1"),))
    _entries(store, 3)
    make_sync(cloud.url, cloud.token, FixedClock(NOW))
    wait_until(lambda: _unsent(store) == 0, timeout=15)
    posts = cloud.faults.requests("/events", "POST")
    assert [p.status for p in posts] == [429, 200]
    waited = posts[1].at - posts[0].at
    print(f"429 Retry-After: 1 -> the booth waited {waited:.2f} s")
    assert 1.0 <= waited < 1.0 + 0.1 + 1.0  # the floor, plus at most 10 % jitter, plus scheduling


def test_a_wake_does_not_cut_a_retry_after_short(store: Store, cloud: Cloud, make_sync) -> None:  # type: ignore[no-untyped-def]
    cloud.faults.fail_next(1, 503, headers=(("Retry-After", "1"),))
    _entries(store, 1)
    sync = make_sync(cloud.url, cloud.token, FixedClock(NOW))
    wait_until(lambda: len(cloud.faults.requests("/events", "POST")) == 1)
    for i in range(5):  # commits keep coming during the wait
        store.apply(visits.record_entry, plate=f"WK{i}", zone="P1", lane="IN1", at=NOW, currency="EUR")
        sync.wake()
        time.sleep(0.05)
    wait_until(lambda: _unsent(store) == 0)
    posts = cloud.faults.requests("/events", "POST")
    assert posts[1].at - posts[0].at >= 1.0


def test_link_down_keeps_events_then_delivers_when_back(store: Store, cloud: Cloud, make_sync) -> None:  # type: ignore[no-untyped-def]
    switch = Switch(cloud.server.port)
    switch.link_up = False
    try:
        _entries(store, 30)
        sync = make_sync(switch.url, cloud.token, FixedClock(NOW))
        wait_until(lambda: sync.status().state == "offline")
        status = sync.status()
        assert not status.online and status.backlog == 30 and "cannot reach" in (status.last_error or "")
        assert not sync.flush(0.5)  # cannot finish while the link is down
        switch.link_up = True
        sync.retry_now()
        assert sync.flush(15)
        assert cloud.books()["events"] == 30
        assert sync.status().online
    finally:
        switch.close()


def test_server_rejects_broken_events_and_they_are_parked_in_the_outbox(store: Store, cloud: Cloud, make_sync) -> None:  # type: ignore[no-untyped-def]
    _entries(store, 3)
    with store.write() as s:  # an event the cloud's books cannot use (no amount)
        s.add(OutboxRow(id="01900000-0000-7000-8000-000000000001", type="payment.recorded", occurred_at=NOW, payload='{"method":"cash"}'))
    sync = make_sync(cloud.url, cloud.token, FixedClock(NOW))
    wait_until(lambda: sync.status().rejected >= 1)
    wait_until(lambda: _unsent(store) == 1)
    status = sync.status()
    assert "refused" in (status.last_error or "") and "amount_minor" in (status.last_error or "")
    assert cloud.books()["events"] == 3
    with store.write() as s:
        row = s.get(OutboxRow, "01900000-0000-7000-8000-000000000001")
        assert row is not None and row.sent_at is None and row.attempts == 1
        assert row.refused_at is not None and "amount_minor" in (row.refused_reason or "")


def test_a_refused_token_stops_sending_until_a_new_login(store: Store, cloud: Cloud, make_sync) -> None:  # type: ignore[no-untyped-def]
    token = {"value": "not-the-token"}
    _entries(store, 4)
    sync = make_sync(cloud.url, None, FixedClock(NOW), token_provider=lambda: token["value"])
    wait_until(lambda: sync.status().state == "refused")
    assert _unsent(store) == 4 and "booth cloud login" in (sync.status().last_error or "")
    token["value"] = cloud.token  # `booth cloud login` stored the right one
    sync.retry_now()
    assert sync.flush(10)
    assert sync.status().state == "online"


def test_no_token_means_no_request(store: Store, cloud: Cloud, make_sync) -> None:  # type: ignore[no-untyped-def]
    _entries(store, 2)
    sync = make_sync(cloud.url, None, FixedClock(NOW))
    wait_until(lambda: sync.status().state == "no token")
    time.sleep(0.2)
    assert cloud.faults.requests("/v1/") == []
    assert sync.status().backlog == 2


def test_occupancy_is_pushed_quickly_and_coalesced(store: Store, cloud: Cloud, make_sync) -> None:  # type: ignore[no-untyped-def]
    sync = make_sync(cloud.url, cloud.token, FixedClock(NOW))
    wait_until(lambda: sync.status().online)
    pushed_at = time.monotonic()
    for occupied in range(1, 41):  # 40 changes in a burst
        sync.push_occupancy([ZoneOccupancy("P1", "Deck", 200, occupied), ZoneOccupancy("P2", "Roof", 50, 50)])
    sync.wake()

    def latest() -> dict[str, int]:
        with cloud.engine.connect() as conn:
            return {r.zone: r.occupied for r in conn.execute(select(cloud_db.occupancy))}

    wait_until(lambda: latest().get("P1") == 40, timeout=5)
    print(f"occupancy visible in the cloud {time.monotonic() - pushed_at:.3f} s after the change")
    puts = cloud.faults.requests("/occupancy", "PUT")
    assert 1 <= len(puts) < 40  # coalesced: not one request per change
    assert latest() == {"P1": 40, "P2": 50}
    # Drivers see it: remaining spaces of the site.
    import httpx

    sites = httpx.get(f"{cloud.url}/v1/driver/sites", params={"lat": 52.52, "lon": 13.405}).json()["sites"]
    assert sites[0]["site_id"] == cloud.site_id and sites[0]["remaining"] == 160


def test_occupancy_waits_for_the_link_and_sends_only_the_latest(store: Store, cloud: Cloud, make_sync) -> None:  # type: ignore[no-untyped-def]
    switch = Switch(cloud.server.port)
    switch.link_up = False
    try:
        sync = make_sync(switch.url, cloud.token, FixedClock(NOW))
        for occupied in (5, 6, 7):
            sync.push_occupancy([ZoneOccupancy("P1", "Deck", 10, occupied)])
        wait_until(lambda: sync.status().state == "offline")
        switch.link_up = True
        sync.retry_now()
        wait_until(lambda: sync.status().occupancy_sent_at is not None)
        puts = cloud.faults.requests("/occupancy", "PUT")
        assert len(puts) == 1
        with cloud.engine.connect() as conn:
            assert conn.execute(select(cloud_db.occupancy.c.occupied)).scalar_one() == 7
    finally:
        switch.close()


def test_status_answers_at_once_while_the_cloud_hangs(store: Store, cloud: Cloud, make_sync) -> None:  # type: ignore[no-untyped-def]
    # A server that accepts the connection and never answers: the pump's thread waits, not the caller.
    import socket

    silent = socket.create_server(("127.0.0.1", 0))
    held: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        silent.settimeout(0.1)
        while not stop.is_set():
            try:
                held.append(silent.accept()[0])
            except OSError:
                continue

    threading.Thread(target=accept, daemon=True).start()
    try:
        _entries(store, 3)
        tuning = replace(FAST, read_timeout=1.0)
        sync = make_sync(f"http://127.0.0.1:{silent.getsockname()[1]}", cloud.token, FixedClock(NOW), tuning=tuning)
        wait_until(lambda: len(held) >= 1)
        slowest = 0.0
        for _ in range(50):
            t0 = time.monotonic()
            sync.status()
            sync.wake()
            sync.push_occupancy([ZoneOccupancy("P1", "Deck", 10, 1)])
            slowest = max(slowest, time.monotonic() - t0)
        assert slowest < 0.05
        wait_until(lambda: sync.status().state == "offline", timeout=10)  # after the 1 s read timeout
        assert "in time" in (sync.status().last_error or "")
    finally:
        stop.set()
        silent.close()
        for conn in held:
            conn.close()


def test_listeners_hear_status_changes_and_can_unsubscribe(store: Store, cloud: Cloud, make_sync) -> None:  # type: ignore[no-untyped-def]
    heard: list[SyncStatus] = []
    sync = make_sync(cloud.url, cloud.token, FixedClock(NOW), start=False)
    unsubscribe = sync.subscribe(heard.append)
    sync.subscribe(lambda st: 1 / 0)  # a broken listener does not stop the sync
    sync.start()
    _entries(store, 2)
    sync.wake()
    wait_until(lambda: any(h.sent == 2 for h in heard))
    unsubscribe()
    count = len(heard)
    _entries(store, 2, prefix="CD")
    sync.wake()
    assert sync.flush(5)
    assert len(heard) == count


def test_not_configured_and_stop(store: Store, make_sync) -> None:  # type: ignore[no-untyped-def]
    _entries(store, 1)
    sync = make_sync("", None, SystemClock())
    wait_until(lambda: sync.status().backlog == 1)
    assert sync.status().state == "not configured"
    assert not sync.flush(0.2)
    sync.stop()
    assert sync.status().state == "stopped"


def test_bad_cloud_settings_are_reported_not_raised(store: Store, make_sync, tmp_path) -> None:  # type: ignore[no-untyped-def]
    import pytest
    from pydantic import ValidationError

    # A plain-http remote cloud or a missing CA bundle no longer gets past the site file
    # (tests/site/test_config.py): the section cannot even be made.
    with pytest.raises(ValidationError, match="must use https"):
        make_sync("http://cloud.example.com", "t", SystemClock())
    with pytest.raises(ValidationError, match="is not a file"):
        make_sync("https://127.0.0.1:9", "t", SystemClock(), ca_bundle=str(tmp_path / "none.pem"))
    bad_site = make_sync("https://127.0.0.1:9", "t", SystemClock(), site_id="../etc")
    assert bad_site.status().state == "error" and "site id" in (bad_site.status().last_error or "")



def test_without_a_site_id_the_token_names_the_site(store: Store, cloud: Cloud, make_sync) -> None:  # type: ignore[no-untyped-def]
    _entries(store, 3)
    sync = make_sync(cloud.url, cloud.token, FixedClock(NOW), site_id="")
    assert sync.flush(10)
    assert sync.status().site_id == cloud.site_id
    assert cloud.books()["events"] == 3
    assert len(cloud.faults.requests("/whoami")) == 1
