"""The shift (Z) report against the hand-built day in conftest.py: every figure checked."""

from __future__ import annotations

from datetime import timedelta

import pytest

from console.domain.money import Money
from console.reports.model import ReportError
from console.reports.queries import build_shift_report, last_shift_id, recent_shifts
from tests.reports.builders import Rows, utc
from tests.reports.conftest import TZ, Day


def eur(minor: int) -> Money:
    return Money(minor, "EUR")


def test_payments_by_method_count_only_this_shift(store, day: Day) -> None:  # type: ignore[no-untyped-def]
    r = build_shift_report(store.engine, day.s1, TZ, site_name="Test Garage")
    assert [(p.method, p.count, p.amount) for p in r.payments] == [
        ("cash", 3, eur(2270)), ("card", 2, eur(2980)), ("mobile", 1, eur(990)), ("account", 1, eur(3000)),
    ]
    assert r.payments_total == eur(9240)
    assert r.payment_count == 7
    assert r.method_total("cash") == eur(2270)
    assert r.other_currency_payments == ()


def test_cash_expected_counted_and_difference(store, day: Day) -> None:  # type: ignore[no-untyped-def]
    c = build_shift_report(store.engine, day.s1, TZ).cash
    assert c.opening_float == eur(10000)
    assert (c.cash_payments, c.cash_payment_count) == (eur(2270), 3)
    assert c.tendered == eur(3020)  # 20.00 + 7.00 + 3.20 (no tender recorded: the fee itself)
    assert c.change_given == eur(750)
    assert [(m.kind, m.count, m.amount) for m in c.movements] == [
        ("change_left", 1, eur(30)), ("refund", 1, eur(-500)), ("paid_out", 1, eur(-250)), ("drop", 1, eur(-5000)),
    ]
    assert c.expected == eur(6550)
    assert c.counted == eur(6500)
    assert c.difference == eur(-50)
    assert c.change_left == eur(30)
    assert c.verdict == "Short by €0.50: counted €65.00, expected €65.50."
    assert [(d.value, d.count, d.subtotal) for d in c.denominations] == [
        (eur(2000), 2, eur(4000)), (eur(1000), 2, eur(2000)), (eur(500), 1, eur(500)),
    ]
    # The stored expectation matches, the count adds up: the only note is about change left.
    assert c.notes == ("€0.30 change left by drivers is in the drawer and in the expected amount; it is not a difference.",)


def test_change_left_is_not_a_difference(store) -> None:  # type: ignore[no-untyped-def]
    rows = Rows(store.engine)
    s = rows.shift(opened=utc(2026, 3, 3, 7), closed=utc(2026, 3, 3, 15), float_minor=2000, counted=3050)
    v = rows.visit("X-1", utc(2026, 3, 3, 8), utc(2026, 3, 3, 9))
    rows.payment(v, "cash", 1000, at=utc(2026, 3, 3, 9), shift_id=s, tendered=1050, change=0)
    # The driver waved the 0.50 change away: it went into the drawer as change left.
    rows.movement(s, "change_left", 50, at=utc(2026, 3, 3, 9))
    c = build_shift_report(store.engine, s, TZ).cash
    assert c.expected == eur(3050)  # 20.00 float + 10.00 fee + 0.50 left
    assert c.difference == eur(0)
    assert c.change_given == eur(50)  # tendered - fee, as handed over; none of it went back
    assert c.verdict.startswith("Balanced")


def test_overrides_listed_with_reasons(store, day: Day) -> None:  # type: ignore[no-untyped-def]
    r = build_shift_report(store.engine, day.s1, TZ)
    assert [(o.kind, o.plate, o.quoted, o.new, o.reason, o.actor, o.approved_by) for o in r.overrides] == [
        ("waive", "A-2", eur(500), eur(0), "ambulance on call", "anna", "max"),
        ("lost_ticket", "A-3", eur(0), eur(2000), "ticket lost", "anna", None),
        ("fee_change", "A-5", eur(1200), eur(800), "barrier fault delay", "bob", "max"),
    ]
    assert [o.reason for o in r.waivers] == ["ambulance on call"]
    assert [o.plate for o in r.lost_tickets] == ["A-3"]
    assert [(t.kind, t.count, t.forgone) for t in r.override_totals] == [
        ("fee_change", 1, eur(400)), ("lost_ticket", 1, eur(-2000)), ("waive", 1, eur(500)),
    ]


def test_gate_opens_without_payment_by_time_window(store, day: Day) -> None:  # type: ignore[no-untyped-def]
    r = build_shift_report(store.engine, day.s1, TZ)
    assert [(g.at, g.lane, g.reason, g.note, g.plate, g.actor) for g in r.gate_opens] == [
        (utc(2026, 3, 2, 9), "OUT1", "exit without payment", "driver had no cash", "M-XY 1", "anna"),
        (utc(2026, 3, 2, 14, 59), "OUT2", "emergency vehicle", "", None, "bob"),
    ]
    assert r.gate_closes == 1


