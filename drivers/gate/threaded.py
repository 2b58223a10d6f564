"""Shared plumbing of the wire drivers: a dispatch thread that hands events and health
changes to the site, so listeners never run inside a driver's I/O thread or under its
locks, and a slow listener never delays acknowledgements or heartbeats."""

from __future__ import annotations

import logging
import queue
import threading
from typing import Callable

from drivers.gate.base import GateDriver, GateEvent, GateListener
from drivers.health import DeviceHealth, HealthListener, HealthState

log = logging.getLogger(__name__)


class ThreadedGate(GateDriver):
    """A `GateDriver` whose work runs in its own threads.

    Subclasses list their worker loops in `_workers()` and watch `self._stopping`.
    """

    def __init__(self, name: str) -> None:
        super().__init__(name)
        self._stopping = threading.Event()
        self._outbox: queue.Queue[GateEvent | DeviceHealth | None] = queue.Queue()
        self._on_health: HealthListener | None = None
        self._threads: list[threading.Thread] = []

    def start(self, on_event: GateListener, on_health: HealthListener | None = None) -> None:
        """Begin delivering events and health changes, both from the driver's dispatch
        thread."""
        self._on_health = on_health
        super().start(on_event, self._outbox.put if on_health is not None else None)

    def _workers(self) -> list[tuple[str, Callable[[], None]]]:
        """(role, loop) of each worker thread besides the dispatcher."""
        raise NotImplementedError

    def _start(self) -> None:
        if self._threads:
            return
        self._stopping.clear()
        for role, target in [*self._workers(), ("events", self._dispatch_loop)]:
            thread = threading.Thread(target=target, name=f"gate-{self.name}-{role}", daemon=True)
            self._threads.append(thread)
            thread.start()

    def stop(self) -> None:
        """Stop the threads and release the device. Idempotent."""
        if not self._threads:
            return
        self._stopping.set()
        self._wake_workers()
        self._outbox.put(None)
        for thread in self._threads:
            if thread is not threading.current_thread():
                thread.join(timeout=2.0)
        self._threads = []
        self._after_stop()
        self.health.set_listener(self._on_health)  # no dispatcher any more: tell directly
        self.health.set(HealthState.OFFLINE, "stopped")

    def _wake_workers(self) -> None:
        """Unblock worker threads waiting on their queues (stop is under way)."""

    def _after_stop(self) -> None:
        """Release what the workers held."""

    def _post(self, event: GateEvent) -> None:
        self._outbox.put(event)

    def _dispatch_loop(self) -> None:
        while True:
            item = self._outbox.get()
            if item is None or self._stopping.is_set():
                return
            try:
                if isinstance(item, DeviceHealth):
                    if self._on_health is not None:
                        self._on_health(item)
                else:
                    self._emit(item)
            except Exception:  # noqa: BLE001 - a listener bug must not stop the lane
                self.health.count("listener_errors")
                log.exception("gate %s: listener failed on %r", self.name, item)
