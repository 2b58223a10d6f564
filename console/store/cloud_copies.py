"""The booth's copies of what the cloud owns: the active tariff, members / passes /
whitelist, customer accounts, remote (phone) payments, and where each pull left off.

The site reads them while it runs (so it answers the same with or without a network);
the sync pull replaces them with the cloud's versions. Every function works inside the
caller's transaction.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from typing import Any, Iterable

from sqlalchemy import and_, bindparam, delete, exists, insert, or_, select, update
from sqlmodel import Session

from console.domain.plates import PlateError, PlateRules
from console.store.audit import append_audit
from console.store.cloud_tables import (
    CloudAccountRow,
    CloudMemberRow,
    CloudTariffRow,
    RemotePaymentRow,
    SyncStateRow,
)
from console.store.database import affected
from console.store.outbox import enqueue
from console.store.prepared import Prepared
from console.store.tables import PaymentRow
from console.store.types import table_of

# A remote payment used at an exit is recorded as a payment with this method and the
# remote payment's id as its `reference`; that is what marks it used.
REMOTE_PAYMENT_METHOD = "mobile"
ACTOR = "cloud"

_STATE = table_of(SyncStateRow)
_TARIFF = table_of(CloudTariffRow)
_MEMBER = table_of(CloudMemberRow)
_ACCOUNT = table_of(CloudAccountRow)
_REMOTE = table_of(RemotePaymentRow)
_PAYMENT = table_of(PaymentRow)


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
    plan: str | None = None  # the tariff plan it is billed by


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


@dataclass(frozen=True, slots=True)
class PullState:
    """Where one pulled document stands on this booth."""

    name: str
    etag: str | None = None
    cursor: str | None = None
    version: str | None = None
    applied_at: datetime | None = None
    error: str | None = None


# The cloud's copies hold plates in canonical form, whatever region they are from.
_ANY_PLATE = PlateRules.every_region()


@lru_cache(maxsize=4096)
def _plate(plate: str) -> str | None:
    try:
        return _ANY_PLATE.normalize(plate)
    except PlateError:
        return None


# -- reads -------------------------------------------------------------------------------
def active_tariff(db: Session) -> CloudTariff | None:
    """The tariff the cloud sent last that passed validation, if any."""
    row = db.execute(select(_TARIFF).where(_TARIFF.c.state == "active")).first()
    return CloudTariff(row.version, row.text, row.received_at) if row else None


_MEMBERS_FOR = Prepared(select(_MEMBER).where(
    _MEMBER.c.plate == bindparam("plate"),
    or_(_MEMBER.c.valid_from.is_(None), _MEMBER.c.valid_from <= bindparam("at", type_=_MEMBER.c.valid_from.type)),
    or_(_MEMBER.c.valid_until.is_(None), _MEMBER.c.valid_until > bindparam("at", type_=_MEMBER.c.valid_until.type)),
).order_by(_MEMBER.c.id))


def members_for(db: Session, plate: str, at: datetime) -> list[Member]:
    """The plate's memberships, passes and whitelist entries valid at `at`."""
    key = _plate(plate)
    if key is None:
        return []
    rows = _MEMBERS_FOR.all(db, plate=key, at=at)
    return [Member(r.plate, r.kind, r.name, r.account_id, r.valid_from, r.valid_until, r.plan) for r in rows]


def account(db: Session, account_id: str) -> Account | None:
    """A customer account by id."""
    r = db.execute(select(_ACCOUNT).where(_ACCOUNT.c.id == account_id)).first()
    return Account(r.id, r.name, bool(r.active), r.credit_limit_minor, r.currency) if r else None


# Built once: the exit lane asks it for every plate it reads.
_USED = exists().where(and_(_PAYMENT.c.reference == _REMOTE.c.id, _PAYMENT.c.method == REMOTE_PAYMENT_METHOD))
_REMOTE_FOR = Prepared(select(_REMOTE).where(_REMOTE.c.plate == bindparam("plate"), ~_USED).order_by(_REMOTE.c.paid_at, _REMOTE.c.id))


