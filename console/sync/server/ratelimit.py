"""A small token bucket per client address for the cloud's public pages and driver
endpoints: `burst` requests at once, then `rate` per second."""

from __future__ import annotations

import math
import threading
import time
from typing import Callable


class RateLimiter:
    """Token buckets keyed by client (an IP address). Thread-safe; memory is bounded by
    forgetting the buckets of clients that have been quiet long enough to be full."""

    def __init__(self, rate: float = 2.0, burst: int = 30, *, clock: Callable[[], float] = time.monotonic, max_clients: int = 100_000) -> None:
        self.rate = rate
        self.burst = burst
        self._clock = clock
        self._max = max_clients
        self._buckets: dict[str, tuple[float, float]] = {}  # client -> (tokens, at)
        self._denied: dict[str, int] = {}  # client -> requests refused since its last allowed one
        self._lock = threading.Lock()

    def take(self, client: str) -> float:
        """Take one token for `client`: 0.0 when allowed, else the seconds until the
        next token (the Retry-After)."""
        now = self._clock()
        with self._lock:
            tokens, at = self._buckets.get(client, (float(self.burst), now))
            tokens = min(float(self.burst), tokens + (now - at) * self.rate)
            if tokens >= 1.0:
                self._buckets[client] = (tokens - 1.0, now)
                self._denied.pop(client, None)
                if len(self._buckets) > self._max:
                    self._forget(now)
                return 0.0
            self._buckets[client] = (tokens, now)
            self._denied[client] = self._denied.get(client, 0) + 1
            return (1.0 - tokens) / self.rate if self.rate > 0 else math.inf

    def denied(self, client: str) -> int:
        """How many requests of `client` were refused since its last allowed one."""
        with self._lock:
            return self._denied.get(client, 0)

    def _forget(self, now: float) -> None:
        full_after = self.burst / self.rate if self.rate > 0 else math.inf
        for client in [c for c, (_t, at) in self._buckets.items() if now - at >= full_after]:
            del self._buckets[client]
            self._denied.pop(client, None)


def worth_recording(denied: int) -> bool:
    """Whether the n-th refusal in a row of one client is written down: the 1st, 10th,
    100th... so a flood costs a handful of rows, not one row per request."""
    while denied % 10 == 0 and denied > 1:
        denied //= 10
    return denied == 1
