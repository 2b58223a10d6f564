"""Attendants, PINs and the cash drawer's shifts, on a real SQLite file."""

from __future__ import annotations

import time

import pytest
from sqlmodel import Session, select

from console.domain.staff import MAX_FAILED_ATTEMPTS, Role
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


def test_wrong_pins_lock_the_user_longer_each_time(make_site, clock) -> None:  # type: ignore[no-untyped-def]
    site, _ = make_site()
    assert site.staff.needs_first_manager()
    site.staff.add_user("Maria", Role.MANAGER, "258046", actor="first start")
    assert not site.staff.needs_first_manager()
    for minutes in (5, 15, 60, 60):
        for _n in range(MAX_FAILED_ATTEMPTS):
            with pytest.raises(SiteError, match="^unknown user or wrong PIN$"):
                site.staff.sign_in("Maria", "000000")
        with pytest.raises(SiteError, match=f"paused after 5 wrong PINs; try again in {minutes} min"):
            site.staff.sign_in("Maria", "258046")  # even the right PIN waits out the lock
        clock.advance(minutes=minutes, seconds=1)
    assert site.staff.sign_in("Maria", "258046").role is Role.MANAGER
    # A right PIN ends the run of locks: the next lock is 5 minutes again.
    for _n in range(MAX_FAILED_ATTEMPTS):
        with pytest.raises(SiteError):
            site.staff.sign_in("Maria", "000000")
    with pytest.raises(SiteError, match="try again in 5 min"):
        site.staff.sign_in("Maria", "258046")
    with Session(site.store.engine) as s:
        actions = [a.action for a in s.exec(select(AuditRow).where(AuditRow.action.like("user.%"))).all()]  # type: ignore[attr-defined]
    assert actions == ["user.add"] + ["user.locked"] * 5


def test_a_manager_unlocks_a_user(make_site) -> None:  # type: ignore[no-untyped-def]
    site, _ = make_site()
    maria = site.staff.add_user("Maria", Role.MANAGER, "258046", actor="first start")
    ann = site.staff.add_user("ann", Role.ATTENDANT, "4711", actor="Maria")
    for _n in range(MAX_FAILED_ATTEMPTS):
        with pytest.raises(SiteError):
            site.staff.sign_in("ann", "0000")
    with pytest.raises(SiteError, match="only a manager"):
        site.staff.unlock_user("ann", actor=ann)
    with pytest.raises(SiteError, match="paused"):
        site.staff.sign_in("ann", "4711")
    site.staff.unlock_user("ann", actor=maria)
    assert site.staff.sign_in("ann", "4711").name == "ann"
    with Session(site.store.engine) as s:
        unlocked = s.exec(select(AuditRow).where(AuditRow.action == "user.unlocked")).one()
    assert unlocked.actor == "Maria"


@pytest.mark.parametrize(("name", "role", "pin", "words"), [
    ("Bob", Role.ATTENDANT, "12", "4 to 12 digits"), ("Bob", Role.ATTENDANT, "1111", "too easy"),
    ("Bob", Role.ATTENDANT, "12a4", "4 to 12 digits"), ("  ", Role.ATTENDANT, "258046", "name"),
    ("Bob", Role.MANAGER, "2580", "6 to 12 digits"), ("Bob", Role.MANAGER, "1234567890123", "6 to 12 digits"),
])
def test_weak_pins_and_bad_names_are_refused(make_site, name: str, role: Role, pin: str, words: str) -> None:  # type: ignore[no-untyped-def]
    site, _ = make_site()
    with pytest.raises(SiteError, match=words):
        site.staff.add_user(name, role, pin, actor="Maria")
    assert site.staff.needs_first_manager()


def test_unknown_names_get_the_same_answers_in_the_same_time(make_site) -> None:  # type: ignore[no-untyped-def]
    site, _ = make_site()
    site.staff.add_user("Maria", Role.MANAGER, "258046", actor="first start")

    def attempts(name: str) -> tuple[list[str], float]:
        answers, began = [], time.perf_counter()
        for _n in range(MAX_FAILED_ATTEMPTS + 1):
            with pytest.raises(SiteError) as refused:
                site.staff.sign_in(name, "000000")
            answers.append(str(refused.value).replace(name, "NAME"))
        return answers, (time.perf_counter() - began) / (MAX_FAILED_ATTEMPTS + 1)

    known, known_s = attempts("Maria")
    # Unknown names are counted in the booth's memory: a name of its own per run, or the
    # same test on the other database would find it paused already.
    unknown, unknown_s = attempts(f"Nobody{id(site)}")
    assert known == unknown
    assert known[-1].startswith("sign-in paused")
    # Both check a real argon2id hash: the same order of time, not 8 ms against 221 ms.
    assert 0.5 < unknown_s / known_s < 2, (known_s, unknown_s)


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
