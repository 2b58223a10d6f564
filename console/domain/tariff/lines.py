"""The time charge as receipt lines: units per step, bands, caps and the member benefit.

The engine's result (stretches, and repeats of earlier stretches for long stays) is
added up into a tally without expanding the repeats one by one: a repeated block is
tallied once and added as many times as it repeats, its dates and periods shifted.
Units of one step add up to one line; price bands give one line per band period, and
consecutive periods that reached the same band at the same price collapse into one
line with a count ("29 x up to 24 h @ 12.00"), so a ten-year stay still prints a
handful of lines. The lines always add up to the time charge exactly.
"""

from __future__ import annotations

from datetime import date
from typing import cast

from console.domain.money import Money
from console.domain.tariff.engine import (
    BIND_DAY,
    BIND_OCCURRENCE,
    BIND_PERIOD,
    BIND_STAY,
    Repeat,
    Stretch,
    charge,
    compiled,
    shift_periods,
)
from console.domain.tariff.model import MemberPlan, Tariff, VehicleClass
from console.domain.tariff.parse import duration_text
from console.i18n import N_, _, current_language

#: One quote line: label, amount (minor units), quantity (periods it stands for).
Line = tuple[str, int, int]

_DAY_ABBR = (N_("Mon"), N_("Tue"), N_("Wed"), N_("Thu"), N_("Fri"), N_("Sat"), N_("Sun"))


class _Scopes:
    """Where one cap bit, in time order without repeats: count, first, last, first three."""

    __slots__ = ("count", "first", "last", "head")

    def __init__(self) -> None:
        self.count = 0
        self.first = 0
        self.last = 0
        self.head: list[int] = []

    def add(self, x: int) -> None:
        if self.count and self.last == x:
            return
        if not self.count:
            self.first = x
        self.count += 1
        self.last = x
        if len(self.head) < 3:
            self.head.append(x)

    def extend(self, other: _Scopes, shift: int) -> None:
        count = other.count
        if not count:
            return
        first = other.first + shift
        skip = 0
        if self.count and self.last == first:  # the same scope goes on across the join
            skip = 1
            count -= 1
            if not count:
                return
        elif not self.count:
            self.first = first
        self.count += count
        self.last = other.last + shift
        head = self.head
        if len(head) < 3:
            for x in other.head[skip:]:
                if len(head) == 3:
                    break
                head.append(x + shift)


class _Tally:
    """The additive summary of stretches."""

    __slots__ = ("units", "caps", "plan", "units_shifting")

    def __init__(self) -> None:
        self.units_shifting = False  # band periods among the units (their keys move)
        # (window, 0, step) -> [units, gross, top step]; bands: (window, 1, occ, cycle)
        self.units: dict[tuple[int, ...], list[int]] = {}
        # (bind, window) -> ([reduction], scopes)
        self.caps: dict[tuple[int, int], tuple[list[int], _Scopes]] = {}
        self.plan: dict[tuple[int, str], int] = {}  # (window, day type) -> charged


def _tally(vc: VehicleClass, out: list[Stretch | Repeat], banded: bool | None = None,
           with_plan: bool = True) -> _Tally:
    if banded is None:
        banded = any(r.banded for r in vc.rates)
    if not banded:
        return _tally_weighted(vc, out, with_plan)
    return _tally_nested(vc, out)


