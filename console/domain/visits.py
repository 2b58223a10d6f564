"""Visits: one stay of one vehicle, from entry to exit."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import Enum

from console.domain.errors import DomainError


class VisitError(DomainError):
    """A visit operation that cannot be done (with a message for the attendant)."""


class VisitState(str, Enum):
    OPEN = "open"
    CLOSED = "closed"


@dataclass(frozen=True, slots=True)
class Visit:
    """A visit as the rest of the console sees it (mapped from the store's row)."""

    id: str
    plate: str
    zone: str
    vehicle_class: str
    entry_lane: str
    entry_at: datetime
    state: VisitState
    currency: str
    exit_lane: str | None = None
    exit_at: datetime | None = None
    fee_minor: int | None = None
    paid_minor: int = 0
    tariff_id: str | None = None
    close_reason: str | None = None
    entry_opened_at: datetime | None = None  # the barrier seen open at entry
    exit_opened_at: datetime | None = None  # ... and at exit

    @property
    def is_open(self) -> bool:
        return self.state is VisitState.OPEN

    def duration(self, until: datetime) -> timedelta:
        """Time parked until `until` (or until the recorded exit)."""
        end = self.exit_at or until
        return end - self.entry_at


def format_duration(delta: timedelta) -> str:
    """"2 d 03:05" / "3:05" style durations for screens and receipts (h:mm)."""
    total_minutes = max(0, int(delta.total_seconds() // 60))
    days, rest = divmod(total_minutes, 24 * 60)
    hours, minutes = divmod(rest, 60)
    if days:
        return f"{days} d {hours:02d}:{minutes:02d}"
    return f"{hours}:{minutes:02d}"


def check_exit_time(visit: Visit, exit_at: datetime) -> None:
    """Refuse an exit before the entry (clock trouble or a wrong manual time)."""
    if exit_at < visit.entry_at:
        raise VisitError(
            f"exit time {exit_at.isoformat(timespec='minutes')} is before entry {visit.entry_at.isoformat(timespec='minutes')}"
        )
