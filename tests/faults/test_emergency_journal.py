"""The barrier is never hostage to the database: a manual open with the database locked
moves the barrier, is kept in the local journal, and is merged (audited) once the
database is back; nothing is lost or applied twice."""

from __future__ import annotations

import shutil

import pytest
from sqlmodel import select

from console.site.events import LaneChanged
from console.store.tables import AuditRow, GateActionRow
from tests.faults.locks import write_lock_held

pytestmark = pytest.mark.sqlite_only


def _moves(store) -> list[tuple[str, str, str]]:  # type: ignore[no-untyped-def]
    with store.read() as tx:
        return [(g.id, g.lane, g.action) for g in tx.exec(select(GateActionRow)).all()]


def _audit(store) -> list[str]:  # type: ignore[no-untyped-def]
    with store.read() as tx:
        return [a.action for a in tx.exec(select(AuditRow)).all() if a.action.startswith("gate.")]


def test_manual_open_with_the_database_locked_is_journaled_then_merged(make_site) -> None:  # type: ignore[no-untyped-def]
    site, rec = make_site()
    journal = site.lanes.emergency
    assert journal is not None
    journal.stop()  # this test merges by itself (the next one tests the background retry)
    with write_lock_held(site.store):
        record = site.lanes.manual_gate("IN1", "open", reason="emergency vehicle", actor="ann")
        rec.wait_for(lambda: any(e.lane.id == "IN1" and e.lane.gate == "open" for e in rec.of(LaneChanged)))
        assert [e["id"] for e in journal.pending()] == [record]
        assert journal.merge() == 0  # still locked: kept for later
    assert _moves(site.store) == []
    # A crash after the merge's commit but before the file was emptied: the copy brings
    # the line back, and the second merge finds it already recorded.
    kept = journal.path.with_suffix(".copy")
    shutil.copy(journal.path, kept)
    assert journal.merge() == 1
    assert journal.pending() == []
    shutil.copy(kept, journal.path)
    assert journal.merge() == 0
    assert _moves(site.store) == [(record, "IN1", "open")]
    assert _audit(site.store) == ["gate.manual_open"]
    assert any("EMERGENCY MODE" in e.text for e in rec.events if hasattr(e, "text"))


def test_the_background_retry_merges_by_itself(make_site) -> None:  # type: ignore[no-untyped-def]
    site, rec = make_site()
    journal = site.lanes.emergency
    assert journal is not None
    journal.stop()
    journal.retry_s = 0.1
    journal.start()
    with write_lock_held(site.store):
        record = site.lanes.manual_gate("OUT1", "open", reason="emergency vehicle", actor="ann")
    rec.wait_for(lambda: _moves(site.store) == [(record, "OUT1", "open")], timeout=10)
    assert journal.pending() == []


async def test_status_bar_shows_emergency_mode_until_merged(store, clock) -> None:  # type: ignore[no-untyped-def]
    from console.ui.app import BoothApp
    from console.ui.widgets.status_bar import StatusBar
    from tests.ui.test_console_ui import _site, until

    site = _site(store, clock)
    app = BoothApp(site, attendant="ann")
    async with app.run_test(size=(130, 40)) as pilot:
        await until(pilot, lambda: app.site is not None and app.dashboard.site is not None)
        journal = site.lanes.emergency
        assert journal is not None

        def bar() -> str:
            return str(app.dashboard.query_one(StatusBar).render())

        with write_lock_held(store):
            site.lanes.manual_gate("IN1", "open", reason="emergency vehicle", actor="ann")
            await until(pilot, lambda: "EMERGENCY MODE: 1 decision waits" in bar(), timeout=5)
        journal.merge()
        await until(pilot, lambda: "EMERGENCY" not in bar(), timeout=5)
