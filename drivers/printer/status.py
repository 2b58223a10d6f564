"""ESC/POS real-time status (DLE EOT n) and what it means for a print job.

DLE EOT n asks the printer for one status byte, answered at once even while it is busy,
offline or out of paper. Every reply byte has bits 1 and 4 set and bits 0 and 7 clear
(0b0xx1xx10), which is how a reply is told apart from other bytes on the line.

    n=1 printer:       bit 3 offline
    n=2 offline cause: bit 2 cover open, bit 3 paper fed by the button, bit 5 stopped at paper
                       end, bit 6 error
    n=3 error cause:   bit 3 cutter error, bit 5 unrecoverable, bit 6 auto-recoverable
    n=4 roll sensor:   bits 2-3 paper near its end, bits 5-6 paper out
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Protocol

from drivers.health import HealthState
from drivers.printer.errors import CoverOpen, PaperOut, PrinterError, PrinterFault, PrinterTimeout

DLE_EOT = b"\x10\x04"
FIXED_MASK = 0x93
FIXED_BITS = 0x12

PRINTER, OFFLINE_CAUSE, ERROR_CAUSE, ROLL_PAPER = 1, 2, 3, 4


def is_status_byte(value: int) -> bool:
    """Whether `value` has the fixed bits of a DLE EOT reply."""
    return value & FIXED_MASK == FIXED_BITS


class StatusLink(Protocol):
    """The part of an open printer link that status queries need."""

    def write(self, data: bytes) -> None: ...

    def read_byte(self, timeout: float) -> int | None: ...

    def discard_input(self) -> None: ...


@dataclass(frozen=True, slots=True)
class PrinterStatus:
    """What the printer said about itself."""

    offline: bool = False
    cover_open: bool = False
    paper_out: bool = False
    paper_near_end: bool = False
    error: bool = False
    cutter_error: bool = False
    unrecoverable: bool = False
    replies: tuple[tuple[int, int], ...] = ()  # (n, byte) as received

    @classmethod
    def from_replies(cls, replies: dict[int, int]) -> PrinterStatus:
        """Interpret the reply bytes to DLE EOT 1..4 (missing ones count as "all fine")."""
        printer = replies.get(PRINTER, FIXED_BITS)
        cause = replies.get(OFFLINE_CAUSE, FIXED_BITS)
        error = replies.get(ERROR_CAUSE, FIXED_BITS)
        roll = replies.get(ROLL_PAPER, FIXED_BITS)
        return cls(
            offline=bool(printer & 0x08),
            cover_open=bool(cause & 0x04),
            paper_out=bool(cause & 0x20) or bool(roll & 0x60),
            paper_near_end=bool(roll & 0x0C),
            error=bool(cause & 0x40),
            cutter_error=bool(error & 0x08),
            unrecoverable=bool(error & 0x20),
            replies=tuple(sorted(replies.items())),
        )

    def fault(self) -> tuple[type[PrinterError], str] | None:
        """The error a job must fail with, if the printer cannot print now."""
        if self.cover_open:
            return CoverOpen, "cover open"
        if self.paper_out:
            return PaperOut, "paper out"
        if self.cutter_error:
            return PrinterFault, "cutter error (paper jam?)"
        if self.unrecoverable:
            return PrinterFault, "unrecoverable printer error; switch the printer off and on"
        if self.error:
            return PrinterFault, "printer error"
        if self.offline:
            return PrinterFault, "printer offline (paper being fed or waiting for recovery)"
        return None

    def health(self) -> tuple[HealthState, str]:
        """Health state and detail for the status bar."""
        fault = self.fault()
        if fault is not None:
            return HealthState.FAULT, fault[1]
        if self.paper_near_end:
            return HealthState.DEGRADED, "paper near end"
        return HealthState.OK, ""


def ask(link: StatusLink, n: int, timeout: float) -> int:
    """Send DLE EOT n and return the reply byte; other bytes on the line are skipped.

    Raises PrinterTimeout when no reply comes within `timeout` seconds.
    """
    link.write(DLE_EOT + bytes([n]))
    deadline = time.monotonic() + timeout
    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            break
        value = link.read_byte(left)
        if value is None:
            break
        if is_status_byte(value):
            return value
    raise PrinterTimeout(f"no reply to status request DLE EOT {n} within {timeout:g} s")


def query(link: StatusLink, timeout: float, *, first_timeout: float | None = None) -> PrinterStatus:
    """Ask the printer how it is: DLE EOT 1 and 4, and 2 (and 3) when it says it is offline.

    `first_timeout` is for the first reply after a job: the request waits in line behind the
    job's bytes until the printer has room to read it.
    """
    link.discard_input()
    first = ask(link, PRINTER, first_timeout if first_timeout is not None else timeout)
    replies = {PRINTER: first, ROLL_PAPER: ask(link, ROLL_PAPER, timeout)}
    if replies[PRINTER] & 0x08:
        replies[OFFLINE_CAUSE] = ask(link, OFFLINE_CAUSE, timeout)
        if replies[OFFLINE_CAUSE] & 0x40:
            replies[ERROR_CAUSE] = ask(link, ERROR_CAUSE, timeout)
    return PrinterStatus.from_replies(replies)
