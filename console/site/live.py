"""The whole site's occupancy and events on this booth, live.

Booths sharing a database each write their own entries and exits; this service keeps the
board showing every booth's: it waits on the site's change feed (PostgreSQL LISTEN/NOTIFY,
reconnecting after a lost connection; a poll on SQLite) and reads the zones' counts from
the database after every change. The board publishes them as `OccupancyChanged`, so the
screens and the cloud link (which pushes one occupancy for the site) follow within a
second of any booth's change.

After the same change it reads the audit entries written since the last one seen and
puts the other booths' entries, exits, payments and manual barrier moves in this booth's
event log, each marked with its booth. The notification carries only the action's name;
the entries come from the database, so one lost while the listener reconnects is read
with the next.
"""

from __future__ import annotations

import logging
import threading
import time
from typing import Callable

from sqlmodel import Session

from console.domain.money import Money
from console.i18n import _
from console.site.board import LaneBoard
from console.site.bus import EventBus
from console.site.events import LogEntry
from console.store import site_events, visits
from console.store.changes import ChangeFeed
from console.store.database import Store
from console.store.engine import StoreError

log = logging.getLogger(__name__)


class LiveOccupancy:
    """A thread that follows the site's changes onto the board."""

    def __init__(
        self, store: Store, board: LaneBoard, *, poll_s: float = 0.5, wait_s: float = 1.0, min_interval_s: float = 0.1,
        bus: EventBus | None = None, booth_id: str = "", currency: str = "", resync_s: float = 5.0,
        display: Callable[[str], str] = str,
    ) -> None:
        self.store = store
        self.board = board
        # Without a bus only the counts are followed.
        self.bus = bus
        self.booth_id = booth_id
        self.currency = currency
        self.display = display  # a stored plate as the site writes it (粤BD12345 -> 粤B·D12345)
        self.seen_seq: int | None = None  # the last audit entry read for the event log
        self.events_shown = 0  # other booths' events put in the log (for tests)
        self.wait_s = wait_s
        # At most one read per interval: at a busy site every booth hears every booth's
        # every change; the board need not follow faster than people can read it.
        self.min_interval_s = min_interval_s
        self.resync_s = resync_s
        self.feed = ChangeFeed(store.engine, poll_s=poll_s)
        self.refreshes = 0  # reads of the counts (for tests and the benchmark)
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        """Start following (once)."""
        if self._thread is not None:
            return
        # From the chain's head at start: the log shows what happens from now on. Read
        # here, not in the thread, so nothing another booth does after start is missed.
        self._mark_start()
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

    def _refresh_all(self) -> None:
        """The counts and the other booths' events in one read transaction: every booth
        does this after every booth's change, so one transaction instead of two counts."""
        if self.bus is None or self.seen_seq is None:
            self.refresh()
            self.follow_events()
            return
        version = self.board.counts_version()
        after = self.seen_seq

        def read(tx: Session) -> tuple[dict[str, int], list[site_events.SiteActivity]]:
            return visits.occupancy_counts(tx), site_events.activity_after(tx, after)

        try:
            counts, found = self.store.query(read)
        except StoreError as exc:
            log.warning("site occupancy and events not refreshed: %s", exc)
            return
        self.refreshes += 1
        self.board.set_counts_if_unchanged(counts, version)
        self.events_shown += self._show(found)
        if len(found) >= site_events.PAGE:
            self.follow_events()  # a long burst: read on until it is all shown

    def _mark_start(self) -> None:
        if self.bus is None:
            return
        try:
            self.seen_seq = self.store.query(site_events.last_seq)
        except StoreError as exc:
            log.warning("site events: the start of the audit chain not read: %s", exc)

    def follow_events(self) -> int:
        """Put what the other booths did since the last read in the event log; returns
        how many events were shown."""
        if self.bus is None:
            return 0
        if self.seen_seq is None:
            self._mark_start()
            return 0
        shown = 0
        while True:
            try:
                found = self.store.query(site_events.activity_after, self.seen_seq)
            except StoreError as exc:
                log.warning("site events not read: %s", exc)
                break
            shown += self._show(found)
            if len(found) < site_events.PAGE:
                break
        self.events_shown += shown
        return shown

    def _show(self, found: list[site_events.SiteActivity]) -> int:
        """Put the other booths' events of `found` in the log; returns how many."""
        assert self.bus is not None
        shown = 0
        for activity in found:
            self.seen_seq = max(self.seen_seq or 0, activity.seq)
            booth = activity.booth
            # This booth's own lines are in the log already; an entry that names no
            # booth cannot be told from this booth's, so it is left out too.
            if not booth or booth == self.booth_id:
                continue
            line = self._line(activity)
            if line is not None:
                self.bus.publish(LogEntry(activity.at, line[0], line[1], booth=booth))
                shown += 1
        return shown

    def _line(self, activity: site_events.SiteActivity) -> tuple[str, str] | None:
        """The log line of another booth's event, in the words this booth uses for its own."""
        d = activity.detail
        lane, plate = str(d.get("lane") or activity.subject), self.display(str(d.get("plate") or ""))
        if activity.action == "visit.entry":
            return "info", _("{lane}: {plate} entered (visit {visit})").format(lane=lane, plate=plate, visit=activity.subject[-6:])
        if activity.action == "visit.entry_manual":
            return "warning", _("{lane_id}: {plate} entry recorded by {actor} ({note})").format(
                lane_id=lane, plate=plate, actor=activity.actor, note=d.get("note", ""))
        if activity.action == "visit.exit":
            fee, paid = d.get("fee_minor"), d.get("paid_minor")
            if not isinstance(fee, int) or not isinstance(paid, int) or not self.currency:
                return None
            return "info", _("{lane_id}: {plate} left, fee {total}, paid {paid}").format(
                lane_id=lane, plate=plate, total=Money(fee, self.currency), paid=Money(paid, self.currency))
        if activity.action in ("gate.manual_open", "gate.manual_close"):
            note = str(d.get("note") or "")
            moved = (_("{lane_id}: barrier opened by {actor}: {reason}{note}") if activity.action == "gate.manual_open"
                     else _("{lane_id}: barrier closed by {actor}: {reason}{note}"))
            return "warning", moved.format(lane_id=activity.subject, actor=activity.actor, reason=d.get("reason", ""),
                                           note=" - " + note if note else "")
        return None

    def _run(self) -> None:
        last = 0.0
        try:
            while not self._stop.is_set():
                try:
                    # Without a word for `resync_s` the state is read anyway: a notification
                    # lost on a link that broke without the connection noticing (a half-open
                    # TCP connection) delays the board and the log by that much at most.
                    if self.feed.wait(self.wait_s) or time.monotonic() - last >= self.resync_s:
                        # Changes heard meanwhile stay queued and make one more read.
                        if self._stop.wait(max(0.0, last + self.min_interval_s - time.monotonic())):
                            break
                        last = time.monotonic()
                        self._refresh_all()
                except Exception:  # never let the thread die: the board would freeze silently
                    log.exception("the site's change feed failed; going on")
                    self._stop.wait(1.0)
        finally:
            self.feed.close()
