"""Vehicles leaving: finding the visit of a plate read at an exit, quoting it, letting
free stays, passes and phone payments through, and settling a waiting exit.

`settle` is the one place where an exit is written: the payments, the closed visit, the
receipt, the audit entry and the outbox events commit in one transaction, and only then
does the barrier open and the board change.
"""

from __future__ import annotations

import logging
from contextlib import contextmanager
from dataclasses import replace
from datetime import datetime
from typing import Any, Callable, Iterator, Mapping

from sqlmodel import Session

from console import formats
from console.domain.clock import Clock
from console.domain.money import Money
from console.domain.payments import ClosedVisit, NewPayment, PaymentMethod, RecordedPayment, check_drawer
from console.domain.plates import PlateError
from console.domain.quote import QuoteItem
from console.domain.visits import Visit
from console.i18n import N_, _
from console.site.board import LaneBoard
from console.site.bus import EventBus
from console.site.config import SiteConfig
from console.site.emergency import EmergencyJournal, exit_part, keep_in_journal
from console.site.errors import AlreadyLeft, LaneBusy, PlateNotFound, SettledElsewhere, SiteError, command, refusals
from console.site.events import ExitSettled, ExitTicket
from console.site.pricing import Membership, TariffPricing
from console.site.receipts import receipt_content
from console.store import cloud_copies, shifts, visits
from console.store.cloud_copies import RemotePayment
from console.store.database import Store
from console.store.engine import StoreError
from console.store.ids import new_id
from console.store.visits import AlreadyInside
from drivers.gate.base import GateDriver

log = logging.getLogger(__name__)

class _Unwritable(SiteError):
    """The settlement's transaction failed for the database (not a refusal): the caller
    may keep the exit in the emergency journal."""

    def __init__(self, error: StoreError) -> None:
        super().__init__(str(error))
        self.error = error


# How an exit was settled, as the lane panel says it (other reasons are plan or member names).
EXIT_REASONS = {
    "paid": N_("paid"), "free": N_("free"), "paid remotely": N_("paid by phone"), "unpaid exit": N_("unpaid exit"),
    "nothing due": N_("nothing due"),
}


def _covering(payments: list[RemotePayment], due: Money) -> str | None:
    """The id of the first phone payment that covers `due`, if any."""
    for payment in payments:
        if payment.currency == due.currency and payment.amount_minor >= due.minor:
            return payment.id
    return None


