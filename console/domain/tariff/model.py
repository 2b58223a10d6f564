"""The parsed, validated form of a tariff document.

Everything here is immutable. Money is held as integer minor units of the tariff's
currency; durations and times of day as integer minutes. The semantics of each field
are stated in docs/tariffs.md; the parser (`parse.py`) is the only producer.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from console.domain.tax import TaxRate

if TYPE_CHECKING:
    from console.domain.tariff.calendar import Schedule

#: Day types a window, an offer or a member plan can name. A date listed as a public
#: holiday has the type given by `calendar.holidays_as` ("sun" unless told otherwise).
WEEKDAYS: tuple[str, ...] = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
DAY_TYPES: tuple[str, ...] = (*WEEKDAYS, "holiday")

#: How a unit that crosses the start of a new window occurrence is treated.
BOUNDARY_MODES = ("carry", "restart")
#: When a unit cut short (by the exit, a ladder restart or, in restart mode, a window
#: boundary) is charged.
PARTIAL_MODES = ("started", "half", "completed")
#: Which time ladders, bands and units count: all of it, or only time in charged windows.
LADDER_TIMES = ("all", "charged")
#: How a cap measured from entry counts its periods: elapsed minutes, or the wall clock.
PERIOD_CLOCKS = ("elapsed", "wall")
ROUNDING_MODES = ("half-up", "half-even", "half-down", "up", "down")

UNLIMITED = 1 << 62  # larger than any amount; "no cap"


@dataclass(frozen=True, slots=True)
class Window:
    """A named stretch of the day during which one rate applies.

    `start` and `end` are minutes after local midnight of the day the window starts on;
    `end` is greater than 1440 for a window that crosses midnight (20:00-08:00 is
    start=1200, end=1920). `days` are the day types on which an occurrence starts.
    """

    name: str
    label: str
    start: int
    end: int
    days: frozenset[str]

    @property
    def span_text(self) -> str:
        """The window as people write it: "20:00-08:00"."""
        end = self.end - 1440 if self.end > 1440 else self.end
        return f"{_hhmm(self.start)}-{_hhmm(end)}"


@dataclass(frozen=True, slots=True)
class Step:
    """One rung of a rate's ladder: units of `unit` minutes at `price` each.

    The step applies to units that start while the ladder position (minutes since the
    ladder origin, see docs) is below `end`; `end` is None for the last, open step.
    `band` is the band's upper limit in minutes when the step came from a price band.
    """

    unit: int
    price: int
    end: int | None
    label: str
    band: int | None = None


@dataclass(frozen=True, slots=True)
class Rate:
    """What time costs in one window: a ladder of steps and an optional cap per occurrence."""

    window: str
    label: str
    steps: tuple[Step, ...]
    cycle: int | None  # the ladder starts again every `cycle` minutes of the ladder position
    max_per_occurrence: int | None
    banded: bool = False
    #: No charge in this window (`free = true`); with ladder_time = "charged" its time
    #: does not count at all.
    free: bool = False
    #: The ladder starts again at every occurrence of this window (restart_every =
    #: "occurrence"): positions count from the occurrence's start.
    per_occurrence: bool = False


@dataclass(frozen=True, slots=True)
class PeriodCap:
    """At most `amount` per period counted from entry.

    Periods are [entry + k*every, entry + (k+1)*every) in elapsed minutes, or with
    `wall` they end at the entry's wall-clock time `every // 1440` days later. With
    `once` only the first period is capped (the Japanese "1回限り").
    """

    every: int
    amount: int
    wall: bool = False
    once: bool = False
    label: str = ""


@dataclass(frozen=True, slots=True)
class Caps:
    """Maximum charges over calendar days, periods from entry and the whole stay."""

    per_calendar_day: int | None = None
    per_24h: int | None = None
    per_stay: int | None = None
    periods: tuple[PeriodCap, ...] = ()
    #: Every cap measured from entry, `per_24h` first, in the order they bind (made
    #: once: the engine reads it for every repeated block of a long stay).
    from_entry: tuple[PeriodCap, ...] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        every = self.periods if self.per_24h is None else (PeriodCap(1440, self.per_24h), *self.periods)
        object.__setattr__(self, "from_entry", every)


@dataclass(frozen=True, slots=True)
class Rules:
    """Free time and unit handling (minutes)."""

    grace: int = 0
    free: int = 0
    exit_grace: int = 0
    reentry: int = 0
    boundary: str = "carry"
    partial: str = "started"
    tolerance: int = 0
    ladder: str = "all"


@dataclass(frozen=True, slots=True)
class Offer:
    """A flat price for a stay that meets every condition given."""

    id: str
    label: str
    price: int
    days: frozenset[str] | None
    enter_from: int | None
    enter_until: int | None
    leave_by: int | None
    max_duration: int | None
    min_duration: int | None


@dataclass(frozen=True, slots=True)
class VehicleClass:
    """The pricing rules of one vehicle class."""

    name: str
    label: str
    rules: Rules
    rates: tuple[Rate, ...]  # one per window, in the order of Tariff.windows
    caps: Caps
    offers: tuple[Offer, ...]
    lost_ticket: int | None
    tax: str | None = None  # id of the tariff's tax rate this class is taxed at


@dataclass(frozen=True, slots=True)
class MemberPlan:
    """A membership, monthly pass or whitelist entry declared by the tariff.

    The benefit (`percent_off`, 100 = free) applies to the charge of units that start in
    one of `windows` (all windows when None) on one of `days`, for the listed classes and
    in the listed zones.
    """

    id: str
    label: str
    kind: str
    percent_off: int
    windows: frozenset[str] | None
    days: frozenset[str] | None
    zones: frozenset[str] | None
    classes: frozenset[str] | None


@dataclass(frozen=True, slots=True)
class Validation:
    """A merchant validation or discount code. `kind` is minutes, percent, amount or free."""

    code: str
    label: str
    kind: str
    value: int
    classes: frozenset[str] | None


@dataclass(frozen=True, slots=True)
class Rounding:
    """Rounding of the total to a multiple of `step` minor units."""

    step: int = 1
    mode: str = "half-up"


@dataclass(frozen=True, slots=True)
class TaxRule:
    """The tariff's tax rates and whether its prices include them."""

    rates: dict[str, TaxRate]
    included: bool
    default: str  # the rate a class without its own `tax` key is taxed at


