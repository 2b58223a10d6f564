"""Every booth shows the whole site's occupancy within a second of another booth's change:
two Site instances on one database (PostgreSQL with LISTEN/NOTIFY, SQLite by polling)."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Callable, Iterator

import pytest

from console.site.build import build_site, open_store
from console.site.config import parse_site
from console.site.events import LogEntry
from console.site.lanes import EntryOutcome
from console.site.site import Site
from console.store.engine import sqlite_url
from drivers.gate.simworld import Traffic
from tests.support.booths import HOURLY_TARIFF, SHARED_SITE, SiteClock, pay_exit, start_booth, stop_booth
from tests.support.postgres import PostgresServer


def _until(condition: Callable[[], bool], timeout: float) -> float:
    """Seconds until `condition` held; fails after `timeout`."""
    started = time.perf_counter()
    while not condition():
        if time.perf_counter() - started > timeout:
            raise AssertionError(f"not within {timeout} s")
        time.sleep(0.005)
    return time.perf_counter() - started


@pytest.fixture
def two_booths(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[tuple[Site, Site]]:
    url = request.getfixturevalue("pg_migrated_url") if request.param == "postgresql" else sqlite_url(tmp_path / "site.sqlite3")
    epoch = time.time()
    one = start_booth(url, 1, epoch=epoch, migrate=True)
    two = start_booth(url, 2, epoch=epoch)
    yield one, two
    stop_booth(one)
    stop_booth(two)


BOTH = [pytest.param("postgresql", marks=pytest.mark.postgresql), "sqlite"]


@pytest.mark.parametrize("two_booths", BOTH, indirect=True)
def test_an_entry_at_one_booth_shows_at_the_other_within_a_second(two_booths: tuple[Site, Site]) -> None:
    one, two = two_booths
    for i in range(5):
        assert one.lanes.enter("IN1", f"LIVE{i}") is EntryOutcome.ENTERED
        assert _until(lambda i=i: two.board.occupied("P1") == i + 1, timeout=1.0) < 1.0
    assert pay_exit(two, "OUT2", "LIVE0", "card", attendant="att2") == "paid"
    assert _until(lambda: one.board.occupied("P1") == 4, timeout=1.0) < 1.0
    # Both boards hold the site's count, so both push the same one to the cloud.
    assert one.board.occupancy() == two.board.occupancy()


@pytest.mark.postgresql
@pytest.mark.parametrize("two_booths", ["postgresql"], indirect=True)
def test_the_listener_reconnects_and_catches_up(two_booths: tuple[Site, Site], postgres_server: PostgresServer) -> None:
    one, two = two_booths
    assert two.live is not None
    feed = two.live.feed
    _until(lambda: feed.backend_pid is not None, timeout=5)
    pid = feed.backend_pid
    with postgres_server.connect() as admin:
        admin.execute("SELECT pg_terminate_backend(%s)", (pid,))

        def gone() -> bool:
            return admin.execute("SELECT count(*) FROM pg_stat_activity WHERE pid = %s", (pid,)).fetchone()[0] == 0

        _until(gone, timeout=5)
    # A change while the listener is gone: its notification is lost, the count is not.
    assert one.lanes.enter("IN1", "GONE1") is EntryOutcome.ENTERED
    _until(lambda: two.board.occupied("P1") == 1, timeout=10)
    _until(lambda: feed.reconnects >= 2, timeout=5)
    # And it listens again: the next change arrives within a second.
    assert one.lanes.enter("IN1", "BACK1") is EntryOutcome.ENTERED
    assert _until(lambda: two.board.occupied("P1") == 2, timeout=1.0) < 1.0


def test_another_booths_entry_is_logged_with_the_plate_as_the_site_writes_it(tmp_path: Path) -> None:
    """A mainland plate entered at booth 1 reads 粤B·D12345 in booth 2's log, as booth 1's
    own line writes it, not in its stored form 粤BD12345."""
    url = sqlite_url(tmp_path / "site.sqlite3")
    epoch = time.time()
    sites: list[Site] = []

    def booth(n: int) -> Site:
        text = SHARED_SITE.format(n=n, url=url, capacity=100, tariff=HOURLY_TARIFF, busy_ms=20_000)
        config = parse_site(text.replace("[site]\n", '[site]\nplate_regions = ["cn"]\nplate_province = "粤"\n', 1), f"booth-{n}.toml")
        site = build_site(config, open_store(url, settings=config.engine_settings), clock=SiteClock(epoch), traffic=Traffic(seed=n))
        site.start()
        sites.append(site)
        return site

    try:
        one, two = booth(1), booth(2)
        logged: list[LogEntry] = []
        two.bus.subscribe(lambda event: logged.append(event) if isinstance(event, LogEntry) else None)
        assert one.lanes.enter("IN1", "粤BD12345") is EntryOutcome.ENTERED
        _until(lambda: any(entry.booth == "booth-1" for entry in logged), timeout=3.0)
        line = next(entry.text for entry in logged if entry.booth == "booth-1")
        assert "IN1: 粤B·D12345 entered" in line
    finally:
        for site in sites:
            stop_booth(site)
