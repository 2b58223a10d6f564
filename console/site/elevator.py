"""The elevator exit camera and ride billing, running.

Device events reach this service from the elevator driver's thread; the listener only
stamps them with the time and queues them. One dispatcher thread pairs swipes with door
openings (`console.domain.rides.RidePairing`). A ride's camera burst and portrait
extraction run in a small pool of capture threads, so a slow extraction never delays
the elevator link or the next ride. A housekeeping thread expires swipes that no door
opening followed, retries records the database refused, and once a day deletes
snapshots older than the retention period.

Nothing is lost on bad input: a missing camera, corrupt frames, an unknown card or a
stop nobody chose all produce a record (flagged where a person should look), never an
exception in a device thread.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from console.domain.clock import Clock
from console.domain.money import Money
from console.domain.rides import (
    RideKind,
    RideMatch,
    RidePairing,
    RideQuery,
    Statement,
    SwipeTimedOut,
    UnclaimedStop,
    card_problem,
    flag_reason_text,
    floor_label,
    parse_ride_query,
    price_ride,
)
from console.i18n import _
from console.site.bus import Level
from console.site.elevator_config import ElevatorSection
from console.site.events import (
    DeviceHealthChanged,
    RideRecorded,
    SiteEvent,
    SnapshotsPurged,
)
from console.store.database import Store
from console.store.engine import StoreError
from console.store.rides import (
    NewRide,
    RideSummary,
    find_card,
    get_ride,
    purge_snapshots,
    record_ride,
    search_rides,
    statement,
    sync_cards,
    view_snapshots,
)
from drivers.camera import (
    Camera,
    CameraURLError,
    PortraitError,
    PortraitSettings,
    extract_portrait,
    open_camera,
)
from drivers.camera.portrait import preload_detector
from drivers.elevator import (
    ElevatorDriver,
    ElevatorEvent,
    ElevatorEventKind,
    ElevatorURLError,
    open_elevator,
)
from drivers.health import DeviceHealth, HealthState

log = logging.getLogger(__name__)

ELEVATOR_DEVICE = "elevator"
CAMERA_DEVICE = "exit-camera"
PURGE_EVERY = timedelta(days=1)


@dataclass(frozen=True, slots=True)
class _Snapshot:
    jpeg: bytes | None
    width: int | None
    height: int | None
    face: bool
    problem: str | None  # why a person should look (None: a good face portrait)
    note: str


class ElevatorService:
    """Bills elevator rides to swiped cards and keeps the exit snapshot that proves them.

    Append it to `site.services`; `report(level, text)` and `publish(event)` are the
    site's hooks. Query methods (`search`, `gallery`, `open_snapshot`, `statement`)
    are blocking: call them from worker threads.
    """

    def __init__(
        self,
        store: Store,
        section: ElevatorSection,
        tz: ZoneInfo,
        currency: str,
        clock: Clock,
        *,
        report: Callable[[Level, str], None],
        publish: Callable[[SiteEvent], None],
        portrait_settings: PortraitSettings | None = None,
        tick_s: float = 0.5,
    ) -> None:
        self.store = store
        self.section = section
        self.tz = tz
        self.currency = currency
        self.clock = clock
        self.pricing = section.pricing(currency)  # ValueError for a fee the currency cannot hold
        self.portrait_settings = portrait_settings or PortraitSettings(max_bytes=section.snapshot_max_bytes)
        self._report = report
        self._publish = publish
        self._tick_s = tick_s
        self.elevator: ElevatorDriver | None = None
        self.camera: Camera | None = None
        self._camera_problem = "no camera configured"
        self._pairing = RidePairing(section.swipe_timeout)
        self._lock = threading.Lock()  # guards the pairing (dispatcher vs housekeeping)
        self._events: queue.Queue[tuple[ElevatorEvent, datetime] | None] = queue.Queue()
        self._captures: ThreadPoolExecutor | None = None
        self._inflight: set[Future[None]] = set()
        self._retry: list[NewRide] = []
        self._retry_lock = threading.Lock()
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self._started = False
        self._last_purge: float | None = None

    # -- life cycle ---------------------------------------------------------------------
    def start(self) -> None:
        """Load the cards, open the devices and start the threads. Returns at once;
        device problems are reported and published as health, never raised."""
        if self._started or not self.section.url:
            return
        self._started = True
        self._stop.clear()
        try:
            changed = self.store.apply(sync_cards, self.section.card_list(), at=self.clock.now())
            if changed:
                self._report("info", _("elevator: {changed} card(s) loaded from the site file").format(changed=changed))
        except StoreError as exc:
            self._report("error", _("elevator: cards not loaded: {exc}").format(exc=exc))
        self._captures = ThreadPoolExecutor(max_workers=2, thread_name_prefix="ride-capture")
        self._captures.submit(self._preload)
        self._open_camera()
        try:
            self.elevator = open_elevator(self.section.url, name=ELEVATOR_DEVICE)
        except ElevatorURLError as exc:
            self._report("error", _("elevator: {exc}; rides are not recorded").format(exc=exc))
            self._health(DeviceHealth(ELEVATOR_DEVICE, HealthState.OFFLINE, f"bad URL: {exc}"))
        for target, name in ((self._dispatch, "ride-dispatch"), (self._housekeeping, "ride-housekeeping")):
            th = threading.Thread(target=target, name=name, daemon=True)
            th.start()
            self._threads.append(th)
        if self.elevator is not None:
            self.elevator.start(self._on_event, self._health)

    def stop(self) -> None:
        """Stop the devices and threads. Rides already paired are finished and stored;
        swipes still waiting are stored as timed out ("console stopped"). Idempotent."""
        if not self._started:
            return
        self._started = False
        if self.elevator is not None:
            self.elevator.stop()
        self._events.put(None)  # the dispatcher drains what came before, then ends
        for th in self._threads[:1]:
            th.join(timeout=5)
        if self._captures is not None:
            self._captures.shutdown(wait=True)
        self._stop.set()
        for th in self._threads[1:]:
            th.join(timeout=5)
        self._threads.clear()
        with self._lock:
            left = self._pairing.expire(self.clock.now() + self._pairing.timeout)
        for outcome in left:
            assert isinstance(outcome, SwipeTimedOut)
            self._store(self._timeout_record(outcome, "console stopped before the doors opened"))
        self._flush_retries()
        if self.camera is not None:
            self.camera.stop()

    def _open_camera(self) -> None:
        url = self.section.camera_url
        if not url:
            self._health(DeviceHealth(CAMERA_DEVICE, HealthState.OFFLINE, "no camera configured"))
            return
        try:
            self.camera = open_camera(url, name=CAMERA_DEVICE)
        except CameraURLError as exc:
            self._camera_problem = f"camera URL unusable: {exc}"
            self._report("error", _("elevator: {camera_problem}; rides are flagged 'no camera'").format(camera_problem=self._camera_problem))
            self._health(DeviceHealth(CAMERA_DEVICE, HealthState.OFFLINE, f"bad URL: {exc}"))
            return
        self.camera.start(self._health)

    def _preload(self) -> None:
        problem = preload_detector()
        if problem is not None:
            self._report("warning", _("elevator: faces cannot be detected ({problem}); whole frames are kept").format(problem=problem))

    def _health(self, health: DeviceHealth) -> None:
        self._publish(DeviceHealthChanged(health))

    # -- device thread --------------------------------------------------------------------
    def _on_event(self, event: ElevatorEvent) -> None:
        """From the driver's thread: stamp and queue, nothing more."""
        self._events.put((event, self.clock.now()))

    # -- dispatcher -------------------------------------------------------------------------
    def _dispatch(self) -> None:
        while True:
            item = self._events.get()
            if item is None:
                return
            event, at = item
            try:
                self._handle(event, at)
            except Exception:  # a bug must not end ride recording for good
                log.exception("elevator: event %s not handled", event)
                self._report("error", _("elevator: internal error handling {value}; see the log").format(value=event.kind.value))

    def _handle(self, event: ElevatorEvent, at: datetime) -> None:
        kind = event.kind
        if kind is ElevatorEventKind.CARD_SWIPED and event.card and event.floor is not None:
            with self._lock:
                self._pairing.swiped(event.car, event.card, event.floor, at)
        elif kind is ElevatorEventKind.CAR_ARRIVED and event.floor is not None:
            with self._lock:
                self._pairing.arrived(event.car, event.floor, at)
        elif kind is ElevatorEventKind.DOORS_CLOSED and event.floor is not None:
            with self._lock:
                self._pairing.doors_closed(event.car, event.floor)
        elif kind is ElevatorEventKind.DOORS_OPENED and event.floor is not None:
            with self._lock:
                outcomes = self._pairing.doors_opened(event.car, event.floor, at)
            rides = [o for o in outcomes if isinstance(o, RideMatch)]
            for o in outcomes:
                if isinstance(o, UnclaimedStop):
                    self._store(self._unclaimed_record(o))
            if rides:
                self._start_capture(rides, event.monotonic)
        elif kind is ElevatorEventKind.CONTROLLER_RESTARTED:
            with self._lock:
                self._pairing.controller_restarted()
                waiting = len(self._pairing.pending())
            if waiting:
                self._report("warning", _("elevator controller restarted with {waiting} ride(s) in progress").format(waiting=waiting))

    def _start_capture(self, rides: list[RideMatch], started: float) -> None:
        executor = self._captures
        if executor is None:  # pragma: no cover - only before start()
            return
        try:
            executor.submit(self._capture_and_record, rides, started)
        except RuntimeError:  # shutting down: record without a picture rather than lose the ride
            self._capture_and_record(rides, started, camera=False)

    # -- capture workers ----------------------------------------------------------------------
    def _capture_and_record(self, rides: list[RideMatch], started: float, camera: bool = True) -> None:
        try:
            snap = self._snapshot() if camera else _Snapshot(None, None, None, False, "no camera (stopping)", "")
            shared = len(rides) > 1
            for match in rides:
                record = self._ride_record(match, snap, shared)
                summary = self._store(record, latency_from=started)
                if summary is not None:
                    card = match.swipe.card
                    text = _("car {car}: {card} to {floor}, {fee}").format(
                        car=match.swipe.car, card=card, floor=floor_label(match.swipe.floor), fee=summary.fee)
                    if summary.flagged:
                        self._report("warning", _("elevator: {text} (check: {flag_reason})").format(
                            text=text, flag_reason=flag_reason_text(summary.flag_reason)))
        except Exception:
            log.exception("elevator: ride capture failed")
            self._report("error", _("elevator: internal error recording a ride; see the log"))

    def _snapshot(self) -> _Snapshot:
        camera = self.camera
        if camera is None:
            return _Snapshot(None, None, None, False, f"no camera ({self._camera_problem})", "")
        frames = camera.grab_burst(self.section.burst_count, self.section.burst_interval_ms / 1000)
        if not frames:
            detail = camera.health_snapshot().detail or "camera offline"
            return _Snapshot(None, None, None, False, f"no camera ({detail})", "")
        try:
            portrait = extract_portrait(frames, self.portrait_settings)
        except PortraitError as exc:
            return _Snapshot(None, None, None, False, f"no usable frame ({exc})", "")
        problem = None
        if portrait.flagged:
            problem = "nobody detected" if portrait.face_box is None else "face blurred"
        note = portrait.reason
        if portrait.frames_skipped:
            note += f"; {portrait.frames_skipped} corrupt frame(s) skipped"
        return _Snapshot(portrait.jpeg, portrait.width, portrait.height, portrait.face_box is not None, problem, note)

    # -- records ------------------------------------------------------------------------------
    def _ride_record(self, match: RideMatch, snap: _Snapshot, shared: bool) -> NewRide:
        swipe = match.swipe
        problems: list[str] = []
        card = None
        try:
            card = self.store.query(find_card, swipe.card)
        except StoreError as exc:
            problems.append(f"card not looked up: {exc}")
        if not problems and (problem := card_problem(card)) is not None:
            problems.append(problem)
        price = price_ride(
            self.pricing, floor=swipe.floor, at=match.doors_open_at, tz=self.tz,
            card_class=card.card_class if card else None,
        )
        if not price.matched:
            problems.append("no price rule matched")
        if snap.problem:
            problems.append(snap.problem)
        if shared:
            problems.append("several riders left at this stop")
        return NewRide(
            kind=RideKind.RIDE, car=swipe.car, floor=swipe.floor, doors_open_at=match.doors_open_at,
            fee=price.fee, card=swipe.card, card_class=card.card_class if card else None,
            account_id=card.account_id if card else None, from_floor=swipe.from_floor, swiped_at=swipe.at,
            arrived_at=match.arrived_at, price_rule=price.rule, flagged=bool(problems),
            flag_reason="; ".join(problems) or None, snapshot=snap.jpeg, snapshot_width=snap.width,
            snapshot_height=snap.height, snapshot_face=snap.face, snapshot_note=snap.note or None,
            retention_days=self.section.snapshot_retention_days, timezone=self.tz.key,
        )

    def _unclaimed_record(self, stop: UnclaimedStop) -> NewRide:
        return NewRide(
            kind=RideKind.UNCLAIMED, car=stop.car, floor=stop.floor, doors_open_at=stop.doors_open_at,
            fee=Money.zero(self.currency), flag_reason="doors opened at a floor no card chose",
        )

    def _timeout_record(self, outcome: SwipeTimedOut, why: str = "") -> NewRide:
        swipe = outcome.swipe
        reason = why or f"the doors never opened at the chosen floor within {self.section.swipe_timeout_s:g} s"
        return NewRide(
            kind=RideKind.TIMEOUT, car=swipe.car, floor=swipe.floor, doors_open_at=outcome.expired_at,
            fee=Money.zero(self.currency), card=swipe.card, from_floor=swipe.from_floor, swiped_at=swipe.at,
            flagged=True, flag_reason=reason,
        )

    def _store(self, record: NewRide, latency_from: float | None = None) -> RideSummary | None:
        """Record it, or keep it for a retry when the database refuses (reported)."""
        try:
            summary = self.store.apply(record_ride, record, at=self.clock.now())
        except StoreError as exc:
            with self._retry_lock:
                self._retry.append(record)
            self._report("error", _("elevator: {value} not stored yet ({exc}); will retry").format(value=record.kind.value, exc=exc))
            return None
        latency = time.monotonic() - latency_from if latency_from is not None else None
        self._publish(RideRecorded(summary, latency))
        return summary

    def _flush_retries(self) -> None:
        with self._retry_lock:
            waiting, self._retry = self._retry, []
        for record in waiting:
            self._store(record)

    # -- housekeeping ---------------------------------------------------------------------------
    def _housekeeping(self) -> None:
        while not self._stop.wait(self._tick_s):
            try:
                self.tick()
            except Exception:
                log.exception("elevator: housekeeping failed")

    def tick(self) -> None:
        """Expire swipes, retry refused records, purge snapshots once a day. The
        housekeeping thread calls this; tests may call it directly."""
        with self._lock:
            expired = self._pairing.expire(self.clock.now())
        for outcome in expired:
            assert isinstance(outcome, SwipeTimedOut)
            self._report("warning", _("elevator: card {card} swiped in car {car} for {floor}, but the doors never opened there").format(
                card=outcome.swipe.card, car=outcome.swipe.car, floor=floor_label(outcome.swipe.floor)))
            self._store(self._timeout_record(outcome))
        if self._retry:
            self._flush_retries()
        now = time.monotonic()
        if self._last_purge is None or now - self._last_purge >= PURGE_EVERY.total_seconds():
            self._last_purge = now
            self.purge_now()

    def purge_now(self) -> int:
        """Delete snapshots older than the retention period (records stay, marked purged)."""
        now = self.clock.now()
        older_than = now - self.section.retention
        try:
            count = self.store.apply(purge_snapshots, older_than=older_than, at=now)
            if count:
                self.store.forget_old_pages()
        except StoreError as exc:
            self._report("error", _("elevator: old snapshots not deleted: {exc}").format(exc=exc))
            return 0
        if count:
            self._report("info", _("elevator: {count} snapshot(s) older than {days} days deleted").format(
                count=count, days=self.section.snapshot_retention_days))
            self._publish(SnapshotsPurged(count, older_than))
        return count

    # -- queries for the screens (blocking: call from workers) ----------------------------------------
    def search(self, text: str, limit: int = 200) -> list[RideSummary]:
        """The ride log filtered by the search box's text. Raises RideQueryError."""
        query = parse_ride_query(text, now=self.clock.now(), tz=self.tz)
        return self.store.query(search_rides, query, limit=limit)

    def query(self, query: RideQuery, limit: int = 200) -> list[RideSummary]:
        return self.store.query(search_rides, query, limit=limit)

    def gallery(self, count: int, *, actor: str) -> list[tuple[RideSummary, bytes]]:
        """The latest snapshots, newest first; showing them is audited."""
        rides = self.store.query(search_rides, RideQuery(kinds=(RideKind.RIDE,)), limit=count * 4)
        ids = [r.id for r in rides if r.has_snapshot][:count]
        shown = self.store.apply(view_snapshots, ids, actor=actor, at=self.clock.now(), view="gallery")
        by_id = {r.id: r for r in rides}
        return [(by_id[i], shown[i]) for i in ids if i in shown]

    def open_snapshot(self, ride_id: str, *, actor: str) -> tuple[RideSummary | None, bytes | None]:
        """One ride and its snapshot for `actor`; audited as "ride.snapshot_viewed"."""
        shown = self.store.apply(view_snapshots, [ride_id], actor=actor, at=self.clock.now())
        return self.store.query(get_ride, ride_id), shown.get(ride_id)

    def statement(self, card: str, start: datetime, end: datetime) -> Statement:
        """What a card owes for rides in [start, end)."""
        return self.store.query(statement, card, start, end, self.currency)

    def pending_swipes(self) -> int:
        with self._lock:
            return len(self._pairing.pending())
