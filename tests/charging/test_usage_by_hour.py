"""Usage by hour spreads each session's energy over the local hours it ran, with figures
worked out by hand (Europe/Berlin, UTC+1 in January)."""

from __future__ import annotations

from datetime import datetime, timezone
from zoneinfo import ZoneInfo

from console.domain.charging import PayMode, energy_by_local_hour
from console.domain.money import Money
from console.store import charging as records
from console.store.charging import NewSession
from console.store.database import Store

BERLIN = ZoneInfo("Europe/Berlin")


def local(day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2026, 1, day, hour, minute, tzinfo=BERLIN).astimezone(timezone.utc)


def test_spread_by_meter_samples_across_an_hour_boundary() -> None:
    # 10:40 start at 1000 Wh, 10:50 at 1300, 11:10 at 1500, 11:20 end at 1600: 600 Wh.
    # 10:40-10:50 carries 300 (hour 10); 10:50-11:10 carries 200, half in each hour;
    # 11:10-11:20 carries 100 (hour 11). Hour 10: 300 + 100 = 400, hour 11: 100 + 100 = 200.
    readings = [(local(15, 10, 40), 1000), (local(15, 10, 50), 1300), (local(15, 11, 10), 1500), (local(15, 11, 20), 1600)]
    hours = energy_by_local_hour(local(15, 10, 40), local(15, 11, 20), 600, readings, BERLIN)
    assert hours[10] == 400 and hours[11] == 200 and sum(hours) == 600


def test_spread_by_time_across_midnight_and_rounded_to_the_total() -> None:
    # Only start and end known: 23:30 to 01:00 is 30 min before midnight and 60 after.
    hours = energy_by_local_hour(local(15, 23, 30), local(16, 1, 0), 900, [], BERLIN)
    assert hours[23] == 300 and hours[0] == 600 and sum(hours) == 900
    # 10:30 to 13:30, 100 Wh: 16.67 / 33.33 / 33.33 / 16.67 -> largest remainders get the 2 Wh.
    hours = energy_by_local_hour(local(15, 10, 30), local(15, 13, 30), 100, [], BERLIN)
    assert hours[10:14] == [17, 33, 33, 17] and sum(hours) == 100
    # A meter that went backwards carries nothing; nothing to go by falls back to time.
    hours = energy_by_local_hour(local(15, 9, 0), local(15, 11, 0), 50, [(local(15, 9, 0), 500), (local(15, 11, 0), 10)], BERLIN)
    assert hours[9] == 25 and hours[10] == 25
    assert energy_by_local_hour(local(15, 9, 0), local(15, 9, 0), 7, [], BERLIN)[9] == 7
    assert energy_by_local_hour(local(15, 9, 0), local(15, 10, 0), 0, [], BERLIN) == [0] * 24


def _session(store: Store, pile: str, start: datetime, meter: int | None) -> str:
    rec = store.apply(records.open_session, NewSession(pile, 1, "epile", "north", "F-Acme", "bob", None, "card", PayMode.POSTPAID, None,
                                          "kwh", Money.zero("EUR"), start.astimezone(BERLIN).hour, meter), start)
    return rec.id


def test_store_spreads_closed_sessions_over_their_hours(store: Store) -> None:
    store.apply(records.seed, [dict(id="bob", name="Bob", kind="tenant", currency="EUR", balance_minor=0, credit_limit_minor=10**6)], [], local(1, 0))
    # Metered across 11:00, saved samples at 10:50 and 11:10 (the case worked above).
    a = _session(store, "E1", local(15, 10, 40), 1000)
    for at, wh in ((local(15, 10, 50), 1300), (local(15, 11, 10), 1500)):
        store.apply(records.save_progress, a, meter_wh=wh, energy_wh=wh - 1000, seconds=0, lines={}, fee_minor=0, at=at, current_ma=17_000)
    store.apply(records.close_session, a, at=local(15, 11, 20), reason="stopped", bill=Money(300, "EUR"), energy_wh=600, seconds=2400, lines={}, meter_wh=1600)
    # Across midnight with only start and end readings.
    b = _session(store, "E2", local(15, 23, 30), 0)
    store.apply(records.close_session, b, at=local(16, 1, 0), reason="stopped", bill=Money(450, "EUR"), energy_wh=900, seconds=5400, lines={}, meter_wh=900)
    # Still open: not counted.
    _session(store, "E3", local(15, 12, 0), 0)
    hours = store.query(records.usage_by_hour, tz=BERLIN)
    expected = [0] * 24
    expected[10], expected[11], expected[23], expected[0] = 400, 200, 300, 600
    assert hours == expected
    only_e2 = store.query(records.usage_by_hour, tz=BERLIN, piles=["E2"])
    assert only_e2[23] == 300 and only_e2[0] == 600 and sum(only_e2) == 900
    assert store.query(records.usage_by_hour, tz=BERLIN, franchise="nobody") == [0] * 24
    assert sum(store.query(records.usage_by_hour, tz=BERLIN, since=local(15, 12, 0))) == 900
