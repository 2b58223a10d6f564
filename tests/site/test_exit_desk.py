"""The exit desk's money: split payments, card and account, overrides with a manager's
PIN, unpaid exits that come back as debts, change left behind."""

from __future__ import annotations

import pytest
from sqlmodel import Session, select

from console.domain.staff import Role
from console.site.errors import SiteError
from console.site.events import ExitPending
from console.site.tender import Tender
from console.store import visits
from console.store.tables import CashMovementRow, DebtRow, OverrideRow, PaymentRow


def _waiting(site, rec, clock, plate: str, hours: float = 2.1):  # type: ignore[no-untyped-def]
    site.lanes.gates["IN1"].arrive(plate)
    rec.wait_for(lambda: site.store.query(visits.open_visit_for, plate) is not None)
    clock.advance(hours=hours)
    before = len(rec.of(ExitPending))
    site.lanes.gates["OUT1"].arrive(plate)
    rec.wait_for(lambda: len(rec.of(ExitPending)) > before)
    return rec.of(ExitPending)[-1].ticket


def _rows(site, table):  # type: ignore[no-untyped-def]
    with Session(site.store.engine) as s:
        return list(s.exec(select(table)).all())


def test_split_cash_and_card(make_site, clock) -> None:  # type: ignore[no-untyped-def]
    site, rec = make_site()
    ticket = _waiting(site, rec, clock, "SPLIT1")  # 3 started hours: 7.50
    with pytest.raises(SiteError, match="approval code"):
        site.desk.pay(ticket.id, [Tender("cash", "5", "5"), Tender("card", reference="x")], attendant="ann")
    with pytest.raises(SiteError, match="still due"):
        site.desk.pay(ticket.id, [Tender("cash", "5", "10")], attendant="ann")
    with pytest.raises(SiteError, match="more than the"):
        site.desk.pay(ticket.id, [Tender("card", "9", reference="A1B2C3")], attendant="ann")
    assert _rows(site, PaymentRow) == []
    settled = site.desk.pay(ticket.id, [Tender("cash", "5", "10"), Tender("card", reference="a1b2c3")], attendant="ann")
    assert settled.change.minor == 500
    assert sorted((p.method, p.amount_minor, p.reference) for p in _rows(site, PaymentRow)) == [("card", 250, "A1B2C3"), ("cash", 500, None)]


def test_unknown_account_is_refused(make_site, clock) -> None:  # type: ignore[no-untyped-def]
    site, rec = make_site()
    ticket = _waiting(site, rec, clock, "ACC1")
    with pytest.raises(SiteError, match="no active account"):
        site.desk.pay(ticket.id, [Tender("account", reference="nobody")], attendant="ann")


def test_override_above_the_limit_needs_a_manager_pin(make_site, clock) -> None:  # type: ignore[no-untyped-def]
    site, rec = make_site()
    site.staff.add_user("Maria", Role.MANAGER, "258046", actor="test")
    site.staff.add_user("Ben", Role.ATTENDANT, "4826", actor="test")
    ticket = _waiting(site, rec, clock, "OVR1", hours=5.5)  # 6 started hours: 15.00
    with pytest.raises(SiteError, match="reason"):
        site.desk.override(ticket.id, "waive", reason=" ", actor="ann")
    with pytest.raises(SiteError, match="needs a manager"):
        site.desk.override(ticket.id, "waive", reason="broken barrier", actor="ann")
    with pytest.raises(SiteError, match="wrong PIN"):
        site.desk.override(ticket.id, "waive", reason="broken barrier", actor="ann", manager="Maria", manager_pin="0000")
    with pytest.raises(SiteError, match="not a manager"):
        site.desk.override(ticket.id, "waive", reason="broken barrier", actor="ann", manager="Ben", manager_pin="4826")
    small = site.desk.override(ticket.id, "fee_change", new_amount_text="12.50", reason="left early", actor="ann")  # 2.50 off: no PIN
    assert small.due.minor == 1250
    waived = site.desk.override(ticket.id, "waive", reason="broken barrier", actor="ann", manager="Maria", manager_pin="258046")
    assert waived.due.is_zero
    site.desk.pay(ticket.id, [], attendant="ann")  # nothing due: the vehicle leaves
    overrides = sorted(_rows(site, OverrideRow), key=lambda o: o.new_minor, reverse=True)
    assert [(o.kind, o.quoted_minor, o.new_minor, o.approved_by) for o in overrides] == [("fee_change", 1500, 1250, None), ("waive", 1250, 0, "Maria")]


