"""Every booth's event log shows the other booths' entries, exits, payments and manual
barrier moves, marked with the booth, within a second: two Site instances on one database
(PostgreSQL with LISTEN/NOTIFY, SQLite by polling)."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Callable, Iterator

import pytest
from sqlalchemy import text

from console.site.events import LogEntry
from console.site.lanes import EntryOutcome
from console.site.site import Site
from console.store.engine import sqlite_url
from tests.conftest import Recorder
from tests.support.booths import pay_exit, start_booth, stop_booth
from tests.support.postgres import PostgresServer

BOTH = [pytest.param("postgresql", marks=pytest.mark.postgresql), "sqlite"]


def _until(condition: Callable[[], bool], timeout: float) -> float:
    """Seconds until `condition` held; fails after `timeout`."""
    started = time.perf_counter()
    while not condition():
        if time.perf_counter() - started > timeout:
            raise AssertionError(f"not within {timeout} s")
        time.sleep(0.005)
    return time.perf_counter() - started


@pytest.fixture
def two_booths(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[tuple[Site, Site, Recorder, Recorder]]:
    url = request.getfixturevalue("pg_migrated_url") if request.param == "postgresql" else sqlite_url(tmp_path / "site.sqlite3")
    epoch = time.time()
    one = start_booth(url, 1, epoch=epoch, migrate=True)
    two = start_booth(url, 2, epoch=epoch)
    heard_one, heard_two = Recorder(), Recorder()
    one.bus.subscribe(heard_one)
    two.bus.subscribe(heard_two)
    yield one, two, heard_one, heard_two
    stop_booth(one)
    stop_booth(two)


def _from(recorder: Recorder, booth: str) -> list[LogEntry]:
    return [e for e in recorder.of(LogEntry) if e.booth == booth]


@pytest.mark.parametrize("two_booths", BOTH, indirect=True)
def test_an_entry_at_one_booth_is_in_the_others_log_within_a_second(two_booths: tuple[Site, Site, Recorder, Recorder]) -> None:
    one, two, heard_one, heard_two = two_booths
    assert one.lanes.enter("IN1", "EVT1") is EntryOutcome.ENTERED
    took = _until(lambda: any("EVT1 entered" in e.text for e in _from(heard_two, "booth-1")), timeout=1.0)
    assert took < 1.0
    # The booth that did it keeps its own line, unmarked, and never hears itself twice.
    assert [e for e in heard_one.of(LogEntry) if "EVT1 entered" in e.text and not e.booth]
    time.sleep(0.7)  # more than a poll: a repeat would have come by now
    assert not _from(heard_one, "booth-1")
    assert len([e for e in _from(heard_two, "booth-1") if "EVT1" in e.text]) == 1


@pytest.mark.parametrize("two_booths", BOTH, indirect=True)
def test_exits_payments_and_manual_opens_are_in_the_other_log(two_booths: tuple[Site, Site, Recorder, Recorder]) -> None:
    one, two, heard_one, heard_two = two_booths
    assert one.lanes.enter("IN1", "PAY1") is EntryOutcome.ENTERED
    # Entered at booth 1, paid at booth 2: booth 1 hears the exit and the payment.
    assert pay_exit(two, "OUT2", "PAY1", "card", attendant="att2") == "paid"
    _until(lambda: any("PAY1 left, fee" in e.text and "7.50" in e.text for e in _from(heard_one, "booth-2")), timeout=1.0)
    two.lanes.manual_gate("OUT2", "open", reason="safety", actor="att2")
    _until(lambda: any("OUT2: barrier opened by att2: safety" in e.text and e.level == "warning"
                       for e in _from(heard_one, "booth-2")), timeout=1.0)
    # Booth 2 heard booth 1's entry, and nothing of its own.
    assert [e.text for e in _from(heard_two, "booth-1") if "PAY1 entered" in e.text]
    assert not _from(heard_two, "booth-2")


@pytest.mark.postgresql
@pytest.mark.parametrize("two_booths", ["postgresql"], indirect=True)
def test_an_event_while_the_listener_is_cut_off_is_shown_after_it_reconnects(
    two_booths: tuple[Site, Site, Recorder, Recorder], postgres_server: PostgresServer
) -> None:
    one, two, _heard_one, heard_two = two_booths
    assert two.live is not None
    feed = two.live.feed
    _until(lambda: feed.backend_pid is not None, timeout=5)
    pid = feed.backend_pid
    with postgres_server.connect() as admin:
        admin.execute("SELECT pg_terminate_backend(%s)", (pid,))
        _until(lambda: admin.execute("SELECT count(*) FROM pg_stat_activity WHERE pid = %s", (pid,)).fetchone()[0] == 0, timeout=5)
    # Its notification is lost with the connection; the entry is read from the chain.
    assert one.lanes.enter("IN1", "LOST1") is EntryOutcome.ENTERED
    _until(lambda: any("LOST1 entered" in e.text for e in _from(heard_two, "booth-1")), timeout=10)
    _until(lambda: feed.reconnects >= 2, timeout=5)
    assert one.lanes.enter("IN1", "BACK1") is EntryOutcome.ENTERED
    assert _until(lambda: any("BACK1 entered" in e.text for e in _from(heard_two, "booth-1")), timeout=1.0) < 1.0


@pytest.mark.postgresql
@pytest.mark.parametrize("two_booths", ["postgresql"], indirect=True)
def test_a_change_that_sent_no_notification_shows_within_the_resync(two_booths: tuple[Site, Site, Recorder, Recorder]) -> None:
    """A notification lost where the listener cannot notice (a half-open link) is caught by
    the listener reading the site anyway after `resync_s` without a word."""
    one, two, _heard_one, _heard_two = two_booths
    assert two.live is not None
    time.sleep(1.5)  # the booths' own start-up notifications are heard and read first
    with one.store.engine.begin() as conn:  # a change written without a NOTIFY
        conn.execute(text("INSERT INTO occupancy_adjustment (id, zone, delta, reason, actor, at) "
                          "VALUES ('quiet-1', 'P1', 3, 'counted by hand', 'test', now())"))
    took = _until(lambda: two.board.occupied("P1") == 3, timeout=two.live.resync_s + 3)
    assert took > 0.5  # it was the resync, not a notification
