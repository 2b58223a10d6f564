"""The manager report carries the charging usage: energy by local hour (spread over the
hours sessions ran) and sessions, energy and fees per franchise."""

from __future__ import annotations

from datetime import date, datetime, timezone
from zoneinfo import ZoneInfo

from console.domain.charging import PayMode
from console.domain.money import Money
from console.reports.model import ChargingUsage, FranchiseCharging
from console.reports.queries import build_manager_report
from console.store import charging as records
from console.store.charging import NewSession
from console.store.database import Store

BERLIN = ZoneInfo("Europe/Berlin")


def local(day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2026, 1, day, hour, minute, tzinfo=BERLIN).astimezone(timezone.utc)


def _charge(store: Store, pile: str, port: int, franchise: str, start: datetime, end: datetime,
            energy_wh: int, bill: int, samples: tuple[tuple[datetime, int], ...] = ()) -> None:
    rec = store.apply(records.open_session, NewSession(pile, port, "epile", "north", franchise, "bob", None, "card", PayMode.POSTPAID, None,
                                          "kwh", Money.zero("EUR"), start.astimezone(BERLIN).hour, 0), start)
    for at, wh in samples:
        store.apply(records.save_progress, rec.id, meter_wh=wh, energy_wh=wh, seconds=0, lines={}, fee_minor=0, at=at, current_ma=17_000)
    store.apply(records.close_session, rec.id, at=end, reason="stopped", bill=Money(bill, "EUR"), energy_wh=energy_wh,
                          seconds=int((end - start).total_seconds()), lines={}, meter_wh=energy_wh)


def test_manager_report_has_charging_by_hour_and_per_franchise(store: Store) -> None:
    store.apply(records.seed, [dict(id="bob", name="Bob", kind="tenant", currency="EUR", balance_minor=0, credit_limit_minor=10**6)], [], local(1, 0))
    # F-Acme: 10:40-11:20 with samples (400 Wh to 10:00, 200 to 11:00) and 23:30-01:00 by time.
    _charge(store, "E1", 1, "F-Acme", local(15, 10, 40), local(15, 11, 20), 600, 300,
            ((local(15, 10, 50), 300), (local(15, 11, 10), 500)))
    _charge(store, "E1", 2, "F-Acme", local(15, 23, 30), local(16, 1, 0), 900, 450)
    # F-Beta: 14:00-14:30, 250 Wh.
    _charge(store, "E9", 1, "F-Beta", local(15, 14, 0), local(15, 14, 30), 250, 125)
    # Outside the period (the 14th): left out.
    _charge(store, "E9", 2, "F-Beta", local(14, 9, 0), local(14, 10, 0), 1000, 500)

    report = build_manager_report(store.engine, date(2026, 1, 15), date(2026, 1, 15), BERLIN, currency="EUR")
    usage = report.charging
    expected = [0] * 24
    expected[10], expected[11], expected[14], expected[23], expected[0] = 400, 200, 250, 300, 600
    assert list(usage.energy_by_hour) == expected
    assert usage.franchises == (
        FranchiseCharging("F-Acme", 2, 1500, Money(750, "EUR")),
        FranchiseCharging("F-Beta", 1, 250, Money(125, "EUR")),
    )
    assert (usage.sessions, usage.energy_wh) == (3, 1750)
    # A period with no charging: zeros; code that builds a report by hand needs no change.
    empty = build_manager_report(store.engine, date(2026, 1, 20), date(2026, 1, 20), BERLIN, currency="EUR").charging
    assert empty == ChargingUsage() and empty.energy_by_hour == (0,) * 24 and empty.sessions == 0
