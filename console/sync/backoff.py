"""How long to wait before trying the cloud again.

Exponential backoff with jitter: many booths that lost the link at the same moment do
not all come back at the same moment. A server's Retry-After is a floor, never cut short.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field


@dataclass
class Backoff:
    """Delays after consecutive failures: base * 2**n, capped, with "equal jitter"
    (half fixed, half random), so a delay is never near zero and never above the cap."""

    base: float = 1.0
    cap: float = 300.0
    retry_after_cap: float = 3600.0
    rng: random.Random = field(default_factory=random.Random)
    failures: int = 0

    def reset(self) -> None:
        """A success: the next failure starts from `base` again."""
        self.failures = 0

    def next_delay(self, retry_after: float | None = None) -> float:
        """Record one more failure and return how long to wait (seconds).

        `retry_after` (from the server) is a floor, not a replacement: the wait is the
        longer of the exponential delay and Retry-After plus up to 10 % (at most one
        second) of jitter, so an overloaded cloud answering "Retry-After: 1" to every
        booth is still asked less and less often. A silly value is capped at
        `retry_after_cap`.
        """
        ceiling = min(self.cap, self.base * (2 ** min(self.failures, 30)))
        self.failures += 1
        delay = ceiling / 2 + self.rng.uniform(0, ceiling / 2)
        if retry_after is not None:
            floor = min(max(0.0, retry_after), self.retry_after_cap)
            delay = max(delay, floor + self.rng.uniform(0, min(1.0, floor * 0.1)))
        return delay

    def give_up_delay(self) -> float:
        """The longest wait: for failures that retrying soon will not fix (a refused token)."""
        self.failures += 1
        return self.cap / 2 + self.rng.uniform(0, self.cap / 2)
