"""The one reconnect policy of every driver that keeps a link to its device.

After a failed attempt the driver waits `first` seconds, then twice as long after each
further failure, never longer than `longest` (pymodbus's `reconnect_delay` and
`reconnect_delay_max`). Once the device has answered on a connection, the next loss
starts again from `first`: a cable pulled from a working lane comes back within the
first few tenths of a second, while a port that was never there is retried only every
`longest` seconds.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import TypeVar

from drivers.health import HealthTracker

C = TypeVar("C")

RECONNECTS = "reconnects"


class Backoff:
    """Waits between attempts to reach a device (see the module's docstring)."""

    def __init__(self, first: float, longest: float) -> None:
        if first <= 0 or longest <= 0:
            raise ValueError("reconnect waits must be positive")
        self.first = min(first, longest)
        self.longest = longest
        self._next = self.first

    def next(self) -> float:
        """The wait before the next attempt (and double it for the one after)."""
        wait = self._next
        self._next = min(wait * 2, self.longest)
        return wait

    def reset(self) -> None:
        """The device answered: the next wait is `first` again."""
        self._next = self.first


def keep_connected(
    *,
    stopping: threading.Event,
    connect: Callable[[], C | None],
    serve: Callable[[C], bool],
    backoff: Backoff,
    health: HealthTracker,
    wait: Callable[[float], object] | None = None,
) -> None:
    """Connect, serve the connection until it fails, and again, until `stopping` is set.

    `connect` returns None when it failed (having reported why); `serve` uses the
    connection until it is lost, closes it, and returns whether the device answered on it.
    `wait` (default: `stopping.wait`) passes the time between attempts. Every connection
    after the first counts as a reconnect on `health`.
    """
    pause = wait or stopping.wait
    connected_before = False
    while not stopping.is_set():
        link = connect()
        if link is not None:
            if connected_before:
                health.count(RECONNECTS)
            connected_before = True
            if serve(link):
                backoff.reset()
        if not stopping.is_set():
            pause(backoff.next())
