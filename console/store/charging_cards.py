"""Charging cards and what their holders may see: binding a card to an account, the piles
a landlord's card authorizes, and an account's own usage and what it owes.

Blocking a lost card and top-ups are `console.store.charging.block_card` / `top_up`. Every
change here is one transaction with its audit entry and its outbox event.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Iterable

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import func, select, update
from sqlmodel import Session

from console.domain.charging import ChargingError
from console.domain.money import Money
from console.i18n import _
from console.store.audit import append_audit
from console.store.charging import AccountView, CardView, UsageRow, account, card, usage
from console.store.charging_tables import charge_account as A
from console.store.charging_tables import charge_bind_code as BC
from console.store.charging_tables import charge_card as C
from console.store.charging_tables import charge_ledger as L
from console.store.charging_tables import charge_session as S
from console.store.ids import new_id
from console.store.outbox import enqueue

# The staff PINs' argon2id parameters (console/store/staff.py); each hash has its own salt.
_HASHER = PasswordHasher(time_cost=2, memory_cost=19 * 1024, parallelism=1)
PIN_EVENT = "charging.card_pin"
BIND_CODE_EVENT = "charging.bind_code"
BIND_CODE_HOURS = 72


@dataclass(frozen=True, slots=True)
class SessionLine:
    """One session of an account, as its holder sees it."""

    id: str
    pile_id: str
    port: int
    card_id: str | None
    state: str
    started_at: datetime
    ended_at: datetime | None
    energy_wh: int
    fee: Money


@dataclass(frozen=True, slots=True)
class AccountUsage:
    """An account with its cards, its sessions (newest first) and its totals per pile."""

    account: AccountView
    cards: tuple[CardView, ...]
    sessions: tuple[SessionLine, ...]
    by_pile: tuple[UsageRow, ...]

    @property
    def energy_wh(self) -> int:
        return sum(r.energy_wh for r in self.by_pile)


def _change(db: Session, at: datetime, action: str, subject: str, actor: str, detail: dict[str, object]) -> None:
    append_audit(db, at=at, actor=actor, action=action, subject=subject, detail=detail)
    enqueue(db, type=action, occurred_at=at, payload={"subject": subject, **detail})


def hash_secret(secret: str) -> str:
    """The argon2id hash of a card's PIN or a bind code (a fresh salt each time). Slow on
    purpose: computed before the write transaction, not inside it."""
    return _HASHER.hash(secret)


def verify_secret(secret_hash: str, secret: str) -> bool:
    """Does `secret` match a hash made by `hash_secret`?"""
    try:
        return bool(_HASHER.verify(secret_hash, secret))
    except (VerificationError, InvalidHashError):
        return False


def set_pin(db: Session, card_id: str, pin_hash: str, at: datetime, actor: str) -> None:
    """Give a card its PIN (or a new one). Only the hash is kept; it goes to the cloud,
    which checks the PIN a phone types (the audit says a PIN was set, never the hash)."""
    known = card(db, card_id)
    if known is None:
        raise ChargingError(_("unknown card {card_id}").format(card_id=card_id))
    if known.state != "active":
        raise ChargingError(_("card {card_id} is blocked").format(card_id=card_id))
    db.execute(update(C).where(C.c.card_id == card_id).values(pin_hash=pin_hash))
    append_audit(db, at=at, actor=actor, action="charging.card_pin_set", subject=card_id, detail={"account": known.account_id})
    enqueue(db, type=PIN_EVENT, occurred_at=at, payload={"subject": card_id, "account": known.account_id, "pin_hash": pin_hash})


def has_pin(db: Session, card_id: str) -> bool:
    return db.execute(select(C.c.pin_hash).where(C.c.card_id == card_id)).scalar() is not None


def issue_bind_code(db: Session, card_id: str, account_id: str, code_hash: str, at: datetime, actor: str,
                    *, hours: int = BIND_CODE_HOURS) -> datetime:
    """Keep a one-time code (its hash) that lets the holder of the new card `card_id` bind
    it to `account_id` from the cloud within `hours`; a newer code replaces an unused one.
    Returns when it expires. The card must not be bound yet."""
    acc = account(db, account_id)
    if acc is None:
        raise ChargingError(_("unknown account {account_id}").format(account_id=account_id))
    known = card(db, card_id)
    if known is not None:
        if known.state != "active":
            raise ChargingError(_("card {card_id} is blocked").format(card_id=card_id))
        raise ChargingError(_("card {card_id} is already bound to {account_id}").format(card_id=card_id, account_id=known.account_id))
    if not 1 <= hours <= 24 * 30:
        raise ChargingError(_("a bind code lasts 1 to 720 hours"))
    expires = at + timedelta(hours=hours)
    db.execute(BC.delete().where(BC.c.card_id == card_id))
    db.execute(BC.insert().values(card_id=card_id, account_id=account_id, code_hash=code_hash, issued_at=at, expires_at=expires))
    append_audit(db, at=at, actor=actor, action="charging.bind_code_issued", subject=card_id,
                 detail={"account": account_id, "expires_at": expires.isoformat()})
    enqueue(db, type=BIND_CODE_EVENT, occurred_at=at, payload={"subject": card_id, "account": account_id, "code_hash": code_hash,
                                                                "expires_at": expires.isoformat()})
    return expires


def bind_by_code(db: Session, card_id: str, at: datetime, actor: str) -> CardView:
    """Bind a new card to the account its printed code names (the cloud checked the code
    its holder typed); the code is used up. Refused when no unused, unexpired code is
    waiting for this card."""
    row = db.execute(select(BC).where(BC.c.card_id == card_id)).first()
    if row is None or row.used_at is not None or row.expires_at <= at:
        raise ChargingError(_("no bind code is waiting for card {card_id}").format(card_id=card_id))
    bound = bind_card(db, card_id, row.account_id, at, actor)
    db.execute(update(BC).where(BC.c.card_id == card_id).values(used_at=at))
    return bound


def claim_card(db: Session, card_id: str, at: datetime, actor: str) -> CardView:
    """A person of the cloud proved a card is theirs with its PIN: recorded here (audited)
    so the booth knows who follows the card; the card must be active."""
    known = card(db, card_id)
    if known is None:
        raise ChargingError(_("unknown card {card_id}").format(card_id=card_id))
    if known.state != "active":
        raise ChargingError(_("card {card_id} is blocked").format(card_id=card_id))
    _change(db, at, "charging.card_claimed", card_id, actor, {"account": known.account_id})
    return known


def pay_owed(db: Session, account_id: str, amount: Money, at: datetime, actor: str) -> Money:
    """Record a payment of what a postpaid account owes (never more than it owes).
    Returns what it owes afterwards."""
    acc = account(db, account_id)
    if acc is None:
        raise ChargingError(_("unknown account {account_id}").format(account_id=account_id))
    if amount.currency != acc.owed.currency or amount.minor <= 0:
        raise ChargingError(_("a payment must be more than zero, in {value}").format(value=acc.owed.currency))
    if amount.minor > acc.owed.minor:
        raise ChargingError(_("account {account_id} owes only {owed}").format(account_id=account_id, owed=acc.owed))
    db.execute(update(A).where(A.c.id == account_id).values(owed_minor=A.c.owed_minor - amount.minor))
    db.execute(L.insert().values(id=new_id(), account_id=account_id, at=at, kind="payment", amount_minor=amount.minor, currency=amount.currency))
    owed = Money(acc.owed.minor - amount.minor, amount.currency)
    _change(db, at, "charging.owed_paid", account_id, actor, {"amount_minor": amount.minor, "owed_minor": owed.minor, "currency": amount.currency})
    return owed


def new_bind_code() -> str:
    """A fresh random bind code (8 digits), shown once and printed for the card's holder."""
    from console.domain.charging_cards import BIND_CODE_DIGITS

    return "".join(secrets.choice("0123456789") for _x in range(BIND_CODE_DIGITS))


