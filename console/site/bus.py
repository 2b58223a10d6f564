"""The site's event bus: services publish typed events, listeners subscribe to all of
them or to the types they need.

Publishing is synchronous, on the publisher's thread (a driver, a service worker): a
listener must return quickly and hand real work to its own thread. A listener that
raises is logged and skipped, so a broken screen can never stop a lane.
"""

from __future__ import annotations

import logging
import threading
from typing import Callable, Literal, TypeVar

from console.domain.clock import Clock
from console.site.events import LogEntry, SiteEvent

log = logging.getLogger(__name__)

E = TypeVar("E", bound=SiteEvent)
Listener = Callable[[SiteEvent], None]
Unsubscribe = Callable[[], None]
Level = Literal["info", "warning", "error"]


class EventBus:
    """Delivers site events to listeners (thread-safe)."""

    def __init__(self, clock: Clock) -> None:
        self._clock = clock
        self._lock = threading.Lock()
        self._listeners: list[Listener] = []

    def subscribe(self, listener: Listener) -> Unsubscribe:
        """Hear every event from now on. Returns a function that unsubscribes."""
        with self._lock:
            self._listeners.append(listener)

        def unsubscribe() -> None:
            with self._lock:
                if listener in self._listeners:
                    self._listeners.remove(listener)

        return unsubscribe

    def on(self, kind: type[E], handler: Callable[[E], None]) -> Unsubscribe:
        """Hear only events of type `kind` (and its subclasses)."""

        def listener(event: SiteEvent) -> None:
            if isinstance(event, kind):
                handler(event)

        return self.subscribe(listener)

    def publish(self, event: SiteEvent) -> None:
        """Tell every listener, in the order they subscribed."""
        with self._lock:
            listeners = list(self._listeners)
        for listener in listeners:
            try:
                listener(event)
            except Exception:  # a broken listener must not stop a lane
                log.exception("site listener failed on %s", type(event).__name__)

    def report(self, level: Level, text: str) -> None:
        """A line for the attendant's event log (and the log file)."""
        log.log({"info": logging.INFO, "warning": logging.WARNING, "error": logging.ERROR}[level], text)
        self.publish(LogEntry(self._clock.now(), level, text))
