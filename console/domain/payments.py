"""Taking money: cash with change, and the checks that keep a payment honest."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import Enum

from console.domain.errors import DomainError
from console.domain.money import Money
from console.domain.visits import Visit
from console.i18n import _


class PaymentError(DomainError):
    """A payment that must not be recorded, with a message for the attendant."""


class PaymentMethod(str, Enum):
    CASH = "cash"
    CARD = "card"
    MOBILE = "mobile"
    ACCOUNT = "account"


@dataclass(frozen=True, slots=True)
class CashOutcome:
    """What happens at the drawer: the fee taken, what was handed over, the change."""

    amount: Money
    tendered: Money
    change: Money


def settle_cash(due: Money, tendered: Money) -> CashOutcome:
    """Check a cash tender against the amount due and work out the change."""
    if tendered.currency != due.currency:
        raise PaymentError(_("tendered {currency}, fee is in {currency2}").format(currency=tendered.currency, currency2=due.currency))
    if tendered.is_negative:
        raise PaymentError(_("tendered amount cannot be negative"))
    if due.is_negative:
        raise PaymentError(_("the amount due is negative; correct the fee first"))
    if tendered.minor < due.minor:
        short = due - tendered
        raise PaymentError(_("tendered {tendered} is {short} short of {due}").format(tendered=tendered, short=short, due=due))
    return CashOutcome(amount=due, tendered=tendered, change=tendered - due)


@dataclass(frozen=True, slots=True)
class NewPayment:
    """A payment to record with an exit."""

    method: str
    amount: Money
    tendered: Money | None = None
    change: Money | None = None
    reference: str | None = None


@dataclass(frozen=True, slots=True)
class RecordedPayment:
    """A payment as it was stored."""

    id: str
    method: str
    amount: Money
    tendered: Money | None
    change: Money | None
    reference: str | None
    attendant: str
    created_at: datetime


@dataclass(frozen=True, slots=True)
class ClosedVisit:
    """A visit closed at exit with the payments taken for it."""

    visit: Visit
    payments: tuple[RecordedPayment, ...]
    replayed: bool = False  # True when a repeated request found the earlier result
    receipt_number: int | None = None


def fee_reduction_needs_manager(quoted: Money, new_total: Money, limit: Money) -> bool:
    """Whether a fee change at the desk needs a manager's PIN.

    The limit holds for the visit's whole reduction against the fee first quoted, not for
    each change: four changes of 5.00 off a 20.00 fee lower it by 20.00 in all."""
    return (quoted - new_total) > limit


def check_drawer(shift_attendant: str | None, attendant: str, *, takes_cash: bool) -> None:
    """A payment taken at the desk goes into the drawer of the attendant taking it: the
    booth's open shift must be theirs. Raises PaymentError otherwise (nothing recorded)."""
    if shift_attendant is None:
        if takes_cash:
            raise PaymentError(_("no shift is open at this booth: open one (with the float) before taking cash"))
        return
    if shift_attendant != attendant:
        raise PaymentError(
            _("the drawer belongs to the shift of {owner}, not {attendant}: close that shift or have it handed over (F10) before taking payments")
            .format(owner=shift_attendant, attendant=attendant)
        )