def bind_card(db: Session, card_id: str, account_id: str, at: datetime, actor: str, pin_hash: str | None = None) -> CardView:
    """Issue a card (read from its QR) to an account: a landlord's account gets a landlord
    card (no piles yet), any other a tenant card. A card bound to another account, or
    blocked, is refused: a lost card never comes back by binding it again. With
    `pin_hash` the card gets its PIN in the same transaction."""
    acc = account(db, account_id)
    if acc is None:
        raise ChargingError(_("unknown account {account_id}").format(account_id=account_id))
    known = card(db, card_id)
    if known is not None:
        if known.state != "active":
            raise ChargingError(_("card {card_id} is blocked").format(card_id=card_id))
        if known.account_id != account_id:
            raise ChargingError(_("card {card_id} belongs to another account").format(card_id=card_id))
        raise ChargingError(_("card {card_id} is already bound to {account_id}").format(card_id=card_id, account_id=account_id))
    kind = "landlord" if acc.kind == "landlord" else "tenant"
    db.execute(C.insert().values(card_id=card_id, account_id=account_id, kind=kind, state="active", piles=""))
    _change(db, at, "charging.card_bound", card_id, actor, {"account": account_id, "kind": kind})
    if pin_hash is not None:
        set_pin(db, card_id, pin_hash, at, actor)
    bound = card(db, card_id)
    assert bound is not None
    return bound


