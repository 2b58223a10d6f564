"""Attendants, PINs and the cash drawer's shifts, on a real SQLite file."""

from __future__ import annotations

import pytest
from sqlmodel import Session, select

from console.domain.staff import Role
from console.site.errors import SiteError
from console.site.events import ExitPending
from console.store import visits
from console.store.tables import AuditRow, PaymentRow, ShiftRow


def _paid_exit(site, rec, clock, plate: str, tendered: str) -> None:  # type: ignore[no-untyped-def]
    site.lanes.gates["IN1"].arrive(plate)
    rec.wait_for(lambda: site.store.query(visits.open_visit_for, plate) is not None)
    clock.advance(hours=2, minutes=5)
    before = len(rec.of(ExitPending))
    site.lanes.gates["OUT1"].arrive(plate)
    rec.wait_for(lambda: len(rec.of(ExitPending)) > before)
    site.desk.pay_cash(rec.of(ExitPending)[-1].ticket.id, tendered, attendant="ann")


def test_wrong_pins_lock_the_user_for_five_minutes(make_site, clock) -> None:  # type: ignore[no-untyped-def]
    site, _ = make_site()
    assert site.staff.needs_first_manager()
    site.staff.add_user("Maria", Role.MANAGER, "2580", actor="first start")
    assert not site.staff.needs_first_manager()
    for left in (4, 3, 2, 1):
        with pytest.raises(SiteError, match=f"{left} tries left"):
            site.staff.sign_in("Maria", "0000")
    with pytest.raises(SiteError, match="locked for 5 min"):
        site.staff.sign_in("Maria", "0000")
    with pytest.raises(SiteError, match="locked"):
        site.staff.sign_in("Maria", "2580")  # even the right PIN waits out the lock
    clock.advance(minutes=5, seconds=1)
    assert site.staff.sign_in("Maria", "2580").role is Role.MANAGER
    with Session(site.store.engine) as s:
        assert [a.action for a in s.exec(select(AuditRow).where(AuditRow.action.like("user.%"))).all()] == ["user.add", "user.locked"]  # type: ignore[attr-defined]


@pytest.mark.parametrize(("name", "pin", "words"), [("Bob", "12", "4 to 8 digits"), ("Bob", "1111", "too easy"), ("Bob", "12a4", "4 to 8 digits"), ("  ", "2580", "name")])
def test_weak_pins_and_bad_names_are_refused(make_site, name: str, pin: str, words: str) -> None:  # type: ignore[no-untyped-def]
    site, _ = make_site()
    with pytest.raises(SiteError, match=words):
        site.staff.add_user(name, Role.ATTENDANT, pin, actor="Maria")
    assert site.staff.needs_first_manager()


def test_unknown_user_gets_the_same_answer_as_a_wrong_pin(make_site) -> None:  # type: ignore[no-untyped-def]
    site, _ = make_site()
    site.staff.add_user("Maria", Role.MANAGER, "2580", actor="first start")
    with pytest.raises(SiteError, match="unknown user or wrong PIN"):
        site.staff.sign_in("Nobody", "2580")


def test_shift_expected_counted_difference_and_no_second_close(make_site, clock) -> None:  # type: ignore[no-untyped-def]
    site, rec = make_site()  # the fixture opened a shift for ann with a float of 0
    _paid_exit(site, rec, clock, "AA1", "10")  # fee 7.50, change 2.50
    _paid_exit(site, rec, clock, "BB2", "7.50")
    shift = site.staff.current_shift()
    assert shift is not None
    with Session(site.store.engine) as s:
        assert {p.shift_id for p in s.exec(select(PaymentRow)).all()} == {shift.id}
    closed = site.staff.close_shift("10x1 5x1 0.50x1", actor="ann", note="50 cents short")
    assert closed.expected_cash is not None and closed.expected_cash.minor == 1500
    assert closed.counted_cash is not None and closed.counted_cash.minor == 1550
    assert closed.difference is not None and closed.difference.minor == 50
    with pytest.raises(SiteError, match="no shift is open"):
        site.staff.close_shift("10x1", actor="ann")
    with pytest.raises(SiteError, match="open one"):
        site.lanes.gates["IN1"].arrive("CC3")
        rec.wait_for(lambda: site.store.query(visits.open_visit_for, "CC3") is not None)
        clock.advance(hours=1)
        site.lanes.gates["OUT1"].arrive("CC3")
        rec.wait_for(lambda: any(e.ticket.visit.plate == "CC3" for e in rec.of(ExitPending)))
        site.desk.pay_cash([e for e in rec.of(ExitPending) if e.ticket.visit.plate == "CC3"][0].ticket.id, "5", attendant="ann")


@pytest.mark.parametrize(("count", "words"), [("-5x2", "whole number|not a"), ("20x-1", "whole number"), ("3x1", "not a EUR note"), ("20x99999", "cannot be in one drawer"), ("twenty", "value x pieces")])
def test_impossible_counts_change_nothing(make_site, count: str, words: str) -> None:  # type: ignore[no-untyped-def]
    site, _ = make_site()
    with pytest.raises(SiteError, match=words):
        site.staff.close_shift(count, actor="ann")
    assert site.staff.current_shift() is not None


def test_no_close_while_a_vehicle_waits_and_hand_over_keeps_the_drawer(make_site, clock) -> None:  # type: ignore[no-untyped-def]
    site, rec = make_site()
    site.lanes.gates["IN1"].arrive("WAIT1")
    rec.wait_for(lambda: site.store.query(visits.open_visit_for, "WAIT1") is not None)
    clock.advance(hours=1)
    site.lanes.gates["OUT1"].arrive("WAIT1")
    rec.wait_for(lambda: bool(rec.of(ExitPending)))
    with pytest.raises(SiteError, match="waiting at OUT1"):
        site.staff.close_shift("0.01x0", actor="ann")
    site.desk.pay_cash(rec.of(ExitPending)[0].ticket.id, "5", attendant="ann")  # 1 h: 2.50, change 2.50
    closed = site.staff.close_shift("2x1 0.50x1", actor="ann", hand_over_to="ben")
    assert closed.difference is not None and closed.difference.is_zero
    after = site.staff.current_shift()
    assert after is not None and after.attendant == "ben" and after.opening_float.minor == 250
    with Session(site.store.engine) as s:
        assert [r.state for r in s.exec(select(ShiftRow).order_by(ShiftRow.opened_at)).all()] == ["closed", "open"]
