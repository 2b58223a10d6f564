"""What the site asks of the cloud's data while it runs: the active tariff, whether a
plate is a member, an account, and "has plate X paid remotely?".

These read only the booth's own database, so they answer the same with or without a
network.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import and_, exists, or_, select

from console.store.booth_store import BoothStore
from console.store.tables import PaymentRow
from console.sync.protocol import plate_key
from console.sync.tables import CloudAccountRow, CloudMemberRow, CloudTariffRow, RemotePaymentRow

# Record a remote payment at the exit as a payment with this method and the remote
# payment's id as its `reference`; that is what marks it used (see remote_payments_for).
REMOTE_PAYMENT_METHOD = "mobile"

_TARIFF = CloudTariffRow.__table__  # type: ignore[attr-defined]
_MEMBER = CloudMemberRow.__table__  # type: ignore[attr-defined]
_ACCOUNT = CloudAccountRow.__table__  # type: ignore[attr-defined]
_REMOTE = RemotePaymentRow.__table__  # type: ignore[attr-defined]
_PAYMENT = PaymentRow.__table__  # type: ignore[attr-defined]


@dataclass(frozen=True, slots=True)
class CloudTariff:
    version: str
    text: str
    received_at: datetime


@dataclass(frozen=True, slots=True)
class Member:
    plate: str
    kind: str  # member / pass / whitelist
    name: str
    account_id: str | None
    valid_from: datetime | None
    valid_until: datetime | None


@dataclass(frozen=True, slots=True)
class Account:
    id: str
    name: str
    active: bool
    credit_limit_minor: int | None
    currency: str


@dataclass(frozen=True, slots=True)
class RemotePayment:
    id: str
    plate: str
    amount_minor: int
    currency: str
    paid_at: datetime
    reference: str


def active_tariff(store: BoothStore) -> CloudTariff | None:
    """The tariff the cloud sent last that passed validation, if any."""
    with store.transaction() as s:
        row = s.execute(select(_TARIFF).where(_TARIFF.c.state == "active")).first()
    return CloudTariff(row.version, row.text, row.received_at) if row else None


def members_for(store: BoothStore, plate: str, at: datetime) -> list[Member]:
    """The plate's memberships, passes and whitelist entries valid at `at`."""
    try:
        key = plate_key(plate)
    except ValueError:
        return []
    query = select(_MEMBER).where(
        _MEMBER.c.plate == key,
        or_(_MEMBER.c.valid_from.is_(None), _MEMBER.c.valid_from <= at),
        or_(_MEMBER.c.valid_until.is_(None), _MEMBER.c.valid_until > at),
    )
    with store.transaction() as s:
        rows = s.execute(query.order_by(_MEMBER.c.id)).all()
    return [Member(r.plate, r.kind, r.name, r.account_id, r.valid_from, r.valid_until) for r in rows]


def account(store: BoothStore, account_id: str) -> Account | None:
    """A customer account by id."""
    with store.transaction() as s:
        r = s.execute(select(_ACCOUNT).where(_ACCOUNT.c.id == account_id)).first()
    return Account(r.id, r.name, bool(r.active), r.credit_limit_minor, r.currency) if r else None


def remote_payments_for(store: BoothStore, plate: str) -> list[RemotePayment]:
    """Remote payments for `plate` not yet used at an exit, oldest first.

    A remote payment is used once a payment row of this booth carries its id as
    `reference`: that row is written in the exit's own transaction, so using a remote
    payment and closing the visit can never come apart.
    """
    try:
        key = plate_key(plate)
    except ValueError:
        return []
    used = exists().where(and_(_PAYMENT.c.reference == _REMOTE.c.id, _PAYMENT.c.method == REMOTE_PAYMENT_METHOD))
    query = select(_REMOTE).where(_REMOTE.c.plate == key, ~used).order_by(_REMOTE.c.paid_at, _REMOTE.c.id)
    with store.transaction() as s:
        rows = s.execute(query).all()
    return [RemotePayment(r.id, r.plate, r.amount_minor, r.currency, r.paid_at, r.reference) for r in rows]
