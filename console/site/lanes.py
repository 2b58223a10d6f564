"""The lanes at work: lane controller events in, entry decisions, durable writes, then
the barrier; and what attendants do by hand at the lanes (barriers moved with a reason
and the lane camera's frame, occupancy corrections, stale visits).

The order is fixed: decide, commit, and only after the commit open a gate or tell a
listener. A failed write leaves the gate closed and says why.
"""

from __future__ import annotations

import logging
import threading
from datetime import datetime, timedelta
from enum import Enum
from functools import partial
from typing import Mapping

from console.domain.clock import Clock
from console.domain.money import Money
from console.domain.payments import NewPayment
from console.domain.plates import PlateError
from console.domain.visits import Visit, VisitError
from console.i18n import _
from console.site.board import LaneBoard
from console.site.bus import EventBus
from console.site.config import SiteConfig
from console.site.emergency import EmergencyJournal, exit_part, gate_line, keep_in_journal
from console.site.errors import AlreadyLeft, PlateNotFound, SiteError, command
from console.site.events import ExitPending, ExitTicket, PlateNeedsConfirmation, UnknownAtExit
from console.site.exits import ExitService
from console.site.tender import Tender
from console.store import gate_actions, shifts, visits
from console.store.database import Store
from console.store.engine import StoreError
from console.store.ids import new_id
from console.store.visits import AlreadyInside
from drivers.camera import Camera
from drivers.camera.still import frame_jpeg
from drivers.gate.base import GateDriver, GateEvent, GateEventKind
from drivers.health import DeviceHealth

log = logging.getLogger(__name__)


class _ZoneFull(Exception):
    """The entry's zone has no free space (inside the entry's transaction: nothing is
    written); carries the site's counts the refusal was judged on."""

    def __init__(self, counts: Mapping[str, int]) -> None:
        super().__init__("zone full")
        self.counts = counts


class EntryOutcome(str, Enum):
    """What became of a plate read at an entry lane."""

    ENTERED = "entered"  # recorded, barrier opened
    FULL = "full"  # the zone had no free space
    INSIDE = "inside"  # the plate already has an open visit (anti-passback)
    NOT_RECORDED = "not_recorded"  # the database refused or could not be reached
    UNREADABLE = "unreadable"  # no plate could be made of the read


