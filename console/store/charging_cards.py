"""Charging cards and what their holders may see: binding a card to an account, the piles
a landlord's card authorizes, and an account's own usage and what it owes.

Blocking a lost card and top-ups are `console.store.charging.block_card` / `top_up`. Every
change here is one transaction with its audit entry and its outbox event.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Iterable

from sqlalchemy import func, select, update
from sqlmodel import Session

from console.domain.charging import ChargingError
from console.domain.money import Money
from console.i18n import _
from console.store.audit import append_audit
from console.store.charging import AccountView, CardView, UsageRow, account, card, usage
from console.store.charging_tables import charge_card as C
from console.store.charging_tables import charge_session as S
from console.store.outbox import enqueue


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


def bind_card(db: Session, card_id: str, account_id: str, at: datetime, actor: str) -> CardView:
    """Issue a card (read from its QR) to an account: a landlord's account gets a landlord
    card (no piles yet), any other a tenant card. A card bound to another account, or
    blocked, is refused: a lost card never comes back by binding it again."""
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