def test_unpaid_exit_becomes_a_debt_paid_at_the_next_exit(make_site, clock) -> None:  # type: ignore[no-untyped-def]
    site, rec = make_site()
    ticket = _waiting(site, rec, clock, "DEBT1")  # 7.50
    with pytest.raises(SiteError, match="reason"):
        site.desk.unpaid_exit(ticket.id, reason="", actor="ann")
    site.desk.unpaid_exit(ticket.id, reason="card terminal down", actor="ann")
    debts = _rows(site, DebtRow)
    assert [(d.plate, d.amount_minor, d.reason, d.settled_at) for d in debts] == [("DEBT1", 750, "card terminal down", None)]
    clock.advance(days=1)
    again = _waiting(site, rec, clock, "DEBT1", hours=0.5)  # 2.50 now + 7.50 owed
    assert again.due.minor == 1000
    assert any("Unpaid from" in item.label for item in again.quote.items)
    site.desk.pay_cash(again.id, "10", attendant="ann")
    assert _rows(site, DebtRow)[0].settled_at is not None


def test_change_left_behind_is_recorded_as_such(make_site, clock) -> None:  # type: ignore[no-untyped-def]
    site, rec = make_site()
    ticket = _waiting(site, rec, clock, "TIP1")  # 7.50
    settled = site.desk.pay_cash(ticket.id, "8", attendant="ann", change_left=True)
    assert settled.change.is_zero
    moves = [m for m in _rows(site, CashMovementRow) if m.kind == "change_left"]
    assert [(m.amount_minor, m.visit_id) for m in moves] == [(50, ticket.visit.id)]
    closed = site.staff.close_shift("5x1 2x1 1x1", actor="ann")
    assert closed.expected_cash is not None and closed.expected_cash.minor == 800
    assert closed.difference is not None and closed.difference.is_zero


def test_cash_is_taken_only_for_an_amount_handed_over(make_site, clock) -> None:  # type: ignore[no-untyped-def]
    site, rec = make_site()
    ticket = _waiting(site, rec, clock, "EMPTY1")  # 7.50
    for tendered in ("", "  "):
        with pytest.raises(SiteError, match="type the cash handed over"):
            site.desk.pay(ticket.id, [Tender("cash", "", tendered)], attendant="ann")
    assert _rows(site, PaymentRow) == [] and site.board.ticket(ticket.id) is not None
    site.desk.pay(ticket.id, [Tender("cash", "", "7.50")], attendant="ann")
    assert [(p.method, p.amount_minor) for p in _rows(site, PaymentRow)] == [("cash", 750)]


def test_a_part_is_checked_before_it_joins_and_a_refusal_says_what_is_left(make_site, clock) -> None:  # type: ignore[no-untyped-def]
    site, rec = make_site()
    ticket = _waiting(site, rec, clock, "PART1")  # 7.50
    with pytest.raises(SiteError, match=r"card part refused: a card payment needs the terminal's approval code.*€7.50 can still be paid in cash"):
        site.desk.check_part(ticket.id, [], Tender("card", "5"))
    with pytest.raises(SiteError, match="account part refused: no active account"):
        site.desk.check_part(ticket.id, [], Tender("account", "", reference="nobody"))
    card = Tender("card", "5", reference="OK1234")
    assert site.desk.check_part(ticket.id, [], card).minor == 250
    with pytest.raises(SiteError, match=r"more than the €2.50 still due.*€2.50 can still be paid"):
        site.desk.check_part(ticket.id, [card], Tender("card", "3", reference="OK5678"))
    assert _rows(site, PaymentRow) == []  # checking records nothing


