"""The site core: lane events in, domain decisions, durable writes, then effects out.

The order is fixed: decide, commit, and only after the commit open a gate or tell a
listener. A failed write leaves the gate closed and says why.
"""

from __future__ import annotations

import json
import logging
import re
import threading
from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any, Callable

from console.domain.clock import Clock
from console.domain.money import Money, MoneyError
from console.domain.occupancy import ZoneOccupancy
from console.domain.quote import Quote, QuoteItem
from console.domain.payments import NewPayment, PaymentError, PaymentMethod, settle_cash
from console.domain.plates import match_plate
from console.domain.tariff import QuoteError
from console.domain.visits import Visit, VisitError, normalize_plate
from console.site.config import SiteConfig
from console.site.errors import PlateNotFound, SiteError
from console.site.tender import Tender
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
from console.site.pricing import Pricing
from console.site.print_queue import PrintQueue
from console.site.receipts import receipt_content
from console.store.audit import append_audit
from console.store.receipts import Receipt, add_receipt, recent
from console.store.tables import ReceiptRow
from console.sync import lookup
from drivers.camera.still import frame_jpeg
from drivers.printer import PrintDocument
from console.store import shifts, staff
from console.store.shifts import Shift
from console.domain.cash import CountError, parse_count
from console.domain.staff import Role, StaffError, User
from sqlmodel import select
from console.store.booth_store import AlreadyInside, BoothStore
from console.store.engine import StoreError
from console.store.ids import new_id
from drivers.gate.base import GateDriver, GateEvent, GateEventKind
from drivers.health import DeviceHealth

log = logging.getLogger(__name__)

Listener = Callable[[SiteEvent], None]

__all__ = ["Listener", "Site", "SiteError"]


