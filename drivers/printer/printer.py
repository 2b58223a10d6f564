"""The receipt printer the console talks to: print a document, report health.

One job at a time: `print_document` holds a lock for the whole job, so jobs from several
threads never interleave on the paper. A job is: render (no I/O) -> connect -> ask the
printer's status -> send -> ask again (to learn whether it ran out of paper or opened its
cover while printing) -> disconnect. Each step has a timeout. Errors are `PrinterError`
subclasses; the console keeps the job in its queue and tries again later.
"""

from __future__ import annotations

import logging
import threading

from drivers.health import DeviceHealth, HealthListener, HealthState, HealthTracker
from drivers.printer import status as rt_status
from drivers.printer.document import PrintDocument
from drivers.printer.errors import (
    DocumentError,
    PrinterError,
    PrinterOffline,
)
from drivers.printer.render import Renderer, RenderResult
from drivers.printer.transport import Link, Transport

log = logging.getLogger("drivers.printer")

DEFAULT_TIMEOUT = 5.0
DEFAULT_STATUS_TIMEOUT = 2.0


class ReceiptPrinter:
    """A receipt printer reached through one transport. Build it with `open_printer(url)`."""

    def __init__(self, transport: Transport, renderer: Renderer, *, name: str = "printer", url: str = "",
                 timeout: float = DEFAULT_TIMEOUT, status_timeout: float = DEFAULT_STATUS_TIMEOUT,
                 query_status: bool | None = None, listener: HealthListener | None = None) -> None:
        self.name = name
        self.url = url
        self.transport = transport
        self.renderer = renderer
        self.timeout = timeout
        self.status_timeout = status_timeout
        self.query_status = transport.can_read if query_status is None else query_status and transport.can_read
        self.health = HealthTracker(name, listener)
        self.last_warnings: tuple[str, ...] = ()
        self._lock = threading.Lock()
        self._closed = False
        self._monitor_stop = threading.Event()
        self._monitor: threading.Thread | None = None

    # -- facts --

    @property
    def width(self) -> int:
        """Characters per line in the normal font."""
        return self.renderer.width

    @property
    def profile(self) -> str:
        """The python-escpos profile in use."""
        return self.renderer.profile.name

    def describe(self) -> str:
        """Where the printer is (for the status screen)."""
        return self.transport.describe()

    # -- printing --

    def render(self, doc: PrintDocument) -> RenderResult:
        """The ESC/POS bytes `print_document` would send (no I/O)."""
        return self.renderer.render(doc)

    def print_document(self, doc: PrintDocument) -> None:
        """Print `doc`, or raise a PrinterError subclass.

        PrinterOffline / PrinterTimeout: unreachable or not answering; PaperOut, CoverOpen,
        PrinterFault: the printer reports it cannot print; DocumentError (retryable=False):
        the document itself is unprintable. `error.sent` tells whether the bytes went out.
        Characters that could not be printed become "?" and are listed in `last_warnings`.
        """
        try:
            result = self.renderer.render(doc)
        except DocumentError as exc:
            exc.printer = self.name
            self.health.count("jobs_rejected")
            raise
        self.last_warnings = result.warnings
        if result.substituted:
            self.health.count("chars_substituted", result.substituted)
        for warning in result.warnings:
            log.warning("%s: %s%s", self.name, f"{doc.title}: " if doc.title else "", warning)
        self._send(result.data, doc.title)

    def print_raw(self, data: bytes, title: str = "") -> None:
        """Send bytes that are already ESC/POS (a stored rendering); same checks and errors."""
        if not isinstance(data, (bytes, bytearray)):
            raise DocumentError("raw print data must be bytes", printer=self.name)
        self._send(bytes(data), title)

    def _send(self, data: bytes, title: str) -> None:
        with self._lock:
            if self._closed:
                raise PrinterOffline("printer is closed", printer=self.name)
            sent = False
            try:
                link = self.transport.open(self.timeout)
                try:
                    if self.query_status:
                        self._check(link, sent=False)
                    sent = True
                    link.write(data)
                    self.health.count("bytes_sent", len(data))
                    if self.query_status:
                        link.wait_sent(self.timeout)
                        self._check(link, sent=True, first_timeout=self.status_timeout + self.timeout)
                finally:
                    link.close()
            except PrinterError as exc:
                exc.printer = exc.printer or self.name
                exc.sent = exc.sent or sent
                self.health.count("jobs_failed")
                self._health_from_error(exc)
                log.info("%s: %s not printed: %s", self.name, title or "job", exc)
                raise
            self.health.count("jobs_printed")
            if not self.query_status:
                self.health.set(HealthState.OK, self._unqueried_detail())

    def _check(self, link: Link, *, sent: bool, first_timeout: float | None = None) -> None:
        """Ask the printer's status, publish it, and raise if it cannot print."""
        self.health.count("status_checks")
        printer_status = rt_status.query(link, self.status_timeout, first_timeout=first_timeout)
        state, detail = printer_status.health()
        self.health.set(state, detail)
        fault = printer_status.fault()
        if fault is not None:
            error_type, message = fault
            raise error_type(message, printer=self.name, sent=sent)

    def _health_from_error(self, exc: PrinterError) -> None:
        if isinstance(exc, PrinterOffline):
            self.health.set(HealthState.OFFLINE, str(exc.args[0]) if exc.args else "offline")
        elif not isinstance(exc, DocumentError):
            self.health.set(HealthState.FAULT, str(exc.args[0]) if exc.args else "fault")

    def _unqueried_detail(self) -> str:
        if not self.transport.can_read:
            return f"writes to {self.transport.describe()}"
        return "reachable; this printer's status is not queried"

    # -- health --

    def status(self) -> DeviceHealth:
        """Check the printer now and return its health; never raises.

        While a job is printing this returns the last known health at once instead of
        waiting for the job (the job itself updates the health).
        """
        if not self._lock.acquire(blocking=False):
            return self.health.snapshot()
        try:
            if self._closed:
                self.health.set(HealthState.OFFLINE, "printer is closed")
                return self.health.snapshot()
            if not self.transport.can_read:
                problem = self.transport.check()
                if problem:
                    self.health.set(HealthState.OFFLINE, problem)
                else:
                    self.health.set(HealthState.OK, self._unqueried_detail())
                return self.health.snapshot()
            try:
                link = self.transport.open(self.timeout)
                try:
                    if self.query_status:
                        self.health.count("status_checks")
                        state, detail = rt_status.query(link, self.status_timeout).health()
                        self.health.set(state, detail)
                    else:
                        self.health.set(HealthState.OK, self._unqueried_detail())
                finally:
                    link.close()
            except PrinterError as exc:
                self._health_from_error(exc)
            return self.health.snapshot()
        finally:
            self._lock.release()

    def start_monitor(self, interval: float = 30.0) -> None:
        """Check the printer every `interval` seconds in a background thread, so the status
        bar learns about a printer switched off between jobs. `close()` stops it."""
        if self._monitor is not None and self._monitor.is_alive():
            return
        self._monitor_stop.clear()

        def run() -> None:
            while not self._monitor_stop.wait(0 if self.health.snapshot().state is HealthState.CONNECTING else interval):
                self.status()

        self._monitor = threading.Thread(target=run, name=f"{self.name}-monitor", daemon=True)
        self._monitor.start()

    def stop_monitor(self) -> None:
        """Stop the background checks (a check under way finishes on its own)."""
        self._monitor_stop.set()
        monitor, self._monitor = self._monitor, None
        if monitor is not None and monitor is not threading.current_thread():
            monitor.join(timeout=0.5)

    def close(self) -> None:
        """Stop the monitor; jobs after this raise PrinterOffline. Never blocks for long: a
        job already under way finishes or times out by itself."""
        self._closed = True
        self.stop_monitor()

    def __enter__(self) -> ReceiptPrinter:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"ReceiptPrinter({self.name!r}, {self.url or self.transport.describe()!r})"
