"""The time charge: units laid over windows, ladders and caps, computed per stretch.

The engine never walks minute by minute. It walks the stay in stretches inside which
the window occurrence, the ladder step, the calendar day and every cap period stay the
same, counts the units that start in each stretch arithmetically and charges them at
once, within what every cap still allows.

The rules it implements (docs/tariffs.md, "How a fee is computed"):
- units follow one another from the ladder origin; each unit's length and price come
  from the window in force when it starts and the ladder step at that position (the
  position counts from the occurrence's start for a rate restarting per occurrence);
- with ladder_time = "charged", free windows do not count: no unit starts in them, a
  unit running when one begins pauses and resumes where charging resumes;
- in "restart" mode a unit in progress ends where a new window occurrence starts, and
  so it does where an occurrence of a per-occurrence rate starts; a ladder with
  restart_every ends its unit in progress at each restart;
- a unit cut short is charged according to the partial-unit rule;
- each unit is charged its price but never more than what is left under any cap it falls
  under (its window occurrence, its calendar day, its periods from entry, the stay),
  taking units in time order.

Long stays are not walked to the end (`charge`). The stay is cut into days counted from
entry; the state of the walk at a day boundary (where the next unit starts, the ladder
position, what is left under every open cap) and the shape of the schedule ahead (local
time, kinds of day, no clock change) decide everything that happens in that day. A day
whose state and schedule were met before in the same stay is not walked again: the
stretches of the earlier day are reused, shifted. When the same state recurs a whole
schedule period (a day or a week) later, the period in between repeats until the next
public holiday or clock change, and all those periods are added at once. A 30-day stay
walks a week or so; ten years walk a few weeks.
"""

from __future__ import annotations

from bisect import bisect_left
from datetime import date, timedelta
from math import lcm
from typing import NamedTuple

from console.domain.tariff.calendar import Schedule
from console.domain.tariff.model import UNLIMITED, WEEKDAYS, Tariff, VehicleClass

# Which cap bound a stretch. Caps measured from entry are BIND_PERIOD + their index in
# Caps.from_entry (per_24h, when given, is index 0).
BIND_NONE, BIND_OCCURRENCE, BIND_DAY, BIND_STAY, BIND_PERIOD = range(5)
BIND_24H = BIND_PERIOD  # per_24h, kept for callers of the first version
DAY = 1440
_LCM_LIMIT = 7 * DAY * 8  # ladders restarting at odd intervals: no acceleration beyond this


class Stretch(NamedTuple):
    """Units that start in one stretch of time and share window, step, day and caps.

    `gross` is units x price; `charged` what the caps allowed; when they differ, `bind`
    names the cap that stopped it and `scope` identifies which one (the occurrence's
    start minute, the day's ordinal, the period's number, or 0 for the stay).
    """

    window: int
    step: int
    cycle: int  # ladder cycle (band period) the units start in
    units: int
    gross: int
    charged: int
    bind: int
    scope: int
    first_start: int  # epoch minute at which the first unit starts
    occurrence: int  # epoch minute at which the window occurrence starts
    day_type: str  # the day type of the date on which the occurrence starts
    day: int  # ordinal of the local date on which the first unit starts (with a day cap)


class Repeat(NamedTuple):
    """Entries `lo:hi` of the same result list again, `copies` times.

    Copy r (0 .. copies-1) is shifted by `dt + r * step_dt` minutes and `dday + r *
    step_dday` local dates. Repeats are made only where ladder time is real time, so
    ladder positions shift by the same minutes; cap periods shift by whole periods
    (`shift_periods`).
    """

    lo: int
    hi: int
    copies: int
    dt: int
    dday: int
    step_dt: int = 0
    step_dday: int = 0


