"""Clocks are passed in, never read inside the domain.

Domain functions take `now` as an argument; the site holds a `Clock` and asks it.
"""

from __future__ import annotations

import time
from datetime import datetime, timedelta, timezone
from typing import Protocol

from console.i18n import _


class Clock(Protocol):
    """Something that tells the current time as an aware UTC datetime."""

    def now(self) -> datetime: ...


class SystemClock:
    """The real wall clock, in UTC."""

    def now(self) -> datetime:
        return datetime.now(timezone.utc)


class ScaledClock:
    """A clock that runs `speed` times faster than real time from a start instant.

    Used by the demo so that a stay of hours passes in minutes. It is anchored on the
    monotonic clock so that it never goes backwards.
    """

    def __init__(self, speed: float, start: datetime | None = None) -> None:
        if speed <= 0:
            raise ValueError(_("speed must be positive"))
        self.speed = speed
        self._start = start or datetime.now(timezone.utc)
        self._t0 = time.monotonic()

    def now(self) -> datetime:
        elapsed = (time.monotonic() - self._t0) * self.speed
        return self._start + timedelta(seconds=elapsed)


class FixedClock:
    """A clock that only moves when told to (tests and replays)."""

    def __init__(self, at: datetime) -> None:
        if at.tzinfo is None:
            raise ValueError(_("FixedClock needs an aware datetime"))
        self._at = at.astimezone(timezone.utc)

    def now(self) -> datetime:
        return self._at

    def advance(self, **delta: float) -> datetime:
        """Move forward by a timedelta given as keyword arguments; return the new now."""
        self._at += timedelta(**delta)
        return self._at

    def set(self, at: datetime) -> None:
        """Jump to `at` (aware)."""
        self._at = at.astimezone(timezone.utc)