def test_visits_receipts_debts_adjustments_audit(store, day: Day) -> None:  # type: ignore[no-untyped-def]
    r = build_shift_report(store.engine, day.s1, TZ)
    assert (r.visits.entries, r.visits.exits) == (5, 5)
    assert dict(r.visits.exits_by_reason) == {"paid": 2, "free": 1, "stale": 1, "manual open: exit without payment": 1}
    receipt, reprint = r.receipt_count("receipt"), r.receipt_count("reprint")
    assert (receipt.count, receipt.printed, receipt.not_printed, receipt.first_number, receipt.last_number) == (3, 2, 1, 11, 13)
    assert (reprint.count, reprint.printed, reprint.first_number) == (1, 1, 14)
    assert [(d.plate, d.amount, d.reason, d.settled_at is not None) for d in r.debts] == [
        ("M-XY 1", eur(1250), "no cash, pays next visit", False), ("K-LM 7", eur(400), "card declined", True),
    ]
    assert r.debts_total == eur(1650)
    assert [(a.delta, a.reason) for a in r.adjustments] == [(-2, "counted on the deck")]
    assert dict(r.audit_actions) == {"shift.open": 1, "visit.exit": 2}
    assert r.audit_entries == 3
    assert (r.is_final, r.title, r.closed_by, r.note) == (True, "Z report", "max", "printer jammed once")
    assert r.local(r.opened_at).strftime("%H:%M %Z") == "08:00 CET"


def test_open_shift_gives_an_interim_report_up_to_now(store, day: Day) -> None:  # type: ignore[no-untyped-def]
    now = utc(2026, 3, 2, 16, 30)
    r = build_shift_report(store.engine, day.s2, TZ, now=now)
    assert (r.is_final, r.window_end, r.closed_at) == (False, now, None)
    assert r.title.startswith("X report")
    assert (r.visits.entries, r.visits.exits) == (1, 1)  # A-6 came in at 15:00, A-5 left at 15:00
    assert [a.delta for a in r.adjustments] == [1]
    assert r.cash.expected == eur(5000) and r.cash.counted is None and r.cash.difference is None
    assert r.cash.verdict == "Drawer not counted yet."
    assert [g.note for g in r.gate_opens] == ["next shift"]


def test_last_shift_is_the_booths_last_closed_one(store, day: Day) -> None:  # type: ignore[no-untyped-def]
    assert last_shift_id(store.engine, "booth-1") == day.s1
    assert last_shift_id(store.engine, "booth-1", closed_only=False) == day.s2
    assert last_shift_id(store.engine, "booth-2") == day.b2
    assert last_shift_id(store.engine, "booth-9") is None
    listed = recent_shifts(store.engine, "booth-1")
    assert [s.id for s in listed] == [day.s2, day.s1, day.s0]
    assert listed[0].closed_at is None and listed[1].attendant == "anna"


def test_unknown_shift_is_a_clear_error(store, day: Day) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(ReportError, match="no shift 'nope'"):
        build_shift_report(store.engine, "nope", TZ)


def test_damaged_count_detail_and_changed_records_become_notes(store) -> None:  # type: ignore[no-untyped-def]
    rows = Rows(store.engine)
    s = rows.shift(opened=utc(2026, 3, 3, 7), closed=utc(2026, 3, 3, 15), float_minor=1000, counted=1000,
                   expected=900, detail="{not json")
    c = build_shift_report(store.engine, s, TZ).cash
    assert c.denominations == ()
    assert c.recorded_expected == eur(900) and c.expected == eur(1000)
    assert any("recorded as €9.00" in n and "€10.00" in n for n in c.notes)
    assert any("unreadable" in n for n in c.notes)
    s2 = rows.shift(opened=utc(2026, 3, 4, 7), closed=utc(2026, 3, 4, 15), counted=700,
                    detail={"500": 1, "abc": 2, "100": -1, "200": 1})
    c2 = build_shift_report(store.engine, s2, TZ).cash
    assert [(d.value.minor, d.count) for d in c2.denominations] == [(500, 1), (200, 1)]
    assert sum("skipped" in n for n in c2.notes) == 2


def test_payments_in_another_currency_are_listed_apart(store) -> None:  # type: ignore[no-untyped-def]
    rows = Rows(store.engine)
    s = rows.shift(opened=utc(2026, 3, 3, 7), closed=utc(2026, 3, 3, 15))
    v = rows.visit("X-1", utc(2026, 3, 3, 8), utc(2026, 3, 3, 9))
    rows.payment(v, "card", 1000, at=utc(2026, 3, 3, 9), shift_id=s)
    rows.payment(v, "card", 1500, at=utc(2026, 3, 3, 9), shift_id=s, currency="CHF")
    r = build_shift_report(store.engine, s, TZ)
    assert r.payments_total == eur(1000)
    assert [(p.method, p.amount) for p in r.other_currency_payments] == [("card", Money(1500, "CHF"))]


def test_report_does_not_hold_the_write_lock(store, day: Day) -> None:  # type: ignore[no-untyped-def]
    """A report reads a snapshot: the exit desk can write while it runs."""
    from sqlalchemy import text

    from console.reports.db import read_connection

    with read_connection(store.engine) as conn:
        conn.execute(text("select count(*) from payment")).scalar_one()
        rows = Rows(store.engine)
        rows.adjustment(5, at=utc(2026, 3, 2, 12) + timedelta(minutes=1))  # would time out if locked
        with pytest.raises(Exception, match="readonly|read-only|query_only|attempt to write"):
            conn.execute(text("delete from payment"))
