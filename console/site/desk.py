"""Taking the fee at the exit desk: split payments, card and account, overrides with a
manager's PIN, unpaid exits recorded as debts."""

from __future__ import annotations

import re
from dataclasses import replace

from console.domain.errors import DomainError
from console.domain.money import Money
from console.domain.payments import NewPayment, fee_reduction_needs_manager, settle_cash
from console.domain.quote import QuoteItem
from console.domain.staff import Role
from console.i18n import N_, _
from console.site.errors import SiteError, command
from console.site.events import ExitSettled, ExitTicket
from console.site.exits import ExitService
from console.site.staff import StaffService
from console.site.tender import CASH_NEEDED, Tender
from console.store import cloud_copies
from console.store.audit import append_audit

_APPROVAL_CODE = re.compile(r"[A-Z0-9]{4,12}")

# A refused part, said per method (a whole sentence translates better than a pieced one).
PART_REFUSED = {
    "card": N_("card part refused: {why}. {remaining} can still be paid in cash or another way"),
    "account": N_("account part refused: {why}. {remaining} can still be paid in cash or another way"),
}


class ExitDesk:
    """The money side of a waiting exit."""

    def __init__(self, exits: ExitService, staff: StaffService) -> None:
        self.exits = exits
        self.staff = staff
        self.config = exits.config
        self.store = exits.store
        self.board = exits.board
        self.currency = exits.currency

    @property
    def in_emergency(self) -> bool:
        """The database failed a write and has not taken one since: the desk offers to
        open and journal a payment in hand (`pay_and_journal`)."""
        journal = self.exits.emergency
        return journal is not None and journal.offline

    def _waiting(self, ticket_id: str, message: str = "this exit is no longer waiting") -> ExitTicket:
        ticket = self.board.ticket(ticket_id)
        if ticket is None:
            raise SiteError(message)
        return ticket

    def pay_cash(self, ticket_id: str, tendered_text: str, *, attendant: str, change_left: bool = False) -> ExitSettled:
        """Take cash for a waiting exit. Validates the tender, commits, then opens the gate.

        Raises SiteError (nothing recorded) for a bad amount or an unknown ticket. A second
        call for a ticket already paid finds the first payment and records nothing.
        """
        return self.pay(ticket_id, [Tender("cash", "", tendered_text)], attendant=attendant, change_left=change_left)

    def _part_amount(self, tender: Tender, remaining: Money) -> Money:
        """The amount of one part (empty: all that is still due), checked against it."""
        method = tender.method
        if method not in ("cash", "card", "account", "mobile"):
            raise SiteError(_("unknown payment method {method!r}").format(method=method))
        amount = Money.parse(tender.amount_text, self.currency) if tender.amount_text.strip() else remaining
        if amount.is_negative or amount.is_zero:
            raise SiteError(_("the {method} amount must be more than zero").format(method=method))
        if amount > remaining:
            raise SiteError(_("{method} {amount} is more than the {remaining} still due").format(method=method, amount=amount, remaining=remaining))
        return amount

    @command(N_("part NOT taken"))
    def check_part(self, ticket_id: str, parts: list[Tender], part: Tender) -> Money:
        """Check a card or account part before it joins a split payment (nothing is
        recorded yet): its amount, the card's approval code, the account. Returns what is
        still due after `parts` and `part`. A refused part raises SiteError saying what
        is still payable; the parts taken so far stay as they were."""
        ticket = self._waiting(ticket_id)
        remaining = ticket.due
        for earlier in parts:
            remaining = remaining - self._part_amount(earlier, remaining)
        if part.method not in ("card", "account"):
            raise SiteError(_("a part is paid by card or account; the rest is cash"))
        try:
            amount = self._part_amount(part, remaining)
            self._payment(part, amount)
        except (SiteError, DomainError) as exc:
            raise SiteError(_(PART_REFUSED[part.method]).format(why=_(str(exc)), remaining=remaining)) from None
        return remaining - amount

    @command(N_("payment NOT recorded, gate stays closed"))
    def pay(self, ticket_id: str, tenders: list[Tender], *, attendant: str, change_left: bool = False) -> ExitSettled:
        """Take the fee in one or several methods (split payment), then open the gate.

        A tender with no amount takes what is still due. Cash needs the amount handed over
        (never assumed) and may be above its part (the change is worked out); a card needs
        the terminal's approval code; an account must exist, be active and allow the
        amount. The payments go into `attendant`'s drawer: the booth's open shift must be
        theirs. With `change_left` the driver leaves the change: it goes into the drawer
        as such, not into the cash difference.
        """
        return self._pay(ticket_id, tenders, attendant=attendant, change_left=change_left)

    @command(N_("exit NOT kept in the emergency journal, gate stays closed"))
    def pay_and_journal(self, ticket_id: str, tenders: list[Tender], *, attendant: str, change_left: bool = False) -> ExitSettled:
        """Cash (or a card payment) in hand while the database cannot be written: the
        payment is checked as `pay` checks it, kept in the emergency journal (fsynced),
        and the gate opens; the journal's merge books it into the drawer once the
        database is back (a stay settled elsewhere meanwhile becomes a conflict for the
        manager, never a second payment). Refused when the booth has no journal."""
        if self.exits.emergency is None:
            raise SiteError(_("this booth has no emergency journal"))
        return self._pay(ticket_id, tenders, attendant=attendant, change_left=change_left, journal_now=True)

    def _pay(self, ticket_id: str, tenders: list[Tender], *, attendant: str, change_left: bool, journal_now: bool = False) -> ExitSettled:
        ticket = self._waiting(ticket_id, "this exit is no longer waiting (already paid or cancelled)")
        due = ticket.due
        if due.is_zero:  # waived or validated to nothing: the vehicle simply leaves
            return self.exits.settle(ticket, [], attendant=attendant, reason="nothing due", journal=journal_now, journal_now=journal_now)
        if not tenders:
            raise SiteError(_("no payment given"))
        payments: list[NewPayment] = []
        change = Money.zero(self.currency)
        remaining = due
        for tender in tenders:
            method = tender.method
            amount = self._part_amount(tender, remaining)
            if journal_now and method == "account":
                raise SiteError(_("an account payment needs the database; take cash or card"))
            payments.append(self._payment(tender, amount))
            if method == "cash":
                change = change + (payments[-1].change or Money.zero(self.currency))
            remaining = remaining - amount
        if not remaining.is_zero:
            raise SiteError(_("{remaining} is still due: add another payment").format(remaining=remaining))
        if change_left and change.is_zero:
            raise SiteError(_("there is no change to leave"))
        return self.exits.settle(
            ticket, payments, attendant=attendant, reason="paid", drawer_of=attendant,
            change=Money.zero(self.currency) if change_left else change, change_left=change.minor if change_left else 0,
            journal=journal_now, journal_now=journal_now,
        )

    def _payment(self, tender: Tender, amount: Money) -> NewPayment:
        """One part of a payment, checked (SiteError or a domain error when it cannot be taken)."""
        if tender.method == "cash":
            if not tender.tendered_text.strip():
                raise SiteError(_(CASH_NEEDED))
            tendered = Money.parse(tender.tendered_text, self.currency)
            outcome = settle_cash(amount, tendered)
            return NewPayment("cash", amount, outcome.tendered, outcome.change)
        if tender.method == "card":
            code = tender.reference.strip().upper()
            if not _APPROVAL_CODE.fullmatch(code):
                raise SiteError(_("a card payment needs the terminal's approval code (4-12 letters or digits)"))
            return NewPayment("card", amount, reference=code)
        if tender.method == "account":
            found = self.store.query(cloud_copies.account, tender.reference.strip())
            if found is None or not found.active:
                raise SiteError(_("no active account {value!r}").format(value=tender.reference.strip()))
            if found.currency != self.currency:
                raise SiteError(_("account {id} is in {currency}").format(id=found.id, currency=found.currency))
            if found.credit_limit_minor is not None and amount.minor > found.credit_limit_minor:
                raise SiteError(_("{amount} is above the account's limit of {credit_limit_minor}").format(amount=amount, credit_limit_minor=Money(found.credit_limit_minor, self.currency)))
            return NewPayment("account", amount, reference=found.id)
        raise SiteError(_("phone payments come from the cloud by themselves; use another method here"))

    @command(N_("fee NOT changed"))
    def override(
        self, ticket_id: str, kind: str, *, reason: str, actor: str, new_amount_text: str = "", code: str = "",
        manager: str = "", manager_pin: str = "",
    ) -> ExitTicket:
        """Change a waiting exit's fee: `fee_change` (to a new amount), `waive` (to zero) or
        `validation` (a merchant code the tariff knows). Always with a reason; lowering the
        fee by more than the site's limit needs a manager's name and PIN. The override is
        audited now and recorded with the exit when it is settled; the waiting ticket
        changes only once the audit entry is committed."""
        ticket = self._waiting(ticket_id)
        if not reason.strip():
            raise SiteError(_("give a reason for changing the fee"))
        old = ticket.quote.total
        if kind == "fee_change":
            new_total = Money.parse(new_amount_text, self.currency)
            if new_total.is_negative:
                raise SiteError(_("a fee cannot be negative"))
            quote = replace(ticket.quote, total=new_total, items=ticket.quote.items + (QuoteItem(_("Fee changed by {actor}: {reason}").format(actor=actor, reason=reason.strip()), new_total - old),))
        elif kind == "waive":
            new_total = Money.zero(self.currency)
            quote = replace(ticket.quote, total=new_total, items=ticket.quote.items + (QuoteItem(_("Waived by {actor}: {reason}").format(actor=actor, reason=reason.strip()), -old),))
        elif kind == "validation":
            if not code.strip():
                raise SiteError(_("type the validation code"))
            if ticket.overrides:
                raise SiteError(_("apply validations before changing the fee by hand"))
            requote = self.exits.pricing.quote(ticket.visit, ticket.exit_at, facts=ticket.facts, validations=(code.strip(),))
            debt_items = ticket.quote.items[len(ticket.quote.items) - len(ticket.debt_ids):] if ticket.debt_ids else ()
            debts = sum((i.amount for i in debt_items), Money.zero(self.currency))
            quote = replace(requote, total=requote.total + debts, items=requote.items + debt_items)
            new_total = quote.total
        else:
            raise SiteError(_("override kind must be fee_change, waive or validation"))
        # The limit is on the visit's whole reduction against its first quote, so small
        # steps cannot add up to a waiver nobody approved.
        quoted = ticket.quoted_total
        limit = Money.parse(self.config.operations.override_pin_above, self.currency)
        approved_by = None
        if fee_reduction_needs_manager(quoted, new_total, limit):
            if not manager.strip():
                raise SiteError(
                    _("this lowers the fee by {lowered} in all (quoted {quoted}); more than {limit} needs a manager's name and PIN")
                    .format(lowered=quoted - new_total, quoted=quoted, limit=limit)
                )
            approver = self.staff.sign_in(manager, manager_pin)
            if approver.role is not Role.MANAGER:
                raise SiteError(_("{name} is not a manager").format(name=approver.name))
            approved_by = approver.name
        record: dict[str, object] = {
            "kind": kind, "quoted_minor": old.minor, "new_minor": new_total.minor, "reason": reason.strip(),
            "approved_by": approved_by, "code": code.strip() or None,
        }
        with self.store.write() as tx:
            append_audit(tx, at=self.exits.clock.now(), actor=actor, action=f"override.{kind}.requested", subject=ticket.visit.id, detail=record)
        updated = replace(ticket, quote=quote, overrides=ticket.overrides + (record,))
        self.board.hold(updated, status=_("{plate}: {due} due (changed)").format(plate=self.config.site.plates.display(ticket.visit.plate), due=updated.due))
        self.exits.bus.report(
            "warning",
            f"{ticket.lane_id}: fee of {ticket.visit.plate} {kind} {old} -> {new_total} by {actor}"
            + (f", approved by {approved_by}" if approved_by else "") + f": {reason.strip()}",
        )
        return updated

    @command(N_("unpaid exit NOT recorded, gate stays closed"))
    def unpaid_exit(self, ticket_id: str, *, reason: str, actor: str) -> ExitSettled:
        """Let a vehicle leave without paying (card terminal down, no means): the amount is
        recorded as the plate's debt and comes up at its next exit."""
        ticket = self._waiting(ticket_id)
        if not reason.strip():
            raise SiteError(_("give a reason for letting the vehicle leave unpaid"))
        return self.exits.settle(ticket, [], attendant=actor, reason="unpaid exit", new_debt=(ticket.due.minor, reason.strip()))

    def settle_remote_payments(self) -> int:
        """Let waiting exits whose drivers paid by phone leave (the desk's check key)."""
        return self.exits.settle_remote_payments()
