"""Elevator rides: pairing a card swipe with the doors opening at its floor, pricing the
ride, and the arithmetic of a card's statement.

Pure: no I/O, no clock reads. Times are aware datetimes given by the caller; prices are
evaluated in the site's local time.

A ride is proven by three facts from the elevator controller, per car: a card swiped
with a chosen floor, the car stopping at that floor, the doors opening there. Doors that
open at a floor nobody chose by card (landing calls, the "open" button) are recorded as
unclaimed stops and never billed. A swipe that no door opening follows within the
timeout is recorded as timed out, not billed, and not silently forgotten.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta, timezone
from enum import Enum
from zoneinfo import ZoneInfo

from console.domain.errors import DomainError
from console.domain.money import Money
from console.i18n import N_, _


class RideKind(str, Enum):
    """What one elevator record is."""

    RIDE = "ride"  # a billed (or free) ride: swipe -> doors open at its floor
    UNCLAIMED = "unclaimed"  # doors opened at a floor no pending swipe chose
    TIMEOUT = "timeout"  # a swipe never followed by the doors opening at its floor


# -- pairing ---------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class Swipe:
    """A card swiped in a car, with the floor the rider chose."""

    card: str
    car: int
    floor: int
    at: datetime
    from_floor: int | None = None  # where the car stood, when known


@dataclass(frozen=True, slots=True)
class RideMatch:
    """The doors opened at a swiped card's floor: a ride to bill."""

    swipe: Swipe
    arrived_at: datetime | None  # None when the car was already at the floor
    doors_open_at: datetime


@dataclass(frozen=True, slots=True)
class UnclaimedStop:
    """The doors opened at a floor no card chose."""

    car: int
    floor: int
    doors_open_at: datetime


@dataclass(frozen=True, slots=True)
class SwipeTimedOut:
    """A swipe that no door opening at its floor followed in time."""

    swipe: Swipe
    expired_at: datetime


PairingOutcome = RideMatch | UnclaimedStop | SwipeTimedOut


def normalise_card(card: str) -> str:
    """A card id as the controller reports it: upper-case hex, no separators."""
    return re.sub(r"[\s:-]", "", card).upper()


class RidePairing:
    """Pairs swipes with door openings, one car at a time.

    Several riders may share a car: each pending swipe waits for the doors to open at
    its own floor. The same card swiped twice in a car before its floor replaces the
    first swipe (a rider who changed their mind rides once). Not thread-safe: the site
    feeds it from one thread.
    """

    def __init__(self, timeout: timedelta) -> None:
        if timeout <= timedelta(0):
            raise ValueError(_("the swipe timeout must be positive"))
        self.timeout = timeout
        self._pending: dict[int, list[Swipe]] = {}
        self._car_floor: dict[int, int] = {}
        self._arrived: dict[int, tuple[int, datetime]] = {}

    def pending(self) -> list[Swipe]:
        """Swipes waiting for their floor, oldest first."""
        return sorted((s for swipes in self._pending.values() for s in swipes), key=lambda s: s.at)

    def swiped(self, car: int, card: str, floor: int, at: datetime) -> Swipe:
        """A card was swiped in `car` choosing `floor`; returns the pending swipe."""
        swipe = Swipe(normalise_card(card), car, floor, at, self._car_floor.get(car))
        queue = self._pending.setdefault(car, [])
        queue[:] = [s for s in queue if s.card != swipe.card]
        queue.append(swipe)
        return swipe

    def arrived(self, car: int, floor: int, at: datetime) -> None:
        """The car stopped at `floor` (its doors will open next)."""
        self._car_floor[car] = floor
        self._arrived[car] = (floor, at)

    def doors_opened(self, car: int, floor: int, at: datetime) -> list[PairingOutcome]:
        """The car's doors opened at `floor`: every swipe for that floor becomes a ride;
        with none, the stop is unclaimed."""
        self._car_floor[car] = floor
        arrival = self._arrived.pop(car, None)
        arrived_at = arrival[1] if arrival is not None and arrival[0] == floor else None
        queue = self._pending.get(car, [])
        matched = [s for s in queue if s.floor == floor]
        if not matched:
            return [UnclaimedStop(car, floor, at)]
        queue[:] = [s for s in queue if s.floor != floor]
        return [RideMatch(s, arrived_at, at) for s in matched]

    def doors_closed(self, car: int, floor: int) -> None:
        """The doors shut: nothing to pair, but the car's position is known."""
        self._car_floor[car] = floor

    def expire(self, now: datetime) -> list[PairingOutcome]:
        """Swipes older than the timeout, removed and returned as timed out."""
        out: list[PairingOutcome] = []
        for queue in self._pending.values():
            keep = []
            for s in queue:
                if now - s.at >= self.timeout:
                    out.append(SwipeTimedOut(s, now))
                else:
                    keep.append(s)
            queue[:] = keep
        return sorted(out, key=lambda o: o.swipe.at)  # type: ignore[union-attr]

    def controller_restarted(self) -> None:
        """The controller rebooted: car positions are unknown. Pending swipes stay until
        their doors open or they time out (a ride in progress may still complete)."""
        self._car_floor.clear()
        self._arrived.clear()