@dataclass(frozen=True, eq=False)
class Tariff:
    """One immutable version of a tariff.

    Two Tariff objects are equal when they are the same version with the same content
    (same `tariff_id` and `fingerprint`).
    """

    key: str
    version: str
    name: str
    currency: str
    timezone: ZoneInfo
    effective_from: datetime | None
    holidays: frozenset[date]
    holidays_as: str
    windows: tuple[Window, ...]
    classes: dict[str, VehicleClass]
    members: dict[str, MemberPlan]
    validations: dict[str, Validation]
    rounding: Rounding
    fingerprint: str
    source: str = "<tariff>"
    tax: TaxRule | None = None
    schedule: Schedule = field(default=None, repr=False)  # type: ignore[assignment]
    #: Memo of texts derived from this version (item labels); never affects a result.
    texts: dict[object, str] = field(default_factory=dict, repr=False)
    #: Memo of per-class forms the engine derives from this version; never affects a result.
    derived: dict[object, object] = field(default_factory=dict, repr=False)

    @property
    def tariff_id(self) -> str:
        """The version id recorded on every quote: "<id>@<version>"."""
        return f"{self.key}@{self.version}"

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Tariff):
            return NotImplemented
        return self.tariff_id == other.tariff_id and self.fingerprint == other.fingerprint

    def __hash__(self) -> int:
        return hash((self.tariff_id, self.fingerprint))


def _hhmm(minutes: int) -> str:
    return f"{minutes // 60:02d}:{minutes % 60:02d}"


def hhmm(minutes: int) -> str:
    """Minutes after midnight as "HH:MM" (1440 is "24:00")."""
    return _hhmm(minutes)
