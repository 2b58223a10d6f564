"""Decided exits while the database cannot be written: a manual open that takes the
waiting fee, a free exit, cash in hand at the desk, vehicles let in by hand. Each opens
the barrier at once, is kept in the local journal, and is merged exactly once, or listed
as a conflict for the manager when the database already says otherwise."""

from __future__ import annotations

import shutil
from datetime import timedelta

import pytest
from sqlmodel import Session, select

from console.domain.money import Money
from console.site.emergency import EmergencyJournal
from console.site.errors import SiteError
from console.site.events import LaneChanged
from console.site.tender import Tender
from console.store import emergency_records, visits
from console.store.audit import verify_chain
from console.store.tables import PaymentRow, VisitRow
from tests.conftest import T0
from tests.faults.locks import write_lock_held

pytestmark = pytest.mark.sqlite_only

STAY = timedelta(hours=2, minutes=10)  # 7.50 on the hourly tariff


def _waiting(site, plate: str):  # type: ignore[no-untyped-def]
    assert site.lanes.enter("IN1", plate, T0).value == "entered"
    ticket = site.exits.open_exit("OUT1", plate, now=T0 + STAY, from_reader=True)
    assert ticket is not None and ticket.due == Money(750, "EUR")
    return ticket


def _payments(site, visit_id: str) -> list[tuple[str, int, str | None]]:  # type: ignore[no-untyped-def]
    with site.store.read() as tx:
        return [(p.method, p.amount_minor, p.shift_id) for p in tx.exec(select(PaymentRow).where(PaymentRow.visit_id == visit_id)).all()]


def _visit(site, visit_id: str) -> tuple[str, str | None, int | None]:  # type: ignore[no-untyped-def]
    with site.store.read() as tx:
        row = tx.get(VisitRow, visit_id)
        assert row is not None
        return row.state, row.close_reason, row.fee_minor


def _chain_ok(site) -> None:  # type: ignore[no-untyped-def]
    with Session(site.store.engine) as session:
        report = verify_chain(session)
    assert report.ok, report.problem


def _quiet_journal(site) -> EmergencyJournal:  # type: ignore[no-untyped-def]
    """The site's journal with its background merges stopped: the test merges."""
    journal = site.lanes.emergency
    assert journal is not None
    journal.stop()
    return journal


def _opened(rec, lane: str) -> bool:  # type: ignore[no-untyped-def]
    return any(e.lane.id == lane and e.lane.gate == "open" for e in rec.of(LaneChanged))


def test_a_manual_open_that_takes_cash_settles_the_stay_once_when_merged(make_site) -> None:  # type: ignore[no-untyped-def]
    site, rec = make_site()
    journal = _quiet_journal(site)
    ticket = _waiting(site, "AB123")
    shift = site.staff.current_shift()
    with write_lock_held(site.store):
        site.lanes.manual_gate("OUT1", "open", reason="exit without payment", actor="ann", taken=Tender("cash", "7.50", "10"))
        rec.wait_for(lambda: _opened(rec, "OUT1"))
        [line] = journal.pending()
        assert line["exit"]["visit"] == ticket.visit.id and line["exit"]["fee_minor"] == 750
        assert line["exit"]["payments"] == [{"method": "cash", "amount_minor": 750, "tendered_minor": 1000, "change_minor": 250, "reference": None}]
        assert site.board.ticket(ticket.id) is None  # the journal settles it, not the desk
        assert journal.offline
    kept = journal.path.with_suffix(".copy")
    shutil.copy(journal.path, kept)
    assert journal.merge() == 1
    assert not journal.offline and journal.pending() == []
    shutil.copy(kept, journal.path)  # a crash after the merge's commit, before the rewrite
    assert journal.merge() == 0
    assert _payments(site, ticket.visit.id) == [("cash", 750, shift.id if shift else None)]
    assert _visit(site, ticket.visit.id) == ("closed", "manual open: exit without payment", 750)
    _chain_ok(site)


