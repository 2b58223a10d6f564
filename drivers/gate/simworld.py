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
# Mainland plates (GA 36): the serial letters never include I or O.
_CN_LETTERS = "ABCDEFGHJKLMNPQRSTUVWXYZ"
_CN_PROVINCES = "京津沪渝冀豫云辽黑湘皖鲁新苏浙赣鄂桂甘晋蒙陕吉闽贵粤青藏川宁琼"
# A mainland reader's look-alikes: 0/D, 8/B, 2/Z.
_CN_LOOK_ALIKE = {"0": "D", "D": "0", "8": "B", "B": "8", "2": "Z", "Z": "2"}
PLATE_STYLES: tuple[str, ...] = ("latin", "cn")


@dataclass(frozen=True, slots=True)
class Dwell:
    """How long a simulated car stays, in real seconds (uniform between the bounds)."""

    low: float = 15.0
    high: float = 240.0


class Traffic:
    """The cars of one simulated site."""

    def __init__(self, seed: int | None = None, dwell: Dwell | None = None, *, plates: str = "latin",
                 province: str | None = None) -> None:
        """`plates` is the kind of plate the cars carry: "latin" (AB1234C) or "cn" (mainland
        China, 粤B12345 and new-energy 粤BD12345); most "cn" cars come from `province`."""
        if plates not in PLATE_STYLES:
            raise ValueError(f"plates must be one of {', '.join(PLATE_STYLES)}, not {plates!r}")
        self._style = plates
        self._province = province
        self._rng = random.Random(seed)
        self._dwell = dwell or Dwell()
        self._lock = threading.Lock()
        self._departures: list[tuple[float, str]] = []  # heap of (leave_at, plate)
        self._inside: set[str] = set()
        self._issued: set[str] = set()

    def new_plate(self) -> str:
        """A plate that is not already on the site: two letters, four digits, a letter
        (latin), or a mainland plate as its reader sends it ("粤B12345", "粤BD12345")."""
        with self._lock:
            while True:
                plate = self._cn_plate() if self._style == "cn" else (
                    "".join(self._rng.choices(string.ascii_uppercase, k=2))
                    + f"{self._rng.randrange(10000):04d}"
                    + self._rng.choice(string.ascii_uppercase)
                )
                if plate not in self._issued:
                    self._issued.add(plate)
                    return plate

    def _cn_plate(self) -> str:
        rng = self._rng
        home = self._province if self._province and rng.random() < 0.8 else rng.choice(_CN_PROVINCES)
        head = home + rng.choice(_CN_LETTERS)
        if rng.random() < 0.2:  # new energy: D (electric) or F (hybrid), then five digits
            return head + rng.choice("DF") + f"{rng.randrange(100000):05d}"
        tail = [rng.choice("0123456789") if rng.random() < 0.8 else rng.choice(_CN_LETTERS) for _ in range(5)]
        return head + "".join(tail)

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
        table = _CN_LOOK_ALIKE if self._style == "cn" else _LOOK_ALIKE
        first = 2 if self._style == "cn" else 0  # a mainland reader keeps the province and letter
        spots = [i for i, ch in enumerate(plate) if ch in table and i >= first]
        if not spots:
            return plate
        with self._lock:
            i = self._rng.choice(spots)
        return plate[:i] + table[plate[i]] + plate[i + 1 :]

    def parked(self, plate: str, now: float | None = None, *, stay: float | None = None) -> None:
        """A car passed an entry barrier; it will want to leave after its dwell (or after
        `stay` real seconds: a car that was parked before the simulation started)."""
        now = time.monotonic() if now is None else now
        with self._lock:
            if stay is None:
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