class ExitService:
    """Exit lookups, quotes and settlements for every exit lane of the booth."""

    def __init__(
        self,
        config: SiteConfig,
        store: Store,
        clock: Clock,
        board: LaneBoard,
        gates: Mapping[str, GateDriver],
        pricing: TariffPricing,
        bus: EventBus,
        *,
        receipts_queued: Callable[[], None] = lambda: None,
        emergency: EmergencyJournal | None = None,
    ) -> None:
        self.config = config
        self.store = store
        self.clock = clock
        self.board = board
        self.gates = gates
        self.pricing = pricing
        self.bus = bus
        self.currency = config.site.currency
        self.plates = config.site.plates
        self._receipts_queued = receipts_queued
        self.emergency = emergency  # decided exits go here while the database cannot be written
        self._differences_reported: set[tuple[str, str]] = set()  # (visit, remote payment)

    # -- members and phone payments (the cloud's copies, kept locally: work offline) --------------
    def member(self, plate: str, now: datetime, kinds: tuple[str, ...] | None = None) -> str | None:
        """The plate's membership, pass or whitelist entry valid now, limited to `kinds`
        when given; "kind name" for the log, or None."""
        try:
            found = [m for m in self.store.query(cloud_copies.members_for, plate, now) if kinds is None or m.kind in kinds]
        except StoreError:
            return None
        return f"{found[0].kind} {found[0].name}".strip() if found else None

    def remote_payment(self, plate: str, due: Money) -> str | None:
        """The id of an unused phone payment for `plate` that covers `due`, if any."""
        try:
            payments = self.store.query(cloud_copies.remote_payments_for, plate)
        except StoreError:
            return None
        return _covering(payments, due)

    # -- a plate at an exit ------------------------------------------------------------------
    @command(N_("cannot look up the plate"))
    def open_exit(
        self, lane_id: str, raw_plate: str, *, now: datetime | None = None, lost_ticket: bool = False, replace_waiting: bool = False,
        from_reader: bool = False,
    ) -> ExitTicket | None:
        """Find the plate's visit and quote its exit at `lane_id`.

        A stay within the free period, a pass, or a stay paid by phone leaves at once
        (returns None). Otherwise the lane waits with a ticket the attendant settles.
        Raises SiteError for an unknown plate (PlateNotFound, with near matches), a
        vehicle that has already left, or a lane that is not an exit. A plate typed by the
        attendant holds one ticket per lane: another vehicle's ticket waiting there raises
        LaneBusy, unless `replace_waiting` (the attendant confirmed), which drops it. A
        read of the lane's own reader (`from_reader`) queues behind what waits there.
        """
        now = now or self.clock.now()
        if not self.board.has_lane(lane_id, "exit"):
            raise SiteError(_("{lane_id} is not an exit lane").format(lane_id=lane_id))
        # One read transaction for everything the exit depends on (a consistent snapshot
        # that never takes the write lock); no query is sent twice.
        with self._noting_failure(), self.store.read() as tx:
            plate = self._exit_plate(tx, raw_plate)
            visit = visits.open_visit_for(tx, plate)
            last = visits.latest_visit_for(tx, plate) if visit is None else None
            unknown = visit is None and (last is None or last.exit_at is None)
            near = self.plates.near_matches(plate, visits.open_plates(tx)) if unknown else []
            debts = visits.open_debts(tx, plate) if visit is not None else []
            previous = visits.previous_visits_for(tx, plate, visit.entry_at) if visit is not None else []
            found = cloud_copies.members_for(tx, plate, now) if visit is not None else []
            phone = cloud_copies.remote_payments_for(tx, plate) if visit is not None else []
            memberships = [Membership(m.kind, m.name, m.plan) for m in found]
        if visit is None:
            if last is not None and last.exit_at is not None:
                local = last.exit_at.astimezone(self.config.site.tz)
                raise AlreadyLeft(_("{plate} already left at {time} on {day}: double exit").format(
                    plate=self.plates.display(plate), time=formats.clock(local), day=formats.day_month(local)), last)
            raise PlateNotFound(plate, tuple(m.plate for m in near if not m.exact))
        existing = self.board.ticket_for_visit(visit.id)
        if existing is not None:
            return existing  # reopening the exit keeps the same ticket (and idempotency key)
        if not from_reader:
            self._check_lane_free(lane_id, plate, replace_waiting=replace_waiting)
        try:
            facts = self.pricing.facts(visit, memberships, previous, lost_ticket=lost_ticket)
            quote = self.pricing.quote(visit, now, facts=facts)
        except ValueError as exc:  # QuoteError, or a time the calendar cannot hold
            raise SiteError(_("cannot price {plate}: {exc}").format(plate=self.plates.display(plate), exc=exc)) from None
        if debts:
            tz = self.config.site.tz
            extra = tuple(
                QuoteItem(_("Unpaid from {day} ({reason})").format(day=formats.day(at, tz), reason=reason), Money(amount, self.currency))
                for _debt, amount, at, reason in debts
            )
            quote = replace(quote, total=quote.total + Money(sum(d[1] for d in debts), self.currency), items=quote.items + extra)
            self.bus.report("warning", _("{lane_id}: {plate} owes {debts} earlier unpaid exit(s); added to the fee").format(lane_id=lane_id, plate=self.plates.display(plate), debts=len(debts)))
        ticket = ExitTicket(new_id(), lane_id, visit, now, quote, tuple(d[0] for d in debts), facts=facts)
        if self._leaves_by_itself(ticket, now, phone):
            if not from_reader:
                # The typed vehicle left: a ticket it replaced must not stay behind.
                self._dropped([t for t in (self.board.ticket_at_lane(lane_id),) if t is not None and self.board.release(t.id)], plate)
            return None
        ticket = self.with_phone_payments(ticket, phone)
        self._dropped(self.board.hold(ticket, status=_("{plate}: {due} due").format(plate=self.plates.display(plate), due=ticket.due), replacing=not from_reader), plate)
        return ticket

    @contextmanager
    def _noting_failure(self) -> Iterator[None]:
        """A database that cannot even be read puts the booth in emergency mode."""
        try:
            yield
        except StoreError as exc:
            if self.emergency is not None:
                self.emergency.note_failure(str(exc))
            raise

    def _check_lane_free(self, lane_id: str, plate: str, *, replace_waiting: bool) -> None:
        waiting = self.board.ticket_at_lane(lane_id)
        if waiting is not None and waiting.visit.plate != plate and not replace_waiting:
            raise LaneBusy(lane_id, waiting.visit.plate, str(waiting.due), plate)

    def _dropped(self, tickets: list[ExitTicket], plate: str) -> None:
        """Say which waiting tickets a new one at their lane replaced (their visits stay open)."""
        for old in tickets:
            self.bus.report("warning", _("{lane_id}: the ticket of {old} ({due}) is dropped, {plate} is at the lane now; {old} stays inside").format(
                lane_id=old.lane_id, old=self.plates.display(old.visit.plate), due=old.due, plate=self.plates.display(plate)))

    def _exit_plate(self, tx: Session, raw_plate: str) -> str:
        """The plate read or typed at an exit, normalized by the site's rules.

        A read no plate can have (an O where mainland plates only have 0) may still
        resemble an open visit's plate: offered to the attendant, never charged. One
        that equals an open plate exactly was stored under earlier rules and leaves.
        """
        try:
            return self.plates.normalize(raw_plate)
        except PlateError as exc:
            near = self.plates.near_matches(raw_plate, visits.open_plates(tx))
            if near and near[0].exact:
                return near[0].plate
            if near:
                raise PlateNotFound(exc.cleaned, tuple(m.plate for m in near)) from None
            raise

    def _leaves_by_itself(self, ticket: ExitTicket, now: datetime, phone: list[RemotePayment]) -> bool:
        """Plan-less passes and whitelisted plates, stays with nothing due (a member plan
        that covers the whole stay among them) and stays paid by phone leave without the
        attendant (with the network down too). `phone`: the plate's unused phone payments."""
        debts = ticket.debt_ids
        member = ticket.facts.free_pass
        if member is not None and not debts:
            quote = ticket.quote
            waived = replace(ticket, quote=replace(quote, total=Money.zero(self.currency), items=quote.items + (QuoteItem(_("{member}: no charge").format(member=member), -quote.total),)))
            self.settle(waived, [], attendant="lane", reason=member, journal=True)
            return True
        if ticket.due.is_zero:
            self.settle(ticket, [], attendant="lane", reason=ticket.facts.plan_label if ticket.facts.plan else "free", journal=True)
            return True
        remote = _covering(phone, ticket.due)
        if remote is not None:
            # The remote payment's id goes on the payment row, in the exit's own
            # transaction, so it can never be used twice.
            self.settle(ticket, [NewPayment("mobile", ticket.due, reference=remote)], attendant="cloud", reason="paid remotely", journal=True)
            return True
        if not debts and self._leave_within_exit_grace(ticket, now, phone):
            return True
        self.report_quote_difference(ticket, now, phone)
        return False

    def with_phone_payments(self, ticket: ExitTicket, payments: list[RemotePayment]) -> ExitTicket:
        """The ticket with the phone payments made during this stay that did not cover it
        (paid, then the exit grace ran out): the desk collects only the difference.
        `payments`: the plate's unused phone payments."""
        mine = tuple((p.id, p.amount_minor) for p in payments
                     if p.currency == self.currency and ticket.visit.entry_at <= p.paid_at <= ticket.exit_at)
        return replace(ticket, prepaid=mine) if mine else ticket

    def _with_prepaid(self, ticket: ExitTicket, payments: list[NewPayment]) -> list[NewPayment]:
        """The ticket's phone payments first (as far as the fee goes), then the desk's."""
        left = ticket.prepaid_minor
        taken: list[NewPayment] = []
        for payment_id, amount in ticket.prepaid:
            if left <= 0:
                break
            part = min(amount, left)
            taken.append(NewPayment("mobile", Money(part, self.currency), reference=payment_id))
            left -= part
        return [*taken, *payments]

    def report_quote_difference(self, ticket: ExitTicket, now: datetime, payments: list[RemotePayment]) -> None:
        """A phone payment that does not cover the booth's fee: the booth's quote wins at
        the gate (the vehicle waits for the desk); the difference is reported once per
        visit and payment, audited and sent to the cloud. `payments`: the plate's unused
        phone payments."""
        for payment in payments:
            key = (ticket.visit.id, payment.id)
            if payment.currency != ticket.due.currency or payment.amount_minor >= ticket.due.minor or key in self._differences_reported:
                continue
            try:
                # What the booth would have asked when the driver paid: a payment that
                # matched it and only ran out of exit grace is no difference.
                then = self.pricing.quote(ticket.visit, max(payment.paid_at, ticket.visit.entry_at))
            except ValueError:
                continue
            if then.total.minor == payment.amount_minor:
                continue
            self._differences_reported.add(key)
            paid = Money(payment.amount_minor, payment.currency)
            self.bus.report("warning", _("{lane_id}: {plate} paid {paid} by phone, the booth quoted {total} then: the booth's fee applies").format(lane_id=ticket.lane_id, plate=self.plates.display(ticket.visit.plate), paid=paid, total=then.total))
            try:
                with self.store.write() as tx:
                    cloud_copies.record_quote_difference(
                        tx, now, plate=ticket.visit.plate, visit_id=ticket.visit.id, payment_id=payment.id, paid_minor=payment.amount_minor,
                        due_minor=then.total.minor, currency=ticket.due.currency, tariff_id=ticket.quote.tariff_id,
                    )
            except StoreError as exc:
                log.warning("quote difference not recorded: %s", exc)

    def _leave_within_exit_grace(self, ticket: ExitTicket, now: datetime, payments: list[RemotePayment]) -> bool:
        """A driver who paid by phone before driving to the exit owes nothing more while
        within the tariff's exit grace after paying: the stay is settled at the fee as of
        the payment, with that payment. Returns True when the vehicle could leave."""
        for payment in reversed(payments):  # the latest payment first
            if payment.currency != self.currency or not ticket.visit.entry_at <= payment.paid_at <= now:
                continue
            try:
                after = self.pricing.quote(ticket.visit, now, facts=ticket.facts, paid_until=payment.paid_at)
                then = self.pricing.quote(ticket.visit, payment.paid_at, facts=ticket.facts)
            except ValueError:
                continue
            if not after.total.is_zero or payment.amount_minor < then.total.minor:
                continue
            tz = self.config.site.tz
            note = QuoteItem(_("Left within the exit grace of paying by phone at {time}").format(time=formats.clock(payment.paid_at, tz)),
                             Money.zero(self.currency))
            settled = replace(ticket, quote=replace(then, items=then.items + (note,)))
            self.settle(settled, [NewPayment("mobile", then.total, reference=payment.id)], attendant="cloud", reason="paid remotely")
            return True
        return False

    @command(N_("entry NOT recorded"))
    def exit_with_unknown_entry(
        self,
        lane_id: str,
        raw_plate: str,
        *,
        actor: str,
        reason: str,
        entry_at: datetime | None = None,
        lost_ticket: bool = False,
        replace_waiting: bool = False,
    ) -> ExitTicket | None:
        """A vehicle at the exit with no visit: record its entry by hand, then quote.

        Either the driver states an entry time (`entry_at`, not in the future) or the
        lost-ticket fee applies. The manual entry is audited with `reason`. Another
        vehicle's ticket waiting at the lane raises LaneBusy unless `replace_waiting`.
        """
        now = self.clock.now()
        if not self.board.has_lane(lane_id, "exit"):
            raise SiteError(_("{lane_id} is not an exit lane").format(lane_id=lane_id))
        if not reason.strip():
            raise SiteError(_("give a reason for the manual entry"))
        if (entry_at is None) == (not lost_ticket):
            raise SiteError(_("choose either the lost-ticket fee or an entry time"))
        plate = self.plates.normalize(raw_plate)
        if entry_at is not None:
            if entry_at.tzinfo is None:
                raise SiteError(_("entry time needs a time zone"))
            if entry_at > now:
                raise SiteError(_("the entry time is in the future"))
        self._check_lane_free(lane_id, plate, replace_waiting=replace_waiting)
        note = f"{'lost ticket' if lost_ticket else 'entry time stated at exit'}: {reason.strip()}"
        try:
            with self.store.write() as tx:
                visits.record_entry(
                    tx, plate=plate, zone=self.board.lane(lane_id).zone, lane=lane_id, at=entry_at or now,
                    currency=self.currency, actor=actor, note=note, booth_id=self.config.site.booth_id,
                )
        except AlreadyInside:
            pass  # a visit turned up meanwhile: price that one
        self.bus.report("warning", _("{lane_id}: {plate} entry recorded by {actor} ({note})").format(lane_id=lane_id, plate=self.plates.display(plate), actor=actor, note=note))
        ticket = self.open_exit(lane_id, plate, now=now, lost_ticket=lost_ticket, replace_waiting=replace_waiting)
        if ticket is None:
            return None
        # Recorded with the exit as an override, so the shift report counts lost tickets
        # and entry times typed by hand.
        record: dict[str, object] = {
            "kind": "lost_ticket" if lost_ticket else "entry_time",
            "quoted_minor": ticket.quote.total.minor,
            "new_minor": ticket.quote.total.minor,
            "reason": reason.strip(),
            "approved_by": None,
        }
        ticket = replace(ticket, overrides=ticket.overrides + (record,))
        self.board.hold(ticket)
        return ticket

    # -- settling ------------------------------------------------------------------------------
    def settle(
        self,
        ticket: ExitTicket,
        payments: list[NewPayment],
        *,
        attendant: str,
        reason: str,
        change: Money | None = None,
        change_left: int = 0,
        new_debt: tuple[int, str] | None = None,
        drawer_of: str | None = None,
        journal: bool = False,
        journal_now: bool = False,
    ) -> ExitSettled:
        """Record the exit (one transaction), then open the barrier and update the board.

        Idempotent by the ticket's id: a second call for a ticket already settled finds
        the first settlement and records nothing. Raises SiteError (nothing recorded,
        barrier closed) when the database refuses or cannot be written. With `drawer_of`
        (payments taken by a person at the desk) the booth's open shift must be that
        attendant's, checked in the settlement's own transaction.

        A decided exit (`journal`: free, member, paid by phone, or cash in hand the
        attendant chose to journal) that the database cannot take is kept in the
        emergency journal instead and leaves: the barrier opens, the merge settles the
        stay later. In emergency mode, and with `journal_now`, it goes to the journal
        without trying the database first.
        """
        payments = self._with_prepaid(ticket, payments) if ticket.prepaid else payments
        # A paid exit gets its receipt; an unpaid one the slip of what is owed and why.
        owed = (Money(new_debt[0], self.currency), new_debt[1]) if new_debt is not None else None
        receipt = receipt_content(self.config, ticket, payments, attendant=attendant, change=change, paid_at=self.clock.now(),
                                  owed=owed) if payments or owed is not None else None
        booth = self.config.site.booth_id
        emergency = self.emergency if journal and new_debt is None else None
        if emergency is not None and (journal_now or emergency.offline):
            return self._journaled(ticket, payments, emergency, emergency.offline_why or N_("kept in the journal at the attendant's word"),
                                   attendant=attendant, reason=reason, change=change, change_left=change_left, drawer_of=drawer_of)
        try:
            closed = self._close(ticket, payments, booth=booth, attendant=attendant, reason=reason, receipt=receipt,
                                 change_left=change_left, new_debt=new_debt, drawer_of=drawer_of, journal=emergency)
        except _Unwritable as failure:
            assert emergency is not None
            return self._journaled(ticket, payments, emergency, failure.error, attendant=attendant, reason=reason, change=change,
                                   change_left=change_left, drawer_of=drawer_of)
        except SettledElsewhere as exc:
            # Settled at another booth meanwhile: this one charges nothing, its ticket goes.
            self.board.release(ticket.id)
            self.board.update_lane(ticket.lane_id, status=str(exc))
            self.refresh_occupancy()
            self.bus.report("warning", _("{lane_id}: {exc}").format(lane_id=ticket.lane_id, exc=exc))
            raise
        if closed.receipt_number is not None:
            self._receipts_queued()
        was_waiting = self.board.release(ticket.id) is not None
        settled = ExitSettled(ticket, closed, change or Money.zero(self.currency))
        if closed.replayed and not was_waiting:
            return settled  # already handled by the first call
        # Effects only after the commit.
        self.board.expect_open(ticket.lane_id, ticket.visit.id, "exit")
        self.gates[ticket.lane_id].open_barrier()
        shown = _(EXIT_REASONS[reason]) if reason in EXIT_REASONS else reason  # a plan or member name as written
        self.board.update_lane(ticket.lane_id, status=_("{plate} left ({reason})").format(plate=self.plates.display(ticket.visit.plate), reason=shown))
        self.refresh_occupancy()
        paid = sum((p.amount for p in closed.payments), Money.zero(self.currency))
        self.bus.report("info", _("{lane_id}: {plate} left, fee {total}, paid {paid}").format(lane_id=ticket.lane_id, plate=self.plates.display(ticket.visit.plate), total=ticket.quote.total, paid=paid))
        self.bus.publish(settled)
        return settled

    def _close(
        self,
        ticket: ExitTicket,
        payments: list[NewPayment],
        *,
        booth: str,
        attendant: str,
        reason: str,
        receipt: dict[str, Any] | None,
        change_left: int,
        new_debt: tuple[int, str] | None,
        drawer_of: str | None = None,
        journal: EmergencyJournal | None = None,
    ) -> ClosedVisit:
        """The settlement's one transaction; SettledElsewhere when another booth (or an
        earlier settlement) closed the stay first; _Unwritable when the database cannot
        take it and `journal` may."""
        with refusals(N_("payment NOT recorded, gate stays closed")):
            try:
                with self.store.write() as tx:
                    shift = shifts.current_shift(tx, booth)
                    takes_cash = any(p.method == PaymentMethod.CASH.value for p in payments)
                    if drawer_of is not None and payments:
                        check_drawer(shift.attendant if shift else None, drawer_of, takes_cash=takes_cash)
                    elif shift is None and takes_cash:
                        raise SiteError(_("no shift is open at this booth: open one (with the float) before taking cash"))
                    return visits.close_visit(
                        tx,
                        visit_id=ticket.visit.id,
                        exit_lane=ticket.lane_id,
                        exit_at=ticket.exit_at,
                        quote=ticket.quote,
                        payments=payments,
                        attendant=attendant,
                        idempotency_key=ticket.id,
                        reason=reason,
                        receipt=receipt,
                        booth_id=booth,
                        shift_id=shift.id if shift else None,
                        settles_debts=ticket.debt_ids if payments else (),
                        new_debt=new_debt,
                        overrides=ticket.overrides,
                        change_left=change_left,
                        allow_unpaid=new_debt is not None,
                    )
            except visits.AlreadySettled as exc:
                raise SettledElsewhere(str(exc)) from None
            except StoreError as exc:
                if self.emergency is not None:
                    self.emergency.note_failure(str(exc))  # the desk may now offer to journal
                if journal is not None:
                    raise _Unwritable(exc) from exc
                raise
        raise AssertionError(_("refusals() never swallows an error"))  # for the type checker

    def _journaled(
        self, ticket: ExitTicket, payments: list[NewPayment], journal: EmergencyJournal, failure: StoreError | str, *, attendant: str, reason: str,
        change: Money | None, change_left: int, drawer_of: str | None,
    ) -> ExitSettled:
        """A decided exit the database cannot take: kept in the emergency journal (fsynced),
        then the barrier opens. The drawer is checked against the open shift when the
        database can still be read; the merge books the money into that shift."""
        with refusals(N_("exit NOT kept in the emergency journal, gate stays closed")):
            shift_id = None
            # SQLite reads never wait for a writer; a cut-off server would make this read
            # wait for the stall timeout, so in emergency mode it is not asked.
            if payments and (not journal.offline or self.store.dialect == "sqlite"):
                try:
                    shift = self.store.query(shifts.current_shift, self.config.site.booth_id)
                except StoreError:
                    shift = None  # cannot be read either: the merge finds the booth's shift
                else:
                    takes_cash = any(p.method == PaymentMethod.CASH.value for p in payments)
                    if drawer_of is not None:
                        check_drawer(shift.attendant if shift else None, drawer_of, takes_cash=takes_cash)
                shift_id = shift.id if shift is not None else None
            taken = sum(p.amount.minor for p in payments)
            part = exit_part(
                ticket_id=ticket.id, visit_id=ticket.visit.id, plate=ticket.visit.plate, lane=ticket.lane_id, exit_at=ticket.exit_at,
                fee=ticket.quote.total, tariff_id=ticket.quote.tariff_id, payments=payments, reason=reason,
                unpaid=taken < max(0, ticket.quote.total.minor - ticket.visit.paid_minor), shift_id=shift_id, debts=ticket.debt_ids,
                overrides=ticket.overrides, change_left=change_left,
            )
            line_id = keep_in_journal(journal, failure, {"at": self.clock.now().isoformat(), "actor": attendant, "exit": part})
        self.board.release(ticket.id)
        now = self.clock.now()
        recorded = tuple(RecordedPayment(f"{line_id}-{n}", p.method, p.amount, p.tendered, p.change, p.reference, attendant, now)
                         for n, p in enumerate(payments))
        closed = ClosedVisit(replace(ticket.visit, exit_at=ticket.exit_at, exit_lane=ticket.lane_id), recorded)
        settled = ExitSettled(ticket, closed, change or Money.zero(self.currency), journaled=True)
        self.gates[ticket.lane_id].open_barrier()
        shown = _(EXIT_REASONS[reason]) if reason in EXIT_REASONS else reason
        self.board.update_lane(ticket.lane_id, status=_("{plate} left ({reason}); EMERGENCY: kept in the local journal").format(
            plate=self.plates.display(ticket.visit.plate), reason=shown))
        self.bus.report("warning", _("{lane_id}: EMERGENCY MODE, {plate} left ({reason}, paid {paid}); kept in the local journal until the database takes it").format(
            lane_id=ticket.lane_id, plate=self.plates.display(ticket.visit.plate), reason=shown, paid=Money(taken, self.currency)))
        self.bus.publish(settled)
        return settled

    def settle_remote_payments(self) -> int:
        """Let every waiting exit whose driver has meanwhile paid by phone leave (called
        after each pull from the cloud, and by the desk's check key). Returns how many left."""
        left = 0
        for ticket in self.board.pending_tickets():
            remote = self.remote_payment(ticket.visit.plate, ticket.due)
            if remote is None:
                continue
            try:
                self.settle(ticket, [NewPayment("mobile", ticket.due, reference=remote)], attendant="cloud", reason="paid remotely")
                left += 1
            except SiteError as exc:
                self.bus.report("error", _("{lane_id}: phone payment for {plate} not used: {exc}").format(lane_id=ticket.lane_id, plate=self.plates.display(ticket.visit.plate), exc=exc))
        return left

    def refresh_occupancy(self) -> None:
        """Read the zones' counts from the database onto the board."""
        try:
            counts = self.store.query(visits.occupancy_counts)
        except StoreError as exc:
            log.warning("occupancy not refreshed: %s", exc)
            return
        self.board.set_counts(counts)

    def visit(self, visit_id: str) -> Visit | None:
        """A visit by id (for screens and receipts)."""
        return self.store.query(visits.get_visit, visit_id)