def remote_payments_for(db: Session, plate: str) -> list[RemotePayment]:
    """Remote payments for `plate` not yet used at an exit, oldest first.

    A remote payment is used once a payment row carries its id as `reference`: that row
    is written in the exit's own transaction, so using a remote payment and closing the
    visit can never come apart.
    """
    key = _plate(plate)
    if key is None:
        return []
    rows = _REMOTE_FOR.all(db, plate=key)
    return [RemotePayment(r.id, r.plate, r.amount_minor, r.currency, r.paid_at, r.reference) for r in rows]


def pull_states(db: Session) -> dict[str, PullState]:
    """Every pulled document's ETag/cursor and the version applied."""
    rows = db.execute(select(_STATE)).all()
    return {r.name: PullState(r.name, r.etag, r.cursor, r.version, r.applied_at, r.error) for r in rows}


# -- writes (the sync pull) ----------------------------------------------------------------
def save_pull_state(db: Session, name: str, **values: Any) -> None:
    """Remember where the pull of `name` stands (ETag, cursor, version, refusal)."""
    done = db.execute(update(_STATE).where(_STATE.c.name == name).values(**values))
    if not affected(done):
        db.execute(insert(_STATE).values(name=name, **values))


def record_config_change(db: Session, now: datetime, action: str, kind: str, detail: dict[str, Any]) -> None:
    """Audit a configuration change from the cloud and tell the cloud what the site uses."""
    append_audit(db, at=now, actor=ACTOR, action=action, subject=kind, detail=detail)
    enqueue(db, type=action, occurred_at=now, payload={"kind": kind, **detail})


def record_quote_difference(db: Session, now: datetime, *, plate: str, visit_id: str, payment_id: str, paid_minor: int, due_minor: int, currency: str,
                            tariff_id: str) -> None:
    """A phone payment (the cloud's quote) that does not cover the booth's quote: the
    booth's quote applies at the gate; the difference is audited and sent to the cloud
    (`quote.differs`)."""
    detail = {"plate": plate, "visit_id": visit_id, "payment_id": payment_id, "paid_minor": paid_minor, "due_minor": due_minor,
              "difference_minor": due_minor - paid_minor, "currency": currency, "tariff_id": tariff_id}
    append_audit(db, at=now, actor=ACTOR, action="quote.differs", subject=visit_id, detail=detail)
    enqueue(db, type="quote.differs", occurred_at=now, payload=detail)


def active_tariff_version(db: Session) -> tuple[str, str] | None:
    """(version, text) of the active cloud tariff."""
    row = db.execute(select(_TARIFF.c.version, _TARIFF.c.text).where(_TARIFF.c.state == "active")).first()
    return (row.version, row.text) if row else None


def store_tariff(db: Session, version: str, text: str, state: str, now: datetime, error: str | None, *, replace_active: bool) -> None:
    """Keep a tariff document as `state` (active / refused). With `replace_active` the
    active one is superseded first."""
    if replace_active:
        db.execute(update(_TARIFF).where(_TARIFF.c.state == "active").values(state="superseded"))
    values = {"text": text, "state": state, "received_at": now, "error": error}
    existing = db.execute(select(_TARIFF.c.state).where(_TARIFF.c.version == version)).first()
    if existing is None:
        db.execute(insert(_TARIFF).values(version=version, **values))
    elif existing.state != "active" or replace_active:
        db.execute(update(_TARIFF).where(_TARIFF.c.version == version).values(**values))
    # A refused copy of the active version's number never demotes the active one.


def replace_members(db: Session, rows: list[dict[str, Any]]) -> None:
    """Replace the whole member / pass / whitelist list."""
    db.execute(delete(_MEMBER))
    if rows:
        db.execute(insert(_MEMBER), rows)


def replace_accounts(db: Session, rows: list[dict[str, Any]]) -> None:
    """Replace the whole account list."""
    db.execute(delete(_ACCOUNT))
    if rows:
        db.execute(insert(_ACCOUNT), rows)


def add_remote_payments(db: Session, payments: Iterable[dict[str, Any]]) -> int:
    """Store remote payments not known yet (by id). Returns how many were new."""
    payments = list(payments)
    ids = [rp["id"] for rp in payments]
    known = set(db.execute(select(_REMOTE.c.id).where(_REMOTE.c.id.in_(ids))).scalars()) if ids else set()
    fresh = [rp for rp in payments if rp["id"] not in known]
    if fresh:
        db.execute(insert(_REMOTE), fresh)
    return len(fresh)
