"""A small booth day built by hand; every figure the report tests expect is worked out in
the comments here.

Site time zone Europe/Berlin; 2 March 2026 is winter time (UTC+1).

Shift S0  booth-1  2026-03-01 23:00 - 2026-03-02 07:00 UTC (must never leak into S1)
Shift S1  booth-1  07:00 - 15:00 UTC (08:00 - 16:00 local), float 100.00
Shift S2  booth-1  opened 15:00 UTC, still open, float 50.00
Shift B2  booth-2  closed 20:00 UTC (another booth: not "the last" of booth-1)

S1 payments          cash 12.50 (tendered 20.00, change 7.50), cash 7.00 (tendered 7.00),
                     cash 3.20 (tendered not recorded), card 25.00, card 4.80, mobile 9.90,
                     account 30.00
                     -> cash 3 / 22.70, card 2 / 29.80, mobile 1 / 9.90, account 1 / 30.00,
                        total 7 / 92.40; tendered 30.20, change given 7.50
S1 cash movements    float +100.00 (not counted again), change_left +0.30, refund -5.00,
                     paid_out -2.50, drop -50.00
                     expected = 100.00 + 22.70 + 0.30 - 5.00 - 2.50 - 50.00 = 65.50
                     counted 65.00 (2x20 + 2x10 + 1x5) -> difference -0.50 (short)
S1 overrides         09:10 waive 5.00 -> 0.00 "ambulance on call" (anna, approved by max)
                     10:20 lost_ticket 0.00 -> 20.00 "ticket lost" (anna)
                     11:30 fee_change 12.00 -> 8.00 "barrier fault delay" (bob, approved by max)
Gate (time window)   09:00 open OUT1 "exit without payment" plate M-XY 1, 14:59 open OUT2
                     "emergency vehicle"; 10:00 close; 06:59 and 15:00 opens are outside
Visits               entries in [07:00, 15:00): 5; exits: 5 (paid 2, free 1, stale 1,
                     "manual open: exit without payment" 1)
Receipts S1          receipt 11, 12 printed, 13 not printed; reprint 14 printed
Debts S1             M-XY 1 12.50 (open), K-LM 7 4.00 (settled later) -> owed 16.50
Adjustments          11:00 -2 (in the window); 16:00 +1 (in S2's window)
Audit                3 entries in S1's window, 1 before it
"""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from tests.reports.builders import Rows, utc

TZ = "Europe/Berlin"


@dataclass
class Day:
    rows: Rows
    s0: str
    s1: str
    s2: str
    b2: str


