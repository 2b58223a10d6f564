"""The time charge: units laid over windows, ladders and caps, computed per stretch.

The engine never walks minute by minute. It walks the stay in stretches inside which
the window occurrence, the ladder step, the calendar day and the 24-hour period stay the
same, counts the units that start in each stretch arithmetically and charges them at
once, within what every cap still allows. A 30-day stay is a few dozen stretches.

The rules it implements (docs/tariffs.md, "How a fee is computed"):
- units follow one another from the ladder origin; each unit's length and price come
  from the window in force when it starts and the ladder step at that position;
- in "restart" mode a unit in progress ends where a new window occurrence starts; a
  ladder with restart_every ends its unit in progress at each restart;
- a unit cut short is charged according to the partial-unit rule;
- each unit is charged its price but never more than what is left under any cap it falls
  under (its window occurrence, its calendar day, its 24-hour period, the stay), taking
  units in time order.
"""

from __future__ import annotations

from typing import NamedTuple

from console.domain.tariff.model import UNLIMITED, Tariff, VehicleClass

# Which cap bound a stretch (index into BIND_NAMES).
BIND_NONE, BIND_OCCURRENCE, BIND_DAY, BIND_24H, BIND_STAY = range(5)
BIND_NAMES = ("", "occurrence", "calendar day", "24 hours", "stay")


class Stretch(NamedTuple):
    """Units that start in one stretch of time and share window, step, day and caps.

    `gross` is units x price; `charged` what the caps allowed; when they differ, `bind`
    names the cap that stopped it and `scope` identifies which one (the occurrence's
    start minute, the day's ordinal, the 24-hour period's number, or 0 for the stay).
    """

    window: int
    step: int
    cycle: int
    units: int
    gross: int
    charged: int
    bind: int
    scope: int
    first_start: int  # epoch minute at which the first unit starts
    occurrence: int  # epoch minute at which the window occurrence starts
    day_type: str  # the day type of the date on which the occurrence starts
    day: int  # ordinal of the local date on which the first unit starts


def _counts(used: int, unit: int, partial: str, tolerance: int) -> bool:
    """Whether a unit of which only `used` minutes were used is charged."""
    if partial == "started":
        return used > tolerance
    if partial == "half":
        return 2 * used >= unit
    return False  # "completed": only whole units


def time_charge(tariff: Tariff, vc: VehicleClass, start: int, origin: int,
                end: int) -> list[Stretch]:
    """The charged stretches of a stay, all instants in epoch minutes.

    `start` is the (continued) visit's entry, from which 24-hour periods count; `origin`
    is where charging starts (entry plus free minutes), from which units and ladder
    positions count; `end` is the exit.
    """
    out: list[Stretch] = []
    if origin >= end:
        return out
    sched = tariff.schedule
    rates = vc.rates
    rules = vc.rules
    restart = rules.boundary == "restart"
    partial, tolerance = rules.partial, rules.tolerance
    caps = vc.caps

    track_day = caps.per_calendar_day is not None
    day_cap = caps.per_calendar_day if caps.per_calendar_day is not None else UNLIMITED
    if track_day:
        day = sched.day(sched.ordinal_of(origin))
        day_ord, day_end, day_rem = day.ordinal, day.end, day_cap
    else:
        day_ord, day_end, day_rem = 0, UNLIMITED, UNLIMITED
    per24 = caps.per_24h if caps.per_24h is not None else UNLIMITED
    if caps.per_24h is not None:
        period = (origin - start) // 1440
        period_end, period_rem = start + (period + 1) * 1440, per24
    else:
        period, period_end, period_rem = 0, UNLIMITED, UNLIMITED
    stay_rem = caps.per_stay if caps.per_stay is not None else UNLIMITED

    t = origin
    for occ_start, occ_end, widx, info in sched.occurrences(origin):
        if occ_start >= end or t >= end:
            break
        if occ_end <= t:
            continue  # a long unit carried over this whole occurrence
        rate = rates[widx]
        occ_rem = rate.max_per_occurrence if rate.max_per_occurrence is not None else UNLIMITED
        seg_end = occ_end if occ_end < end else end
        cut_occ = occ_end if restart else UNLIMITED
        steps = rate.steps
        cycle = rate.cycle
        while t < seg_end:
            pos = t - origin
            if cycle:
                ci, cpos = divmod(pos, cycle)
                cyc_end = t - cpos + cycle
            else:
                ci, cpos, cyc_end = 0, pos, UNLIMITED
            si = 0
            step = steps[0]
            while step.end is not None and cpos >= step.end:
                si += 1
                step = steps[si]
            step_end = UNLIMITED if step.end is None else t - cpos + step.end
            if track_day:
                while t >= day_end:
                    day = sched.day(day_ord + 1)
                    day_ord, day_end, day_rem = day.ordinal, day.end, day_cap
            if t >= period_end:
                period = (t - start) // 1440
                period_end, period_rem = start + (period + 1) * 1440, per24
            b = seg_end
            if step_end < b:
                b = step_end
            if cyc_end < b:
                b = cyc_end
            if day_end < b:
                b = day_end
            if period_end < b:
                b = period_end
            unit = step.unit
            n = -((t - b) // unit)  # units starting in [t, b)
            last = t + (n - 1) * unit
            cut = end
            if cyc_end < cut:
                cut = cyc_end
            if cut_occ < cut:
                cut = cut_occ
            nxt = last + unit
            if nxt > cut:
                if not _counts(cut - last, unit, partial, tolerance):
                    n -= 1
                nxt = cut
            if n:
                gross = n * step.price
                rem = occ_rem
                bind = BIND_OCCURRENCE
                if day_rem < rem:
                    rem, bind = day_rem, BIND_DAY
                if period_rem < rem:
                    rem, bind = period_rem, BIND_24H
                if stay_rem < rem:
                    rem, bind = stay_rem, BIND_STAY
                if gross <= rem:
                    charged, bind, scope = gross, BIND_NONE, 0
                else:
                    charged = rem
                    scope = (occ_start if bind == BIND_OCCURRENCE else day_ord if bind == BIND_DAY
                             else period if bind == BIND_24H else 0)
                occ_rem -= charged
                day_rem -= charged
                period_rem -= charged
                stay_rem -= charged
                out.append(Stretch(widx, si, ci, n, gross, charged, bind, scope, t, occ_start,
                                   info.day_type, day_ord if track_day else 0))
            t = nxt
    return out
