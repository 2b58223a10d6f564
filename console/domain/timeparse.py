"""Times typed by the attendant, in the site's local time."""

from __future__ import annotations

import re
from datetime import date, datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo

from console.domain.errors import DomainError
from console.i18n import N_, _


class TimeInputError(DomainError):
    """Text that is not a time we can use, with a message saying what is accepted."""


_HELP = N_('use "14:30" (today, or yesterday if later than now), "21.11. 14:30" or "2026-11-21 14:30"')


def parse_local_time(text: str, *, now: datetime, tz: ZoneInfo) -> datetime:
    """Parse a local time typed by a person; returns an aware UTC datetime.

    A bare time means the most recent such time not after `now`. Times in the hour a DST
    change repeats are taken as the first occurrence; times it skips are refused.
    """
    raw = text.strip()
    local_now = now.astimezone(tz)
    m = re.fullmatch(r"(\d{1,2}):(\d{2})", raw)
    if m:
        day = local_now.date()
        moment = _combine(day, int(m[1]), int(m[2]), tz)
        if moment > local_now:
            moment = _combine(day - timedelta(days=1), int(m[1]), int(m[2]), tz)
        return moment.astimezone(timezone.utc)
    m = re.fullmatch(r"(\d{1,2})\.(\d{1,2})\.(\d{4})?\s+(\d{1,2}):(\d{2})", raw)
    if m:
        year = int(m[3]) if m[3] else local_now.year
        moment = _combine(_date(year, int(m[2]), int(m[1])), int(m[4]), int(m[5]), tz)
        if not m[3] and moment > local_now:
            moment = _combine(_date(year - 1, int(m[2]), int(m[1])), int(m[4]), int(m[5]), tz)
        return moment.astimezone(timezone.utc)
    m = re.fullmatch(r"(\d{4})-(\d{2})-(\d{2})[ T](\d{1,2}):(\d{2})", raw)
    if m:
        return _combine(_date(int(m[1]), int(m[2]), int(m[3])), int(m[4]), int(m[5]), tz).astimezone(timezone.utc)
    raise TimeInputError(_("{text!r} is not a time: {HELP}").format(text=text, HELP=_(_HELP)))


def _date(year: int, month: int, day: int) -> date:
    try:
        return date(year, month, day)
    except ValueError:
        raise TimeInputError(_("{day:02d}.{month:02d}.{year} is not a date").format(day=day, month=month, year=year)) from None


def _combine(day: date, hour: int, minute: int, tz: ZoneInfo) -> datetime:
    try:
        wall = time(hour, minute)
    except ValueError:
        raise TimeInputError(_("{hour}:{minute:02d} is not a time of day").format(hour=hour, minute=minute)) from None
    moment = datetime.combine(day, wall, tzinfo=tz)
    # A wall time skipped by a DST change does not survive a round trip through UTC.
    if moment.astimezone(timezone.utc).astimezone(tz).replace(tzinfo=None) != moment.replace(tzinfo=None):
        raise TimeInputError(_("{hour:02d}:{minute:02d} on {day:%d.%m.%Y} does not exist (clocks went forward)").format(hour=hour, minute=minute, day=day))
    return moment