def test_a_stay_settled_elsewhere_meanwhile_is_a_conflict_not_a_second_payment(make_site) -> None:  # type: ignore[no-untyped-def]
    site, rec = make_site()
    journal = _quiet_journal(site)
    ticket = _waiting(site, "CD456")
    with write_lock_held(site.store):
        site.lanes.manual_gate("OUT1", "open", reason="exit without payment", actor="ann", taken=Tender("cash", "7.50"))
    # Meanwhile the same stay is paid at the desk (as another booth would).
    again = site.exits.open_exit("OUT1", "CD456", now=T0 + STAY, from_reader=True)
    assert again is not None
    site.desk.pay_cash(again.id, "10", attendant="ann")
    assert journal.merge() == 1
    assert [m for m, _, _ in _payments(site, ticket.visit.id)] == ["cash"]  # one payment
    [conflict] = site.store.query(emergency_records.conflicts)
    assert conflict.kind == "settled_elsewhere" and conflict.plate == "CD456" and conflict.paid_minor == 750
    assert journal.conflict_count == 1
    assert any("conflict" in getattr(e, "text", "") for e in rec.events)
    assert site.store.apply(emergency_records.resolve_conflict, line_id=conflict.id, actor="mia", note="refunded 7.50", at=T0)
    assert site.store.query(emergency_records.conflicts) == []
    assert site.store.query(emergency_records.conflicts, include_resolved=True)[0].resolved_by == "mia"
    _chain_ok(site)


def test_a_free_exit_leaves_and_is_journaled_when_the_database_is_locked(make_site) -> None:  # type: ignore[no-untyped-def]
    site, rec = make_site()
    journal = _quiet_journal(site)
    assert site.lanes.enter("IN1", "EF789", T0).value == "entered"
    with write_lock_held(site.store):
        assert site.exits.open_exit("OUT1", "EF789", now=T0 + timedelta(minutes=10), from_reader=True) is None  # left by itself
        rec.wait_for(lambda: _opened(rec, "OUT1"))
        [line] = journal.pending()
        assert line["exit"]["reason"] == "free" and line["exit"]["payments"] == []
    assert journal.merge() == 1
    row = site.store.query(visits.latest_visit_for, "EF789")
    assert row is not None and row.exit_at == T0 + timedelta(minutes=10)
    assert site.store.query(emergency_records.conflicts) == []


def test_a_pass_holder_leaves_free_and_is_journaled_when_the_database_is_locked(make_site) -> None:  # type: ignore[no-untyped-def]
    from console.store import cloud_copies

    site, rec = make_site()
    journal = _quiet_journal(site)
    with site.store.write() as tx:
        cloud_copies.replace_members(tx, [{"plate": "PS321", "kind": "pass", "name": "staff", "plan": None}])
    assert site.lanes.enter("IN1", "PS321", T0).value == "entered"
    with write_lock_held(site.store):
        assert site.exits.open_exit("OUT1", "PS321", now=T0 + STAY, from_reader=True) is None  # leaves by itself
        rec.wait_for(lambda: _opened(rec, "OUT1"))
        [line] = journal.pending()
        assert line["exit"]["reason"] == "pass staff" and line["exit"]["fee_minor"] == 0
    assert journal.merge() == 1
    assert site.store.query(visits.open_visit_for, "PS321") is None
    _chain_ok(site)


def test_cash_in_hand_at_the_desk_opens_and_is_journaled_after_the_commit_failed(make_site) -> None:  # type: ignore[no-untyped-def]
    site, rec = make_site()
    journal = _quiet_journal(site)
    ticket = _waiting(site, "GH246")
    with write_lock_held(site.store):
        with pytest.raises(SiteError, match="NOT recorded"):
            site.desk.pay_cash(ticket.id, "10", attendant="ann")
        assert site.desk.in_emergency  # the desk now offers to open and journal
        with pytest.raises(SiteError, match="drawer"):  # the drawer is still checked
            site.desk.pay_and_journal(ticket.id, [Tender("cash", "", "10")], attendant="bob")
        settled = site.desk.pay_and_journal(ticket.id, [Tender("cash", "", "10")], attendant="ann")
        assert settled.change == Money(250, "EUR")
        rec.wait_for(lambda: _opened(rec, "OUT1"))
        with pytest.raises(SiteError):  # the ticket is gone: it cannot be journaled twice
            site.desk.pay_and_journal(ticket.id, [Tender("cash", "", "10")], attendant="ann")
    assert journal.merge() == 1
    shift = site.staff.current_shift()
    assert _payments(site, ticket.visit.id) == [("cash", 750, shift.id if shift else None)]
    _chain_ok(site)