# -- cards -------------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class Card:
    """A card the booth knows: its class decides free rides, its account gets the bill."""

    card_id: str
    card_class: str
    account_id: str | None
    active: bool = True


# Why a ride is flagged, stored in English (as the cloud receives it) and shown in the
# attendant's language by `flag_reason_text`: the fixed reasons, and the reasons with a
# detail in them (the detail, a device's or the database's own words, stays as it is).
FLAG_REASONS = (
    N_("nobody detected"), N_("face blurred"), N_("no price rule matched"), N_("several riders left at this stop"),
    N_("doors opened at a floor no card chose"), N_("card has no account (unknown card)"), N_("card is inactive"),
    N_("card has no account"), N_("no camera configured"), N_("camera offline"), N_("stopping"),
)
_DETAILED_REASONS = (
    (re.compile(r"no camera \((?P<detail>.*)\)"), N_("no camera ({detail})")),
    (re.compile(r"no usable frame \((?P<detail>.*)\)"), N_("no usable frame ({detail})")),
    (re.compile(r"card not looked up: (?P<detail>.*)"), N_("card not looked up: {detail}")),
    (re.compile(r"camera URL unusable: (?P<detail>.*)"), N_("camera URL unusable: {detail}")),
    (re.compile(r"the doors never opened at the chosen floor within (?P<detail>.*) s"),
     N_("the doors never opened at the chosen floor within {detail} s")),
)


def flag_reason_text(reason: str | None) -> str:
    """A stored flag reason ("nobody detected; several riders left at this stop") in the
    language spoken here, part by part; a part it does not know is shown as stored."""
    if not reason:
        return ""
    parts = []
    for part in reason.split("; "):
        for pattern, message in _DETAILED_REASONS:
            found = pattern.fullmatch(part)
            if found:
                parts.append(_(message).format(detail=_(found["detail"])))
                break
        else:
            parts.append(_(part))
    return _("; ").join(parts)


def card_problem(card: Card | None) -> str | None:
    """Why a ride on this card cannot simply be billed, or None."""
    if card is None:
        return "card has no account (unknown card)"
    if not card.active:
        return "card is inactive"
    if not card.account_id:
        return "card has no account"
    return None


# -- prices ------------------------------------------------------------------------------------
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


@dataclass(frozen=True, slots=True)
class TimeWindow:
    """Local time of day `start` (inclusive) to `end` (exclusive); end <= start wraps past
    midnight (22:00-06:00). `days` are the weekdays the window starts on (empty: all)."""

    start: time
    end: time
    days: frozenset[str] = frozenset()

    def contains(self, local: datetime) -> bool:
        """Whether a local (aware or naive-local) datetime falls in the window."""
        t = local.time().replace(tzinfo=None)
        day = WEEKDAYS[local.weekday()]
        if self.start < self.end:
            return self.start <= t < self.end and (not self.days or day in self.days)
        # Wraps midnight: the part after midnight belongs to the previous day's window.
        if t >= self.start:
            return not self.days or day in self.days
        if t < self.end:
            prev = WEEKDAYS[(local.weekday() - 1) % 7]
            return not self.days or prev in self.days
        return False


@dataclass(frozen=True, slots=True)
class PriceRule:
    """A fee for rides matching every condition given (none: every ride).

    Rules are tried in order and the first match sets the fee: put specific rules (a
    night window, a floor band) before the flat fallback.
    """

    name: str
    fee: Money
    floors: tuple[int, int] | None = None  # inclusive band of target floors
    window: TimeWindow | None = None
    classes: frozenset[str] = frozenset()  # card classes the rule applies to (empty: all)

    def matches(self, floor: int, local: datetime, card_class: str | None) -> bool:
        if self.floors is not None and not self.floors[0] <= floor <= self.floors[1]:
            return False
        if self.window is not None and not self.window.contains(local):
            return False
        if self.classes and card_class not in self.classes:
            return False
        return True