def _tally_weighted(vc: VehicleClass, out: list[Stretch | Repeat], with_plan: bool = True) -> _Tally:
    """The tally of stretches and repeats when no line key moves with a shift (no
    bands): every stretch is added once, times the number of times it is used. The
    charges per window and day type (for a member plan) only `with_plan`."""
    n = len(out)
    if not any(isinstance(s, Repeat) for s in out):
        return _tally_plain(cast("list[Stretch]", out), with_plan)
    # How often each entry is used: 1 in the main sequence, plus its share of every
    # later repeat whose block covers it. Repeats only point backwards, so a descending
    # pass with a running sum over block ranges settles it.
    uses = [1] * n
    begin = [0] * (n + 1)
    finish = [0] * (n + 1)
    run = 0
    for k in range(n - 1, -1, -1):
        run += begin[k]
        m = 1 + run
        uses[k] = m
        s = out[k]
        if isinstance(s, Repeat):
            v = m * s.copies
            if s.hi > s.lo:
                begin[s.hi - 1] += v
                finish[s.lo] += v
        run -= finish[k]
    acc = _Tally()
    units, caps, plan = acc.units, acc.caps, acc.plan
    blocks: dict[tuple[int, int], dict[tuple[int, int], _Scopes]] = {}
    periods: dict[tuple[int, int], tuple[int, ...]] = {}

    def scopes_of(lo: int, hi: int) -> dict[tuple[int, int], _Scopes]:
        got = blocks.get((lo, hi))
        if got is None:
            got = blocks[(lo, hi)] = {}
            _scopes_into(got, lo, hi)
        return got

    def _scopes_into(into: dict[tuple[int, int], _Scopes], lo: int, hi: int) -> None:
        for k in range(lo, hi):
            s = out[k]
            if isinstance(s, Repeat):
                _extend(into, s)
                continue
            bind = s[6]
            if bind:
                ck = (bind, s[0] if bind == BIND_OCCURRENCE else 0)
                sc = into.get(ck)
                if sc is None:
                    sc = into[ck] = _Scopes()
                x = s[7]
                if not sc.count or sc.last != x:  # _Scopes.add, inline on this hot path
                    if not sc.count:
                        sc.first = x
                    sc.count += 1
                    sc.last = x
                    if len(sc.head) < 3:
                        sc.head.append(x)

    def _extend(into: dict[tuple[int, int], _Scopes], rep: Repeat) -> None:
        block = scopes_of(rep.lo, rep.hi)
        if not block:
            return
        _lo, _hi, copies, dt0, dd0, step_dt, step_dd = rep
        for r in range(copies):
            dt, dday = dt0 + r * step_dt, dd0 + r * step_dd
            didx = None
            for ck, sc in block.items():
                bind = ck[0]
                if bind == BIND_OCCURRENCE:
                    shift = dt
                elif bind == BIND_DAY:
                    shift = dday
                elif bind == BIND_STAY:
                    shift = 0
                else:
                    if didx is None:
                        pk = (dt, dday)
                        didx = periods.get(pk)
                        if didx is None:
                            didx = periods[pk] = shift_periods(vc, dt, dday)
                    shift = didx[bind - BIND_PERIOD]
                mine = into.get(ck)
                if mine is None:
                    mine = into[ck] = _Scopes()
                mine.extend(sc, shift)

    main: dict[tuple[int, int], _Scopes] = {}
    for k in range(n):
        s = out[k]
        if isinstance(s, Repeat):
            _extend(main, s)
            continue
        w, step, _cycle, cnt, gross, charged, bind, scope, _occ_start, _occ, day_type, _rest = s
        m = uses[k]
        key = (w, 0, step)
        got = units.get(key)
        if got is None:
            units[key] = [cnt * m, gross * m, step]
        else:
            got[0] += cnt * m
            got[1] += gross * m
        if bind:
            ck = (bind, w if bind == BIND_OCCURRENCE else 0)
            entry = caps.get(ck)
            if entry is None:
                entry = caps[ck] = ([0], _Scopes())
            entry[0][0] -= (gross - charged) * m
            sc = main.get(ck)
            if sc is None:
                sc = main[ck] = _Scopes()
            if not sc.count or sc.last != scope:  # _Scopes.add, inline on this hot path
                if not sc.count:
                    sc.first = scope
                sc.count += 1
                sc.last = scope
                if len(sc.head) < 3:
                    sc.head.append(scope)
        if charged and with_plan:
            pk2 = (w, day_type)
            plan[pk2] = plan.get(pk2, 0) + charged * m
    for ck, (box, _scopes) in list(caps.items()):
        caps[ck] = (box, main[ck])
    return acc


def _tally_plain(out: list[Stretch], with_plan: bool = True) -> _Tally:
    """The tally of stretches alone (a stay walked to its end), in time order."""
    acc = _Tally()
    units, caps, plan = acc.units, acc.caps, acc.plan
    for s in out:
        w, step, _cycle, cnt, gross, charged, bind, scope, _occ_start, _occ, day_type, _rest = s
        key = (w, 0, step)
        got = units.get(key)
        if got is None:
            units[key] = [cnt, gross, step]
        else:
            got[0] += cnt
            got[1] += gross
        if bind:
            ck = (bind, w if bind == BIND_OCCURRENCE else 0)
            entry = caps.get(ck)
            if entry is None:
                entry = caps[ck] = ([0], _Scopes())
            entry[0][0] -= gross - charged
            entry[1].add(scope)
        if charged and with_plan:
            pk2 = (w, day_type)
            plan[pk2] = plan.get(pk2, 0) + charged
    return acc


