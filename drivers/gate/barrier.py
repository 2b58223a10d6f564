"""What a lane driver knows of its barrier, whatever wire it reads the barrier from.

Only the limit switches say where the barrier is: a command is a request, and a barrier
that does not reach the asked position within `confirm_within` seconds is in fault (no
timer ever pretends it moved). Reaching a limit clears a fault: the barrier works again.

Pure state, no I/O and no clock reads (`now` comes in); not thread-safe, so a driver that
touches it from several threads holds its own lock around every call. Methods that change
what the site should hear return the event to post.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from drivers.gate.base import GateEvent, GateEventKind

Position = Literal["open", "closed"]


@dataclass(frozen=True, slots=True)
class Expectation:
    """A command waiting for its limit switch."""

    position: Position
    deadline: float


class Barrier:
    """The barrier's last confirmed position, its fault, and the command in flight."""

    def __init__(self, confirm_within: float) -> None:
        self.confirm_within = confirm_within
        self.position: Position | None = None  # None: unknown, or between the limits
        self.fault: str | None = None
        self.expected: Expectation | None = None

    def expect(self, position: Position, now: float) -> None:
        """A command to move to `position` went out at `now`."""
        self.expected = Expectation(position, now + self.confirm_within)

    def withdraw(self, position: Position | None = None) -> None:
        """Stop waiting for confirmation (of `position` only, if given): the command
        failed, or the link is down and nothing can be read back."""
        if self.expected is not None and position in (None, self.expected.position):
            self.expected = None

    def reached(self, position: Position) -> GateEvent:
        """A limit switch reports `position`."""
        self.position = position
        self.withdraw(position)
        self.fault = None
        return GateEvent(GateEventKind.BARRIER_OPENED if position == "open" else GateEventKind.BARRIER_CLOSED)

    def moving(self) -> None:
        """The barrier left its limit switch."""
        self.position = None

    def faulted(self, detail: str) -> GateEvent:
        """The controller (or its fault input) reports a fault."""
        self.fault = detail
        return GateEvent(GateEventKind.BARRIER_FAULT, detail=detail)

    def overdue(self, now: float) -> GateEvent | None:
        """The fault to report if the command in flight was not confirmed in time."""
        exp = self.expected
        if exp is None or now < exp.deadline:
            return None
        self.expected = None
        return self.faulted(f"barrier did not confirm {exp.position} within {self.confirm_within:g} s")