@dataclass(frozen=True, slots=True)
class RidePricing:
    """The price list of elevator rides."""

    currency: str
    rules: tuple[PriceRule, ...] = ()
    free_classes: frozenset[str] = frozenset()

    def __post_init__(self) -> None:
        for rule in self.rules:
            if rule.fee.currency != self.currency:
                raise ValueError(_("rule {name!r} is in {currency}, the price list in {currency2}").format(name=rule.name, currency=rule.fee.currency, currency2=self.currency))
            if rule.fee.is_negative:
                raise ValueError(_("rule {name!r} has a negative fee").format(name=rule.name))


@dataclass(frozen=True, slots=True)
class RidePrice:
    """The fee of one ride and why."""

    fee: Money
    rule: str  # the rule's name, "free class <x>", or "no matching rule"
    matched: bool = True  # False: no rule matched; the ride is flagged for review


def price_ride(pricing: RidePricing, *, floor: int, at: datetime, tz: ZoneInfo, card_class: str | None) -> RidePrice:
    """The fee of a ride to `floor` whose doors opened at `at` (aware), in local time `tz`."""
    if at.tzinfo is None:
        raise ValueError(_("price_ride needs an aware time"))
    if card_class is not None and card_class in pricing.free_classes:
        return RidePrice(Money.zero(pricing.currency), f"free class {card_class}")
    local = at.astimezone(tz)
    for rule in pricing.rules:
        if rule.matches(floor, local, card_class):
            return RidePrice(rule.fee, rule.name)
    return RidePrice(Money.zero(pricing.currency), "no matching rule", matched=False)


# -- statements ------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class StatementLine:
    """Rides of one card in a period, in one currency, for one floor (or all floors: None)."""

    floor: int | None
    rides: int
    total: Money


@dataclass(frozen=True, slots=True)
class Statement:
    """What a card owes for a period (postpaid), from its rides."""

    card: str
    account_id: str | None
    start: datetime  # UTC, inclusive
    end: datetime  # UTC, exclusive
    rides: int
    total: Money
    flagged: int  # rides in the period marked for review
    lines: tuple[StatementLine, ...] = field(default_factory=tuple)


def month_period(year: int, month: int, tz: ZoneInfo) -> tuple[datetime, datetime]:
    """A local calendar month as a UTC [start, end) pair (correct across DST changes)."""
    if not 1 <= month <= 12:
        raise ValueError(_("month must be 1..12"))
    start = datetime(year, month, 1, tzinfo=tz)
    end = datetime(year + (month == 12), month % 12 + 1, 1, tzinfo=tz)
    return start.astimezone(timezone.utc), end.astimezone(timezone.utc)


def day_period(day: date, tz: ZoneInfo) -> tuple[datetime, datetime]:
    """A local calendar day as a UTC [start, end) pair."""
    start = datetime(day.year, day.month, day.day, tzinfo=tz)
    nxt = day + timedelta(days=1)
    end = datetime(nxt.year, nxt.month, nxt.day, tzinfo=tz)
    return start.astimezone(timezone.utc), end.astimezone(timezone.utc)


def build_statement(
    card: str,
    account_id: str | None,
    start: datetime,
    end: datetime,
    currency: str,
    floor_totals: Iterable[tuple[int, int, int]],
    flagged: int,
) -> Statement:
    """A statement from per-floor aggregates `(floor, rides, fee_minor)` of one currency."""
    lines = tuple(StatementLine(f, n, Money(total, currency)) for f, n, total in sorted(floor_totals))
    total = Money(sum(line.total.minor for line in lines), currency)
    return Statement(card, account_id, start, end, sum(line.rides for line in lines), total, flagged, lines)


# -- searching the ride log --------------------------------------------------------------------
class RideQueryError(DomainError):
    """Search text that cannot be understood, with what is accepted."""


@dataclass(frozen=True, slots=True)
class RideQuery:
    """What the attendant looks for in the ride log. Empty: the latest records."""

    card: str | None = None  # a prefix of the card id
    floor: int | None = None
    since: datetime | None = None  # UTC, inclusive
    until: datetime | None = None  # UTC, exclusive
    flagged_only: bool = False
    kinds: tuple[RideKind, ...] = ()


