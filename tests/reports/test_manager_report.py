"""The manager report: local-time bucketing (DST days, half-hour zones), occupancy,
stays and overrides, on hand-built rows."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from console.domain.money import Money
from console.reports.model import ReportError
from console.reports.queries import build_manager_report, local_day_bounds
from tests.reports.builders import Rows, utc

BERLIN = "Europe/Berlin"


def eur(minor: int) -> Money:
    return Money(minor, "EUR")


def test_local_day_bounds_on_dst_days() -> None:
    start, end = local_day_bounds(date(2026, 3, 29), BERLIN)
    assert (start, end) == (utc(2026, 3, 28, 23), utc(2026, 3, 29, 22))
    assert end - start == timedelta(hours=23)
    start, end = local_day_bounds(date(2026, 10, 25), BERLIN)
    assert end - start == timedelta(hours=25)


def test_spring_forward_day_has_23_hours(store) -> None:  # type: ignore[no-untyped-def]
    rows = Rows(store.engine)
    v = rows.visit("D-1", utc(2026, 3, 28, 20), utc(2026, 3, 30, 8))
    # UTC time            local time (Berlin)          lands in
    rows.payment(v, "cash", 100, at=utc(2026, 3, 28, 22, 30), shift_id=None)  # 28th 23:30 CET   -> day 28
    rows.payment(v, "cash", 200, at=utc(2026, 3, 29, 0, 30), shift_id=None)   # 29th 01:30 CET   -> hour 1
    rows.payment(v, "card", 400, at=utc(2026, 3, 29, 1, 30), shift_id=None)   # 29th 03:30 CEST  -> hour 3
    rows.payment(v, "card", 800, at=utc(2026, 3, 29, 21, 59), shift_id=None)  # 29th 23:59 CEST  -> hour 23
    rows.payment(v, "cash", 1600, at=utc(2026, 3, 29, 22, 0), shift_id=None)  # 30th 00:00 CEST  -> day 30

    one_day = build_manager_report(store.engine, date(2026, 3, 29), date(2026, 3, 29), BERLIN, currency="EUR")
    assert one_day.revenue_total == eur(1400)
    assert one_day.payment_count == 3
    by_hour = {h.hour: h.amount.minor for h in one_day.revenue_by_hour if h.amount.minor}
    assert by_hour == {1: 200, 3: 400, 23: 800}
    assert len(one_day.occupancy) == 23  # one point per real hour of that day
    assert [p.at.hour for p in one_day.occupancy][:4] == [0, 1, 3, 4]  # 02:00 does not exist
    assert one_day.occupancy_by_hour[2].samples == 0

    three = build_manager_report(store.engine, date(2026, 3, 28), date(2026, 3, 30), BERLIN, currency="EUR")
    assert [(d.day.day, d.revenue.minor, d.payments) for d in three.days] == [(28, 100, 1), (29, 1400, 3), (30, 1600, 1)]
    assert len(three.occupancy) == 24 + 23 + 24
    assert {m.method: m.amount.minor for m in three.methods} == {"cash": 1900, "card": 1200}


def test_fall_back_day_has_25_hours(store) -> None:  # type: ignore[no-untyped-def]
    rows = Rows(store.engine)
    v = rows.visit("D-2", utc(2026, 10, 24, 20), utc(2026, 10, 26, 8))
    rows.payment(v, "cash", 100, at=utc(2026, 10, 25, 0, 30), shift_id=None)  # 02:30 CEST (first)
    rows.payment(v, "cash", 200, at=utc(2026, 10, 25, 1, 30), shift_id=None)  # 02:30 CET (second)
    report = build_manager_report(store.engine, date(2026, 10, 25), date(2026, 10, 25), BERLIN, currency="EUR")
    assert len(report.occupancy) == 25
    assert report.revenue_by_hour[2].amount == eur(300)
    assert report.revenue_by_hour[2].payments == 2
    assert report.occupancy_by_hour[2].samples == 2


def test_half_hour_zone_is_bucketed_by_quarter_hours(store) -> None:  # type: ignore[no-untyped-def]
    rows = Rows(store.engine)
    v = rows.visit("K-1", utc(2026, 3, 1, 20), utc(2026, 3, 2, 8))
    rows.payment(v, "cash", 100, at=utc(2026, 3, 2, 3, 15), shift_id=None)  # 08:45 IST
    rows.payment(v, "cash", 200, at=utc(2026, 3, 2, 3, 45), shift_id=None)  # 09:15 IST
    rows.payment(v, "cash", 400, at=utc(2026, 3, 1, 18, 29), shift_id=None)  # 23:59 IST on the 1st
    rows.payment(v, "cash", 800, at=utc(2026, 3, 1, 18, 30), shift_id=None)  # 00:00 IST on the 2nd
    report = build_manager_report(store.engine, date(2026, 3, 2), date(2026, 3, 2), "Asia/Kolkata", currency="EUR")
    assert report.revenue_by_hour[8].amount == eur(100)
    assert report.revenue_by_hour[9].amount == eur(200)
    assert report.revenue_by_hour[0].amount == eur(800)
    assert report.revenue_total == eur(1100)


def test_occupancy_counts_visits_and_corrections(store) -> None:  # type: ignore[no-untyped-def]
    rows = Rows(store.engine)
    rows.visit("O-1", utc(2026, 3, 28, 10))                                # inside all along
    rows.visit("O-2", utc(2026, 3, 29, 8, 10), utc(2026, 3, 29, 10, 30))    # 10:10-12:30 CEST
    rows.visit("O-3", utc(2026, 3, 27, 8), utc(2026, 3, 27, 9))             # long gone
    rows.adjustment(1, at=utc(2026, 3, 29, 12))                             # 14:00 CEST
    rows.adjustment(-1, at=utc(2026, 3, 20, 12))                            # before the period
    report = build_manager_report(store.engine, date(2026, 3, 29), date(2026, 3, 29), BERLIN, currency="EUR")
    at = {p.at.hour: p.vehicles for p in report.occupancy}
    # Before the period: O-1 inside, minus the old correction -> 0.
    assert at[0] == 0
    assert at[10] == 0   # O-2 arrives at 10:10
    assert at[11] == 1
    assert at[12] == 1   # leaves at 12:30
    assert at[13] == 0
    assert at[14] == 0   # the +1 correction at 14:00 sharp counts from the next point
    assert at[15] == 1
    assert report.occupancy_by_hour[11].peak == 1
    assert (report.entries, report.exits) == (1, 1)


def test_dwell_distribution_and_average(store) -> None:  # type: ignore[no-untyped-def]
    rows = Rows(store.engine)
    rows.visit("W-1", utc(2026, 3, 29, 8, 10), utc(2026, 3, 29, 10, 30))      # 2 h 20 min
    rows.visit("W-2", utc(2026, 3, 29, 6, 0), utc(2026, 3, 29, 6, 10))        # 10 min
    rows.visit("W-3", utc(2026, 3, 25, 6, 0), utc(2026, 3, 29, 9, 0), reason="stale")  # unknown stay: left out
    rows.visit("W-4", utc(2026, 3, 20, 6, 0), utc(2026, 3, 29, 9, 0))         # 9 d 3 h
    rows.visit("W-5", utc(2026, 3, 29, 8, 0), utc(2026, 3, 29, 8, 15))        # 15 min: the next bin
    report = build_manager_report(store.engine, date(2026, 3, 29), date(2026, 3, 29), BERLIN, currency="EUR")
    counts = {b.label: b.count for b in report.dwell}
    assert counts == {"< 15 min": 1, "15-30 min": 1, "30-60 min": 0, "1-2 h": 0, "2-4 h": 1, "4-8 h": 0,
                      "8-24 h": 0, "1-3 d": 0, "> 3 d": 1}
    assert report.dwell_count == 4
    # (8400 + 600 + 788400 + 900) / 4 = 199575 s
    assert report.dwell_average == timedelta(seconds=199575)


def test_overrides_by_attendant(store) -> None:  # type: ignore[no-untyped-def]
    rows = Rows(store.engine)
    v = rows.visit("R-1", utc(2026, 3, 29, 8), utc(2026, 3, 29, 9))
    rows.override(v, "waive", 500, 0, at=utc(2026, 3, 29, 9), shift_id=None, reason="a", actor="anna")
    rows.override(v, "fee_change", 1200, 800, at=utc(2026, 3, 29, 9), shift_id=None, reason="b", actor="anna")
    rows.override(v, "waive", 300, 0, at=utc(2026, 3, 29, 10), shift_id=None, reason="c", actor="anna")
    rows.override(v, "lost_ticket", 0, 2000, at=utc(2026, 3, 29, 11), shift_id=None, reason="d", actor="bob")
    rows.override(v, "waive", 999, 0, at=utc(2026, 3, 30, 11), shift_id=None, reason="next day", actor="bob")
    report = build_manager_report(store.engine, date(2026, 3, 29), date(2026, 3, 29), BERLIN, currency="EUR")
    assert [(a.actor, a.count, a.forgone, a.by_kind) for a in report.overrides_by_attendant] == [
        ("anna", 3, eur(1200), (("fee_change", 1), ("waive", 2))),
        ("bob", 1, eur(-2000), (("lost_ticket", 1),)),
    ]


def test_empty_database_and_bad_ranges(store) -> None:  # type: ignore[no-untyped-def]
    report = build_manager_report(store.engine, date(2026, 1, 1), date(2026, 1, 31), BERLIN, currency="EUR")
    assert report.revenue_total == eur(0) and len(report.days) == 31 and report.dwell_average is None
    assert all(p.vehicles == 0 for p in report.occupancy)
    with pytest.raises(ReportError, match="before it starts"):
        build_manager_report(store.engine, date(2026, 2, 1), date(2026, 1, 1), BERLIN)
    with pytest.raises(ReportError, match="at most 366 days"):
        build_manager_report(store.engine, date(2025, 1, 1), date(2026, 1, 2), BERLIN)


def test_currency_defaults_to_the_newest_payments(store) -> None:  # type: ignore[no-untyped-def]
    rows = Rows(store.engine, currency="CNY")
    v = rows.visit("沪A12345", utc(2026, 3, 2, 1), utc(2026, 3, 2, 3))
    rows.payment(v, "mobile", 1500, at=utc(2026, 3, 2, 3), shift_id=None)
    report = build_manager_report(store.engine, date(2026, 3, 2), date(2026, 3, 2), "Asia/Shanghai")
    assert report.currency == "CNY" and report.revenue_total == Money(1500, "CNY")
    assert report.revenue_by_hour[11].payments == 1  # 03:00 UTC is 11:00 in Shanghai


def test_postgres_bucket_sql_renders() -> None:
    """The PostgreSQL form of the bucketing compiles (it runs only on a PostgreSQL site)."""
    from sqlalchemy.dialects import postgresql

    from console.reports.queries import _PAYMENT, _bucket

    sql = str(_bucket(_PAYMENT.c.created_at, "postgresql", 15).compile(dialect=postgresql.dialect()))
    assert "to_char" in sql and "to_timestamp" in sql and "extract" in sql.lower()