def test_vehicles_let_in_by_hand_become_visits_and_a_plate_inside_is_a_conflict(make_site) -> None:  # type: ignore[no-untyped-def]
    site, _rec = make_site()
    journal = _quiet_journal(site)
    assert site.lanes.enter("IN1", "JK111", T0).value == "entered"
    with write_lock_held(site.store):
        assert site.lanes.enter("IN1", "LM222", T0).value == "not_recorded"
        assert journal.offline  # the attendant is told to let vehicles in by hand
        site.board.update_lane("IN1", last_plate="LM222", vehicle_present=True)  # as the lane's reader left it
        site.lanes.manual_gate("IN1", "open", reason="other", note="database down", actor="ann")
        site.board.update_lane("IN1", last_plate="JK111", vehicle_present=True)  # already inside
        site.lanes.manual_gate("IN1", "open", reason="other", note="database down", actor="ann")
    assert journal.merge() == 2
    inside = site.store.query(visits.open_visit_for, "LM222")
    assert inside is not None and inside.entry_lane == "IN1"
    [conflict] = site.store.query(emergency_records.conflicts)
    assert conflict.kind == "entered_twice" and conflict.plate == "JK111"
    assert len(site.store.query(visits.open_plates)) == 2  # JK111 once, LM222
    _chain_ok(site)


def test_a_torn_last_line_is_dropped_and_never_swallows_the_next(make_site, tmp_path) -> None:  # type: ignore[no-untyped-def]
    site, _rec = make_site()
    path = tmp_path / "torn.jsonl"
    path.write_text('{"v": 2, "id": "x", "at": "2026-03-02T08:00:00+00:00", "gate": {"lane": "IN1", "act', encoding="utf-8")
    journal = EmergencyJournal(path, site.store, booth_id="booth-1")
    assert journal.pending_count == 0
    journal.append(action_id="kept", lane="IN1", action="open", reason="safety", note="", actor="ann", at=T0, plate=None)
    assert [line["id"] for line in journal.pending()] == ["kept"]
    assert journal.merge() == 1
    assert path.read_text(encoding="utf-8") == ""


async def test_the_exit_desk_offers_open_and_journal_after_the_commit_failed(store, clock) -> None:  # type: ignore[no-untyped-def]
    from textual.widgets import Static

    from console.ui.app import BoothApp
    from tests.ui.test_console_ui import _car_waiting_at_exit, _site, until

    site = _site(store, clock)
    app = BoothApp(site, attendant="ann")
    async with app.run_test(size=(130, 50)) as pilot:
        desk = await _car_waiting_at_exit(pilot, app, site, clock)  # 7.50
        journal = _quiet_journal(site)

        def message() -> str:
            return str(desk.query_one("#message", Static).render())

        with write_lock_held(store):
            assert not desk.check_action("journal", ())  # not offered while the database works
            await pilot.press(*"10", "enter")
            await until(pilot, lambda: "-error" in desk.query_one("#message", Static).classes, timeout=10)
            assert "payment NOT recorded" in message() and "ctrl+b" in message()
            assert desk.check_action("journal", ())
            await pilot.press("ctrl+b")
            await until(pilot, lambda: desk.settled is not None, timeout=10)
            assert "EMERGENCY" in message() and "2.50" in message()
            assert journal.pending_count == 1
        assert journal.merge() == 1
    with store.read() as tx:
        assert [(p.method, p.amount_minor) for p in tx.exec(select(PaymentRow)).all()] == [("cash", 750)]


def test_the_manager_lists_and_resolves_conflicts_from_the_command_line(make_site, tmp_path, capsys) -> None:  # type: ignore[no-untyped-def]
    import json

    from console import cli
    from tests.conftest import site_text

    site, _rec = make_site()
    journal = _quiet_journal(site)
    _waiting(site, "NP777")
    with write_lock_held(site.store):
        site.lanes.manual_gate("OUT1", "open", reason="exit without payment", actor="ann", taken=Tender("cash", "7.50"))
    again = site.exits.open_exit("OUT1", "NP777", now=T0 + STAY, from_reader=True)
    assert again is not None
    site.desk.pay_cash(again.id, "10", attendant="ann")
    assert journal.merge() == 1
    site_file = tmp_path / "site.toml"
    site_file.write_text(site_text(), encoding="utf-8")
    where = ["--site", str(site_file), "--db", site.store.engine.url.render_as_string(hide_password=False)]
    capsys.readouterr()
    assert cli.main(["emergency", "conflicts", "--json", *where]) == 1  # open conflicts: exit 1
    [listed] = json.loads(capsys.readouterr().out)
    assert listed["plate"] == "NP777" and listed["kind"] == "settled_elsewhere" and listed["paid_minor"] == 750
    assert cli.main(["emergency", "conflicts", *where]) == 1
    said = capsys.readouterr().out
    assert "NP777" in said and "7.50" in said and "settled at another booth" in said
    assert cli.main(["doctor", "--json", *where]) in (0, 1)
    assert "emergency conflicts" in capsys.readouterr().out
    assert cli.main(["emergency", "resolve", listed["id"], "--note", "refunded the driver", "--by", "mia", *where]) == 0
    capsys.readouterr()
    assert cli.main(["emergency", "conflicts", *where]) == 0
    assert "no emergency conflicts" in capsys.readouterr().out
    assert cli.main(["emergency", "status", *where]) == 0


