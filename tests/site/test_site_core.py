"""The site core with in-process simulated lanes, a real SQLite file and a fixed clock."""

from __future__ import annotations

import pytest
from sqlmodel import Session, select

from console.domain.money import Money
from console.site.errors import SiteError
from console.site.events import (
    ExitPending,
    ExitSettled,
    LaneChanged,
    LogEntry,
    OccupancyChanged,
)
from console.store import visits
from console.store.tables import PaymentRow
from drivers.gate.simulated import InProcessGate


def _opened(rec, lane_id: str) -> bool:  # type: ignore[no-untyped-def]
    return any(e.lane.id == lane_id and e.lane.gate == "open" for e in rec.of(LaneChanged))


def _gate(site, lane_id: str) -> InProcessGate:  # type: ignore[no-untyped-def]
    gate = site.lanes.gates[lane_id]
    assert isinstance(gate, InProcessGate)
    return gate


def test_entry_opens_the_gate_after_the_visit_is_stored(make_site) -> None:  # type: ignore[no-untyped-def]
    site, rec = make_site()
    _gate(site, "IN1").arrive("AB1234C")
    rec.wait_for(lambda: _opened(rec, "IN1"))
    assert site.store.query(visits.open_visit_for, "AB1234C") is not None
    rec.wait_for(lambda: any(z.occupied == 1 for e in rec.of(OccupancyChanged) for z in e.zones))
    assert site.board.occupancy()[0].occupied == 1


def test_full_zone_refuses_entry_and_keeps_the_gate_closed(make_site) -> None:  # type: ignore[no-untyped-def]
    site, rec = make_site(capacity=1)
    _gate(site, "IN1").arrive("AA1111")
    rec.wait_for(lambda: site.board.occupancy()[0].full)
    _gate(site, "IN1").arrive("BB2222")
    rec.wait_for(lambda: any("full" in e.text for e in rec.of(LogEntry)))
    assert site.store.query(visits.open_visit_for, "BB2222") is None
    assert "FULL" in site.board.lane("IN1").status


def test_plate_already_inside_is_flagged_not_entered_twice(make_site) -> None:  # type: ignore[no-untyped-def]
    site, rec = make_site()
    _gate(site, "IN1").arrive("AB1234C")
    rec.wait_for(lambda: site.store.query(visits.open_visit_for, "AB1234C") is not None)
    _gate(site, "IN1").arrive("AB1234C")
    rec.wait_for(lambda: any("already inside" in e.text for e in rec.of(LogEntry)))
    assert site.store.query(visits.totals)["entries"] == 1
    assert site.board.occupancy()[0].occupied == 1


def test_paid_exit_records_payment_then_opens_gate(make_site, clock) -> None:  # type: ignore[no-untyped-def]
    site, rec = make_site()
    _gate(site, "IN1").arrive("AB1234C")
    rec.wait_for(lambda: site.board.occupancy()[0].occupied == 1)
    clock.advance(hours=2, minutes=10)  # three started hours
    _gate(site, "OUT1").arrive("AB1234C")
    rec.wait_for(lambda: bool(rec.of(ExitPending)))
    ticket = rec.of(ExitPending)[0].ticket
    assert ticket.due == Money(750, "EUR")
    assert site.board.lane("OUT1").gate == "closed"  # nothing opens before payment

    with pytest.raises(SiteError, match="short"):
        site.desk.pay_cash(ticket.id, "5", attendant="ann")
    with pytest.raises(SiteError, match="negative"):
        site.desk.pay_cash(ticket.id, "-10", attendant="ann")
    with pytest.raises(SiteError, match="not an amount"):
        site.desk.pay_cash(ticket.id, "ten", attendant="ann")
    assert site.store.query(visits.totals)["exits"] == 0

    settled = site.desk.pay_cash(ticket.id, "10", attendant="ann")
    assert settled.change == Money(250, "EUR")
    rec.wait_for(lambda: _opened(rec, "OUT1"))
    rec.wait_for(lambda: site.board.occupancy()[0].occupied == 0)
    with pytest.raises(SiteError, match="no longer waiting"):
        site.desk.pay_cash(ticket.id, "10", attendant="ann")
    with Session(site.store.engine) as s:
        payments = s.exec(select(PaymentRow)).all()
    assert [(p.amount_minor, p.tendered_minor, p.change_minor, p.attendant) for p in payments] == [(750, 1000, 250, "ann")]
    assert len(rec.of(ExitSettled)) == 1


def test_stay_within_grace_leaves_without_a_ticket(make_site, clock) -> None:  # type: ignore[no-untyped-def]
    site, rec = make_site()
    _gate(site, "IN1").arrive("AB1234C")
    rec.wait_for(lambda: site.board.occupancy()[0].occupied == 1)
    clock.advance(minutes=10)
    _gate(site, "OUT1").arrive("AB1234C")
    rec.wait_for(lambda: site.store.query(visits.totals)["exits"] == 1)
    assert rec.of(ExitPending) == []
    rec.wait_for(lambda: _opened(rec, "OUT1"))


def test_unknown_plate_and_double_exit_get_clear_messages(make_site, clock) -> None:  # type: ignore[no-untyped-def]
    site, rec = make_site()
    with pytest.raises(SiteError, match="unknown plate ZZ999"):
        site.exits.open_exit("OUT1", "zz-999")
    _gate(site, "IN1").arrive("AB1234C")
    rec.wait_for(lambda: site.board.occupancy()[0].occupied == 1)
    clock.advance(minutes=5)
    assert site.exits.open_exit("OUT1", "AB1234C") is None  # free, leaves
    with pytest.raises(SiteError, match="double exit"):
        site.exits.open_exit("OUT1", "AB1234C")
    with pytest.raises(SiteError, match="not an exit lane"):
        site.exits.open_exit("IN1", "AB1234C")
    with pytest.raises(SiteError, match="not a plate"):
        site.exits.open_exit("OUT1", "AB/12")
    assert site.store.query(visits.totals) == {"entries": 1, "exits": 1, "revenue_minor": 0}


def test_reopening_an_exit_keeps_its_ticket(make_site, clock) -> None:  # type: ignore[no-untyped-def]
    site, rec = make_site()
    _gate(site, "IN1").arrive("AB1234C")
    rec.wait_for(lambda: site.board.occupancy()[0].occupied == 1)
    clock.advance(hours=1)
    first = site.exits.open_exit("OUT1", "AB1234C")
    clock.advance(minutes=30)
    second = site.exits.open_exit("OUT1", "AB1234C")
    assert first is not None and second is not None and first.id == second.id


@pytest.mark.sqlite_only
def test_database_failure_at_entry_keeps_the_gate_closed(make_site, tmp_path) -> None:  # type: ignore[no-untyped-def]
    import sqlite3

    site, rec = make_site()
    path = site.store.engine.url.database
    other = sqlite3.connect(path, isolation_level=None)
    other.execute("BEGIN EXCLUSIVE")
    try:
        _gate(site, "IN1").arrive("AB1234C")
        rec.wait_for(lambda: any("not recorded" in e.text for e in rec.of(LogEntry)))
        assert not _opened(rec, "IN1")
    finally:
        other.execute("ROLLBACK")
        other.close()
    assert site.store.query(visits.totals)["entries"] == 0
