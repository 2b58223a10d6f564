"""Charging sessions: prices, presets, prepaid holds, postpaid credit and fault rules.

Pure rules only: every function takes `now` (and the local time of day where a tariff
needs it) as arguments. See docs/charging.md for the rules in prose.

How a fee is built, so that the bill always equals the running figure: each meter
reading closes an *interval* (seconds, watt-hours, mean power) which is priced at the
rate in force at the interval's local start time. The session keeps the exact quantity
per rate (`lines`: {"e:150": 1234} means 1234 Wh at 150 minor/kWh). The fee is computed
from those lines in exact fractions and rounded once; the running figure on screen and
the final bill are the same function of the same lines.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import datetime, time, timedelta
from enum import Enum
from fractions import Fraction
from math import ceil, floor
from typing import Mapping, Sequence

from console.domain.errors import DomainError
from console.domain.money import Money
from console.i18n import _


class ChargingError(DomainError):
    """A request that cannot be served; the message is for the attendant or the user.

    `cause` says what refused it for code that must tell (the message is translated):
    "pile" (the pile or its port: offline, nothing plugged in, busy), "credit" (the
    account's credit limit), or "" for anything else."""

    def __init__(self, message: str, *, cause: str = "") -> None:
        super().__init__(message)
        self.cause = cause


class Basis(str, Enum):
    """What a price plan charges for."""

    ENERGY = "energy"  # minor units per kWh
    TIME = "time"  # minor units per hour
    POWER_BAND = "power_band"  # minor units per hour, by the mean power drawn


class Rounding(str, Enum):
    HALF_UP = "half-up"
    UP = "up"
    DOWN = "down"


@dataclass(frozen=True, slots=True)
class RateWindow:
    """A time-of-use window in local time; `start` inclusive, `end` exclusive, a start
    after the end wraps past midnight. Rates replace the plan's base rates inside it."""

    start: time
    end: time
    rate_minor: int = 0
    band_rates_minor: tuple[int, ...] = ()

    def contains(self, local: time) -> bool:
        if self.start == self.end:
            return True
        if self.start < self.end:
            return self.start <= local < self.end
        return local >= self.start or local < self.end


@dataclass(frozen=True, slots=True)
class PricePlan:
    """How a session is priced. `band_limits_w` are the upper limits of the power bands
    (ascending); `band_rates_minor` has one rate more than there are limits (the last band
    is open-ended)."""

    id: str
    basis: Basis
    currency: str
    rate_minor: int = 0
    band_limits_w: tuple[int, ...] = ()
    band_rates_minor: tuple[int, ...] = ()
    windows: tuple[RateWindow, ...] = ()
    free_seconds: int = 60
    rounding: Rounding = Rounding.HALF_UP
    step_minor: int = 1

    def __post_init__(self) -> None:
        if self.rate_minor < 0 or any(r < 0 for r in self.band_rates_minor) or self.step_minor < 1:
            raise ChargingError(_("price plan {id}: rates must not be negative, step at least 1").format(id=self.id))
        if self.free_seconds < 0:
            raise ChargingError(_("price plan {id}: free_seconds must not be negative").format(id=self.id))
        if self.basis is Basis.POWER_BAND:
            if len(self.band_rates_minor) != len(self.band_limits_w) + 1:
                raise ChargingError(_("price plan {id}: power bands need one rate more than band limits").format(id=self.id))
            if list(self.band_limits_w) != sorted(set(self.band_limits_w)):
                raise ChargingError(_("price plan {id}: band limits must be strictly ascending").format(id=self.id))
            for w in self.windows:
                if len(w.band_rates_minor) != len(self.band_rates_minor):
                    raise ChargingError(_("price plan {id}: each window needs a rate for every band").format(id=self.id))

    def rate_at(self, local: time, power_w: int = 0) -> int:
        """The rate in force at a local time of day (and for a mean power, by band)."""
        window = next((w for w in self.windows if w.contains(local)), None)
        if self.basis is Basis.POWER_BAND:
            rates = window.band_rates_minor if window is not None else self.band_rates_minor
            band = sum(1 for limit in self.band_limits_w if power_w > limit)
            return rates[band]
        return window.rate_minor if window is not None else self.rate_minor

    def max_rate(self) -> int:
        """The highest rate the plan can apply (for prepaid holds)."""
        if self.basis is Basis.POWER_BAND:
            return max([*self.band_rates_minor, *(r for w in self.windows for r in w.band_rates_minor)])
        return max([self.rate_minor, *(w.rate_minor for w in self.windows)])


# -- fees --------------------------------------------------------------------------------

Lines = Mapping[str, int]


def price_interval(plan: PricePlan, local_start: time, seconds: int, energy_wh: int) -> tuple[str, int] | None:
    """The line one metered interval adds: (key, quantity), or None when it adds nothing."""
    if seconds < 0 or energy_wh < 0:
        raise ChargingError(_("an interval cannot be negative"))
    if plan.basis is Basis.ENERGY:
        if energy_wh == 0:
            return None
        return f"e:{plan.rate_at(local_start)}", energy_wh
    if seconds == 0:
        return None
    power_w = energy_wh * 3600 // seconds
    return f"t:{plan.rate_at(local_start, power_w)}", seconds


def add_line(lines: Mapping[str, int], line: tuple[str, int] | None) -> dict[str, int]:
    """A copy of `lines` with one more interval's line added."""
    out = dict(lines)
    if line is not None:
        out[line[0]] = out.get(line[0], 0) + line[1]
    return out


def exact_cost(lines: Lines) -> Fraction:
    """The unrounded cost of the lines, in minor units."""
    total = Fraction(0)
    for key, qty in lines.items():
        kind, _, rate_text = key.partition(":")
        rate = int(rate_text)
        total += Fraction(rate * qty, 1000 if kind == "e" else 3600)
    return total


def round_fee(amount: Fraction, rounding: Rounding, step: int) -> int:
    """Round once, to a multiple of `step` minor units."""
    q = amount / step
    if rounding is Rounding.UP:
        n = ceil(q)
    elif rounding is Rounding.DOWN:
        n = floor(q)
    else:
        n = floor(q + Fraction(1, 2))
    return int(n) * step


def session_fee(plan: PricePlan, lines: Lines, elapsed_s: int, cap_minor: int | None = None) -> Money:
    """The fee of a session so far: what the user pays if it stopped now.

    Free when it lasted no longer than the plan's free seconds; never more than `cap_minor`
    (a prepaid hold). The running figure and the final bill both come from here."""
    if plan.free_seconds and elapsed_s <= plan.free_seconds:
        return Money.zero(plan.currency)
    minor = round_fee(exact_cost(lines), plan.rounding, plan.step_minor)
    if cap_minor is not None:
        minor = min(minor, cap_minor)
    return Money(minor, plan.currency)


# -- presets, prepaid and postpaid --------------------------------------------------------


class PresetKind(str, Enum):
    ENERGY = "energy"  # value in Wh
    TIME = "time"  # value in seconds
    AMOUNT = "amount"  # value in minor units


class PayMode(str, Enum):
    PREPAID = "prepaid"
    POSTPAID = "postpaid"


@dataclass(frozen=True, slots=True)
class Preset:
    kind: PresetKind
    value: int

    def __post_init__(self) -> None:
        if not isinstance(self.value, int) or self.value <= 0:
            raise ChargingError(_("a preset must be a positive whole number (Wh, seconds or minor units)"))


def prepaid_hold(plan: PricePlan, preset: Preset) -> Money:
    """The amount taken from a prepaid account at start; the unused part is refunded.

    An amount preset holds that amount. An energy or time preset holds what it would cost
    at the plan's highest rate, rounded up, so the session can never cost more than the hold.
    """
    if preset.kind is PresetKind.AMOUNT:
        return Money(preset.value, plan.currency)
    rate = plan.max_rate()
    if preset.kind is PresetKind.ENERGY and plan.basis is Basis.ENERGY:
        exact = Fraction(rate * preset.value, 1000)
    elif preset.kind is PresetKind.TIME and plan.basis is not Basis.ENERGY:
        exact = Fraction(rate * preset.value, 3600)
    else:
        raise ChargingError(
            f"a {preset.kind.value} preset cannot be priced in advance on a {plan.basis.value} plan: choose an amount"
        )
    return Money(round_fee(exact, Rounding.UP, plan.step_minor), plan.currency)


def check_prepaid(balance: Money, hold: Money) -> None:
    """Refuse a prepaid start the balance cannot cover."""
    if hold.is_zero or hold.is_negative:
        raise ChargingError(_("the prepaid amount must be more than zero"))
    if balance.minor < hold.minor:
        raise ChargingError(_("balance {balance} does not cover {hold}").format(balance=balance, hold=hold))


def check_postpaid(owed: Money, credit_limit: Money) -> Money:
    """Refuse a postpaid start with no credit left; return the credit still available."""
    available = credit_limit - owed
    if available.minor <= 0:
        raise ChargingError(_("credit limit {credit_limit} reached (owed {owed})").format(credit_limit=credit_limit, owed=owed), cause="credit")
    return available


def refund_of(hold: Money, bill: Money) -> Money:
    """What goes back to a prepaid account at the end."""
    return (hold - bill).max(Money.zero(hold.currency))


def cutoff_reason(preset: Preset | None, energy_wh: int, elapsed_s: int, fee: Money, limit_minor: int | None) -> str | None:
    """Why power must be cut now, or None. `limit_minor` is the prepaid hold or the postpaid
    credit still available; reaching it stops the session like a reached preset."""
    if preset is not None:
        if preset.kind is PresetKind.ENERGY and energy_wh >= preset.value:
            return "preset energy reached"
        if preset.kind is PresetKind.TIME and elapsed_s >= preset.value:
            return "preset time reached"
        if preset.kind is PresetKind.AMOUNT and fee.minor >= preset.value:
            return "preset amount reached"
    if limit_minor is not None and fee.minor >= limit_minor:
        return "prepaid amount used up" if preset is not None and preset.kind is not PresetKind.AMOUNT else "credit limit reached"
    return None


# -- meter readings -----------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class MeterVerdict:
    """What to do with a new cumulative meter reading."""

    delta_wh: int
    problem: str = ""

    @property
    def ok(self) -> bool:
        return not self.problem


def check_meter(last_wh: int | None, new_wh: int, seconds: float, max_power_w: int) -> MeterVerdict:
    """Accept a reading that moves forward by a physically possible amount.

    A reading that goes backwards (meter replaced, board reset, corrupt value) or jumps by
    more than the port could draw adds nothing; the caller records the anomaly and takes the
    new value as the baseline, so no energy is billed twice or invented."""
    if new_wh < 0:
        return MeterVerdict(0, f"negative meter reading {new_wh} Wh")
    if last_wh is None:
        return MeterVerdict(0)
    delta = new_wh - last_wh
    if delta < 0:
        return MeterVerdict(0, f"meter went backwards from {last_wh} to {new_wh} Wh")
    # One watt-hour of slack for rounding on the device, doubled power for meter jitter.
    ceiling = int(max_power_w * 2 * max(seconds, 1.0) / 3600) + 1
    if delta > ceiling:
        return MeterVerdict(0, f"meter jumped by {delta} Wh in {seconds:.0f} s (at most {ceiling} Wh possible)")
    return MeterVerdict(delta)


# -- faults -------------------------------------------------------------------------------


class FaultCode(str, Enum):
    CURRENT_OUT_OF_RANGE = "1"  # powered port outside its current range
    CURRENT_WHEN_OFF = "2"  # unpowered port drawing current: stuck relay or leakage
    QR_START_FAILED = "3"  # a user's QR scan could not start the pile
    OCPP = "ocpp"  # an error code reported by an OCPP charger


@dataclass(frozen=True, slots=True)
class CurrentLimits:
    """A pile model's current range when powered and its leakage limit when off (mA).
    Readings must stay outside for `hold_s` before a fault is raised (one noisy sample is
    not a fault); a freshly powered port gets `start_grace_s` to ramp up."""

    min_ma: int = 16_000
    max_ma: int = 18_000
    leak_ma: int = 100
    hold_s: float = 0.0
    start_grace_s: float = 3.0

    def __post_init__(self) -> None:
        if not 0 <= self.min_ma <= self.max_ma or self.leak_ma < 0 or self.hold_s < 0 or self.start_grace_s < 0:
            raise ChargingError(_("current limits must satisfy 0 <= min <= max, leak >= 0, times >= 0"))


@dataclass(frozen=True, slots=True)
class PortWatch:
    """What the fault rules remember about one port between readings (monotonic seconds)."""

    powered: bool = False
    powered_since: float = 0.0
    outside_since: float | None = None
    outside_code: FaultCode | None = None
    raised: frozenset[FaultCode] = field(default_factory=frozenset)


def assess_current(limits: CurrentLimits, watch: PortWatch, powered: bool, current_ma: int, now: float) -> tuple[PortWatch, FaultCode | None, str]:
    """Apply the current rules to one reading. Returns the new watch, the fault to raise
    now (at most once while it lasts) and its description."""
    if powered != watch.powered:
        watch = replace(watch, powered=powered, powered_since=now, outside_since=None, outside_code=None)
    code: FaultCode | None = None
    detail = ""
    if powered:
        if now - watch.powered_since >= limits.start_grace_s and not limits.min_ma <= current_ma <= limits.max_ma:
            code = FaultCode.CURRENT_OUT_OF_RANGE
            detail = f"powered port draws {current_ma / 1000:.2f} A, outside {limits.min_ma / 1000:g}-{limits.max_ma / 1000:g} A"
    elif current_ma > limits.leak_ma:
        code = FaultCode.CURRENT_WHEN_OFF
        detail = f"unpowered port draws {current_ma / 1000:.2f} A (stuck relay or leakage)"
    if code is None:
        return replace(watch, outside_since=None, outside_code=None, raised=frozenset()), None, ""
    if watch.outside_code is not code:
        watch = replace(watch, outside_since=now, outside_code=code)
    if code in watch.raised or now - (watch.outside_since or now) < limits.hold_s:
        return watch, None, ""
    return replace(watch, raised=watch.raised | {code}), code, detail


def local_time_of(at: datetime, tz: object) -> time:
    """The local wall-clock time of an aware instant (tariff windows are local)."""
    return at.astimezone(tz).time()  # type: ignore[arg-type]


# -- analytics ----------------------------------------------------------------------------


def _local_hour_slices(start: datetime, end: datetime, tz: object) -> list[tuple[int, Fraction]]:
    """(local hour of day, seconds) for each local hour an interval touches, in order."""
    out: list[tuple[int, Fraction]] = []
    t = start
    while t < end:
        local = t.astimezone(tz)  # type: ignore[arg-type]
        # Local hours start on whole local hours; stepping in UTC keeps DST changes right.
        into = Fraction(local.minute * 60 + local.second) + Fraction(local.microsecond, 1_000_000)
        step = min(Fraction(3600) - into, Fraction((end - t).total_seconds()))
        step_td = timedelta(seconds=float(step))
        out.append((local.hour, step))
        t = t + step_td if step_td.total_seconds() > 0 else end
    return out


def energy_by_local_hour(started_at: datetime, ended_at: datetime, energy_wh: int,
                         readings: Sequence[tuple[datetime, int]], tz: object) -> list[int]:
    """A session's energy spread over the local hours of day (24 values) it ran in.

    `readings` are the cumulative meter values known inside the session (at start, saved
    samples, at the end). Each interval between two readings carries its meter increase
    (a meter that went backwards carries nothing), spread over its hours in proportion to
    time. With no increase to go by (no meter, or only one reading) the energy follows
    time from start to end. The shares are exact fractions, rounded by largest remainder
    so the 24 values add up to `energy_wh` exactly."""
    hours = [Fraction(0)] * 24
    if energy_wh <= 0:
        return [0] * 24
    points = sorted((at, wh) for at, wh in readings if started_at <= at <= ended_at)
    segments = [(a[0], b[0], max(b[1] - a[1], 0)) for a, b in zip(points, points[1:])]
    if sum(w for _, _, w in segments) == 0:
        segments = [(started_at, ended_at, 1)]
    total = sum(w for _, _, w in segments)
    for a, b, weight in segments:
        if weight == 0:
            continue
        share = Fraction(weight * energy_wh, total)
        slices = _local_hour_slices(a, b, tz)
        span = sum(s for _, s in slices)
        if span == 0:  # an instant: all of it in that hour
            hours[a.astimezone(tz).hour] += share  # type: ignore[arg-type]
            continue
        for hour, secs in slices:
            hours[hour] += share * secs / span
    whole = [floor(h) for h in hours]
    left = energy_wh - sum(whole)
    for h in sorted(range(24), key=lambda i: (hours[i] - whole[i], -i), reverse=True)[:left]:
        whole[h] += 1
    return [int(x) for x in whole]