async def test_the_status_bar_counts_the_conflicts_for_the_manager(store, clock) -> None:  # type: ignore[no-untyped-def]
    from console.ui.app import BoothApp
    from console.ui.widgets.status_bar import StatusBar
    from tests.ui.test_console_ui import _site, until

    site = _site(store, clock)
    app = BoothApp(site, attendant="ann")
    async with app.run_test(size=(130, 40)) as pilot:
        await until(pilot, lambda: app.site is not None and app.dashboard.site is not None)
        journal = _quiet_journal(site)

        def bar() -> str:
            return str(app.dashboard.query_one(StatusBar).render())

        _waiting(site, "ST123")
        with write_lock_held(store):
            site.lanes.manual_gate("OUT1", "open", reason="exit without payment", actor="ann", taken=Tender("cash", "7.50"))
            await until(pilot, lambda: "EMERGENCY MODE: 1 decision waits" in bar(), timeout=5)
        again = site.exits.open_exit("OUT1", "ST123", now=T0 + STAY, from_reader=True)
        assert again is not None
        site.desk.pay_cash(again.id, "10", attendant="ann")
        assert journal.merge() == 1
        await until(pilot, lambda: "1 emergency conflict for the manager" in bar() and "EMERGENCY MODE" not in bar(), timeout=5)


def test_a_line_the_merge_cannot_read_is_set_aside_and_holds_back_nothing(make_site, tmp_path) -> None:  # type: ignore[no-untyped-def]
    site, rec = make_site()
    path = tmp_path / "bad.jsonl"
    journal = EmergencyJournal(path, site.store, booth_id="booth-1", report=site.bus.report)
    journal.append_line({"id": "bad", "at": T0.isoformat(), "actor": "ann", "exit": {"visit": "v", "lane": "OUT1"}})  # no fee, no ticket
    journal.append(action_id="good", lane="IN1", action="open", reason="safety", note="", actor="ann", at=T0, plate=None)
    assert journal.merge() == 1
    assert journal.pending() == []
    assert '"id": "bad"' in path.with_name(path.name + ".unreadable").read_text(encoding="utf-8")
    assert any("set aside" in getattr(e, "text", "") for e in rec.events)


async def test_f4_with_the_cash_taken_for_the_waiting_fee_is_journaled_and_merged(store, clock) -> None:  # type: ignore[no-untyped-def]
    from textual.widgets import Input

    from console.ui.app import BoothApp
    from tests.ui.test_console_ui import _site, until

    site = _site(store, clock)
    app = BoothApp(site, attendant="ann")
    async with app.run_test(size=(130, 44), notifications=True) as pilot:
        await until(pilot, lambda: app.site is not None and app.dashboard.site is not None)
        journal = _quiet_journal(site)
        ticket = _waiting(site, "FK404")
        with write_lock_held(store):
            await pilot.press("f4")
            await until(pilot, lambda: app.screen.id == "manual-gate")
            app.screen.query_one("#lane").value = "OUT1"  # type: ignore[attr-defined]
            app.screen.query_one("#taken", Input).focus()
            await pilot.press(*"7.50", "enter", *"database down", "enter")
            await until(pilot, lambda: journal.pending_count == 1, timeout=10)
            [line] = journal.pending()
            assert line["exit"]["payments"][0]["amount_minor"] == 750 and line["exit"]["plate"] == "FK404"
        assert journal.merge() == 1
    with store.read() as tx:
        assert [(p.visit_id, p.method, p.amount_minor) for p in tx.exec(select(PaymentRow)).all()] == [(ticket.visit.id, "cash", 750)]
