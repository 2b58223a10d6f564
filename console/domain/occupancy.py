"""Occupancy of zones: how many vehicles are in, how many spaces are free."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class ZoneOccupancy:
    """One zone's occupancy at a moment."""

    zone: str
    name: str
    capacity: int
    occupied: int

    @property
    def remaining(self) -> int:
        """Free spaces; never negative even when the count is over capacity."""
        return max(0, self.capacity - self.occupied)

    @property
    def full(self) -> bool:
        return self.occupied >= self.capacity

    @property
    def ratio(self) -> float:
        """Share of spaces taken, 0..1 (for display only)."""
        if self.capacity <= 0:
            return 1.0
        return min(1.0, self.occupied / self.capacity)