@pytest.fixture
def day(store) -> Day:  # type: ignore[no-untyped-def]
    rows = Rows(store.engine)
    s0 = rows.shift(opened=utc(2026, 3, 1, 23), closed=utc(2026, 3, 2, 7), attendant="olga", float_minor=5000,
                    counted=10000, expected=10000)
    s1 = rows.shift(opened=utc(2026, 3, 2, 7), closed=utc(2026, 3, 2, 15), attendant="anna", float_minor=10000,
                    counted=6500, expected=6550, detail={"2000": 2, "1000": 2, "500": 1}, closed_by="max",
                    note="printer jammed once")
    s2 = rows.shift(opened=utc(2026, 3, 2, 15), attendant="bob", float_minor=5000)
    b2 = rows.shift(opened=utc(2026, 3, 2, 12), closed=utc(2026, 3, 2, 20), booth="booth-2", attendant="carl")

    v1 = rows.visit("A-1", utc(2026, 3, 2, 6, 30), utc(2026, 3, 2, 8, 0))
    v2 = rows.visit("A-2", utc(2026, 3, 2, 7, 0), utc(2026, 3, 2, 9, 30))
    v3 = rows.visit("A-3", utc(2026, 3, 2, 10, 0), utc(2026, 3, 2, 14, 59, 59), reason="free")
    v4 = rows.visit("A-4", utc(2026, 3, 2, 12, 0))
    v5 = rows.visit("A-5", utc(2026, 3, 2, 14, 0), utc(2026, 3, 2, 15, 0))
    rows.visit("A-6", utc(2026, 3, 2, 15, 0))
    rows.visit("A-7", utc(2026, 2, 20, 9, 0), utc(2026, 3, 2, 11, 0), reason="stale")
    v8 = rows.visit("M-XY 1", utc(2026, 3, 2, 8, 0), utc(2026, 3, 2, 9, 0), reason="manual open: exit without payment")

    at = utc(2026, 3, 2, 9, 30)
    rows.payment(v1, "cash", 1250, at=at, shift_id=s1, tendered=2000, change=750)
    rows.payment(v2, "cash", 700, at=at, shift_id=s1, tendered=700, change=0)
    rows.payment(v3, "cash", 320, at=at, shift_id=s1)
    rows.payment(v4, "card", 2500, at=at, shift_id=s1)
    rows.payment(v5, "card", 480, at=at, shift_id=s1)
    rows.payment(v5, "mobile", 990, at=at, shift_id=s1)
    rows.payment(v2, "account", 3000, at=at, shift_id=s1)
    rows.payment(v1, "cash", 5000, at=utc(2026, 3, 2, 6), shift_id=s0)
    rows.payment(v1, "cash", 100, at=at, shift_id=None)
    rows.payment(v1, "card", 777, at=at, shift_id=b2)

    rows.movement(s1, "float", 10000, at=utc(2026, 3, 2, 7))
    rows.movement(s1, "change_left", 30, at=utc(2026, 3, 2, 9), reason="driver left the coins")
    rows.movement(s1, "refund", -500, at=utc(2026, 3, 2, 10), reason="double charge")
    rows.movement(s1, "paid_out", -250, at=utc(2026, 3, 2, 11), reason="window cleaner")
    rows.movement(s1, "drop", -5000, at=utc(2026, 3, 2, 12), reason="to the safe")
    rows.movement(s0, "paid_out", -1000, at=utc(2026, 3, 2, 1), reason="not this shift")

    rows.override(v2, "waive", 500, 0, at=utc(2026, 3, 2, 9, 10), shift_id=s1, reason="ambulance on call", approved_by="max")
    rows.override(v3, "lost_ticket", 0, 2000, at=utc(2026, 3, 2, 10, 20), shift_id=s1, reason="ticket lost")
    rows.override(v5, "fee_change", 1200, 800, at=utc(2026, 3, 2, 11, 30), shift_id=s1, reason="barrier fault delay",
                  actor="bob", approved_by="max")
    rows.override(v1, "waive", 900, 0, at=utc(2026, 3, 2, 6), shift_id=s0, reason="other shift")

    rows.gate("open", at=utc(2026, 3, 2, 9), plate="M-XY 1", note="driver had no cash")
    rows.gate("open", at=utc(2026, 3, 2, 14, 59), lane="OUT2", reason="emergency vehicle", actor="bob")
    rows.gate("close", at=utc(2026, 3, 2, 10))
    rows.gate("open", at=utc(2026, 3, 2, 15), note="next shift")
    rows.gate("open", at=utc(2026, 3, 2, 6, 59), note="previous shift")

    rows.receipt(10, "receipt", at=utc(2026, 3, 2, 6), shift_id=s0)
    rows.receipt(11, "receipt", at=at, shift_id=s1)
    rows.receipt(12, "receipt", at=at, shift_id=s1)
    rows.receipt(13, "receipt", at=at, shift_id=s1, printed=False)
    rows.receipt(14, "reprint", at=at, shift_id=s1)

    rows.debt(v8, "M-XY 1", 1250, at=utc(2026, 3, 2, 9), shift_id=s1, reason="no cash, pays next visit")
    rows.debt(v3, "K-LM 7", 400, at=utc(2026, 3, 2, 13), shift_id=s1, reason="card declined",
              settled_at=utc(2026, 3, 5, 10))
    rows.debt(v1, "Z-9", 999, at=utc(2026, 3, 2, 6), shift_id=s0, reason="other shift")

    rows.adjustment(-2, at=utc(2026, 3, 2, 11), reason="counted on the deck")
    rows.adjustment(1, at=utc(2026, 3, 2, 16), reason="car behind the barrier")

    rows.audit("shift.open", at=utc(2026, 3, 2, 6, 59))
    rows.audit("shift.open", at=utc(2026, 3, 2, 7))
    rows.audit("visit.exit", at=utc(2026, 3, 2, 9))
    rows.audit("visit.exit", at=utc(2026, 3, 2, 9, 30))
    return Day(rows, s0, s1, s2, b2)
