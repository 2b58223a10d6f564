"""What every driver shares: a name, a health tracker, and listeners that driver threads
call without ever being stopped by them.

A listener belongs to the site; a bug in it must not end a driver thread (a lane would
stop reporting vehicles until restart). Every call into a listener therefore goes through
`guarded`, which logs and counts the failure and carries on. Drivers whose I/O threads
must never wait for a listener (the lane drivers: a slow listener would delay
acknowledgements and heartbeats) hand events to a `Dispatcher` thread instead of calling
the listener themselves.
"""

from __future__ import annotations

import logging
import queue
import threading
from abc import ABC, abstractmethod
from collections.abc import Callable
from functools import partial
from typing import Generic, TypeVar

from drivers.health import DeviceHealth, HealthListener, HealthTracker

log = logging.getLogger(__name__)

T = TypeVar("T")
E = TypeVar("E")

LISTENER_ERRORS = "listener_errors"


def guarded(
    listener: Callable[[T], None] | None, name: str, health: HealthTracker | None = None
) -> Callable[[T], None] | None:
    """Wrap `listener` so an exception in it is logged (and counted as `listener_errors`
    on `health`) instead of ending the driver thread that called it."""
    if listener is None:
        return None

    def call(item: T) -> None:
        try:
            listener(item)
        except Exception:
            if health is not None:
                health.count(LISTENER_ERRORS)
            log.exception("%s: listener failed on %r", name, item)

    return call


class Device:
    """A device driver's common part: its name and its health.

    `health_name` is the name health reports carry when it differs from `name` (the
    status bar says "pile A" for the pile whose id is "A").
    """

    def __init__(self, name: str, *, health_name: str | None = None) -> None:
        self.name = name
        self.health = HealthTracker(health_name or name)

    def health_snapshot(self) -> DeviceHealth:
        """The device's current health."""
        return self.health.snapshot()

    def _listen_health(self, on_health: HealthListener | None) -> None:
        """Send future health changes to `on_health`, guarded."""
        self.health.set_listener(guarded(on_health, self.name, self.health))


class Dispatcher:
    """A thread that calls a device's listeners in order, so they never run inside the
    device's I/O threads or under its locks. What is still queued at `stop` is dropped:
    the site has stopped listening."""

    def __init__(self, name: str) -> None:
        self.name = name
        self._queue: queue.Queue[Callable[[], None] | None] = queue.Queue()
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        """Start the thread (again after `stop`). Idempotent."""
        if self._thread is None:
            self._stopping.clear()
            self._queue = queue.Queue()
            self._thread = threading.Thread(target=self._run, args=(self._queue,), name=f"{self.name}-events", daemon=True)
            self._thread.start()

    def stop(self, timeout: float = 2.0) -> None:
        """Deliver nothing more; wait for the thread to end. Idempotent."""
        thread, self._thread = self._thread, None
        if thread is None:
            return
        self._stopping.set()
        self._queue.put(None)
        if thread is not threading.current_thread():
            thread.join(timeout)

    def call(self, listener: Callable[[T], None], item: T) -> None:
        """Have `listener(item)` called from the dispatch thread (`listener` guarded)."""
        self._queue.put(partial(listener, item))

    def _run(self, calls: queue.Queue[Callable[[], None] | None]) -> None:
        while True:
            call = calls.get()
            if call is None or self._stopping.is_set():
                return
            call()


class EventDevice(Device, ABC, Generic[E]):
    """A device that reports events of type `E` to one listener.

    `start(on_event, on_health)` returns at once; `_start` opens the link and starts the
    driver's threads, `stop` stops them and releases the device (idempotent).

    With `dispatch=True` events and health changes reach the listeners from the device's
    own dispatch thread; otherwise from the driver thread that found them. Either way a
    failing listener is logged and counted, never fatal.
    """

    def __init__(self, name: str, *, health_name: str | None = None, dispatch: bool = False) -> None:
        super().__init__(name, health_name=health_name)
        self._listener: Callable[[E], None] | None = None
        self._on_health: HealthListener | None = None
        self._dispatcher = Dispatcher(name) if dispatch else None

    def start(self, on_event: Callable[[E], None], on_health: HealthListener | None = None) -> None:
        """Begin delivering events and health changes. Returns at once."""
        self._listen(on_event, on_health)
        self._start()

    @abstractmethod
    def _start(self) -> None:
        """Open the link and start the driver's own threads."""

    @abstractmethod
    def stop(self) -> None:
        """Stop threads and release the device. Idempotent."""

    def _listen(self, on_event: Callable[[E], None], on_health: HealthListener | None) -> None:
        """Deliver future events to `on_event` and health changes to `on_health`."""
        self._listener = guarded(on_event, self.name, self.health)
        self._on_health = guarded(on_health, self.name, self.health)
        dispatcher = self._dispatcher
        if dispatcher is None:
            self.health.set_listener(self._on_health)
            return
        dispatcher.start()
        on_health_now = self._on_health
        self.health.set_listener(None if on_health_now is None else partial(dispatcher.call, on_health_now))

    def _emit(self, event: E) -> None:
        """Report `event` to the listener (queued when the device has a dispatcher)."""
        listener = self._listener
        if listener is None:
            return
        if self._dispatcher is not None:
            self._dispatcher.call(listener, event)
        else:
            listener(event)

    def _stop_dispatch(self) -> None:
        """Stop the dispatch thread; later health changes go to the listener directly."""
        if self._dispatcher is not None:
            self._dispatcher.stop()
            self.health.set_listener(self._on_health)
