"""A deliberately naive, minute-by-minute reading of the tariff rules (tests only).

It shares nothing with the engine but the parsed `Tariff` model: for every minute of the
stay it asks the time zone afresh which local date and wall-clock time it is, finds the
window by wall-clock time, starts, cuts and charges units one at a time, and keeps caps
in dictionaries. It is slow on purpose and follows docs/tariffs.md word by word, so the
engine can be checked against it.

Covered: grace, free minutes, windows and calendars, ladders and bands with restarts
(every N minutes or at every occurrence), carry/restart at window boundaries, free
windows and ladders counting only charged time, partial units, every cap kind (per
occurrence, calendar day, periods from entry by elapsed time or wall clock, once or
repeating, stay), flat offers, tax added on top and rounding of the total. (Members,
validations and deductions are checked by hand cases.)

Limit: windows are found by wall-clock time, so a window boundary placed inside the hour
that a DST change skips or repeats is read differently from the documented rule; the
cross-check tariffs keep their boundaries outside 01:00-04:00.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import (
    ROUND_DOWN,
    ROUND_HALF_DOWN,
    ROUND_HALF_EVEN,
    ROUND_HALF_UP,
    ROUND_UP,
    Decimal,
)

from console.domain.tariff.model import Rate, Tariff, VehicleClass

_UTC = UTC
_WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


def _minutes(instant: datetime) -> int:
    return int(instant.timestamp()) // 60


def _local(tariff: Tariff, minute: int) -> datetime:
    return datetime.fromtimestamp(minute * 60, tz=tariff.timezone)


def _day_type(tariff: Tariff, d: date) -> str:
    return tariff.holidays_as if d in tariff.holidays else _WEEKDAYS[d.weekday()]


def window_at(tariff: Tariff, minute: int) -> tuple[int, tuple[date, int]]:
    """(window index, occurrence id) in force at `minute`, by wall-clock reading."""
    local = _local(tariff, minute)
    today = local.date()
    wall = local.hour * 60 + local.minute
    for i, w in enumerate(tariff.windows):
        if _day_type(tariff, today) in w.days and w.start <= wall < min(w.end, 1440):
            return i, (today, i)
    yesterday = today - timedelta(days=1)
    for i, w in enumerate(tariff.windows):
        if _day_type(tariff, yesterday) in w.days and w.end > 1440 and wall < w.end - 1440:
            return i, (yesterday, i)
    raise AssertionError(f"no window at {local}")


def _step(rate: Rate, position: int) -> tuple[int, int]:
    if rate.cycle:
        position %= rate.cycle
    for s in rate.steps:
        if s.end is None or position < s.end:
            return s.unit, s.price
    raise AssertionError("ladder without an open last step")


def _counts(used: int, unit: int, vc: VehicleClass) -> bool:
    if used >= unit:
        return True
    if vc.rules.partial == "started":
        return used > vc.rules.tolerance
    if vc.rules.partial == "half":
        return used * 2 >= unit
    return False


def _wall_index(tariff: Tariff, entry_local: datetime, days: int, k: int, minute: int) -> int:
    """The wall-clock period number of `minute`, given it is at least `k`: a period
    begins at the first minute whose local date and time reach the entry's time of day
    on the entry's date plus a multiple of `days` days."""
    local = _local(tariff, minute)
    while True:
        target = entry_local.date() + timedelta(days=(k + 1) * days)
        if (local.date(), local.hour * 60 + local.minute) >= (
                target, entry_local.hour * 60 + entry_local.minute):
            k += 1
        else:
            return k


