"""Health reports that every driver publishes, for the status bar and the shift log."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from enum import Enum
from typing import Callable


class HealthState(str, Enum):
    """Coarse device state shown to the attendant."""

    CONNECTING = "connecting"
    OK = "ok"
    DEGRADED = "degraded"  # talking, but something is wrong (paper low, rejected frames)
    FAULT = "fault"  # the device reports a fault
    OFFLINE = "offline"  # no link; the driver keeps retrying


@dataclass(frozen=True, slots=True)
class DeviceHealth:
    """A snapshot of one device's health."""

    device: str
    state: HealthState
    detail: str = ""
    counters: dict[str, int] = field(default_factory=dict)
    at: float = field(default_factory=time.time)


HealthListener = Callable[[DeviceHealth], None]


class HealthTracker:
    """Thread-safe holder of a device's health that notifies a listener on change."""

    def __init__(self, device: str, listener: HealthListener | None = None) -> None:
        self.device = device
        self._listener = listener
        self._lock = threading.Lock()
        self._state = HealthState.CONNECTING
        self._detail = ""
        self._counters: dict[str, int] = {}

    def set_listener(self, listener: HealthListener | None) -> None:
        """Send future changes to `listener`."""
        self._listener = listener

    def snapshot(self) -> DeviceHealth:
        """The current health."""
        with self._lock:
            return DeviceHealth(self.device, self._state, self._detail, dict(self._counters))

    def set(self, state: HealthState, detail: str = "") -> None:
        """Change state; listeners hear only real changes."""
        with self._lock:
            changed = (state, detail) != (self._state, self._detail)
            self._state, self._detail = state, detail
        if changed:
            self._notify()

    def count(self, counter: str, by: int = 1) -> None:
        """Add to a named counter (rejected frames, reconnects...)."""
        with self._lock:
            self._counters[counter] = self._counters.get(counter, 0) + by

    def counter(self, counter: str) -> int:
        with self._lock:
            return self._counters.get(counter, 0)

    def _notify(self) -> None:
        listener = self._listener
        if listener is not None:
            listener(self.snapshot())