def test_payments_go_only_into_the_own_drawer(make_site, clock) -> None:  # type: ignore[no-untyped-def]
    site, rec = make_site()  # the shift (drawer) is ann's
    ticket = _waiting(site, rec, clock, "DRAW1")
    for tenders in ([Tender("cash", "", "10")], [Tender("card", reference="AB1234")]):
        with pytest.raises(SiteError, match="the drawer belongs to the shift of ann, not ben"):
            site.desk.pay(ticket.id, tenders, attendant="ben")
    assert _rows(site, PaymentRow) == [] and site.board.ticket(ticket.id) is not None
    site.staff.close_shift("", actor="ann", hand_over_to="ben")  # handed over: ben's drawer now
    settled = site.desk.pay_cash(ticket.id, "10", attendant="ben")
    assert settled.change.minor == 250
    assert [(p.attendant, p.amount_minor) for p in _rows(site, PaymentRow)] == [("ben", 750)]


def test_the_override_limit_is_on_the_total_reduction_against_the_quote(make_site, clock) -> None:  # type: ignore[no-untyped-def]
    site, rec = make_site()
    site.staff.add_user("Maria", Role.MANAGER, "258046", actor="test")
    ticket = _waiting(site, rec, clock, "STEP1", hours=9)  # the 20.00 day cap
    assert ticket.due.minor == 2000
    step = site.desk.override(ticket.id, "fee_change", new_amount_text="15", reason="regular", actor="ann")
    assert step.due.minor == 1500 and step.quoted_total.minor == 2000
    for new in ("10", "5", "0"):  # each step 5.00, but 10.00 and more off in all
        with pytest.raises(SiteError, match=r"lowers the fee by €\d+\.00 in all \(quoted €20.00\)"):
            site.desk.override(ticket.id, "fee_change", new_amount_text=new, reason="regular", actor="ann")
    with pytest.raises(SiteError, match="needs a manager"):
        site.desk.override(ticket.id, "waive", reason="regular", actor="ann")
    raised = site.desk.override(ticket.id, "fee_change", new_amount_text="18", reason="typo", actor="ann")
    assert raised.due.minor == 1800  # raising the fee needs nobody
    lowered = site.desk.override(ticket.id, "fee_change", new_amount_text="16", reason="regular", actor="ann")
    assert lowered.due.minor == 1600  # 4.00 off the quote: still within the limit
    approved = site.desk.override(ticket.id, "waive", reason="barrier hit the car", actor="ann", manager="Maria", manager_pin="258046")
    assert approved.due.is_zero


def test_one_typed_ticket_per_lane_and_the_queue_order(make_site, clock) -> None:  # type: ignore[no-untyped-def]
    from console.site.errors import LaneBusy

    site, rec = make_site()
    first = _waiting(site, rec, clock, "QUEUE1")  # read at OUT1 by the lane
    site.lanes.gates["IN1"].arrive("QUEUE2")
    rec.wait_for(lambda: site.store.query(visits.open_visit_for, "QUEUE2") is not None)
    clock.advance(hours=1)
    with pytest.raises(LaneBusy, match="OUT1 already has QUEUE1 waiting"):
        site.exits.open_exit("OUT1", "QUEUE2")
    assert [t.id for t in site.board.queue()] == [first.id]
    assert site.exits.open_exit("OUT1", "QUEUE1") == first  # the same vehicle keeps its ticket
    typed = site.exits.open_exit("OUT1", "QUEUE2", replace_waiting=True)
    assert typed is not None and [t.id for t in site.board.queue()] == [typed.id]
    assert site.board.waiting_by_lane() == {"OUT1": 1}
    assert site.store.query(visits.open_visit_for, "QUEUE1") is not None  # still inside, unpaid
    assert _rows(site, PaymentRow) == []
