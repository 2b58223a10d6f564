"""The site core: lane events in, domain decisions, durable writes, then effects out.

The order is fixed: decide, commit, and only after the commit open a gate or tell a
listener. A failed write leaves the gate closed and says why.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import replace
from datetime import datetime
from typing import Any, Callable

from console.domain.clock import Clock
from console.domain.money import Money
from console.domain.occupancy import ZoneOccupancy
from console.domain.payments import NewPayment, PaymentError, PaymentMethod
from console.domain.plates import PlateError
from console.domain.quote import Quote, QuoteItem
from console.domain.tariff import QuoteError
from console.domain.visits import VisitError
from console.site.config import SiteConfig
from console.site.documents import DocumentsMixin
from console.site.errors import PlateNotFound, SiteError
from console.site.events import (
    DeviceHealthChanged,
    ExitPending,
    ExitSettled,
    ExitTicket,
    LaneChanged,
    LaneSnapshot,
    LogEntry,
    OccupancyChanged,
    PlateNeedsConfirmation,
    SiteEvent,
    UnknownAtExit,
)
from console.site.exit_desk import ExitDeskMixin
from console.site.lane_operations import LaneOperationsMixin
from console.site.pricing import Pricing
from console.site.print_queue import PrintQueue
from console.site.receipts import receipt_content
from console.site.staff_shifts import StaffShiftsMixin
from console.store.booth_store import AlreadyInside, BoothStore
from console.store.engine import StoreError
from console.store.ids import new_id
from console.sync import lookup
from drivers.gate.base import GateDriver, GateEvent, GateEventKind
from drivers.health import DeviceHealth

log = logging.getLogger(__name__)

Listener = Callable[[SiteEvent], None]

__all__ = ["Listener", "Site", "SiteError"]


class Site(LaneOperationsMixin, ExitDeskMixin, DocumentsMixin, StaffShiftsMixin):
    """One running site: its lanes, zones, store and listeners."""

    def __init__(
        self,
        config: SiteConfig,
        store: BoothStore,
        clock: Clock,
        gates: dict[str, GateDriver],
        pricing: Pricing,
        print_queue: PrintQueue | None = None,
    ) -> None:
        self.config = config
        self.print_queue = print_queue
        self.store = store
        self.clock = clock
        self.gates = gates
        self.pricing = pricing
        self.currency = config.site.currency
        self.plates = config.site.plates
        self._listeners: list[Listener] = []
        self._state_lock = threading.Lock()
        # Entries are decided one at a time so two lanes cannot both take the last space.
        self._entry_lock = threading.Lock()
        self._lanes: dict[str, LaneSnapshot] = {
            lane.id: LaneSnapshot(lane.id, lane.name or lane.id, lane.direction, lane.zone) for lane in config.lanes
        }
        self._tickets: dict[str, ExitTicket] = {}
        self._health: dict[str, DeviceHealth] = {}
        self._occupancy: dict[str, int] = {}
        self._started = False
        self.after_stop: list[Callable[[], None]] = []
        # Background services (cloud sync, elevator) started and stopped with the site.
        self.services: list[Any] = []
        self.elevator: Any = None  # ElevatorService when the site has an elevator
        self.sync: Any = None  # SyncService when the site has a cloud
        self.charging: Any = None  # ChargingService when the site has charging piles
        self.unsent_at_close: int | None = None
        self.lane_cameras: dict[str, Any] = {}  # lane id -> camera whose frame goes with manual gate moves

    # -- listeners ----------------------------------------------------------------------
    def subscribe(self, listener: Listener) -> Callable[[], None]:
        """Hear every site event from now on. Returns a function that unsubscribes."""
        with self._state_lock:
            self._listeners.append(listener)

        def unsubscribe() -> None:
            with self._state_lock:
                if listener in self._listeners:
                    self._listeners.remove(listener)

        return unsubscribe

    def _publish(self, event: SiteEvent) -> None:
        with self._state_lock:
            listeners = list(self._listeners)
        for listener in listeners:
            try:
                listener(event)
            except Exception:  # a broken listener must not stop a lane
                log.exception("site listener failed")

    def publish(self, event: SiteEvent) -> None:
        """Tell every listener about an event from a service (cloud link status...)."""
        self._publish(event)

    def report(self, level: str, text: str) -> None:
        """Log a line for the attendant (info / warning / error)."""
        self._log(level, text)

    def _log(self, level: str, text: str) -> None:
        getattr(log, level if level != "warning" else "warning")(text)
        self._publish(LogEntry(self.clock.now(), level, text))

    # -- life cycle -----------------------------------------------------------------------
    def start(self) -> None:
        """Read the current occupancy and start every lane's driver."""
        if self._started:
            return
        self._started = True
        self._refresh_occupancy()
        if self.print_queue is not None:
            self.print_queue.start()
        for service in self.services:
            service.start()
        for lane_id, camera in self.lane_cameras.items():
            camera.start(on_health=self.device_health_changed)
        for lane_id, gate in self.gates.items():
            gate.start(
                lambda event, lane_id=lane_id: self._on_gate_event(lane_id, event),
                lambda health, lane_id=lane_id: self._on_health(lane_id, health),
            )
        self._log("info", f"{self.config.site.name}: {len(self.gates)} lanes started")

    def stop(self) -> None:
        """Stop every driver. Idempotent."""
        if not self._started:
            return
        self._started = False
        for service in self.services:
            try:
                service.stop()
            except Exception:
                log.exception("a service did not stop cleanly")
        if self.print_queue is not None:
            self.print_queue.stop()
        for camera in self.lane_cameras.values():
            camera.stop()
        for gate in self.gates.values():
            try:
                gate.stop()
            except Exception:
                log.exception("gate driver did not stop cleanly")
        for hook in self.after_stop:
            try:
                hook()
            except Exception:
                log.exception("a stop hook failed")

    # -- read models ----------------------------------------------------------------------
    def lanes(self) -> list[LaneSnapshot]:
        with self._state_lock:
            return list(self._lanes.values())

    def lane(self, lane_id: str) -> LaneSnapshot:
        with self._state_lock:
            return self._lanes[lane_id]

    def occupancy(self) -> tuple[ZoneOccupancy, ...]:
        with self._state_lock:
            counts = dict(self._occupancy)
        return tuple(ZoneOccupancy(z.id, z.name or z.id, z.capacity, counts.get(z.id, 0)) for z in self.config.zones)

    def pending_tickets(self) -> list[ExitTicket]:
        with self._state_lock:
            return list(self._tickets.values())

    def ticket(self, ticket_id: str) -> ExitTicket | None:
        with self._state_lock:
            return self._tickets.get(ticket_id)

    def device_health(self) -> dict[str, DeviceHealth]:
        with self._state_lock:
            return dict(self._health)

    def _refresh_occupancy(self) -> None:
        counts = self.store.occupancy_counts()
        with self._state_lock:
            self._occupancy = counts
        self._publish(OccupancyChanged(self.occupancy()))

    def _update_lane(self, lane_id: str, **changes: object) -> LaneSnapshot:
        with self._state_lock:
            lane = replace(self._lanes[lane_id], **changes)  # type: ignore[arg-type]
            self._lanes[lane_id] = lane
        self._publish(LaneChanged(lane))
        return lane

    # -- device events (driver threads) ---------------------------------------------------
    def _on_health(self, lane_id: str, health: DeviceHealth) -> None:
        self.device_health_changed(health)
        self._update_lane(lane_id, health=health.state.value)

    def device_health_changed(self, health: DeviceHealth) -> None:
        """A device (lane, printer, camera...) reports its health (any thread)."""
        with self._state_lock:
            self._health[health.device] = health
        self._publish(DeviceHealthChanged(health))

    def _on_gate_event(self, lane_id: str, event: GateEvent) -> None:
        now = self.clock.now()
        kind = event.kind
        try:
            if kind is GateEventKind.PLATE_READ:
                self._update_lane(lane_id, last_plate=event.plate, last_event_at=now)
                lane = self.lane(lane_id)
                if lane.direction == "entry":
                    self._handle_entry(lane_id, event.plate or "", now)
                else:
                    self._handle_exit(lane_id, event.plate or "", now)
            elif kind is GateEventKind.VEHICLE_PRESENT:
                self._update_lane(lane_id, vehicle_present=True, last_event_at=now)
            elif kind is GateEventKind.VEHICLE_GONE:
                self._vehicle_gone(lane_id, now)
            elif kind is GateEventKind.BARRIER_OPENED:
                self._update_lane(lane_id, gate="open", last_event_at=now)
            elif kind is GateEventKind.BARRIER_CLOSED:
                self._update_lane(lane_id, gate="closed", last_event_at=now)
            elif kind is GateEventKind.BARRIER_FAULT:
                self._update_lane(lane_id, gate="fault", status=f"barrier fault: {event.detail}", last_event_at=now)
                self._log("error", f"{lane_id}: barrier fault {event.detail}".strip())
            elif kind is GateEventKind.COMMAND_FAILED:
                self._log("warning", f"{lane_id}: {event.detail or 'gate command failed'}")
        except Exception:
            log.exception("lane %s: event %s not handled", lane_id, kind)
            self._log("error", f"{lane_id}: internal error handling {kind.value}; see the log file")

    def _vehicle_gone(self, lane_id: str, now: datetime) -> None:
        lane = self.lane(lane_id)
        if lane.pending is not None and lane.direction == "exit" and lane.gate != "open":
            # The car backed out without paying: its visit stays open, the ticket goes.
            with self._state_lock:
                self._tickets.pop(lane.pending.id, None)
            self._log("warning", f"{lane_id}: {lane.pending.visit.plate} left the lane without paying")
            self._update_lane(lane_id, vehicle_present=False, pending=None, status="", last_event_at=now)
            return
        self._update_lane(lane_id, vehicle_present=False, last_event_at=now)

    def _handle_entry(self, lane_id: str, raw_plate: str, now: datetime) -> None:
        try:
            plate = self.plates.normalize(raw_plate)
        except PlateError as exc:
            self._update_lane(lane_id, status=f"plate not read ({exc})")
            self._log("warning", f"{lane_id}: plate not readable: {exc}")
            return
        zone_id = self.lane(lane_id).zone
        zone = self.config.zone(zone_id)
        with self._entry_lock:
            with self._state_lock:
                occupied = self._occupancy.get(zone_id, 0)
            if occupied >= zone.capacity:
                member = self._member(plate, now) if self.config.operations.members_enter_when_full else None
                if member is None:
                    self._update_lane(lane_id, status=f"FULL: {plate} refused")
                    self._log("warning", f"{lane_id}: zone {zone_id} full, {plate} refused")
                    return
                self._log("info", f"{lane_id}: zone {zone_id} full, {plate} enters as {member}")
            try:
                visit = self.store.record_entry(
                    plate=plate, zone=zone_id, lane=lane_id, at=now, currency=self.currency
                )
            except AlreadyInside as exc:
                self._update_lane(lane_id, status=f"anti-passback: {plate} already inside")
                self._log("warning", f"{lane_id}: {exc}; gate kept closed")
                return
            except StoreError as exc:
                self._update_lane(lane_id, status="entry NOT recorded")
                self._log("error", f"{lane_id}: entry of {plate} not recorded: {exc}; gate kept closed")
                return
            with self._state_lock:
                self._occupancy[zone_id] = self._occupancy.get(zone_id, 0) + 1
        self.gates[lane_id].open_barrier()
        self._update_lane(lane_id, status=f"entered {plate}")
        self._publish(OccupancyChanged(self.occupancy()))
        self._log("info", f"{lane_id}: {plate} entered (visit {visit.id[-6:]})")

    def _member(self, plate: str, now: datetime, kinds: tuple[str, ...] | None = None) -> str | None:
        """The plate's membership, pass or whitelist entry valid now, limited to `kinds`
        when given (kept locally: works offline)."""
        try:
            found = [m for m in lookup.members_for(self.store, plate, now) if kinds is None or m.kind in kinds]
        except StoreError:
            return None
        return f"{found[0].kind} {found[0].name}".strip() if found else None

    def _leave_within_exit_grace(self, ticket: ExitTicket, now: datetime) -> bool:
        """A driver who paid by phone before driving to the exit owes nothing more while
        within the tariff's exit grace after paying: the stay is settled at the fee as of
        the payment, with that payment. Returns True when the vehicle could leave."""
        try:
            payments = lookup.remote_payments_for(self.store, ticket.visit.plate)
        except StoreError:
            return False
        for payment in reversed(payments):  # the latest payment first
            if payment.currency != self.currency or not ticket.visit.entry_at <= payment.paid_at <= now:
                continue
            try:
                after = self.pricing.quote(ticket.visit, now, paid_until=payment.paid_at)
                then = self.pricing.quote(ticket.visit, payment.paid_at)
            except (QuoteError, ValueError):
                continue
            if not after.total.is_zero or payment.amount_minor < then.total.minor:
                continue
            tz = self.config.site.tz
            note = QuoteItem(f"Left within the exit grace of paying by phone at {payment.paid_at.astimezone(tz):%H:%M}", Money.zero(self.currency))
            settled = replace(ticket, quote=Quote(then.total, then.tariff_id, then.items + (note,), then.notes))
            self._settle(settled, [NewPayment("mobile", then.total, reference=payment.id)], attendant="cloud", reason="paid remotely")
            return True
        return False

    def _handle_exit(self, lane_id: str, raw_plate: str, now: datetime) -> None:
        try:
            ticket = self.open_exit(lane_id, raw_plate, now=now)
        except PlateNotFound as exc:
            self._update_lane(lane_id, status=str(exc))
            self._log("warning", f"{lane_id}: {exc}")
            if exc.candidates:
                self._publish(PlateNeedsConfirmation(lane_id, exc.plate, exc.candidates))
            else:
                self._publish(UnknownAtExit(lane_id, exc.plate))
            return
        except SiteError as exc:
            self._update_lane(lane_id, status=str(exc))
            self._log("warning", f"{lane_id}: {exc}")
            return
        if ticket is None:
            return
        self._publish(ExitPending(ticket))

    def _exit_plate(self, raw_plate: str) -> str:
        """The plate read or typed at an exit, normalized by the site's rules.

        A read no plate can have (an O where mainland plates only have 0) may still
        resemble an open visit's plate: offered to the attendant, never charged. One
        that equals an open plate exactly was stored under earlier rules and leaves.
        """
        try:
            return self.plates.normalize(raw_plate)
        except PlateError as exc:
            try:
                near = self.plates.near_matches(raw_plate, self.store.open_plates())
            except StoreError:
                near = []
            if near and near[0].exact:
                return near[0].plate
            if near:
                raise PlateNotFound(exc.cleaned, tuple(m.plate for m in near)) from None
            raise SiteError(str(exc)) from None

    # -- commands (UI workers, headless runner) -------------------------------------------
    def open_exit(
        self, lane_id: str, raw_plate: str, *, now: datetime | None = None, lost_ticket: bool = False
    ) -> ExitTicket | None:
        """Find the plate's visit and quote its exit at `lane_id`.

        A stay within the free period leaves at once (returns None). Otherwise the lane
        waits with a ticket the attendant settles. Raises SiteError for an unknown plate,
        a vehicle that has already left, or a lane that is not an exit.
        """
        now = now or self.clock.now()
        if lane_id not in self._lanes or self.lane(lane_id).direction != "exit":
            raise SiteError(f"{lane_id} is not an exit lane")
        plate = self._exit_plate(raw_plate)
        try:
            visit = self.store.open_visit_for(plate)
            if visit is None:
                last = self.store.latest_visit_for(plate)
        except StoreError as exc:
            raise SiteError(f"cannot look up {plate}: {exc}") from None
        if visit is None:
            if last is not None and last.exit_at is not None:
                local = last.exit_at.astimezone(self.config.site.tz)
                raise SiteError(f"{plate} already left at {local:%H:%M} on {local:%d.%m.}: double exit")
            try:
                near = self.plates.near_matches(plate, self.store.open_plates())
            except StoreError as exc:
                raise SiteError(f"cannot look up {plate}: {exc}") from None
            raise PlateNotFound(plate, tuple(m.plate for m in near if not m.exact))
        existing = next((t for t in self.pending_tickets() if t.visit.id == visit.id), None)
        if existing is not None:
            return existing  # reopening the exit keeps the same ticket (and idempotency key)
        try:
            quote = self.pricing.quote(visit, now, lost_ticket=lost_ticket)
        except (QuoteError, ValueError) as exc:
            raise SiteError(f"cannot price {plate}: {exc}") from None
        debts = self.store.open_debts(plate)
        if debts:
            tz = self.config.site.tz
            extra = tuple(QuoteItem(f"Unpaid from {at.astimezone(tz):%d.%m.%Y} ({reason})", Money(amount, self.currency)) for _, amount, at, reason in debts)
            quote = Quote(quote.total + Money(sum(d[1] for d in debts), self.currency), quote.tariff_id, quote.items + extra, quote.notes)
            self._log("warning", f"{lane_id}: {plate} owes {len(debts)} earlier unpaid exit(s); added to the fee")
        ticket = ExitTicket(new_id(), lane_id, visit, now, quote, tuple(d[0] for d in debts))
        # A pass or whitelist entry lets the plate leave free ("member" kinds are billed by
        # the tariff's member plans instead).
        member = self._member(plate, now, kinds=("pass", "whitelist"))
        if member is not None and not debts:
            # Passes and whitelisted plates leave by themselves, with the network down too.
            waived = replace(ticket, quote=Quote(Money.zero(self.currency), quote.tariff_id, quote.items + (QuoteItem(f"{member}: no charge", -quote.total),), quote.notes))
            self._settle(waived, [], attendant="lane", reason=member)
            return None
        if ticket.due.is_zero:
            self._settle(ticket, [], attendant="lane", reason="free")
            return None
        remote = self._remote_payment(plate, ticket.due)
        if remote is not None:
            # Paid on the phone: the remote payment's id goes on the payment row, in the
            # exit's own transaction, so it can never be used twice.
            self._settle(ticket, [NewPayment("mobile", ticket.due, reference=remote)], attendant="cloud", reason="paid remotely")
            return None
        if not debts and self._leave_within_exit_grace(ticket, now):
            return None
        with self._state_lock:
            self._tickets[ticket.id] = ticket
        self._update_lane(lane_id, pending=ticket, status=f"{plate}: {ticket.due} due")
        return ticket

    def _settle(
        self,
        ticket: ExitTicket,
        payments: list[NewPayment],
        *,
        attendant: str,
        reason: str,
        change: Money | None = None,
        change_left: int = 0,
        new_debt: tuple[int, str] | None = None,
    ) -> ExitSettled:
        receipt = receipt_content(self.config, ticket, payments, attendant=attendant, change=change) if payments else None
        shift = self.current_shift()
        if shift is None and any(p.method == PaymentMethod.CASH.value for p in payments):
            raise SiteError("no shift is open at this booth: open one (with the float) before taking cash")
        try:
            closed = self.store.close_visit(
                visit_id=ticket.visit.id,
                exit_lane=ticket.lane_id,
                exit_at=ticket.exit_at,
                quote=ticket.quote,
                payments=payments,
                attendant=attendant,
                idempotency_key=ticket.id,
                reason=reason,
                receipt=receipt,
                booth_id=self.config.site.booth_id,
                shift_id=shift.id if shift else None,
                settles_debts=ticket.debt_ids if payments else (),
                new_debt=new_debt,
                overrides=ticket.overrides,
                change_left=change_left,
                allow_unpaid=new_debt is not None,
            )
        except (VisitError, PaymentError) as exc:
            raise SiteError(str(exc)) from None
        except StoreError as exc:
            raise SiteError(f"payment NOT recorded, gate stays closed: {exc}") from None
        if self.print_queue is not None and closed.receipt_number is not None:
            self.print_queue.wake()
        with self._state_lock:
            was_pending = self._tickets.pop(ticket.id, None) is not None
            lane = self._lanes[ticket.lane_id]
        settled = ExitSettled(ticket, closed, change or Money.zero(self.currency))
        if closed.replayed and not was_pending:
            return settled  # already handled by the first call
        # Effects only after the commit.
        self.gates[ticket.lane_id].open_barrier()
        if lane.pending is not None and lane.pending.id == ticket.id:
            self._update_lane(ticket.lane_id, pending=None)
        self._update_lane(ticket.lane_id, status=f"{ticket.visit.plate} left ({reason})")
        self._refresh_occupancy()
        paid = sum((p.amount for p in closed.payments), Money.zero(self.currency))
        self._log("info", f"{ticket.lane_id}: {ticket.visit.plate} left, fee {ticket.quote.total}, paid {paid}")
        self._publish(settled)
        return settled
