"""Long stays: the engine's shortcut (days taken from earlier days, repeating weeks
multiplied) gives exactly what walking the whole stay gives, on random tariffs."""

from __future__ import annotations

from datetime import UTC, datetime

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from tariff_strategies import tariff_text

from console.domain.tariff import Tariff, parse_tariff
from console.domain.tariff.calendar import to_epoch_minute
from console.domain.tariff.engine import Repeat, Stretch, charge, compiled, time_charge
from console.domain.tariff.lines import _tally

_SETTINGS = settings(max_examples=120, deadline=None,
                     suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


def _summary(tariff: Tariff, out: list[Stretch | Repeat]) -> tuple[object, ...]:
    vc = tariff.classes["car"]
    acc = _tally(vc, out)
    cx = compiled(tariff, vc)
    plan: dict[object, int] = {}
    for (w, day_type), amount in acc.plan.items():
        # a repeated day keeps the day type of the day it repeats: the same kind of day
        # for every window and member plan, which is all a plan looks at
        k = (w, cx.klass[day_type]) if cx.plan_days else w
        plan[k] = plan.get(k, 0) + amount
    return ({k: tuple(v) for k, v in acc.units.items()},
            {k: (a[0], s.count, s.first, s.last, tuple(s.head)) for k, (a, s) in acc.caps.items()},
            plan)


# Days of 2026 a few days before the clock changes of the zones the random tariffs use
# (New York 8 March and 1 November, Berlin 29 March and 25 October).
_NEAR_CHANGES = st.sampled_from([60, 63, 65, 82, 85, 86, 290, 293, 296, 297, 300, 302, 303])


@_SETTINGS
@given(text=tariff_text(), day=st.one_of(st.integers(0, 360), _NEAR_CHANGES),
       minute=st.integers(0, 1439),
       length=st.integers(3 * 1440, 120 * 1440), free=st.sampled_from([0, 0, 30, 61]))
def test_a_long_stay_is_charged_as_if_walked(text: str, day: int, minute: int, length: int,
                                              free: int) -> None:
    tariff = parse_tariff(text)
    vc = tariff.classes["car"]
    start = to_epoch_minute(datetime(2026, 1, 1, tzinfo=UTC)) + day * 1440 + minute
    fast = charge(tariff, vc, start, start + free, start + length)
    slow = time_charge(tariff, vc, start, start + free, start + length)
    assert _summary(tariff, fast) == _summary(tariff, list(slow)), text


def test_long_stays_do_take_the_shortcut() -> None:
    from conftest import load
    tariff = load("default")
    vc = tariff.classes["car"]
    start = to_epoch_minute(datetime(2026, 5, 4, 8, 17, tzinfo=UTC))
    out = charge(tariff, vc, start, start, start + 60 * 1440)
    walked = [s for s in out if isinstance(s, Stretch)]
    assert any(isinstance(s, Repeat) and s.copies > 1 for s in out)
    assert len(walked) < len(time_charge(tariff, vc, start, start, start + 60 * 1440)) / 4


NIGHTS_NY = """
[tariff]
id = "gen"
version = 1
currency = "EUR"
timezone = "America/New_York"
[windows.day]
from = "05:00"
to = "16:00"
[windows.night]
from = "16:00"
to = "05:00"
[classes.car]
caps.per_calendar_day = "0.00"
caps.per_24h = "0.00"
[classes.car.rates.day]
unit = 15
price = "0.00"
[classes.car.rates.night]
unit = 15
price = "0.00"
"""


def test_a_day_whose_night_ends_after_a_clock_change_is_not_copied() -> None:
    # The night starting Saturday 31 October ends on 1 November, an hour later in real
    # time than a week's other nights: the day that holds it must be walked, not copied.
    tariff = parse_tariff(NIGHTS_NY)
    vc = tariff.classes["car"]
    start = to_epoch_minute(datetime(2026, 10, 26, tzinfo=UTC))
    end = start + 9181
    assert _summary(tariff, charge(tariff, vc, start, start, end)) == \
        _summary(tariff, list(time_charge(tariff, vc, start, start, end)))
