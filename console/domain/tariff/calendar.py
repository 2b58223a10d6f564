"""Calendar and windows: which window is in force when, as real instants.

Instants are integer "epoch minutes" (minutes since 1970-01-01 00:00 UTC). Window
boundaries are local wall-clock times; they are turned into instants per local date
with the tariff's time zone, so a night that contains a DST change is an hour shorter
or longer in real time, and every minute is charged once.

Wall-clock rules (docs/tariffs.md, "Time"):
- a wall time that occurs twice (clocks go back) means its first occurrence;
- a wall time that does not exist (clocks go forward) means the instant of the jump.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

from console.domain.tariff.errors import Problem
from console.domain.tariff.model import DAY_TYPES, WEEKDAYS, Window, hhmm

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MINUTE = timedelta(minutes=1)
_EPOCH_ORDINAL = date(1970, 1, 1).toordinal()
_CACHE_LIMIT = 8192  # dates kept per schedule; a 30-day stay needs about 32


def to_epoch_minute(instant: datetime) -> int:
    """An aware datetime as whole epoch minutes, seconds dropped (floor)."""
    return (instant - EPOCH) // _MINUTE


def from_epoch_minute(minute: int, tz: ZoneInfo | timezone = UTC) -> datetime:
    """Epoch minutes back to an aware datetime in `tz`."""
    return (EPOCH + timedelta(minutes=minute)).astimezone(tz)


def localize(naive: datetime, tz: ZoneInfo) -> datetime:
    """A wall-clock time in `tz` as an aware datetime, by the tariff rules.

    A time that occurs twice (clocks go back) is its first occurrence; a time that does
    not exist (clocks jump forward over it) is the instant of the jump. Seconds are kept.
    """
    minute = Schedule(tz, (), frozenset(), "sun").wall_to_minute(
        naive.date(), naive.hour * 60 + naive.minute)
    return from_epoch_minute(minute, tz) + timedelta(seconds=naive.second,
                                                     microseconds=naive.microsecond)


@dataclass(frozen=True, slots=True)
class DayInfo:
    """One local calendar date: its real extent and the window occurrences starting on it."""

    ordinal: int
    day_type: str
    start: int  # epoch minute of local midnight
    end: int  # epoch minute of the next local midnight
    occurrences: tuple[tuple[int, int, int], ...]  # (start, end, window index), by start


class Schedule:
    """The windows of a tariff laid onto real dates in its time zone (memoized per date)."""

    def __init__(
        self,
        tz: ZoneInfo,
        windows: tuple[Window, ...],
        holidays: frozenset[date],
        holidays_as: str,
    ) -> None:
        self.tz = tz
        self.windows = windows
        self.holidays = holidays
        self.holidays_as = holidays_as
        self._days: dict[int, DayInfo] = {}
        self._midnights: dict[int, int] = {}
        self._changes: dict[int, tuple[int, ...]] = {}
        self._by_type: dict[str, tuple[int, ...]] = {
            t: tuple(i for i, w in enumerate(windows) if t in w.days)
            for t in DAY_TYPES
        }

    # -- wall clock -> instants -------------------------------------------------------

    def wall_to_minute(self, day: date, minute_of_day: int) -> int:
        """The instant (epoch minute) at which the wall clock shows `minute_of_day` on `day`.

        `minute_of_day` may be 1440 or more (the following days).
        """
        extra, m = divmod(minute_of_day, 1440)
        if extra:
            day = day + timedelta(days=extra)
        local = datetime(day.year, day.month, day.day, m // 60, m % 60, tzinfo=self.tz)
        later = to_epoch_minute(local)  # fold=0: first occurrence / offset before a jump
        earlier = to_epoch_minute(local.replace(fold=1))
        if earlier >= later:
            return later  # an ordinary time, or the first of a repeated one
        # The wall time falls in a gap (clocks jumped forward over it): the instant of the
        # jump is the first minute in (earlier, later] that already has the new offset.
        new_offset = self._offset(later)
        lo, hi = earlier, later
        while hi - lo > 1:
            mid = (lo + hi) // 2
            if self._offset(mid) == new_offset:
                hi = mid
            else:
                lo = mid
        return hi

    def _offset(self, minute: int) -> timedelta | None:
        return from_epoch_minute(minute, self.tz).utcoffset()

    def local(self, minute: int) -> datetime:
        """The local date and time of an instant."""
        return from_epoch_minute(minute, self.tz)

    def ordinal_of(self, minute: int) -> int:
        """The proleptic ordinal of the local date containing an instant."""
        # Guess from UTC (local offsets are under a day) and settle with the cached
        # extents of the days, which avoids a time-zone conversion per call.
        ordinal = minute // 1440 + _EPOCH_ORDINAL
        info = self.day(ordinal)
        while minute < info.start:
            info = self.day(info.ordinal - 1)
        while minute >= info.end:
            info = self.day(info.ordinal + 1)
        return info.ordinal

    def clock_change_dates(self, year: int) -> tuple[int, ...]:
        """Ordinals of the local dates of `year` on which the UTC offset changes.

        Found by probing the offset weekly and bisecting each change to the minute, so a
        year costs about a hundred offset look-ups once; the result is kept.
        """
        got = self._changes.get(year)
        if got is not None:
            return got
        lo = to_epoch_minute(datetime(year, 1, 1, tzinfo=UTC)) - 1440
        hi = to_epoch_minute(datetime(year + 1, 1, 1, tzinfo=UTC)) + 1440
        found: set[int] = set()
        week = 7 * 1440
        m, offset = lo, self._offset(lo)
        while m < hi:
            nxt = min(m + week, hi)
            later = self._offset(nxt)
            if later != offset:
                a, b = m, nxt  # offset(a) == offset, offset(b) != offset
                while b - a > 1:
                    mid = (a + b) // 2
                    if self._offset(mid) == offset:
                        a = mid
                    else:
                        b = mid
                for minute in (a, b):  # the dates on both sides of the change
                    d = from_epoch_minute(minute, self.tz).date()
                    if d.year == year:
                        found.add(d.toordinal())
                # two changes within one probe week are found by probing again from b
                m, offset = b, self._offset(b)
                continue
            m, offset = nxt, later
        result = tuple(sorted(found))
        self._changes[year] = result
        return result

    # -- days -------------------------------------------------------------------------

    def day_type(self, day: date) -> str:
        """"mon".."sun", or the holiday type for a listed public holiday."""
        if day in self.holidays:
            return self.holidays_as
        return WEEKDAYS[day.weekday()]

    def days_memo(self) -> dict[int, DayInfo]:
        """The dates built so far, by ordinal, for callers that look many up in a row
        (a miss there is built by `day`)."""
        return self._days

    def day(self, ordinal: int) -> DayInfo:
        """The DayInfo of a local date (cached)."""
        info = self._days.get(ordinal)
        if info is None:
            info = self._build_day(ordinal)
            if len(self._days) >= _CACHE_LIMIT:
                self._days.clear()
            self._days[ordinal] = info
        return info

    def _midnight(self, ordinal: int) -> int:
        minute = self._midnights.get(ordinal)
        if minute is None:
            if len(self._midnights) >= _CACHE_LIMIT:
                self._midnights.clear()
            minute = self._midnights[ordinal] = self.wall_to_minute(date.fromordinal(ordinal), 0)
        return minute

    def _build_day(self, ordinal: int) -> DayInfo:
        d = date.fromordinal(ordinal)
        kind = self.day_type(d)
        start = self._midnight(ordinal)
        end = self._midnight(ordinal + 1)
        # Without a clock change today and tomorrow (the tails of windows that cross
        # midnight end tomorrow), wall times are a fixed offset from midnight.
        steady = end - start == 1440 and self._midnight(ordinal + 2) - end == 1440
        occ = []
        for i in self._by_type[kind]:
            w = self.windows[i]
            if steady:
                s, e = start + w.start, start + w.end
            else:
                s, e = self.wall_to_minute(d, w.start), self.wall_to_minute(d, w.end)
            if e > s:  # a window wholly inside a skipped hour has no real extent
                occ.append((s, e, i))
        occ.sort()
        return DayInfo(ordinal=ordinal, day_type=kind, start=start, end=end,
                       occurrences=tuple(occ))

    def occurrences(self, minute: int) -> Iterator[tuple[int, int, int, DayInfo]]:
        """Window occurrences in time order, from the one in force at `minute` on.

        Yields (start, end, window index, DayInfo of the date the occurrence starts on).
        The sequence is endless; the caller stops.
        """
        ordinal = self.ordinal_of(minute) - 1  # a window from yesterday may still run
        while True:
            info = self.day(ordinal)
            for s, e, i in info.occurrences:
                if e > minute:
                    yield s, e, i, info
            ordinal += 1


# -- validation of coverage -----------------------------------------------------------

def coverage_problems(
    windows: tuple[Window, ...], holidays_used: bool, holidays_as: str
) -> list[Problem]:
    """Every gap and overlap between windows, on every kind of day.

    A date's 24 hours are covered by the windows that start on it and by the tails of
    windows that started the day before and cross midnight. Every weekday is checked,
    and with public holidays also a holiday on that weekday and a weekday after a
    holiday (a holiday may fall on any day). One problem is reported per distinct gap or
    overlap, naming the kinds of day it occurs on.
    """
    found: dict[tuple[str, str], list[str]] = {}
    flags = (False, True) if holidays_used else (False,)
    for wd in range(7):
        for today_holiday in flags:
            for yesterday_holiday in flags:
                today = holidays_as if today_holiday else WEEKDAYS[wd]
                yesterday = holidays_as if yesterday_holiday else WEEKDAYS[wd - 1]
                where = (f"a holiday on a {_NAMES[wd]}" if today_holiday else f"{_NAMES[wd]}s")
                if yesterday_holiday:
                    where += " after a holiday"
                pieces: list[tuple[int, int, str]] = []
                for w in windows:
                    if today in w.days:
                        pieces.append((w.start, min(w.end, 1440), w.name))
                    if yesterday in w.days and w.end > 1440:
                        pieces.append((0, w.end - 1440, w.name))
                pieces.sort()
                cursor = 0
                last_name = ""
                for s, e, name in pieces:
                    if s > cursor:
                        found.setdefault(("windows", f"no window covers {hhmm(cursor)}-{hhmm(s)}"),
                                         []).append(where)
                    elif s < cursor:
                        found.setdefault(
                            (f"windows.{name}", f"overlaps windows.{last_name} at "
                                                f"{hhmm(s)}-{hhmm(min(cursor, e))}"),
                            []).append(where)
                    if e > cursor:
                        cursor, last_name = e, name
                if cursor < 1440:
                    found.setdefault(("windows", f"no window covers {hhmm(cursor)}-24:00"),
                                     []).append(where)
    problems = []
    for (key, what), wheres in found.items():
        shown = ", ".join(wheres[:3])
        if len(wheres) > 3:
            shown += f" and {len(wheres) - 3} more kinds of day"
        problems.append(Problem(key, f"{what} on {shown}"))
    return problems


_NAMES = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
