"""Attendant operations on lanes: near-match plates, manual gate, occupancy repair,
unknown entry at exit. Each is audited; bad input changes nothing."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlmodel import Session, select

from console.site.errors import PlateNotFound, SiteError
from console.site.events import (
    ExitPending,
    LaneChanged,
    PlateNeedsConfirmation,
    UnknownAtExit,
)
from console.store import visits
from console.store.tables import AuditRow, GateActionRow, OutboxRow
from tests.conftest import T0


def _audit(site) -> list[AuditRow]:  # type: ignore[no-untyped-def]
    """Audit rows of the operations under test (the fixture's shift opening left out)."""
    with Session(site.store.engine) as s:
        return [a for a in s.exec(select(AuditRow)).all() if not a.action.startswith("shift.")]


def _enter(site, rec, plate: str) -> None:  # type: ignore[no-untyped-def]
    before = site.store.query(visits.totals)["entries"]
    site.lanes.gates["IN1"].arrive(plate)
    rec.wait_for(lambda: site.store.query(visits.totals)["entries"] == before + 1)


def test_reader_confusion_at_exit_asks_the_attendant(make_site, clock) -> None:  # type: ignore[no-untyped-def]
    site, rec = make_site()
    _enter(site, rec, "KO5512")
    clock.advance(hours=1)
    site.lanes.gates["OUT1"].arrive("K05512")  # read with a zero for the letter O
    rec.wait_for(lambda: bool(rec.of(PlateNeedsConfirmation)))
    event = rec.of(PlateNeedsConfirmation)[0]
    assert event.candidates == ("KO5512",) and event.read_plate == "K05512"
    assert rec.of(ExitPending) == []  # nothing is charged on a guess
    ticket = site.exits.open_exit("OUT1", event.candidates[0])  # the attendant confirms
    assert ticket is not None and ticket.visit.plate == "KO5512"


def test_nothing_close_means_unknown_at_exit(make_site) -> None:  # type: ignore[no-untyped-def]
    site, rec = make_site()
    site.lanes.gates["OUT1"].arrive("XY9999")
    rec.wait_for(lambda: bool(rec.of(UnknownAtExit)))
    with pytest.raises(PlateNotFound) as info:
        site.exits.open_exit("OUT1", "XY9999")
    assert info.value.candidates == ()


def test_lost_ticket_and_stated_entry_time(make_site, clock) -> None:  # type: ignore[no-untyped-def]
    site, rec = make_site()
    ticket = site.exits.exit_with_unknown_entry("OUT1", "LT1", actor="ann", reason="driver lost ticket", lost_ticket=True)
    assert ticket is not None and ticket.due.minor == 2000
    assert any("Lost ticket" in item.label for item in ticket.quote.items)
    site.desk.pay_cash(ticket.id, "20", attendant="ann")  # one ticket per lane: paid before the next
    stated = clock.now() - timedelta(hours=2, minutes=30)
    ticket2 = site.exits.exit_with_unknown_entry("OUT1", "ST2", actor="ann", reason="receipt from the mall", entry_at=stated)
    assert ticket2 is not None and ticket2.due.minor == 750  # three started hours
    actions = [a.action for a in _audit(site)]
    assert actions.count("visit.entry_manual") == 2
    site.desk.pay_cash(ticket2.id, "7.50", attendant="ann")
    from console.store.tables import OverrideRow

    with Session(site.store.engine) as s:
        kinds = sorted((o.kind, o.new_minor) for o in s.exec(select(OverrideRow)).all())
    assert kinds == [("entry_time", 750), ("lost_ticket", 2000)]  # counted in the shift report


@pytest.mark.parametrize(
    ("kwargs", "words"),
    [
        (dict(lost_ticket=True, reason=""), "reason"),
        (dict(reason="x"), "either"),
        (dict(reason="x", lost_ticket=True, entry_at=T0), "either"),
        (dict(reason="x", entry_at=T0 + timedelta(hours=1)), "future"),
    ],
)
def test_unknown_entry_refusals_change_nothing(make_site, kwargs, words: str) -> None:  # type: ignore[no-untyped-def]
    site, _ = make_site()
    with pytest.raises(SiteError, match=words):
        site.exits.exit_with_unknown_entry("OUT1", "AB1", actor="ann", **kwargs)
    assert site.store.query(visits.totals)["entries"] == 0 and _audit(site) == []


def test_manual_open_is_recorded_before_the_barrier_moves(make_site) -> None:  # type: ignore[no-untyped-def]
    site, rec = make_site()
    record = site.lanes.manual_gate("IN1", "open", reason="emergency vehicle", actor="ann")
    rec.wait_for(lambda: any(e.lane.id == "IN1" and e.lane.gate == "open" for e in rec.of(LaneChanged)))
    with Session(site.store.engine) as s:
        row = s.get(GateActionRow, record)
        events = [e.type for e in s.exec(select(OutboxRow)).all()]
    assert row is not None and row.reason == "emergency vehicle" and row.actor == "ann"
    assert [a.action for a in _audit(site)] == ["gate.manual_open"]
    assert [e for e in events if not e.startswith("shift.")] == ["gate.manual"]


@pytest.mark.parametrize(
    ("lane", "action", "reason", "note", "words"),
    [
        ("IN9", "open", "safety", "", "no lane"),
        ("IN1", "lift", "safety", "", "open or close"),
        ("IN1", "open", "felt like it", "", "pick a reason"),
        ("IN1", "open", "other", " ", "needs a note"),
    ],
)
def test_manual_gate_refusals(make_site, lane: str, action: str, reason: str, note: str, words: str) -> None:  # type: ignore[no-untyped-def]
    site, _ = make_site()
    with pytest.raises(SiteError, match=words):
        site.lanes.manual_gate(lane, action, reason=reason, note=note, actor="ann")
    assert _audit(site) == []


def test_manual_open_with_a_waiting_fee_closes_the_visit_owing_it(make_site, clock) -> None:  # type: ignore[no-untyped-def]
    site, rec = make_site()
    _enter(site, rec, "AB1234")
    clock.advance(hours=2)
    site.lanes.gates["OUT1"].arrive("AB1234")
    rec.wait_for(lambda: bool(rec.of(ExitPending)))
    site.lanes.manual_gate("OUT1", "open", reason="exit without payment", actor="ann")
    visit = site.store.query(visits.latest_visit_for, "AB1234")
    assert visit is not None and not visit.is_open
    assert visit.fee_minor == 500 and visit.paid_minor == 0
    assert visit.close_reason == "manual open: exit without payment"
    assert site.board.occupancy()[0].occupied == 0


def test_occupancy_correction_and_stale_visits(make_site, clock) -> None:  # type: ignore[no-untyped-def]
    site, rec = make_site()
    _enter(site, rec, "OLD1")
    _enter(site, rec, "OLD2")
    clock.advance(hours=80)
    _enter(site, rec, "NEW1")
    stale = site.lanes.stale_visits("P1")
    assert [v.plate for v in stale] == ["OLD1", "OLD2"]
    assert site.lanes.close_stale([v.id for v in stale], reason="lane 2 was down", actor="ann") == 2
    assert site.board.occupancy()[0].occupied == 1
    site.lanes.correct_occupancy("P1", 5, reason="counted on the deck", actor="ann")
    assert site.board.occupancy()[0].occupied == 5
    with pytest.raises(SiteError, match="impossible"):
        site.lanes.correct_occupancy("P1", -1, reason="x", actor="ann")
    with pytest.raises(SiteError, match="already"):
        site.lanes.correct_occupancy("P1", 5, reason="x", actor="ann")
    with pytest.raises(SiteError, match="reason"):
        site.lanes.correct_occupancy("P1", 3, reason="", actor="ann")
    actions = [a.action for a in _audit(site)]
    assert actions.count("visit.close_stale") == 2 and actions.count("occupancy.adjust") == 1


def test_manual_move_keeps_the_lane_cameras_frame(store, clock) -> None:  # type: ignore[no-untyped-def]
    import cv2
    import numpy as np

    from console.site.build import build_site
    from console.site.config import parse_site
    from drivers.gate.simworld import Traffic
    from tests.conftest import Recorder, site_text

    text = site_text(200).replace('gate = "sim://?timing=fast"', 'gate = "sim://?timing=fast"\ncamera = "sim://?size=320x240&fps=15"')
    site = build_site(parse_site(text, "t.toml"), store, clock=clock, traffic=Traffic(seed=4))
    site.bus.subscribe(Recorder())
    site.start()
    try:
        deadline = __import__("time").monotonic() + 10
        while site.lanes.cameras["OUT1"].latest() is None and __import__("time").monotonic() < deadline:
            __import__("time").sleep(0.05)
        record = site.lanes.manual_gate("OUT1", "open", reason="safety", actor="ann")
    finally:
        site.stop()
    with Session(store.engine) as s:
        row = s.get(GateActionRow, record)
    assert row is not None and row.snapshot is not None and row.snapshot[:2] == b"\xff\xd8"
    picture = cv2.imdecode(np.frombuffer(row.snapshot, np.uint8), cv2.IMREAD_COLOR)
    assert picture is not None and picture.shape[:2] == (240, 320)
