"""A simulated site's traffic: cars arrive at entry lanes, park for a while, and queue at
exit lanes. Shared by every simulated lane of one site; thread-safe.

Times here are real (monotonic) seconds: the simulator knows nothing of the console's
clock, just as a real car park knows nothing of the booth PC.
"""

from __future__ import annotations

import heapq
import random
import string
import threading
import time
from dataclasses import dataclass

_LOOK_ALIKE = {"O": "0", "0": "O", "I": "1", "1": "I", "B": "8", "8": "B"}


@dataclass(frozen=True, slots=True)
class Dwell:
    """How long a simulated car stays, in real seconds (uniform between the bounds)."""

    low: float = 15.0
    high: float = 240.0


class Traffic:
    """The cars of one simulated site."""

    def __init__(self, seed: int | None = None, dwell: Dwell | None = None) -> None:
        self._rng = random.Random(seed)
        self._dwell = dwell or Dwell()
        self._lock = threading.Lock()
        self._departures: list[tuple[float, str]] = []  # heap of (leave_at, plate)
        self._inside: set[str] = set()
        self._issued: set[str] = set()

    def new_plate(self) -> str:
        """A plate that is not already on the site: two letters, four digits, a letter."""
        with self._lock:
            while True:
                plate = (
                    "".join(self._rng.choices(string.ascii_uppercase, k=2))
                    + f"{self._rng.randrange(10000):04d}"
                    + self._rng.choice(string.ascii_uppercase)
                )
                if plate not in self._issued:
                    self._issued.add(plate)
                    return plate

    def random_interval(self, rate_per_second: float) -> float:
        """Seconds until the next arrival of a Poisson process with this rate."""
        with self._lock:
            return self._rng.expovariate(rate_per_second)

    def chance(self, probability: float) -> bool:
        with self._lock:
            return self._rng.random() < probability

    def misread(self, plate: str) -> str:
        """The plate as a reader might get it wrong: one of O/0, I/1, B/8 swapped for
        its look-alike (the plate unchanged when it has none of them)."""
        spots = [i for i, ch in enumerate(plate) if ch in _LOOK_ALIKE]
        if not spots:
            return plate
        with self._lock:
            i = self._rng.choice(spots)
        return plate[:i] + _LOOK_ALIKE[plate[i]] + plate[i + 1 :]

    def parked(self, plate: str, now: float | None = None) -> None:
        """A car passed an entry barrier; it will want to leave after its dwell."""
        now = time.monotonic() if now is None else now
        with self._lock:
            stay = self._rng.uniform(self._dwell.low, self._dwell.high)
            self._inside.add(plate)
            heapq.heappush(self._departures, (now + stay, plate))

    def next_departure(self, now: float | None = None) -> str | None:
        """Pop a car whose dwell is over, or None."""
        now = time.monotonic() if now is None else now
        with self._lock:
            if self._departures and self._departures[0][0] <= now:
                return heapq.heappop(self._departures)[1]
        return None

    def left(self, plate: str) -> None:
        """A car passed an exit barrier."""
        with self._lock:
            self._inside.discard(plate)

    def requeue(self, plate: str, delay: float = 5.0) -> None:
        """A car could not leave (lane busy); it tries again later."""
        with self._lock:
            heapq.heappush(self._departures, (time.monotonic() + delay, plate))

    @property
    def inside(self) -> int:
        with self._lock:
            return len(self._inside)