def shift_periods(vc: VehicleClass, dt: int, dday: int) -> tuple[int, ...]:
    """How many periods of each cap from entry a shift of dt minutes / dday dates is."""
    caps = vc.caps.from_entry
    if not caps:
        return ()
    return tuple([dday // (p.every // DAY) if p.wall else dt // p.every for p in caps])


class Compiled:
    """Per tariff and class: the rates as plain tuples, and what the walk may assume."""

    __slots__ = ("steps", "cycle", "cap", "free", "per_occ", "restart", "partial", "tolerance",
                 "charged", "day_cap", "periods", "stay_cap", "umax", "fix", "lcm", "accel",
                 "klass", "weekday_class", "period_days", "odd_holidays", "any_per_occ",
                 "walls", "plan_days", "dates", "kind_ids", "consts", "banded", "odd_after")

    def __init__(self, tariff: Tariff, vc: VehicleClass) -> None:
        rates = vc.rates
        self.steps = tuple(tuple((s.unit, s.price, s.end) for s in r.steps) for r in rates)
        self.cycle = tuple(r.cycle or 0 for r in rates)
        self.cap = tuple(UNLIMITED if r.max_per_occurrence is None else r.max_per_occurrence
                         for r in rates)
        self.free = tuple(r.free for r in rates)
        self.per_occ = tuple(r.per_occurrence for r in rates)
        self.any_per_occ = any(self.per_occ)
        self.banded = any(r.banded for r in rates)
        rules = vc.rules
        self.restart = rules.boundary == "restart"
        self.partial, self.tolerance = rules.partial, rules.tolerance
        self.charged = rules.ladder == "charged" and any(self.free)
        caps = vc.caps
        self.day_cap = caps.per_calendar_day
        self.periods = tuple((p.every, p.amount, p.wall, p.once) for p in caps.from_entry)
        self.walls = any(p.wall for p in caps.from_entry)
        self.stay_cap = caps.per_stay
        self.umax = max(s.unit for r in rates for s in r.steps)
        fixed = [r.steps[-2].end or 0 for r in rates
                 if len(r.steps) > 1 and not r.cycle and not r.per_occurrence]
        self.fix = max(fixed, default=0)
        cycles = [r.cycle for r in rates if r.cycle and not r.per_occurrence]
        self.lcm = lcm(*cycles) if cycles else 0
        # Day types that every window and member plan treat alike form one class; two
        # dates of one class are laid out alike.
        sigs: dict[tuple[bool, ...], int] = {}
        self.klass: dict[str, int] = {}
        plans = [m.days for m in tariff.members.values() if m.days is not None]
        self.plan_days = bool(plans)
        for t in ("mon", "tue", "wed", "thu", "fri", "sat", "sun", "holiday"):
            sig = tuple(t in w.days for w in tariff.windows) + tuple(t in d for d in plans)
            self.klass[t] = sigs.setdefault(sig, len(sigs))
        self.weekday_class = tuple(self.klass[t] for t in WEEKDAYS)
        self.period_days = 1 if len(set(self.weekday_class)) == 1 else 7
        self.odd_holidays = sorted(
            d.toordinal() for d in tariff.holidays
            if self.klass[tariff.holidays_as] != self.weekday_class[d.weekday()])
        self.accel = not self.charged and self.lcm <= _LCM_LIMIT
        self.dates: dict[int, tuple[int, bool] | bool] = {}  # see _kinds
        self.odd_after: dict[int, tuple[int, int]] = {}  # see _next_odd_date
        self.kind_ids: dict[tuple[int, ...], int] = {}
        # A window whose rate is one unit price (no ladder, no restarts) takes a short
        # path in the walk: its (unit, price).
        simple = tuple((r.steps[0].unit, r.steps[0].price)
                       if len(r.steps) == 1 and not r.cycle and not r.per_occurrence
                       and not (self.charged and r.free) else None for r in rates)
        self.consts = (self.steps, self.cycle, self.cap, self.free, self.per_occ, self.restart,
                       self.charged, self.any_per_occ, self.walls, self.partial, self.tolerance,
                       self.day_cap, self.periods, simple)


def compiled(tariff: Tariff, vc: VehicleClass) -> Compiled:
    """The Compiled form of a class, made once per tariff version."""
    key = ("compiled", vc.name)
    got = tariff.derived.get(key)
    if not isinstance(got, Compiled):
        got = Compiled(tariff, vc)
        tariff.derived[key] = got
    return got


def _counts(used: int, unit: int, partial: str, tolerance: int) -> bool:
    """Whether a unit of which only `used` minutes were used is charged."""
    if partial == "started":
        return used > tolerance
    if partial == "half":
        return 2 * used >= unit
    return False  # "completed": only whole units


class _Walk:
    """Where a walk stands: the next unit, the ladder, the occurrence and every open cap."""

    __slots__ = ("t", "p", "dord", "didx", "os", "oe", "w", "orem", "day_ord", "day_end",
                 "day_rem", "pidx", "pend", "prem", "stay_rem")

    t: int
    p: int
    dord: int
    didx: int
    os: int
    oe: int
    w: int
    orem: int
    day_ord: int
    day_end: int
    day_rem: int
    pidx: list[int]
    pend: list[int]
    prem: list[int]
    stay_rem: int

    def copy(self) -> _Walk:
        o = _Walk()
        o.t, o.p, o.dord, o.didx, o.os, o.oe, o.w, o.orem = (
            self.t, self.p, self.dord, self.didx, self.os, self.oe, self.w, self.orem)
        o.day_ord, o.day_end, o.day_rem, o.stay_rem = (
            self.day_ord, self.day_end, self.day_rem, self.stay_rem)
        o.pidx, o.pend, o.prem = self.pidx[:], self.pend[:], self.prem[:]
        return o


class _Stay:
    """The fixed facts of one stay's walk."""

    __slots__ = ("cx", "sched", "start", "origin", "end", "walls")

    def __init__(self, cx: Compiled, sched: Schedule, start: int, origin: int, end: int) -> None:
        self.cx, self.sched, self.start, self.origin, self.end = cx, sched, start, origin, end
        self.walls: dict[int, int] = {}

    def wall_boundary(self, k: int) -> int:
        """Epoch minute at which wall-clock day k from entry begins (k = 0 is the entry)."""
        if k == 0:
            return self.start
        got = self.walls.get(k)
        if got is None:
            local = self.sched.local(self.start)
            got = self.sched.wall_to_minute(local.date() + timedelta(days=k),
                                            local.hour * 60 + local.minute)
            self.walls[k] = got
        return got

    def period_at(self, j: int, t: int) -> tuple[int, int]:
        """(number, end) of the period of cap j containing instant t."""
        every, _, wall, _ = self.cx.periods[j]
        if not wall:
            k = (t - self.start) // every
            return k, self.start + (k + 1) * every
        days = every // DAY
        k = max(0, (t - self.start) // every - 1)  # wall periods differ from elapsed by < 1 day
        while self.wall_boundary((k + 1) * days) <= t:
            k += 1
        while k and self.wall_boundary(k * days) > t:
            k -= 1
        return k, self.wall_boundary((k + 1) * days)


def _begin(stay: _Stay) -> _Walk:
    """The walk's state at the ladder origin."""
    cx, sched = stay.cx, stay.sched
    st = _Walk()
    t = stay.origin
    today = ordinal = sched.ordinal_of(t)
    occs = sched.day(ordinal - 1).occurrences
    if occs and occs[-1][1] > t:  # yesterday's last occurrence still runs
        ordinal -= 1
        hit = len(occs) - 1
    else:
        hit = -1
        info = sched.day(ordinal)
        while hit < 0:
            occs = info.occurrences
            for i, occ in enumerate(occs):
                if occ[1] > t:
                    hit = i
                    break
            else:
                ordinal += 1
                info = sched.day(ordinal)
    s, e, w = occs[hit]
    st.dord, st.didx, st.os, st.oe, st.w = ordinal, hit, s, e, w
    st.orem = cx.cap[w]
    st.t, st.p = t, 0
    if cx.charged and cx.free[w]:
        st.t = t = e  # charging starts where the free window ends
        today = sched.ordinal_of(t)
    if cx.day_cap is not None:
        d = sched.day(today)
        st.day_ord, st.day_end, st.day_rem = today, d.end, cx.day_cap
    else:
        st.day_ord, st.day_end, st.day_rem = 0, UNLIMITED, UNLIMITED
    pidx: list[int] = []
    pend: list[int] = []
    prem: list[int] = []
    start = stay.start
    for j, (every, amount, wall, once) in enumerate(cx.periods):
        if wall:
            k, pe = stay.period_at(j, t)
        else:
            k = (t - start) // every
            pe = start + (k + 1) * every
        pidx.append(k)
        pend.append(pe)
        prem.append(UNLIMITED if once and k else amount)
    st.pidx, st.pend, st.prem = pidx, pend, prem
    st.stay_rem = cx.stay_cap if cx.stay_cap is not None else UNLIMITED
    return st


def _charged_minutes(stay: _Stay, dord: int, didx: int, until: int, need: int) -> int:
    """Charged (non-free) minutes from the occurrence after (dord, didx) on, up to
    `until`, counting no further than `need`."""
    sched, free = stay.sched, stay.cx.free
    got = 0
    info = sched.day(dord)
    occs = info.occurrences
    i = didx
    while got < need:
        i += 1
        while i >= len(occs):
            dord += 1
            occs = sched.day(dord).occurrences
            i = 0
        s, e, w = occs[i]
        if s >= until:
            break
        if not free[w]:
            got += (e if e < until else until) - s
    return got if got < need else need


def _walk(stay: _Stay, st: _Walk, stop: int, out: list[Stretch | Repeat]) -> None:
    """Charge the units starting before `stop` (and before the exit); advance `st`."""
    end = stay.end
    limit = stop if stop < end else end
    t = st.t
    sched = stay.sched
    (steps_of, cycle_of, cap_of, free_of, per_occ, restart, charged_mode, any_per_occ, walls,
     partial, tolerance, day_cap_or_none, periods, simple) = stay.cx.consts
    start = stay.start
    origin = stay.origin
    p = st.p
    dord, i = st.dord, st.didx
    days = sched.days_memo()
    info = days.get(dord) or sched.day(dord)
    occs = info.occurrences
    os_, oe, w, orem = st.os, st.oe, st.w, st.orem
    track_day = day_cap_or_none is not None
    day_cap = day_cap_or_none or 0
    day_ord, day_end, day_rem = st.day_ord, st.day_end, st.day_rem
    npc = len(periods)
    pidx, pend, prem = st.pidx, st.pend, st.prem
    pmin = min(pend) if npc else UNLIMITED
    stay_rem = st.stay_rem
    append = out.append
    new = tuple.__new__
    while True:
        # The next occurrence, once the unit chain is past this one; at the limit only
        # over occurrences that ended by it (as the next walk would first do), so that
        # the state refers to nothing before the limit.
        if t >= oe and (t < limit or oe <= limit):
            i += 1
            while i >= len(occs):
                dord += 1
                info = days.get(dord) or sched.day(dord)
                occs = info.occurrences
                i = 0
            os_, oe, w = occs[i]
            orem = cap_of[w]
            if charged_mode and free_of[w]:
                t += oe - os_  # a free window does not count: the unit in progress pauses
            continue
        if t >= limit:
            break
        b = oe if oe < limit else limit
        one = simple[w]
        if one is not None:
            unit, price = one
            si = ci = 0
            cyc_end = UNLIMITED
        else:
            steps = steps_of[w]
            cyc = cycle_of[w]
            if per_occ[w]:
                pos = t - (os_ if os_ > origin else origin)
            else:
                pos = p
            if cyc:
                ci, cpos = divmod(pos, cyc)
                cyc_end = t - cpos + cyc
            else:
                ci, cpos, cyc_end = 0, pos, UNLIMITED
            si = 0
            unit, price, send = steps[0]
            while send is not None and cpos >= send:
                si += 1
                unit, price, send = steps[si]
            if send is not None:
                step_end = t - cpos + send
                if step_end < b:
                    b = step_end
            if cyc_end < b:
                b = cyc_end
        if track_day:
            if t >= day_end:
                d = days.get(day_ord + 1) or sched.day(day_ord + 1)
                while t >= d.end:
                    d = sched.day(d.ordinal + 1)
                day_ord, day_end, day_rem = d.ordinal, d.end, day_cap
            if day_end < b:
                b = day_end
        if npc:
            if t >= pmin:
                for j in range(npc):
                    if t >= pend[j]:
                        every = periods[j][0]
                        if walls:
                            k, pend[j] = stay.period_at(j, t)
                        else:
                            k = (t - start) // every
                            pend[j] = start + (k + 1) * every
                        pidx[j] = k
                        prem[j] = UNLIMITED if periods[j][3] and k else periods[j][1]
                pmin = min(pend)
            if pmin < b:
                b = pmin
        n = -((t - b) // unit)  # units starting in [t, b)
        last = t + (n - 1) * unit
        nominal = last + unit
        cut = cyc_end - last  # offsets from the last unit's start, in ladder minutes
        if nominal > oe and (restart or any_per_occ):
            if restart:
                cut = min(cut, oe - last)
            else:
                # the next (charged) occurrence may restart its ladder, ending this unit
                ni, nd, nocc = i + 1, dord, occs
                while True:
                    while ni >= len(nocc):
                        nd += 1
                        nocc = sched.day(nd).occurrences
                        ni = 0
                    nw = nocc[ni][2]
                    if not (charged_mode and free_of[nw]):
                        break
                    ni += 1
                if per_occ[nw]:
                    cut = min(cut, oe - last)
        if nominal > end or (charged_mode and nominal > oe):
            if end <= oe or not charged_mode:
                cut = min(cut, end - last)
            else:
                need = nominal - oe
                got = _charged_minutes(stay, dord, i, end, need)
                if got < need:
                    cut = min(cut, oe - last + got)
        if cut < unit:
            if not _counts(cut, unit, partial, tolerance):
                n -= 1
            nxt = last + cut
        else:
            nxt = nominal
        if n:
            gross = n * price
            rem = orem
            bind = BIND_OCCURRENCE
            if day_rem < rem:
                rem, bind = day_rem, BIND_DAY
            if npc == 1:
                if prem[0] < rem:
                    rem, bind = prem[0], BIND_PERIOD
            elif npc:
                for j in range(npc):
                    if prem[j] < rem:
                        rem, bind = prem[j], BIND_PERIOD + j
            if stay_rem < rem:
                rem, bind = stay_rem, BIND_STAY
            if gross <= rem:
                charged, bind, scope = gross, BIND_NONE, 0
            else:
                charged = rem
                if bind == BIND_OCCURRENCE:
                    scope = os_
                elif bind == BIND_DAY:
                    scope = day_ord
                elif bind == BIND_STAY:
                    scope = 0
                else:
                    scope = pidx[bind - BIND_PERIOD]
            if charged:  # only caps that exist count down (their state is compared)
                if orem != UNLIMITED:
                    orem -= charged
                if track_day:
                    day_rem -= charged
                if stay_rem != UNLIMITED:
                    stay_rem -= charged
                if npc == 1:
                    if prem[0] != UNLIMITED:
                        prem[0] -= charged
                elif npc:
                    for j in range(npc):
                        if prem[j] != UNLIMITED:
                            prem[j] -= charged
            append(new(Stretch, (w, si, ci, n, gross, charged, bind, scope, t, os_,
                                 info.day_type, day_ord)))
        p += nxt - t
        t = nxt
    st.t, st.p = t, p
    st.dord, st.didx = dord, i
    st.os, st.oe, st.w, st.orem = os_, oe, w, orem
    st.day_ord, st.day_end, st.day_rem = day_ord, day_end, day_rem
    st.stay_rem = stay_rem


def time_charge(tariff: Tariff, vc: VehicleClass, start: int, origin: int,
                end: int) -> list[Stretch]:
    """Every charged stretch of a stay, walked from start to end, in time order.

    `start` is the (continued) visit's entry, from which periods count; `origin` is
    where charging starts (entry plus free minutes), from which units and ladder
    positions count; `end` is the exit. All instants are epoch minutes.
    """
    out: list[Stretch | Repeat] = []
    if origin < end:
        stay = _Stay(compiled(tariff, vc), tariff.schedule, start, origin, end)
        _walk(stay, _begin(stay), end, out)
    return [s for s in out if isinstance(s, Stretch)]


# -- long stays: reuse days already walked ------------------------------------------------

def _next_odd_date(cx: Compiled, sched: Schedule, ordinal: int, until: int) -> int:
    """The first date >= ordinal (and <= until) that breaks the weekly pattern (a holiday
    priced unlike its weekday, or a clock change); until + 1 if none. Kept per date
    with how far it was looked for."""
    known = cx.odd_after.get(ordinal)
    if known is not None and (known[0] <= known[1] or known[1] >= until):
        return min(known[0], until + 1)
    best = until + 1
    k = bisect_left(cx.odd_holidays, ordinal)
    if k < len(cx.odd_holidays):
        best = min(best, cx.odd_holidays[k])
    year = date.fromordinal(ordinal).year
    while True:
        first_of_year = date(year, 1, 1).toordinal()
        if first_of_year > best:
            break
        for d in sched.clock_change_dates(year):
            if d >= ordinal:
                best = min(best, d)
                break
        year += 1
    if len(cx.odd_after) > 20_000:
        cx.odd_after.clear()
    cx.odd_after[ordinal] = (best, until)
    return best


def charge(tariff: Tariff, vc: VehicleClass, start: int, origin: int,
           end: int) -> list[Stretch | Repeat]:
    """The time charge of a stay as stretches and repeats of earlier stretches.

    Same arguments and the same result as `time_charge` once every Repeat is expanded;
    a long stay costs about as much as its first week or so (see the module doc).
    """
    out: list[Stretch | Repeat] = []
    if origin >= end:
        return out
    cx = compiled(tariff, vc)
    sched = tariff.schedule
    stay = _Stay(cx, sched, start, origin, end)
    st = _begin(stay)
    umax = cx.umax
    if not cx.accel or end - origin < 3 * DAY + umax:
        _walk(stay, st, end, out)
        return out
    b = start + ((origin - start) // DAY + 1) * DAY
    _walk(stay, st, b, out)
    # The walk from a day boundary to the next is decided by the state there and the
    # kinds of the dates it reads (see _kinds): equal (local time, kinds, state) is an
    # equal day, taken from the first such day, shifted. States are numbered as they
    # appear. The state at a boundary is a remembered state `base` shifted by (vt, vd).
    memo: dict[tuple[int, int, int], _Day] = {}
    states: dict[tuple[int, ...], int] = {}
    shifts: dict[tuple[int, int], tuple[int, ...]] = {}
    bord = sched.ordinal_of(b)
    base, vt, vd = st, 0, 0
    _spend(base)
    sid = states.setdefault(_relative(cx, base, b), 0)
    # Boundaries of the current run of dates that follow the weekly pattern, and the
    # cycle found in such a run (a state that came back a schedule period later).
    trail: list[tuple[int, int, int, _Walk, int, int, int, tuple[int, ...]]] = []
    tmap: dict[tuple[int, ...], int] = {}
    cycle: _Cycle | None = None
    odd = -1  # the first date from here known to break the weekly pattern
    last_ord = sched.ordinal_of(end)
    fence = 0  # a repeat before this index of `out` must not be extended
    pdays = cx.period_days
    reach = _reach(cx)
    dates = cx.dates
    days = sched.days_memo()
    new_repeat = tuple.__new__

    def materialize() -> _Walk:
        w = base.copy()
        if vt or vd:
            key = (vt, vd)
            didx = shifts.get(key)
            if didx is None:
                didx = shifts[key] = shift_periods(vc, vt, vd)
            _shift(w, vt, vd, vt, didx)
        return w

    while b + DAY + umax <= end:
        info = days.get(bord) or sched.day(bord)
        while b >= info.end:
            bord += 1
            info = sched.day(bord)
        while b < info.start:
            bord -= 1
            info = sched.day(bord)
        kind = dates.get(bord)
        if type(kind) is not tuple:
            kind = _kinds(cx, sched, bord)
        if kind is None:  # a clock change is near: walk, and start the pattern afresh
            w = materialize()
            _walk(stay, w, b + DAY, out)
            b += DAY
            bord += 1
            _spend(w)
            base, vt, vd = w, 0, 0
            sid = states.setdefault(_relative(cx, w, b), len(states))
            trail.clear()
            tmap.clear()
            fence = len(out)
            continue
        key = (b - info.start, kind[0], sid)
        if kind[1]:
            at = (bord % pdays, *key)
            if odd < bord:
                odd = _next_odd_date(cx, sched, bord, last_ord)
            # the days that may be replayed from here: before the exit's reach and
            # reading no date on or after the odd one
            room = min((end - umax - b) // DAY, odd - bord - reach)
            if cycle is not None and room > 0:
                pos = cycle.pos.get(at)
                if pos is not None:
                    b, bord, base, vt, vd, sid = cycle.replay(out, pos, b, bord, room)
                    trail.clear()
                    tmap.clear()
                    fence = len(out)
                    continue
            j = tmap.get(at)
            if j is not None and room > 0:
                cycle = _Cycle(trail[j:], len(out))
                b, bord, base, vt, vd, sid = cycle.replay(out, 0, b, bord, room)
                trail.clear()
                tmap.clear()
                fence = len(out)
                continue
            tmap[at] = len(trail)
            trail.append((b, bord, len(out), base, vt, vd, sid, at))
            fence = len(out)  # a block may start here
        elif trail:
            trail.clear()
            tmap.clear()
        hit = memo.get(key)
        if hit is not None:
            dt, dd = b - hit.b, bord - hit.bord
            prev = out[-1] if len(out) > fence else None
            if (type(prev) is Repeat and prev.copies == 1 and prev.hi == hit.lo
                    and prev.dt == dt and prev.dday == dd):
                # the day after the last one repeated
                out[-1] = new_repeat(Repeat, (prev[0], hit.hi, 1, dt, dd, 0, 0))
            else:
                out.append(new_repeat(Repeat, (hit.lo, hit.hi, 1, dt, dd, 0, 0)))
            base, vt, vd, sid = hit.after, dt, dd, hit.after_id
        else:
            w = materialize()
            lo = len(out)
            _walk(stay, w, b + DAY, out)
            _spend(w)
            after_id = states.setdefault(_relative(cx, w, b + DAY), len(states))
            memo[key] = _Day(lo, len(out), b, bord, w, after_id)
            base, vt, vd, sid = w, 0, 0, after_id
        b += DAY
        bord += 1
    w = materialize()
    _walk(stay, w, end, out)
    return out


class _Cycle:
    """Days that repeat: a run of day boundaries whose state came back one schedule
    period after the first. Any day of it can be replayed from a boundary where the walk
    stands as it stood on that day."""

    __slots__ = ("b0", "bord0", "days", "los", "snaps", "pos")

    def __init__(self, run: list[tuple[int, int, int, _Walk, int, int, int, tuple[int, ...]]],
                 hi: int) -> None:
        self.b0, self.bord0 = run[0][0], run[0][1]
        self.days = len(run)
        self.los = [r[2] for r in run] + [hi]
        self.snaps = [(r[3], r[4], r[5], r[6]) for r in run]  # base, vt, vd, state id
        self.pos = {r[7]: k for k, r in enumerate(run)}

    def replay(self, out: list[Stretch | Repeat], pos: int, b: int, bord: int,
               room: int) -> tuple[int, int, _Walk, int, int, int]:
        """Replay up to `room` days from day `pos` of the cycle, starting at boundary b.

        At most three repeats: the rest of the cycle from `pos`, whole cycles, the start
        of one more. Returns the new boundary and its state (base, vt, vd, state id).
        """
        days, los = self.days, self.los
        b0, bord0 = self.b0, self.bord0
        n = room
        first = min(n, days - pos)
        out.append(Repeat(los[pos], los[pos + first], 1, b - (b0 + pos * DAY),
                          bord - (bord0 + pos)))
        b, bord, n = b + first * DAY, bord + first, n - first
        whole = n // days
        if whole:
            out.append(Repeat(los[0], los[days], whole, b - b0, bord - bord0,
                              days * DAY, days))
            b, bord, n = b + whole * days * DAY, bord + whole * days, n - whole * days
        if n:
            out.append(Repeat(los[0], los[n], 1, b - b0, bord - bord0))
            b, bord = b + n * DAY, bord + n
        at = (pos + room) % days
        base, vt, vd, sid = self.snaps[at]
        vt += b - (b0 + at * DAY) - 0
        vd += bord - (bord0 + at)
        return b, bord, base, vt, vd, sid


class _Day:
    """A day walked once: its stretches out[lo:hi], where it began, and the state after."""

    __slots__ = ("lo", "hi", "b", "bord", "after", "after_id")

    def __init__(self, lo: int, hi: int, b: int, bord: int, after: _Walk,
                 after_id: int) -> None:
        self.lo, self.hi, self.b, self.bord = lo, hi, b, bord
        self.after, self.after_id = after, after_id


def _kinds(cx: Compiled, sched: Schedule, bord: int) -> tuple[int, bool] | None:
    """What a day's walk from a boundary on local date `bord` reads of the schedule:
    (an id of the kinds of the dates it reads, whether they follow the weekly pattern),
    or None when one of them has a clock change. Kept per date."""
    got = cx.dates.get(bord)
    if got is None:
        first = -1 if cx.plan_days else 0
        # the occurrences holding its unit starts begin on this date or the next and end
        # by the one after; in restart modes it also reads the occurrence after those
        # (one date more); the kind of yesterday matters only to member plans limited
        # to days. The last date counts only by its length: the ends of the windows of
        # the date before it that cross midnight hang on its clock change, not on its
        # kind (the walk never reads its occurrences), so two days alike up to it are
        # one day, and a week walks fewer days.
        last = _reach(cx)
        kinds: list[int] = []
        periodic = True
        for o in range(bord + first, bord + last + 1):
            d = sched.day(o)
            if d.end - d.start != DAY:
                got = False
                break
            if o < bord + last:
                k = cx.klass[d.day_type]
                kinds.append(k)
                if k != cx.weekday_class[(o - 1) % 7]:  # ordinal 1 is a Monday
                    periodic = False
        else:
            ids = cx.kind_ids
            got = (ids.setdefault(tuple(kinds), len(ids)), periodic)
        if len(cx.dates) > 20_000:
            cx.dates.clear()
        cx.dates[bord] = got
    if got is False or got is True:
        return None
    return got


def _reach(cx: Compiled) -> int:
    """How many dates after a boundary's date a day's walk reads."""
    return 3 if cx.restart or cx.any_per_occ else 2


def _relative(cx: Compiled, st: _Walk, b: int) -> tuple[int, ...]:
    """A settled state as seen from boundary b: what decides the walk from b on."""
    p = st.p
    fix, lc = cx.fix, cx.lcm
    head = (st.t - b, p if p < fix else fix, p % lc if lc else 0, st.os - b, st.oe - b,
            st.w, st.orem, st.day_end - b if cx.day_cap is not None else 0, st.day_rem,
            st.stay_rem)
    pend = st.pend
    if not pend:
        return head
    if len(pend) == 1:  # the common case: one cap from entry (per 24 h)
        return (*head, pend[0] - b, st.prem[0])
    return (*head, *[x - b for x in pend], *st.prem)


def _spend(st: _Walk) -> None:
    """Blank what the next unit start is already past: the occurrence, day and cap
    periods that have ended. The walk renews them from the next start alone, so their
    stale remainders never matter; blanking them makes equal situations equal states
    without reading any date (a state must depend only on the dates its day read)."""
    t = st.t
    if t >= st.oe:
        st.os, st.w, st.orem = st.oe, -1, 0
    if t >= st.day_end:
        st.day_rem = 0
    prem, pend = st.prem, st.pend
    for j in range(len(pend)):
        if t >= pend[j]:
            prem[j] = 0


def _shift(st: _Walk, dt: int, dday: int, dp: int, didx: tuple[int, ...]) -> None:
    """Move a walk state forward by whole repeating periods."""
    st.t += dt
    st.p += dp
    st.dord += dday
    st.os += dt
    st.oe += dt
    st.day_ord += dday
    if st.day_end != UNLIMITED:
        st.day_end += dt
    for j, d in enumerate(didx):
        st.pidx[j] += d
        st.pend[j] += dt
