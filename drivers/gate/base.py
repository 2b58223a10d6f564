"""The interface every lane controller driver offers to the site.

A driver reports what the lane's hardware says (a vehicle on the loop, a plate read,
the barrier's real position from its limit switches) and accepts open/close commands.
Commands never block the caller: their outcome comes back as events.
"""

from __future__ import annotations

import time
from abc import abstractmethod
from dataclasses import dataclass, field
from enum import Enum
from typing import Callable

from drivers.device import EventDevice


class LaneRole(str, Enum):
    ENTRY = "entry"
    EXIT = "exit"


class GateEventKind(str, Enum):
    VEHICLE_PRESENT = "vehicle_present"  # loop detector occupied
    VEHICLE_GONE = "vehicle_gone"  # loop detector free again
    VEHICLE_PASSED = "vehicle_passed"  # the vehicle crossed the barrier line
    PLATE_READ = "plate_read"  # plate text with the reader's confidence
    BARRIER_OPENED = "barrier_opened"  # open limit switch reached
    BARRIER_CLOSED = "barrier_closed"  # closed limit switch reached
    BARRIER_FAULT = "barrier_fault"  # no confirmation in time, or the controller reports a fault
    COMMAND_FAILED = "command_failed"  # a command was not acknowledged


@dataclass(frozen=True, slots=True)
class GateEvent:
    """One thing the lane controller reported."""

    kind: GateEventKind
    plate: str | None = None
    confidence: float | None = None
    detail: str = ""
    monotonic: float = field(default_factory=time.monotonic)


GateListener = Callable[[GateEvent], None]


class GateDriver(EventDevice[GateEvent]):
    """A lane controller. Implementations: in-process simulator, serial framed protocol,
    Modbus relay board. Chosen by URL through `drivers.gate.open_gate`.

    `start(on_event, on_health)` begins delivering events (from a driver thread) and
    health changes; `stop()` ends them (see `drivers.device.EventDevice`)."""

    @abstractmethod
    def open_barrier(self) -> None:
        """Ask the barrier to open. Returns at once; BARRIER_OPENED or a fault follows."""

    @abstractmethod
    def close_barrier(self) -> None:
        """Ask the barrier to close. Returns at once; BARRIER_CLOSED or a fault follows."""
