"""Errors the receipt printer driver raises.

Every error is a `PrinterError`. Its `retryable` flag tells the caller what to do with the
job: True means the document is fine and the device (or its configuration) is the problem,
so keep the job queued and try again later; False means this document can never print as
it is (a `DocumentError`), so park it instead of retrying forever.

`sent` says whether the job's bytes had been handed to the device when the error was
found. A job that failed with `sent=True` may have printed in part or even in full (the
printer ran out of paper half way, or stopped answering after the data went out); a
reprint is the safe choice for a receipt.
"""

from __future__ import annotations


class PrinterError(Exception):
    """Base of every receipt printer error."""

    retryable: bool = True

    def __init__(self, message: str, *, printer: str = "", sent: bool = False) -> None:
        super().__init__(message)
        self.printer = printer
        self.sent = sent

    def __str__(self) -> str:
        text = super().__str__()
        return f"{self.printer}: {text}" if self.printer else text


class PrinterOffline(PrinterError):
    """The printer cannot be reached: connection refused, no device, link dropped."""


class PrinterTimeout(PrinterOffline):
    """The printer stopped answering: a connect, write or status reply took too long."""


class PaperOut(PrinterError):
    """The printer reports that its paper roll is empty."""


class CoverOpen(PrinterError):
    """The printer reports that its cover is open."""


class PrinterFault(PrinterError):
    """The printer reports another fault (cutter jam, head too hot, unknown offline cause)."""


class PrinterConfigError(PrinterError, ValueError):
    """The printer URL or an option is wrong, or support for the backend is not installed."""


class DocumentError(PrinterError, ValueError):
    """The document itself cannot be printed (bad block, QR data too long)."""

    retryable = False