def _tally_nested(vc: VehicleClass, out: list[Stretch | Repeat]) -> _Tally:
    """The tally when band periods are among the lines (their keys move with shifts):
    each repeated block is tallied once and added per copy."""
    rates = vc.rates
    banded = tuple(r.banded for r in rates)
    band_step = tuple(tuple(st.band is not None for st in r.steps) for r in rates)
    per_occ = tuple(r.per_occurrence for r in rates)
    memo: dict[tuple[int, int], _Tally] = {}
    periods: dict[tuple[int, int], tuple[int, ...]] = {}

    def tally(lo: int, hi: int) -> _Tally:
        acc = _Tally()
        units, caps, plan = acc.units, acc.caps, acc.plan
        bulk: dict[tuple[int, int], int] = {}  # blocks repeated, and how often in all
        for k in range(lo, hi):
            s = out[k]
            if isinstance(s, Repeat):
                r_lo, r_hi, copies, dt0, dd0, step_dt, step_dd = s
                bk = (r_lo, r_hi)
                block = memo.get(bk)
                if block is None:
                    block = memo[bk] = tally(r_lo, r_hi)
                bulk[bk] = bulk.get(bk, 0) + copies
                if block.units_shifting or block.caps:
                    for r in range(copies):
                        dt, dday = dt0 + r * step_dt, dd0 + r * step_dd
                        pk = (dt, dday)
                        didx = periods.get(pk)
                        if didx is None:
                            didx = periods[pk] = shift_periods(vc, dt, dday)
                        _shifted(acc, block, vc, dt, dday, didx)
                continue
            w, step, cycle, n, gross, charged, bind, scope, _occ_start, occurrence, day_type, _rest = s
            if banded[w] and band_step[w][step]:
                key: tuple[int, ...] = (w, 1, occurrence if per_occ[w] else 0, cycle)
                acc.units_shifting = True
            else:
                key = (w, 0, step)
            got = units.get(key)
            if got is None:
                units[key] = [n, gross, step]
            else:
                got[0] += n
                got[1] += gross
                if step > got[2]:
                    got[2] = step
            if bind:
                ck = (bind, w if bind == BIND_OCCURRENCE else 0)
                entry = caps.get(ck)
                if entry is None:
                    entry = caps[ck] = ([0], _Scopes())
                entry[0][0] -= gross - charged
                entry[1].add(scope)
            if charged:
                pk2 = (w, day_type)
                plan[pk2] = plan.get(pk2, 0) + charged
        for bk, times in bulk.items():
            _bulk(acc, memo[bk], times)
        return acc

    return tally(0, len(out))


