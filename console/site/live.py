"""The whole site's occupancy on this booth's board, live.

Booths sharing a database each write their own entries and exits; this service keeps the
board showing every booth's: it waits on the site's change feed (PostgreSQL LISTEN/NOTIFY,
reconnecting after a lost connection; a poll on SQLite) and reads the zones' counts from
the database after every change. The board publishes them as `OccupancyChanged`, so the
screens and the cloud link (which pushes one occupancy for the site) follow within a
second of any booth's change.
"""

from __future__ import annotations

import logging
import threading
import time

from console.site.board import LaneBoard
from console.store import visits
from console.store.changes import ChangeFeed
from console.store.database import Store
from console.store.engine import StoreError

log = logging.getLogger(__name__)


class LiveOccupancy:
    """A thread that follows the site's changes onto the board."""

    def __init__(
        self, store: Store, board: LaneBoard, *, poll_s: float = 0.5, wait_s: float = 1.0, min_interval_s: float = 0.1
    ) -> None:
        self.store = store
        self.board = board
        self.wait_s = wait_s
        # At most one read per interval: at a busy site every booth hears every booth's
        # every change; the board need not follow faster than people can read it.
        self.min_interval_s = min_interval_s
        self.feed = ChangeFeed(store.engine, poll_s=poll_s)
        self.refreshes = 0  # reads of the counts (for tests and the benchmark)
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        """Start following (once)."""
        if self._thread is not None:
            return
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name="live-occupancy", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Stop following and close the listening connection. Idempotent."""
        self._stop.set()
        self.feed.interrupt()
        if self._thread is not None:
            self._thread.join(timeout=self.wait_s + 2)
            self._thread = None

    def refresh(self) -> bool:
        """Read the counts now; True if the board changed."""
        version = self.board.counts_version()
        try:
            counts = self.store.query(visits.occupancy_counts)
        except StoreError as exc:
            log.warning("site occupancy not refreshed: %s", exc)
            return False
        self.refreshes += 1
        return self.board.set_counts_if_unchanged(counts, version)

    def _run(self) -> None:
        last = 0.0
        try:
            while not self._stop.is_set():
                try:
                    if self.feed.wait(self.wait_s):
                        # Changes heard meanwhile stay queued and make one more read.
                        if self._stop.wait(max(0.0, last + self.min_interval_s - time.monotonic())):
                            break
                        last = time.monotonic()
                        self.refresh()
                except Exception:  # never let the thread die: the board would freeze silently
                    log.exception("the site's change feed failed; going on")
                    self._stop.wait(1.0)
        finally:
            self.feed.close()