def naive_time_charge(tariff: Tariff, vc: VehicleClass, start: int, origin: int, end: int) -> int:
    """The time charge for [origin, end), minute by minute.

    Ladder time is counted minute by minute too: with ladder_time = "charged" a minute
    in a free window does not count, no unit starts in it and a running unit waits.
    """
    caps = vc.caps
    periods = caps.from_entry
    charged_mode = vc.rules.ladder == "charged" and any(r.free for r in vc.rates)
    restart = vc.rules.boundary == "restart"
    entry_local = _local(tariff, start)
    wall_k = [0] * len(periods)
    spent: dict[object, int] = {}
    total = 0

    def charge(price: int, unit: dict[str, object]) -> None:
        nonlocal total
        limits: list[tuple[object, int]] = []
        window = unit["window"]
        assert isinstance(window, int)
        cap = vc.rates[window].max_per_occurrence
        if cap is not None:
            limits.append((("occ", unit["occ"]), cap))
        if caps.per_calendar_day is not None:
            limits.append((("day", unit["day"]), caps.per_calendar_day))
        marks = unit["periods"]
        assert isinstance(marks, list)
        for j, pc in enumerate(periods):
            if pc.once and marks[j] > 0:
                continue
            limits.append((("period", j, marks[j]), pc.amount))
        if caps.per_stay is not None:
            limits.append((("stay",), caps.per_stay))
        amount = price
        for key, cap in limits:
            amount = min(amount, cap - spent.get(key, 0))
        for key, _ in limits:
            spent[key] = spent.get(key, 0) + amount
        total += amount

    unit: dict[str, object] | None = None
    tau = 0  # ladder minutes since the origin
    last_occ: object = None
    occ_began = origin  # first minute of the current occurrence within the stay
    for m in range(origin, end):
        w, occ = window_at(tariff, m)
        free_here = charged_mode and vc.rates[w].free
        new_occ = occ != last_occ and last_occ is not None
        if new_occ:
            occ_began = m
        if unit is not None:
            used = tau - unit["tau"]  # type: ignore[operator]
            length = unit["unit"]
            assert isinstance(used, int) and isinstance(length, int)
            cut = False
            if used == length:
                charge(unit["price"], unit)  # type: ignore[arg-type]
                unit = None
            elif new_occ and (restart or (not free_here and vc.rates[w].per_occurrence)):
                cut = True  # a new occurrence ends the unit in progress
            elif unit["cycle_end"] is not None and tau == unit["cycle_end"]:
                cut = True  # the ladder starts again
            if cut and unit is not None:
                if _counts(used, length, vc):
                    charge(unit["price"], unit)  # type: ignore[arg-type]
                unit = None
        last_occ = occ
        if free_here:
            continue
        if unit is None:
            rate = vc.rates[w]
            position = m - occ_began if rate.per_occurrence else tau
            length, price = _step(rate, position)
            cycle_end = (tau - position % rate.cycle + rate.cycle) if rate.cycle else None
            marks: list[int] = []
            for j, pc in enumerate(periods):
                if pc.wall:
                    wall_k[j] = _wall_index(tariff, entry_local, pc.every // 1440, wall_k[j], m)
                    marks.append(wall_k[j])
                else:
                    marks.append((m - start) // pc.every)
            unit = {"tau": tau, "unit": length, "price": price, "window": w, "occ": occ,
                    "day": _local(tariff, m).date(), "periods": marks,
                    "cycle_end": cycle_end}
        tau += 1
    if unit is not None:
        used = tau - unit["tau"]  # type: ignore[operator]
        length = unit["unit"]
        assert isinstance(used, int) and isinstance(length, int)
        if _counts(used, length, vc):
            charge(unit["price"], unit)  # type: ignore[arg-type]
    return total


def _offer_ok(tariff: Tariff, offer, start: int, end: int) -> bool:  # type: ignore[no-untyped-def]
    local = _local(tariff, start)
    if offer.days is not None and _day_type(tariff, local.date()) not in offer.days:
        return False
    wall = local.hour * 60 + local.minute
    lo = 0 if offer.enter_from is None else offer.enter_from
    hi = 1440 if offer.enter_until is None else offer.enter_until
    if offer.enter_from is not None or offer.enter_until is not None:
        if not (lo <= wall < hi if lo < hi else (wall >= lo or wall < hi)):
            return False
    if offer.max_duration is not None and end - start > offer.max_duration:
        return False
    if offer.min_duration is not None and end - start < offer.min_duration:
        return False
    if offer.leave_by is not None:
        # walk forward to the first minute after entry at which the clock shows leave_by
        target = offer.leave_by % 1440
        m = start + 1
        while True:
            lm = _local(tariff, m)
            if lm.hour * 60 + lm.minute == target:
                break
            m += 1
        if end > m:
            return False
    return True


_MODES = {"half-up": ROUND_HALF_UP, "half-even": ROUND_HALF_EVEN, "half-down": ROUND_HALF_DOWN,
          "up": ROUND_UP, "down": ROUND_DOWN}


def naive_total(tariff: Tariff, entry: datetime, exit: datetime, vehicle_class: str = "car") -> int:
    """The total in minor units for a plain stay (no member, validation or deduction)."""
    vc = tariff.classes[vehicle_class]
    start, end = _minutes(entry), _minutes(exit)
    if vc.rules.grace and end - start <= vc.rules.grace:
        return 0
    total = naive_time_charge(tariff, vc, start, start + vc.rules.free, end)
    for offer in vc.offers:
        if offer.price < total and _offer_ok(tariff, offer, start, end):
            total = offer.price
    if tariff.tax is not None and not tariff.tax.included:
        rate = tariff.tax.rates[vc.tax or tariff.tax.default]
        tax = (Decimal(total) * rate.ppm / 1_000_000).quantize(Decimal(1), rounding=ROUND_HALF_UP)
        total += int(tax)
    step = tariff.rounding.step
    return int((Decimal(total) / step).quantize(Decimal(1), rounding=_MODES[tariff.rounding.mode]) * step)