_QUERY_HELP = N_(
    'search by card ("04A1" or card:04A1), floor ("-2" or floor:B2), day ("2026-03-02"), '
    'time ("08:00-09:30" today), "flagged", "unclaimed", "timeout"'
)

# The search box's words, typed in English or in the attendant's language (待复核 for
# "flagged" in Chinese, as the column of flagged rides is headed): what each one selects.
_SEARCH_WORDS: tuple[tuple[str, str], ...] = (
    (N_("flagged"), "flagged"), (N_("unclaimed"), "unclaimed"), (N_("timeout"), "timeout"),
    (N_("ride"), "ride"), (N_("rides"), "ride"),
)


def _search_word(low: str) -> str | None:
    """What a typed word selects ("flagged", or a ride kind's value), or None."""
    for word, meaning in _SEARCH_WORDS:
        if low == word or low == _(word).lower():
            return meaning
    return None


def _floor_text(text: str) -> int:
    t = text.strip().upper()
    if re.fullmatch(r"B\d{1,3}", t):
        return -int(t[1:])
    if re.fullmatch(r"-?\d{1,3}", t):
        return int(t)
    raise RideQueryError(_("{text!r} is not a floor (e.g. 5, -2 or B2)").format(text=text))


def parse_ride_query(text: str, *, now: datetime, tz: ZoneInfo) -> RideQuery:
    """Parse the ride log's search box. Raises RideQueryError naming what is accepted."""
    card = floor = since = until = None
    flagged = False
    kinds: list[RideKind] = []
    day: date | None = None
    span: tuple[time, time] | None = None
    for token in text.split():
        low = token.lower()
        key, _colon, value = low.partition(":") if re.match(r"^(card|floor|day):", low) else ("", "", low)
        if key == "card" or (not key and re.fullmatch(r"[0-9a-f]{4,32}", low) and not re.fullmatch(r"\d{1,3}", low)):
            card = normalise_card(value if key else token)
            if not re.fullmatch(r"[0-9A-F]{1,32}", card):
                raise RideQueryError(_("{token!r} is not a card id (hex digits)").format(token=token))
        elif key == "floor" or (not key and re.fullmatch(r"-?\d{1,3}|b\d{1,3}", low)):
            floor = _floor_text(value if key else token)
        elif key == "day" or re.fullmatch(r"\d{4}-\d{2}-\d{2}", low):
            try:
                day = date.fromisoformat(value if key else low)
            except ValueError:
                raise RideQueryError(_("{token!r} is not a date (YYYY-MM-DD)").format(token=token)) from None
        elif m := re.fullmatch(r"(\d{1,2}):(\d{2})-(\d{1,2}):(\d{2})", low):
            try:
                span = (time(int(m[1]), int(m[2])), time(int(m[3]), int(m[4])))
            except ValueError:
                raise RideQueryError(_("{token!r} is not a time range (08:00-09:30)").format(token=token)) from None
        elif (word := _search_word(low)) == "flagged":
            flagged = True
        elif word is not None:
            kinds.append(RideKind(word))
        else:
            raise RideQueryError(_("{token!r} not understood; {help}").format(token=token, help=_(_QUERY_HELP)))
    if day is not None or span is not None:
        the_day = day or now.astimezone(tz).date()
        if span is None:
            since, until = day_period(the_day, tz)
        else:
            since = datetime.combine(the_day, span[0], tz).astimezone(timezone.utc)
            end_day = the_day + timedelta(days=1) if span[1] <= span[0] else the_day
            until = datetime.combine(end_day, span[1], tz).astimezone(timezone.utc)
    return RideQuery(card, floor, since, until, flagged, tuple(kinds))


def floor_label(floor: int | None) -> str:
    """A floor for people: B2 for -2, 5 for 5, "?" when unknown."""
    if floor is None:
        return "?"
    return f"B{-floor}" if floor < 0 else str(floor)


def describe_outcomes(outcomes: Sequence[PairingOutcome]) -> list[str]:
    """One line per outcome, for the attendant's log."""
    lines = []
    for o in outcomes:
        if isinstance(o, RideMatch):
            lines.append(f"car {o.swipe.car}: card {o.swipe.card} rode to {floor_label(o.swipe.floor)}")
        elif isinstance(o, UnclaimedStop):
            lines.append(f"car {o.car}: doors opened at {floor_label(o.floor)}, no card chose it")
        else:
            lines.append(
                f"car {o.swipe.car}: card {o.swipe.card} chose {floor_label(o.swipe.floor)} but the doors never opened there"
            )
    return lines