def _shifted(acc: _Tally, block: _Tally, vc: VehicleClass, dt: int, dday: int,
             didx: tuple[int, ...]) -> None:
    """Add what one shifted copy of `block` adds in time order: band periods and where
    caps bit (the shift-free sums are added per block by `_bulk`)."""
    for key, (n, gross, top) in block.units.items():
        if key[1] == 0:
            continue
        w = key[0]
        rate = vc.rates[w]
        if rate.per_occurrence:
            key = (w, 1, key[2] + dt, key[3])
        elif rate.cycle:  # ladder time is real time where days repeat
            key = (w, 1, 0, key[3] + dt // rate.cycle)
        acc.units_shifting = True
        got = acc.units.get(key)
        if got is None:
            acc.units[key] = [n, gross, top]
        else:
            got[0] += n
            got[1] += gross
            if top > got[2]:
                got[2] = top
    for ck, (_amount, scopes) in block.caps.items():
        entry = acc.caps.get(ck)
        if entry is None:
            entry = acc.caps[ck] = ([0], _Scopes())
        bind = ck[0]
        shift = (dt if bind == BIND_OCCURRENCE else dday if bind == BIND_DAY
                 else 0 if bind == BIND_STAY else didx[bind - BIND_PERIOD])
        entry[1].extend(scopes, shift)


def _bulk(acc: _Tally, block: _Tally, times: int) -> None:
    """Add `times` copies of the shift-free sums of `block`: unit lines, cap amounts,
    charges per window and day type."""
    for key, (n, gross, top) in block.units.items():
        if key[1] != 0:
            continue
        got = acc.units.get(key)
        if got is None:
            acc.units[key] = [n * times, gross * times, top]
        else:
            got[0] += n * times
            got[1] += gross * times
    for ck, (amount, _scopes) in block.caps.items():
        acc.caps[ck][0][0] += amount[0] * times
    for pk, charged in block.plan.items():
        acc.plan[pk] = acc.plan.get(pk, 0) + charged * times


def time_lines(tariff: Tariff, vc: VehicleClass, start: int, origin: int, end: int,
               covered: MemberPlan | None, lines: list[Line]) -> int:
    """Append the time-charge lines (units, caps, member benefit); return their sum."""
    out = charge(tariff, vc, start, origin, end)
    if not out:
        return 0
    acc = _tally(vc, out, compiled(tariff, vc).banded, covered is not None)
    total = 0
    texts = tariff.texts
    language = current_language()  # the cached line texts are per language
    rates = vc.rates
    bands: dict[int, list[tuple[int, int, int, int]]] = {}  # band periods per window
    slots: list[Line | int] = []  # lines, and windows whose band lines go here
    for key, (count, amount, top) in acc.units.items():
        w = key[0]
        if key[1] == 1:
            if w not in bands:
                bands[w] = []
                slots.append(w)
            bands[w].append((key[3], key[2], top, amount))
            continue
        if rates[w].free:
            continue  # a free window prints nothing (its amount is 0)
        tk = (vc.name, w, key[2], language)
        parts = texts.get(tk)
        if parts is None:
            step = rates[w].steps[key[2]]
            name = _rate_name(tariff, vc, w)
            lead = f"{name} - {step.label}" if step.label else name
            parts = texts[tk] = _("{rate}: {count} x {unit} @ {price}").format(
                rate=lead, count="\x00", unit=duration_text(step.unit), price=_money_text(tariff, step.price))
        slots.append((parts.replace("\x00", str(count)), amount, 1))
        total += amount
    for slot in slots:
        if isinstance(slot, int):
            for line in _band_lines(tariff, vc, slot, bands[slot]):
                lines.append(line)
                total += line[1]
        else:
            lines.append(slot)
    total += _cap_lines(tariff, vc, acc, lines)
    if covered is not None:
        total -= _plan_line(tariff, covered, acc, lines)
    return total


def _band_lines(tariff: Tariff, vc: VehicleClass, w: int,
                periods: list[tuple[int, int, int, int]]) -> list[Line]:
    """Lines for the band periods of one window: (cycle, occurrence, top step, amount)."""
    rate = vc.rates[w]
    name = _rate_name(tariff, vc, w)
    out: list[Line] = []
    k = 0
    while k < len(periods):
        ci, _occurrence, top, amount = periods[k]
        j = k + 1
        while j < len(periods) and periods[j][2] == top and periods[j][3] == amount:
            j += 1
        n = j - k
        label = rate.steps[top].label
        if n == 1:
            text = name
            if ci and rate.cycle and not rate.per_occurrence:
                text += f" ({_hours(ci * rate.cycle)}-{_hours((ci + 1) * rate.cycle)})"
            out.append((f"{text}: {label}", amount, 1))
        else:
            text = name
            if rate.cycle and not rate.per_occurrence:
                last = periods[j - 1][0]
                text += f" ({_hours(ci * rate.cycle)}-{_hours((last + 1) * rate.cycle)})"
            out.append((_("{rate}: {count} x {unit} @ {price}").format(
                rate=text, count=n, unit=label, price=_money_text(tariff, amount)), amount * n, n))
        k = j
    return out


def _rate_name(tariff: Tariff, vc: VehicleClass, w: int) -> str:
    rate = vc.rates[w]
    if rate.label:
        return rate.label
    if len(tariff.windows) > 1:
        return f"{tariff.windows[w].label} {tariff.windows[w].span_text}"
    return _("Parking")


def _cap_lines(tariff: Tariff, vc: VehicleClass, acc: _Tally, lines: list[Line]) -> int:
    total = 0
    texts = tariff.texts
    language = current_language()  # the cached label texts are per language
    for (bind, w), (amount_box, scopes) in acc.caps.items():
        amount = amount_box[0]
        # The label without its list of dates or periods ("\x00" stands for it) is the
        # same for every stay; only the list is made per quote.
        tk = ("cap", vc.name, bind, w, language)
        parts = texts.get(tk)
        if parts is None:
            parts = texts[tk] = _cap_label(tariff, vc, bind, w)
        if "\x00" in parts:
            kind = "occ" if bind == BIND_OCCURRENCE else "day" if bind == BIND_DAY else "period"
            label = parts.replace("\x00", _list(tariff, scopes, kind))
        else:
            label = parts
        lines.append((label, amount, 1))
        total += amount
    return total


def _cap_label(tariff: Tariff, vc: VehicleClass, bind: int, w: int) -> str:
    """The label of a cap's line, with "\x00" where the list of its dates goes."""
    when = "\x00"
    if bind == BIND_OCCURRENCE:
        rate = vc.rates[w]
        win = tariff.windows[w]
        return _("{window} {span}: maximum {amount} each ({when})").format(
            window=rate.label or win.label, span=win.span_text,
            amount=_money_text(tariff, rate.max_per_occurrence or 0), when=when)
    if bind == BIND_DAY:
        return _("Daily maximum {amount} ({when})").format(
            amount=_money_text(tariff, vc.caps.per_calendar_day or 0), when=when)
    if bind == BIND_STAY:
        return _("Maximum {amount} per stay").format(amount=_money_text(tariff, vc.caps.per_stay or 0))
    pc = vc.caps.from_entry[bind - BIND_PERIOD]
    if pc.label:
        return f"{pc.label} ({when})"
    money = _money_text(tariff, pc.amount)
    days = pc.every // 1440
    if pc.wall and pc.once:
        return (_("Maximum {amount} for the first day from entry, to the same clock time ({when})") if days == 1
                else _("Maximum {amount} for the first {days} days from entry, to the same clock time ({when})")
                ).format(amount=money, days=days, when=when)
    if pc.wall:
        return (_("Maximum {amount} per day from entry, to the same clock time ({when})") if days == 1
                else _("Maximum {amount} per {days} days from entry, to the same clock time ({when})")
                ).format(amount=money, days=days, when=when)
    if pc.once:
        return _("Maximum {amount} for the first {span} from entry ({when})").format(
            amount=money, span=duration_text(pc.every), when=when)
    return _("Maximum {amount} per {span} from entry ({when})").format(
        amount=money, span=duration_text(pc.every), when=when)


def _list(tariff: Tariff, scopes: _Scopes, kind: str) -> str:
    sched = tariff.schedule

    def name(x: int) -> str:
        if kind == "day":
            return _ordinal_text(tariff, x)
        if kind == "occ":
            return _ordinal_text(tariff, sched.ordinal_of(x))
        return _("period {number}").format(number=x + 1)

    if scopes.count > 3:
        return _("{first} to {last}, {count} times").format(
            first=name(scopes.first), last=name(scopes.last), count=scopes.count)
    return ", ".join(name(x) for x in scopes.head)


def _plan_line(tariff: Tariff, plan: MemberPlan, acc: _Tally, lines: list[Line]) -> int:
    windows = tariff.windows
    base = 0
    for (w, day_type), charged in acc.plan.items():
        if plan.windows is not None and windows[w].name not in plan.windows:
            continue
        if plan.days is not None and day_type not in plan.days:
            continue
        base += charged
    if base == 0:
        return 0
    cut = base if plan.percent_off == 100 else (base * plan.percent_off * 2 + 100) // 200
    where = ""
    if plan.windows is not None:
        where = ", ".join(w.label for w in windows if w.name in plan.windows)
    if plan.percent_off == 100:
        text = _("{plan}: free in {windows}") if where else _("{plan}: free")
    else:
        text = _("{plan}: {percent} off in {windows}") if where else _("{plan}: {percent} off")
    lines.append((text.format(plan=plan.label, percent=f"{plan.percent_off}%", windows=where), -cut, 1))
    return cut


def _hours(minutes: int) -> str:
    return f"{minutes // 60} h" if minutes % 60 == 0 else duration_text(minutes)


def _money_text(tariff: Tariff, minor: int) -> str:
    """A price inside a line's text: "2.50" as English receipts write a unit price beside
    the line's amount; "¥2.50" in Chinese, where a price is never written bare."""
    language = current_language()
    key = ("money", minor, language)
    got = tariff.texts.get(key)
    if got is None:
        amount = Money(minor, tariff.currency)
        got = tariff.texts[key] = amount.format() if language.startswith("zh") else amount.decimal_text()
    return got


def _date_text(d: date) -> str:
    return _("{weekday} {date}").format(weekday=_(_DAY_ABBR[d.weekday()]), date=d.isoformat())


def _ordinal_text(tariff: Tariff, ordinal: int) -> str:
    key = ("date", ordinal, current_language())
    got = tariff.texts.get(key)
    if got is None:
        got = tariff.texts[key] = _date_text(date.fromordinal(ordinal))
    return got
