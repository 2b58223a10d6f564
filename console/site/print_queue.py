"""The print queue: prints committed receipts in order, keeps them when the printer is
offline or out of paper, and retries with back-off. Runs on its own thread."""

from __future__ import annotations

import logging
import threading
import time
from typing import Callable

from console.domain.clock import Clock
from console.i18n import _
from console.site.bus import Level
from console.site.receipts import receipt_document
from console.store.database import Store
from console.store.engine import StoreError
from console.store.receipts import Receipt, mark_failed, mark_printed, waiting
from drivers.health import HealthState
from drivers.printer import PrintDocument, PrinterError, ReceiptPrinter

log = logging.getLogger(__name__)


class PrintQueue:
    """Drains the receipt table to the printer."""

    def __init__(
        self,
        store: Store,
        printer: ReceiptPrinter,
        clock: Clock,
        *,
        on_log: Callable[[Level, str], None] | None = None,
        retry_seconds: float = 5.0,
        max_retry_seconds: float = 60.0,
    ) -> None:
        self.store = store
        self.printer = printer
        self.clock = clock
        self._on_log = on_log or (lambda level, text: None)
        self._retry = retry_seconds
        self._max_retry = max_retry_seconds
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.printed = 0
        self.probe_seconds = 2.0  # how often a failed printer is asked whether it is back
        # How often the printer is asked between receipts: the status line shows a printer
        # switched off or out of paper before a driver waits for a receipt, not after.
        self.monitor_seconds = 30.0

    def start(self) -> None:
        if self._thread is None:
            self.printer.start_monitor(self.monitor_seconds)
            self._stop.clear()
            self._thread = threading.Thread(target=self._run, daemon=True, name="print-queue")
            self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout=10)
            self._thread = None
        self.printer.close()

    def wake(self) -> None:
        """Something new was queued: print it now."""
        self._wake.set()

    def waiting_count(self) -> int:
        with self.store.read() as s:
            return len(waiting(s, limit=1000))

    def _run(self) -> None:
        delay = self._retry
        while not self._stop.is_set():
            self._wake.clear()
            try:
                ok = self.drain()
            except StoreError as exc:
                log.warning("print queue cannot read the database: %s", exc)
                ok = False
            delay = self._retry if ok else min(self._max_retry, delay * 2)
            if ok:
                self._wake.wait(timeout=self._max_retry)
            else:
                self._wait_for_printer(delay)

    def _wait_for_printer(self, delay: float) -> None:
        """Wait out the back-off, but ask the printer every few seconds whether it is back:
        receipts print as soon as it is switched on again, not at the end of a long back-off."""
        deadline = time.monotonic() + delay
        while not self._stop.is_set():
            left = deadline - time.monotonic()
            if left <= 0 or self._wake.wait(timeout=min(self.probe_seconds, left)):
                return
            if self.printer.status().state is HealthState.OK:
                return

    def drain(self) -> bool:
        """Print everything waiting. Returns False when the printer failed (retry later)."""
        while not self._stop.is_set():
            with self.store.read() as s:
                batch = waiting(s, limit=10)
            if not batch:
                return True
            for receipt in batch:
                if not self._print(receipt):
                    return False
        return True

    def _print(self, receipt: Receipt) -> bool:
        try:
            stored = receipt.content.get("document")
            document = PrintDocument.from_dict(stored) if stored is not None else receipt_document(receipt.content)
            self.printer.print_document(document)
        except PrinterError as exc:
            retryable = getattr(exc, "retryable", True)
            with self.store.write() as s:
                mark_failed(s, receipt.id, str(exc), park=not retryable)
            if retryable:
                self._on_log("warning", _("receipt {number} waits for the printer: {problem}").format(number=receipt.number, problem=exc))
                return False
            self._on_log("error", _("receipt {number} cannot be printed: {problem}").format(number=receipt.number, problem=exc))
            return True
        except ValueError as exc:  # a document that can never print: park it, go on
            with self.store.write() as s:
                mark_failed(s, receipt.id, str(exc), park=True)
            self._on_log("error", _("receipt {number} cannot be printed: {problem}").format(number=receipt.number, problem=exc))
            return True
        with self.store.write() as s:
            mark_printed(s, receipt.id, self.clock.now())
        self.printed += 1
        return True