class LaneService:
    """Every lane of the booth: its driver's events and the attendant's manual actions."""

    def __init__(
        self,
        config: SiteConfig,
        store: Store,
        clock: Clock,
        board: LaneBoard,
        gates: Mapping[str, GateDriver],
        exits: ExitService,
        bus: EventBus,
        *,
        cameras: Mapping[str, Camera] | None = None,
        emergency: EmergencyJournal | None = None,
    ) -> None:
        self.config = config
        self.store = store
        self.clock = clock
        self.board = board
        self.gates = gates
        self.exits = exits
        self.bus = bus
        self.cameras: Mapping[str, Camera] = cameras or {}
        self.emergency = emergency
        self.currency = config.site.currency
        # Entries are decided one at a time so two lanes cannot both take the last space.
        self._entry_lock = threading.Lock()

    # -- life cycle -----------------------------------------------------------------------
    def start(self) -> None:
        """Start the lane cameras and every lane's driver."""
        for camera in self.cameras.values():
            camera.start(on_health=self.board.set_health)
        for lane_id, gate in self.gates.items():
            gate.start(partial(self._on_gate_event, lane_id), partial(self._on_health, lane_id))
        if self.emergency is not None:
            self.emergency.start()

    def stop(self) -> None:
        """Stop cameras and drivers. Idempotent."""
        if self.emergency is not None:
            self.emergency.stop()
        for camera in self.cameras.values():
            camera.stop()
        for gate in self.gates.values():
            try:
                gate.stop()
            except Exception:
                log.exception("gate driver did not stop cleanly")

    # -- device events (driver threads) ---------------------------------------------------
    def _on_health(self, lane_id: str, health: DeviceHealth) -> None:
        self.board.set_health(health)
        self.board.update_lane(lane_id, health=health.state.value)

    def _on_gate_event(self, lane_id: str, event: GateEvent) -> None:
        now = self.clock.now()
        kind = event.kind
        try:
            if kind is GateEventKind.PLATE_READ:
                lane = self.board.update_lane(lane_id, last_plate=event.plate, last_event_at=now)
                if lane.direction == "entry":
                    self.enter(lane_id, event.plate or "", now)
                else:
                    self._exit(lane_id, event.plate or "", now)
            elif kind is GateEventKind.VEHICLE_PRESENT:
                self.board.update_lane(lane_id, vehicle_present=True, last_event_at=now)
            elif kind is GateEventKind.VEHICLE_GONE:
                self._vehicle_gone(lane_id, now)
            elif kind is GateEventKind.BARRIER_OPENED:
                self.board.update_lane(lane_id, gate="open", last_event_at=now)
                self._confirm_open(lane_id, now)
            elif kind is GateEventKind.BARRIER_CLOSED:
                self.board.update_lane(lane_id, gate="closed", last_event_at=now)
            elif kind is GateEventKind.BARRIER_FAULT:
                self.board.update_lane(lane_id, gate="fault", status=_("barrier fault: {detail}").format(detail=event.detail), last_event_at=now)
                self.bus.report("error", _("{lane_id}: barrier fault {detail}").format(lane_id=lane_id, detail=event.detail).strip())
            elif kind is GateEventKind.COMMAND_FAILED:
                self.bus.report("warning", _("{lane_id}: {value}").format(lane_id=lane_id, value=event.detail or 'gate command failed'))
        except Exception:
            log.exception("lane %s: event %s not handled", lane_id, kind)
            self.bus.report("error", _("{lane_id}: internal error handling {value}; see the log file").format(lane_id=lane_id, value=kind.value))

    def _confirm_open(self, lane_id: str, now: datetime) -> None:
        """Write down that the barrier opened for the visit it was commanded for: until
        then a restart may open it again for that stay (see `_reopen_unconfirmed`)."""
        awaited = self.board.opened(lane_id)
        if awaited is None:
            return
        visit_id, which = awaited
        try:
            self.store.apply(visits.confirm_opened, visit_id=visit_id, which=which, at=now)
        except StoreError as exc:  # the stay stays re-openable within its grace: harmless
            log.warning("%s: barrier open for %s not confirmed in the database: %s", lane_id, visit_id, exc)

    def reopen_window(self, visit: Visit) -> timedelta:
        """How long after an entry or exit whose barrier was never seen open the same
        plate at the same lane opens it again: the tariff's exit grace, at least 5 min."""
        minutes = 0
        try:
            tariff = self.exits.pricing.book.version_at(visit.entry_at)
            rules = tariff.classes.get(visit.vehicle_class)
            minutes = rules.rules.exit_grace if rules is not None else 0
        except (ValueError, LookupError):
            pass
        return timedelta(minutes=max(minutes, 5))

    def _reopen_unconfirmed(self, lane_id: str, visit: Visit, which: str, now: datetime) -> bool:
        """A plate read again at the lane where its entry or exit was recorded and its
        barrier commanded, but never seen open (the console was killed in between):
        open it, audited. Anything else read again opens nothing."""
        recorded_at = visit.entry_at if which == "entry" else visit.exit_at
        lane = visit.entry_lane if which == "entry" else visit.exit_lane
        confirmed = visit.entry_opened_at if which == "entry" else visit.exit_opened_at
        if confirmed is not None or lane != lane_id or recorded_at is None:
            return False
        if not recorded_at <= now <= recorded_at + self.reopen_window(visit):
            return False
        if self.board.lane(lane_id).gate == "open":
            return False
        try:
            self.store.apply(visits.record_reopen, visit=visit, which=which, lane=lane_id, at=now)
        except StoreError as exc:
            log.warning("%s: re-open for %s not recorded: %s", lane_id, visit.plate, exc)
            return False
        self.board.expect_open(lane_id, visit.id, which)
        self.gates[lane_id].open_barrier()
        text = _("{lane}: {plate} was recorded at {time} but the barrier never opened; opened now").format(
            lane=lane_id, plate=self.config.site.plates.display(visit.plate), time=recorded_at.astimezone(self.config.site.tz).strftime("%H:%M:%S"))
        self.board.update_lane(lane_id, status=text)
        self.bus.report("warning", text)
        return True

    def _vehicle_gone(self, lane_id: str, now: datetime) -> None:
        lane = self.board.lane(lane_id)
        if lane.pending is not None and lane.direction == "exit" and lane.gate != "open":
            # The car backed out without paying: its visit stays open, the ticket goes.
            self.board.release(lane.pending.id)
            self.bus.report("warning", _("{lane_id}: {plate} left the lane without paying").format(lane_id=lane_id, plate=self.config.site.plates.display(lane.pending.visit.plate)))
            self.board.update_lane(lane_id, vehicle_present=False, status="", last_event_at=now)
            return
        self.board.update_lane(lane_id, vehicle_present=False, last_event_at=now)

    def enter(self, lane_id: str, raw_plate: str, now: datetime | None = None) -> EntryOutcome:
        """A plate read at the entry lane `lane_id`: decide, record, then open the barrier.

        What the lane's driver calls for every plate it reads (and what tests and the
        benchmark call to drive a lane); the outcome is also on the board and the log.
        """
        now = now or self.clock.now()
        try:
            plate = self.config.site.plates.normalize(raw_plate)
        except PlateError as exc:
            self.board.update_lane(lane_id, status=_("plate not read ({exc})").format(exc=exc))
            self.bus.report("warning", _("{lane}: plate not readable: {exc}").format(lane=lane_id, exc=exc))
            return EntryOutcome.UNREADABLE
        zone_id = self.board.lane(lane_id).zone
        zone = self.config.zone(zone_id)
        with self._entry_lock:
            try:
                seen: dict[str, int] = {}

                def admit(counts: dict[str, int]) -> None:
                    # The count is the database's, taken inside this transaction under the
                    # site's write lock: every booth's entries and exits are in it, this
                    # one too, and no other booth can take the last space before this
                    # entry commits.
                    seen.update(counts)
                    if counts.get(zone_id, 0) > zone.capacity:
                        member = self.exits.member(plate, now) if self.config.operations.members_enter_when_full else None
                        if member is None:
                            raise _ZoneFull({**counts, zone_id: counts[zone_id] - 1})
                        self.bus.report("info", _("{lane}: zone {zone} full, {plate} enters as {member}").format(lane=lane_id, zone=zone_id, plate=self.config.site.plates.display(plate), member=member))

                with self.store.write() as tx:
                    visit = visits.record_entry(tx, plate=plate, zone=zone_id, lane=lane_id, at=now, currency=self.currency,
                                                booth_id=self.config.site.booth_id, admit=admit)
                counts = seen  # no second count: this entry was the only change under the lock
            except _ZoneFull as full:
                self.board.set_counts(full.counts)  # what the refusal was judged on, every booth's
                self.board.update_lane(lane_id, status=_("FULL: {plate} refused").format(plate=self.config.site.plates.display(plate)))
                self.bus.report("warning", _("{lane}: zone {zone} full, {plate} refused").format(lane=lane_id, zone=zone_id, plate=self.config.site.plates.display(plate)))
                return EntryOutcome.FULL
            except AlreadyInside as exc:
                inside = self._inside(plate)
                if inside is not None and self._reopen_unconfirmed(lane_id, inside, "entry", now):
                    return EntryOutcome.ENTERED
                self.board.update_lane(lane_id, status=_("anti-passback: {plate} already inside").format(plate=self.config.site.plates.display(plate)))
                self.bus.report("warning", _("{lane}: {reason}; gate kept closed").format(lane=lane_id, reason=exc))
                return EntryOutcome.INSIDE
            except StoreError as exc:
                if self.emergency is not None:
                    self.emergency.note_failure(str(exc))  # the attendant lets vehicles in by hand now
                self.board.update_lane(lane_id, status=_("entry NOT recorded"))
                self.bus.report("error", _("{lane}: entry of {plate} not recorded: {exc}; gate kept closed").format(lane=lane_id, plate=self.config.site.plates.display(plate), exc=_(str(exc))))
                return EntryOutcome.NOT_RECORDED
            self.board.set_counts(counts)
        self.board.expect_open(lane_id, visit.id, "entry")
        self.gates[lane_id].open_barrier()
        shown = self.config.site.plates.display(plate)  # as it is written: 粤B·D12345
        self.board.update_lane(lane_id, status=_("entered {plate}").format(plate=shown))
        self.bus.report("info", _("{lane}: {plate} entered (visit {visit})").format(lane=lane_id, plate=shown, visit=visit.id[-6:]))
        return EntryOutcome.ENTERED

    def _inside(self, plate: str) -> Visit | None:
        try:
            return self.store.query(visits.open_visit_for, plate)
        except StoreError:
            return None

    def _exit(self, lane_id: str, raw_plate: str, now: datetime) -> None:
        try:
            # A read at the lane queues behind the lane's other waiting exits (a vehicle
            # that backs away releases its own ticket).
            ticket = self.exits.open_exit(lane_id, raw_plate, now=now, from_reader=True)
        except AlreadyLeft as left:
            if not self._reopen_unconfirmed(lane_id, left.visit, "exit", now):
                self.board.update_lane(lane_id, status=str(left))
                self.bus.report("warning", _("{lane_id}: {exc}").format(lane_id=lane_id, exc=left))
            return
        except PlateNotFound as exc:
            self.board.update_lane(lane_id, status=str(exc))
            self.bus.report("warning", _("{lane_id}: {exc}").format(lane_id=lane_id, exc=exc))
            if exc.candidates:
                self.bus.publish(PlateNeedsConfirmation(lane_id, exc.plate, exc.candidates))
            else:
                self.bus.publish(UnknownAtExit(lane_id, exc.plate))
            return
        except SiteError as exc:
            self.board.update_lane(lane_id, status=str(exc))
            self.bus.report("warning", _("{lane_id}: {exc}").format(lane_id=lane_id, exc=exc))
            return
        if ticket is not None:
            self.bus.publish(ExitPending(ticket))

    # -- by hand --------------------------------------------------------------------------
    @command("not recorded, barrier not moved")
    def manual_gate(self, lane_id: str, action: str, *, reason: str, note: str = "", actor: str, snapshot: bytes | None = None,
                    taken: Tender | None = None) -> str:
        """Open or close a barrier by hand. The reason must come from the configured list
        ("other" needs a note). Recorded (and audited) before the barrier moves.

        Opening an exit where a vehicle waits with a fee settles that stay: with what
        the attendant took (`taken`: cash or card, its amount; the rest is left owing),
        or with nothing taken. When the database cannot be written the move and that
        decision go to the emergency journal and the barrier moves anyway; the merge
        settles the stay once, or lists a conflict when another booth settled it first.
        """
        if lane_id not in self.gates:
            raise SiteError(_("no lane {lane_id}").format(lane_id=lane_id))
        if action not in ("open", "close"):
            raise SiteError(_("action must be open or close"))
        reasons = self.config.operations.manual_gate_reasons
        if reason not in reasons:
            raise SiteError(_("pick a reason from the list: {value}").format(value=', '.join(reasons)))
        if reason == "other" and not note.strip():
            raise SiteError('reason "other" needs a note')
        lane = self.board.lane(lane_id)
        now = self.clock.now()
        ticket = lane.pending if action == "open" else None
        payments = self._taken(ticket, taken) if taken is not None else []
        plate = lane.pending.visit.plate if lane.pending else (lane.last_plate if lane.vehicle_present else None)
        if snapshot is None and lane_id in self.cameras:
            snapshot = self._lane_snapshot(lane_id)
        failure: StoreError | str | None = None
        if self.emergency is not None and self.emergency.offline:
            failure = self.emergency.offline_why or ""  # known unwritable: no wait for a frozen server
        else:
            try:
                record = self.store.apply(
                    gate_actions.record_gate_action,
                    lane=lane_id, action=action, reason=reason, note=note.strip(), actor=actor, at=now, plate=plate, snapshot=snapshot,
                    booth_id=self.config.site.booth_id,
                )
            except StoreError as exc:
                if self.emergency is None:
                    raise
                failure = exc
        if failure is not None:
            assert self.emergency is not None
            # The barrier is never hostage to the database: kept on disk, merged later.
            line = gate_line(new_id(), lane=lane_id, action=action, reason=reason, note=note.strip(), actor=actor, at=now, plate=plate)
            line.update(self._journal_parts(lane_id, action, reason, ticket, payments, plate))
            record = keep_in_journal(self.emergency, failure, line)
            self.bus.report("error", _("{lane}: EMERGENCY MODE, database not writable ({why}); manual {action} kept in the local journal").format(
                lane=lane_id, why=_(str(failure)), action=action))
            if ticket is not None:
                self.board.release(ticket.id)  # the journal's merge settles it
        elif ticket is not None:
            self._settle_by_hand(lane_id, ticket, payments, reason=reason, actor=actor)
        gate = self.gates[lane_id]
        if action == "open":
            gate.open_barrier()
        else:
            gate.close_barrier()
        self.board.update_lane(lane_id, status=(_("opened by hand: {reason}") if action == "open" else _("closed by hand: {reason}")).format(reason=reason))
        moved = _("{lane_id}: barrier opened by {actor}: {reason}{note}") if action == "open" else _("{lane_id}: barrier closed by {actor}: {reason}{note}")
        self.bus.report("warning", moved.format(lane_id=lane_id, actor=actor, reason=reason, note=" - " + note if note else ""))
        return record

    def _taken(self, ticket: ExitTicket | None, taken: Tender) -> list[NewPayment]:
        """What the attendant says they took for the waiting fee at a manual open."""
        if ticket is None:
            raise SiteError(_("no fee waits at this lane: nothing can be taken for it"))
        if taken.method not in ("cash", "card"):
            raise SiteError(_("at a manual open the fee is taken in cash or by card"))
        amount = Money.parse(taken.amount_text, self.currency)
        if amount.is_negative or amount.is_zero:
            raise SiteError(_("the {method} amount must be more than zero").format(method=taken.method))
        if amount > ticket.due:
            raise SiteError(_("{method} {amount} is more than the {remaining} still due").format(method=taken.method, amount=amount, remaining=ticket.due))
        if taken.method == "card":
            return [NewPayment("card", amount, reference=taken.reference.strip().upper() or None)]
        tendered = Money.parse(taken.tendered_text, self.currency) if taken.tendered_text.strip() else amount
        if tendered < amount:
            raise SiteError(_("the cash handed over is less than the amount taken"))
        return [NewPayment("cash", amount, tendered, tendered - amount)]

    def _journal_parts(self, lane_id: str, action: str, reason: str, ticket: ExitTicket | None, payments: list[NewPayment],
                       plate: str | None) -> dict[str, object]:
        """What a journaled manual open decided besides the move: the waiting fee settled
        (with what was taken), a vehicle let in with its plate, or let out unquoted."""
        if action != "open":
            return {}
        lane = self.board.lane(lane_id)
        if ticket is not None:
            taken = sum(p.amount.minor for p in payments)
            return {"exit": exit_part(
                ticket_id=ticket.id, visit_id=ticket.visit.id, plate=ticket.visit.plate, lane=lane_id, exit_at=ticket.exit_at,
                fee=ticket.quote.total, tariff_id=ticket.quote.tariff_id, payments=payments, reason=f"manual open: {reason}",
                unpaid=taken < ticket.due.minor, debts=ticket.debt_ids, overrides=ticket.overrides,
            )}
        if plate is None:
            return {}
        try:
            plate = self.config.site.plates.normalize(plate)
        except PlateError:
            return {}
        if lane.direction == "entry":
            return {"entry": {"plate": plate, "lane": lane_id, "zone": lane.zone, "currency": self.currency, "reason": reason}}
        return {"left": {"plate": plate, "lane": lane_id}}

    def _settle_by_hand(self, lane_id: str, ticket: ExitTicket, payments: list[NewPayment], *, reason: str, actor: str) -> None:
        """The waiting fee of a manual open, with what was taken (the rest left owing)."""
        booth = self.config.site.booth_id
        try:
            with self.store.write() as tx:
                shift = shifts.current_shift(tx, booth) if payments else None
                visits.close_visit(
                    tx, visit_id=ticket.visit.id, exit_lane=lane_id, exit_at=ticket.exit_at, quote=ticket.quote, payments=payments,
                    attendant=actor, idempotency_key=ticket.id, reason=f"manual open: {reason}", allow_unpaid=True, booth_id=booth,
                    shift_id=shift.id if shift is not None else None, settles_debts=ticket.debt_ids if payments else (),
                )
        except (VisitError, StoreError) as exc:
            self.bus.report("error", _("{lane_id}: visit of {plate} not closed: {exc}").format(lane_id=lane_id, plate=self.config.site.plates.display(ticket.visit.plate), exc=exc))
        else:
            self.board.release(ticket.id)
            self.exits.refresh_occupancy()

    def _lane_snapshot(self, lane_id: str) -> bytes | None:
        """The lane camera's latest frame as a small JPEG; None when the camera has none
        (the barrier still moves: a missing picture must not block safety or emergencies)."""
        frame = self.cameras[lane_id].latest()
        if frame is None:
            self.bus.report("warning", _("{lane_id}: the lane camera has no picture; the manual move is recorded without one").format(lane_id=lane_id))
            return None
        try:
            return frame_jpeg(frame)
        except ValueError as exc:
            self.bus.report("warning", _("{lane_id}: lane camera picture not kept: {exc}").format(lane_id=lane_id, exc=exc))
            return None

    @command("correction NOT recorded")
    def correct_occupancy(self, zone_id: str, count: int, *, reason: str, actor: str) -> None:
        """Set a zone's count to what the attendant sees, with a reason (audited)."""
        if zone_id not in {z.id for z in self.config.zones}:
            raise SiteError(_("no zone {zone_id}").format(zone_id=zone_id))
        capacity = self.config.zone(zone_id).capacity
        if count < 0 or count > capacity * 2:
            raise SiteError(_("a count of {count} is impossible for {capacity} spaces").format(count=count, capacity=capacity))
        if not reason.strip():
            raise SiteError(_("give a reason for the correction"))
        with self.store.write() as tx:
            current = visits.occupancy_counts(tx).get(zone_id, 0)
            visits.adjust_occupancy(tx, zone=zone_id, delta=count - current, reason=reason.strip(), actor=actor, at=self.clock.now())
        self.exits.refresh_occupancy()
        self.bus.report("warning", _("{zone_id}: count set from {current} to {count} by {actor}: {value}").format(zone_id=zone_id, current=current, count=count, actor=actor, value=reason.strip()))

    @command("cannot read the visits")
    def stale_visits(self, zone_id: str) -> list[Visit]:
        """Open visits older than the configured limit, oldest first."""
        limit = self.clock.now() - timedelta(hours=self.config.operations.stale_visit_hours)
        return self.store.query(visits.stale_visits, zone_id, limit)

    @command("NOT closed")
    def close_stale(self, visit_ids: list[str], *, reason: str, actor: str) -> int:
        """Close visits of cars that left unseen, without a fee (audited)."""
        if not reason.strip():
            raise SiteError(_("give a reason for closing these visits"))
        closed = self.store.apply(visits.close_stale, visit_ids=visit_ids, reason=reason.strip(), actor=actor, at=self.clock.now())
        self.exits.refresh_occupancy()
        self.bus.report("warning", _("{closed} stale visits closed by {actor}: {value}").format(closed=closed, actor=actor, value=reason.strip()))
        return closed