class Site:
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
            plate = normalize_plate(raw_plate)
        except VisitError as exc:
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

    def _member(self, plate: str, now: datetime) -> str | None:
        """The plate's membership, pass or whitelist entry (kept locally: works offline)."""
        try:
            found = lookup.members_for(self.store, plate, now)
        except StoreError:
            return None
        return f"{found[0].kind} {found[0].name}".strip() if found else None

    def _member_exit(self, plate: str, now: datetime) -> str | None:
        """A pass or whitelist entry valid now lets the plate leave free ("member" kinds
        are billed by the tariff's member plans instead)."""
        try:
            found = [m for m in lookup.members_for(self.store, plate, now) if m.kind in ("pass", "whitelist")]
        except StoreError:
            return None
        return f"{found[0].kind} {found[0].name}".strip() if found else None

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
        try:
            plate = normalize_plate(raw_plate)
        except VisitError as exc:
            raise SiteError(str(exc)) from None
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
                near = match_plate(plate, self.store.open_plates())
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
        member = self._member_exit(plate, now)
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
        with self._state_lock:
            self._tickets[ticket.id] = ticket
        self._update_lane(lane_id, pending=ticket, status=f"{plate}: {ticket.due} due")
        return ticket

    def pay_cash(self, ticket_id: str, tendered_text: str, *, attendant: str, change_left: bool = False) -> ExitSettled:
        """Take cash for a waiting exit. Validates the tender, commits, then opens the gate.

        Raises SiteError (nothing recorded) for a bad amount or an unknown ticket. A second
        call for a ticket already paid finds the first payment and records nothing.
        """
        return self.pay(ticket_id, [Tender("cash", "", tendered_text)], attendant=attendant, change_left=change_left)

    def pay(self, ticket_id: str, tenders: list[Tender], *, attendant: str, change_left: bool = False) -> ExitSettled:
        """Take the fee in one or several methods (split payment), then open the gate.

        A tender with no amount takes what is still due. Cash may be tendered above its
        part (the change is worked out); a card needs the terminal's approval code; an
        account must exist, be active and allow the amount. With `change_left` the driver
        leaves the change: it goes into the drawer as such, not into the cash difference.
        """
        ticket = self.ticket(ticket_id)
        if ticket is None:
            raise SiteError("this exit is no longer waiting (already paid or cancelled)")
        due = ticket.due
        if due.is_zero:  # waived or validated to nothing: the vehicle simply leaves
            return self._settle(ticket, [], attendant=attendant, reason="nothing due")
        if not tenders:
            raise SiteError("no payment given")
        payments: list[NewPayment] = []
        change = Money.zero(self.currency)
        remaining = due
        try:
            for index, tender in enumerate(tenders):
                method = tender.method
                if method not in ("cash", "card", "account", "mobile"):
                    raise SiteError(f"unknown payment method {method!r}")
                amount = Money.parse(tender.amount_text, self.currency) if tender.amount_text.strip() else remaining
                if method == "cash" and not tender.amount_text.strip() and tender.tendered_text.strip() and index < len(tenders) - 1:
                    amount = Money.parse(tender.tendered_text, self.currency).min(remaining)
                if amount.is_negative or amount.is_zero:
                    raise SiteError(f"the {method} amount must be more than zero")
                if amount > remaining:
                    raise SiteError(f"{method} {amount} is more than the {remaining} still due")
                if method == "cash":
                    tendered = Money.parse(tender.tendered_text, self.currency) if tender.tendered_text.strip() else amount
                    outcome = settle_cash(amount, tendered)
                    change = change + outcome.change
                    payments.append(NewPayment("cash", amount, outcome.tendered, outcome.change))
                elif method == "card":
                    code = tender.reference.strip().upper()
                    if not re.fullmatch(r"[A-Z0-9]{4,12}", code):
                        raise SiteError("a card payment needs the terminal's approval code (4-12 letters or digits)")
                    payments.append(NewPayment("card", amount, reference=code))
                elif method == "account":
                    found = lookup.account(self.store, tender.reference.strip())
                    if found is None or not found.active:
                        raise SiteError(f"no active account {tender.reference.strip()!r}")
                    if found.currency != self.currency:
                        raise SiteError(f"account {found.id} is in {found.currency}")
                    if found.credit_limit_minor is not None and amount.minor > found.credit_limit_minor:
                        raise SiteError(f"{amount} is above the account's limit of {Money(found.credit_limit_minor, self.currency)}")
                    payments.append(NewPayment("account", amount, reference=found.id))
                else:
                    raise SiteError("phone payments come from the cloud by themselves; use another method here")
                remaining = remaining - amount
        except (MoneyError, PaymentError) as exc:
            raise SiteError(str(exc)) from None
        if not remaining.is_zero:
            raise SiteError(f"{remaining} is still due: add another payment")
        if change_left and change.is_zero:
            raise SiteError("there is no change to leave")
        return self._settle(ticket, payments, attendant=attendant, reason="paid", change=Money.zero(self.currency) if change_left else change,
                            change_left=change.minor if change_left else 0)

    def override(
        self, ticket_id: str, kind: str, *, reason: str, actor: str, new_amount_text: str = "", code: str = "",
        manager: str = "", manager_pin: str = "",
    ) -> ExitTicket:
        """Change a waiting exit's fee: `fee_change` (to a new amount), `waive` (to zero) or
        `validation` (a merchant code the tariff knows). Always with a reason; lowering the
        fee by more than the site's limit needs a manager's name and PIN. The override is
        recorded with the exit when it is settled, and audited now."""
        ticket = self.ticket(ticket_id)
        if ticket is None:
            raise SiteError("this exit is no longer waiting")
        if not reason.strip():
            raise SiteError("give a reason for changing the fee")
        old = ticket.quote.total
        try:
            if kind == "fee_change":
                new_total = Money.parse(new_amount_text, self.currency)
                if new_total.is_negative:
                    raise SiteError("a fee cannot be negative")
                quote = Quote(new_total, ticket.quote.tariff_id, ticket.quote.items + (QuoteItem(f"Fee changed by {actor}: {reason.strip()}", new_total - old),), ticket.quote.notes)
            elif kind == "waive":
                new_total = Money.zero(self.currency)
                quote = Quote(new_total, ticket.quote.tariff_id, ticket.quote.items + (QuoteItem(f"Waived by {actor}: {reason.strip()}", -old),), ticket.quote.notes)
            elif kind == "validation":
                if not code.strip():
                    raise SiteError("type the validation code")
                if ticket.overrides:
                    raise SiteError("apply validations before changing the fee by hand")
                requote = self.pricing.quote(ticket.visit, ticket.exit_at, validations=(code.strip(),))
                debt_items = ticket.quote.items[len(ticket.quote.items) - len(ticket.debt_ids):] if ticket.debt_ids else ()
                debts = sum((i.amount for i in debt_items), Money.zero(self.currency))
                quote = Quote(requote.total + debts, requote.tariff_id, requote.items + debt_items, requote.notes)
                new_total = quote.total
            else:
                raise SiteError("override kind must be fee_change, waive or validation")
        except (MoneyError, QuoteError) as exc:
            raise SiteError(str(exc)) from None
        lowered = old - new_total
        limit = Money.parse(self.config.operations.override_pin_above, self.currency)
        approved_by = None
        if lowered > limit or (kind == "waive" and not old.is_zero and old > limit):
            if not manager.strip():
                raise SiteError(f"lowering a fee by more than {limit} needs a manager's name and PIN")
            approver = self.sign_in(manager, manager_pin)
            if approver.role is not Role.MANAGER:
                raise SiteError(f"{approver.name} is not a manager")
            approved_by = approver.name
        record = {"kind": kind, "quoted_minor": old.minor, "new_minor": new_total.minor, "reason": reason.strip(), "approved_by": approved_by, "code": code.strip() or None}
        updated = replace(ticket, quote=quote, overrides=ticket.overrides + (record,))
        with self._state_lock:
            self._tickets[ticket.id] = updated
        with self.store.transaction() as s:
            append_audit(s, at=self.clock.now(), actor=actor, action=f"override.{kind}.requested", subject=ticket.visit.id, detail=record)
        self._update_lane(ticket.lane_id, pending=updated, status=f"{ticket.visit.plate}: {updated.due} due (changed)")
        self._log("warning", f"{ticket.lane_id}: fee of {ticket.visit.plate} {kind} {old} -> {new_total} by {actor}" + (f", approved by {approved_by}" if approved_by else "") + f": {reason.strip()}")
        return updated

    def unpaid_exit(self, ticket_id: str, *, reason: str, actor: str) -> ExitSettled:
        """Let a vehicle leave without paying (card terminal down, no means): the amount is
        recorded as the plate's debt and comes up at its next exit."""
        ticket = self.ticket(ticket_id)
        if ticket is None:
            raise SiteError("this exit is no longer waiting")
        if not reason.strip():
            raise SiteError("give a reason for letting the vehicle leave unpaid")
        return self._settle(ticket, [], attendant=actor, reason="unpaid exit", new_debt=(ticket.due.minor, reason.strip()))

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

    def settle_remote_payments(self) -> int:
        """Let every waiting exit whose driver has meanwhile paid by phone leave (called
        after each pull from the cloud, and by the desk's check key). Returns how many left."""
        left = 0
        for ticket in self.pending_tickets():
            remote = self._remote_payment(ticket.visit.plate, ticket.due)
            if remote is None:
                continue
            try:
                self._settle(ticket, [NewPayment("mobile", ticket.due, reference=remote)], attendant="cloud", reason="paid remotely")
                left += 1
            except SiteError as exc:
                self._log("error", f"{ticket.lane_id}: phone payment for {ticket.visit.plate} not used: {exc}")
        return left

    def _remote_payment(self, plate: str, due: Money) -> str | None:
        """The id of an unused phone payment for `plate` that covers `due`, if any."""
        try:
            payments = lookup.remote_payments_for(self.store, plate)
        except StoreError:
            return None
        for payment in payments:
            if payment.currency == due.currency and payment.amount_minor >= due.minor:
                return payment.id
        return None

    # -- attendant operations (audited) -----------------------------------------------------
    def exit_with_unknown_entry(
        self,
        lane_id: str,
        raw_plate: str,
        *,
        actor: str,
        reason: str,
        entry_at: datetime | None = None,
        lost_ticket: bool = False,
    ) -> ExitTicket | None:
        """A vehicle at the exit with no visit: record its entry by hand, then quote.

        Either the driver states an entry time (`entry_at`, not in the future) or the
        lost-ticket fee applies. The manual entry is audited with `reason`.
        """
        now = self.clock.now()
        if lane_id not in self._lanes or self.lane(lane_id).direction != "exit":
            raise SiteError(f"{lane_id} is not an exit lane")
        if not reason.strip():
            raise SiteError("give a reason for the manual entry")
        if (entry_at is None) == (not lost_ticket):
            raise SiteError("choose either the lost-ticket fee or an entry time")
        try:
            plate = normalize_plate(raw_plate)
        except VisitError as exc:
            raise SiteError(str(exc)) from None
        if entry_at is not None:
            if entry_at.tzinfo is None:
                raise SiteError("entry time needs a time zone")
            if entry_at > now:
                raise SiteError("the entry time is in the future")
        at = entry_at or now
        note = f"{'lost ticket' if lost_ticket else 'entry time stated at exit'}: {reason.strip()}"
        try:
            self.store.record_entry(plate=plate, zone=self.lane(lane_id).zone, lane=lane_id, at=at, currency=self.currency, actor=actor, note=note)
        except AlreadyInside:
            pass  # a visit turned up meanwhile: price that one
        except StoreError as exc:
            raise SiteError(f"entry NOT recorded: {exc}") from None
        self._log("warning", f"{lane_id}: {plate} entry recorded by {actor} ({note})")
        return self.open_exit(lane_id, plate, now=now, lost_ticket=lost_ticket)

    def manual_gate(self, lane_id: str, action: str, *, reason: str, note: str = "", actor: str, snapshot: bytes | None = None) -> str:
        """Open or close a barrier by hand. The reason must come from the configured list
        ("other" needs a note). Recorded (and audited) before the barrier moves.

        Opening an exit where a vehicle waits with a fee lets it leave owing that fee.
        """
        if lane_id not in self.gates:
            raise SiteError(f"no lane {lane_id}")
        if action not in ("open", "close"):
            raise SiteError("action must be open or close")
        reasons = self.config.operations.manual_gate_reasons
        if reason not in reasons:
            raise SiteError(f"pick a reason from the list: {', '.join(reasons)}")
        if reason == "other" and not note.strip():
            raise SiteError('reason "other" needs a note')
        lane = self.lane(lane_id)
        now = self.clock.now()
        plate = lane.pending.visit.plate if lane.pending else (lane.last_plate if lane.vehicle_present else None)
        if snapshot is None and lane_id in self.lane_cameras:
            snapshot = self._lane_snapshot(lane_id)
        try:
            record = self.store.record_gate_action(
                lane=lane_id, action=action, reason=reason, note=note.strip(), actor=actor, at=now, plate=plate, snapshot=snapshot
            )
        except StoreError as exc:
            raise SiteError(f"not recorded, barrier not moved: {exc}") from None
        ticket = lane.pending
        if action == "open" and ticket is not None:
            try:
                self.store.close_visit(
                    visit_id=ticket.visit.id, exit_lane=lane_id, exit_at=ticket.exit_at, quote=ticket.quote, payments=[],
                    attendant=actor, idempotency_key=ticket.id, reason=f"manual open: {reason}", allow_unpaid=True,
                )
            except (VisitError, PaymentError, StoreError) as exc:
                self._log("error", f"{lane_id}: visit of {ticket.visit.plate} not closed: {exc}")
            else:
                with self._state_lock:
                    self._tickets.pop(ticket.id, None)
                self._update_lane(lane_id, pending=None)
                self._refresh_occupancy()
        gate = self.gates[lane_id]
        gate.open_barrier() if action == "open" else gate.close_barrier()
        self._update_lane(lane_id, status=f"manual {action}: {reason}")
        self._log("warning", f"{lane_id}: barrier {action}ed by {actor}: {reason}{' - ' + note if note else ''}")
        return record

    def _lane_snapshot(self, lane_id: str) -> bytes | None:
        """The lane camera's latest frame as a small JPEG; None when the camera has none
        (the barrier still moves: a missing picture must not block safety or emergencies)."""
        frame = self.lane_cameras[lane_id].latest()
        if frame is None:
            self._log("warning", f"{lane_id}: the lane camera has no picture; the manual move is recorded without one")
            return None
        try:
            return frame_jpeg(frame)
        except ValueError as exc:
            self._log("warning", f"{lane_id}: lane camera picture not kept: {exc}")
            return None

    def correct_occupancy(self, zone_id: str, count: int, *, reason: str, actor: str) -> None:
        """Set a zone's count to what the attendant sees, with a reason (audited)."""
        if zone_id not in {z.id for z in self.config.zones}:
            raise SiteError(f"no zone {zone_id}")
        capacity = self.config.zone(zone_id).capacity
        if count < 0 or count > capacity * 2:
            raise SiteError(f"a count of {count} is impossible for {capacity} spaces")
        if not reason.strip():
            raise SiteError("give a reason for the correction")
        current = self.store.occupancy_counts().get(zone_id, 0)
        try:
            self.store.adjust_occupancy(zone=zone_id, delta=count - current, reason=reason.strip(), actor=actor, at=self.clock.now())
        except VisitError as exc:
            raise SiteError(str(exc)) from None
        except StoreError as exc:
            raise SiteError(f"correction NOT recorded: {exc}") from None
        self._refresh_occupancy()
        self._log("warning", f"{zone_id}: count set from {current} to {count} by {actor}: {reason.strip()}")

    def stale_visits(self, zone_id: str) -> list[Visit]:
        """Open visits older than the configured limit, oldest first."""
        limit = self.clock.now() - timedelta(hours=self.config.operations.stale_visit_hours)
        return self.store.stale_visits(zone_id, limit)

    def close_stale(self, visit_ids: list[str], *, reason: str, actor: str) -> int:
        """Close visits of cars that left unseen, without a fee (audited)."""
        if not reason.strip():
            raise SiteError("give a reason for closing these visits")
        try:
            closed = self.store.close_stale(visit_ids=visit_ids, reason=reason.strip(), actor=actor, at=self.clock.now())
        except StoreError as exc:
            raise SiteError(f"NOT closed: {exc}") from None
        self._refresh_occupancy()
        self._log("warning", f"{closed} stale visits closed by {actor}: {reason.strip()}")
        return closed

    # -- receipts ---------------------------------------------------------------------------
    def recent_receipts(self, limit: int = 20) -> list[Receipt]:
        """The newest receipts and reports, newest first, with their print state."""
        with self.store.transaction() as s:
            return recent(s, limit)

    def reprint(self, number: int, *, actor: str) -> int:
        """Queue a copy of receipt `number`. The copy gets its own number (every printed
        document is numbered) and says which receipt it copies. Returns the new number."""
        now = self.clock.now()
        try:
            with self.store.transaction() as s:
                original = s.exec(
                    select(ReceiptRow).where(ReceiptRow.booth_id == self.config.site.booth_id, ReceiptRow.number == number)
                ).first()
                if original is None:
                    raise SiteError(f"no receipt {number}")
                content = {**json.loads(original.content), "copy_of": number}
                copy = add_receipt(s, booth_id=self.config.site.booth_id, kind="reprint", content=content, at=now, visit_id=original.visit_id, shift_id=original.shift_id)
                append_audit(s, at=now, actor=actor, action="receipt.reprint", subject=str(number), detail={"copy": copy.number})
        except StoreError as exc:
            raise SiteError(f"reprint NOT queued: {exc}") from None
        if self.print_queue is not None:
            self.print_queue.wake()
        self._log("info", f"receipt {number} reprinted as {copy.number} by {actor}")
        return copy.number

    # -- staff and shifts -------------------------------------------------------------------
    def needs_first_manager(self) -> bool:
        """True on a fresh installation: nobody can sign in yet."""
        with self.store.transaction() as s:
            return not staff.has_users(s)

    def add_user(self, name: str, role: Role, pin: str, *, actor: str) -> User:
        """Create an attendant or manager (audited)."""
        try:
            with self.store.transaction() as s:
                return staff.add_user(s, name=name, role=role, pin=pin, at=self.clock.now(), actor=actor)
        except StaffError as exc:
            raise SiteError(str(exc)) from None

    def sign_in(self, name: str, pin: str) -> User:
        """Check a user's PIN. Wrong PINs are counted (and lock the user) even though the
        sign-in fails, so the count is committed before the refusal is raised."""
        refusal: StaffError | None = None
        with self.store.transaction() as s:
            try:
                user = staff.verify_pin(s, name=name, pin=pin, now=self.clock.now())
            except StaffError as exc:
                refusal = exc
        if refusal is not None:
            self._log("warning", f"sign-in refused for {name.strip()!r}: {refusal}")
            raise SiteError(str(refusal))
        return user

    def _push_before_close(self) -> int | None:
        """Send what the cloud has not got yet before a shift closes (a few seconds at most);
        returns how many events are still unsent, or None when the site has no cloud."""
        sync = next((svc for svc in self.services if hasattr(svc, "flush")), None)
        if sync is None:
            return None
        sync.flush(5.0)
        return int(sync.status().backlog)

    def sync_status(self) -> Any:
        """The cloud link's status, or None when the site has no cloud."""
        sync = next((svc for svc in self.services if hasattr(svc, "flush")), None)
        return sync.status() if sync is not None else None

    def current_shift(self) -> Shift | None:
        with self.store.transaction() as s:
            return shifts.current_shift(s, self.config.site.booth_id)

    def open_shift(self, attendant: str, float_text: str) -> Shift:
        """Open the drawer with a counted float (audited)."""
        try:
            opening = Money.parse(float_text or "0", self.currency)
            with self.store.transaction() as s:
                shift = shifts.open_shift(s, booth_id=self.config.site.booth_id, attendant=attendant, opening_float=opening, at=self.clock.now())
        except (MoneyError, shifts.ShiftError) as exc:
            raise SiteError(str(exc)) from None
        self._log("info", f"shift opened by {attendant} with a float of {opening}")
        return shift

    def close_shift(self, counted_text: str, *, actor: str, note: str = "", hand_over_to: str | None = None) -> Shift:
        """Close the booth's shift with the drawer count ("50x2 20x5 1x3"). With
        `hand_over_to`, the next attendant's shift opens with the counted cash as its
        float in the same transaction, so the drawer never belongs to nobody."""
        if self.pending_tickets():
            lanes = ", ".join(sorted({t.lane_id for t in self.pending_tickets()}))
            raise SiteError(f"a vehicle is waiting at {lanes}: settle it before closing the shift")
        self.unsent_at_close = self._push_before_close()
        now = self.clock.now()
        try:
            counted = parse_count(counted_text, self.currency)
            with self.store.transaction() as s:
                current = shifts.current_shift(s, self.config.site.booth_id)
                if current is None:
                    raise shifts.ShiftError("no shift is open at this booth")
                closed = shifts.close_shift(s, shift_id=current.id, counted=counted, closed_by=actor, note=note, at=now)
                if hand_over_to:
                    shifts.open_shift(s, booth_id=self.config.site.booth_id, attendant=hand_over_to, opening_float=closed.counted_cash or Money.zero(self.currency), at=now)
        except (CountError, shifts.ShiftError) as exc:
            raise SiteError(str(exc)) from None
        diff = closed.difference
        if self.unsent_at_close:
            self._log("warning", f"{self.unsent_at_close} events of this shift are not in the cloud yet; they are kept and sent when the link is back")
        self._log("warning" if diff and not diff.is_zero else "info",
                  f"shift of {closed.attendant} closed by {actor}: expected {closed.expected_cash}, counted {closed.counted_cash}, difference {diff}"
                  + (f"; handed over to {hand_over_to}" if hand_over_to else ""))
        return closed

    def print_document(self, document: PrintDocument, *, kind: str, actor: str) -> int:
        """Queue a report (shift report...) on the receipt printer; returns its number."""
        now = self.clock.now()
        shift = self.current_shift()
        try:
            with self.store.transaction() as s:
                queued = add_receipt(s, booth_id=self.config.site.booth_id, kind=kind, content={"document": document.to_dict()}, at=now, shift_id=shift.id if shift else None)
                append_audit(s, at=now, actor=actor, action=f"print.{kind}", subject=str(queued.number), detail={})
        except StoreError as exc:
            raise SiteError(f"not queued for printing: {exc}") from None
        if self.print_queue is not None:
            self.print_queue.wake()
        return queued.number