def authorize_piles(db: Session, card_id: str, piles: Iterable[str], at: datetime, actor: str, *, remove: bool = False) -> CardView:
    """Add (or with `remove`, take away) piles a landlord's card authorizes."""
    known = card(db, card_id)
    if known is None:
        raise ChargingError(_("unknown card {card_id}").format(card_id=card_id))
    if known.kind != "landlord":
        raise ChargingError(_("only a landlord card authorizes piles"))
    asked = [p.strip() for p in piles if p.strip()]
    if not asked:
        raise ChargingError(_("name at least one pile"))
    now = [p for p in known.piles if p not in asked] if remove else list(dict.fromkeys([*known.piles, *asked]))
    db.execute(update(C).where(C.c.card_id == card_id).values(piles=",".join(now)))
    _change(db, at, "charging.piles_authorized", card_id, actor, {"piles": now, "removed" if remove else "added": asked})
    changed = card(db, card_id)
    assert changed is not None
    return changed


def cards_of(db: Session, account_id: str) -> list[CardView]:
    """The cards of one account, blocked ones too."""
    ids = db.execute(select(C.c.card_id).where(C.c.account_id == account_id).order_by(C.c.card_id)).scalars().all()
    return [c for c in (card(db, i) for i in ids) if c is not None]


def account_usage(db: Session, account_id: str, *, limit: int = 50) -> AccountUsage:
    """What an account's holder may see of it: balance, what it owes, its cards, its own
    sessions and its totals per pile (nobody else's)."""
    acc = account(db, account_id)
    if acc is None:
        raise ChargingError(_("unknown account {account_id}").format(account_id=account_id))
    rows = db.execute(select(S).where(S.c.account_id == account_id).order_by(S.c.started_at.desc()).limit(limit)).all()
    lines = tuple(SessionLine(r.id, r.pile_id, r.port, r.card_id, r.state, r.started_at, r.ended_at, int(r.energy_wh),
                              Money(int(r.bill_minor if r.bill_minor is not None else r.fee_minor), r.currency)) for r in rows)
    return AccountUsage(acc, tuple(cards_of(db, account_id)), lines, tuple(_usage_of(db, account_id)))


def _usage_of(db: Session, account_id: str) -> list[UsageRow]:
    # `usage()` groups every account's sessions per pile; a holder sees only their own.
    q = (select(S.c.franchise, S.c.pile_id, func.count(), func.sum(S.c.energy_wh), func.sum(S.c.bill_minor))
         .where(S.c.account_id == account_id, S.c.state == "closed")
         .group_by(S.c.franchise, S.c.pile_id).order_by(S.c.franchise, S.c.pile_id))
    return [UsageRow(f, k, int(n), int(e or 0), int(b or 0)) for f, k, n, e, b in db.execute(q).all()]


def landlord_usage(db: Session, card_id: str) -> list[UsageRow]:
    """Usage of the piles a landlord's card authorizes (every user's sessions on them)."""
    known = card(db, card_id)
    if known is None or known.kind != "landlord":
        raise ChargingError(_("only a landlord card sees pile usage"))
    return usage(db, "pile", piles=known.piles) if known.piles else []


def account_of_card(db: Session, card_id: str) -> str:
    """The account a card belongs to. Raises ChargingError for an unknown card."""
    known = card(db, card_id)
    if known is None:
        raise ChargingError(_("unknown card {card_id}").format(card_id=card_id))
    return known.account_id

