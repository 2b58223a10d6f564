"""Charging cards in the cloud as the booths report them, what proves a card's holder on a
phone, and what a postpaid account owes.

The booth sends each card's facts up through its outbox: issued or bound (its account and
kind), blocked, a landlord card's piles, its PIN's argon2id hash (`charging.card_pin`;
the PIN itself never leaves the booth's keyboard) and the hash of a one-time bind code it
printed (`charging.bind_code`). A phone that is not signed in as the card's owner proves
holding the card with its PIN (or, to bind a new card, with the printed code). Wrong
attempts are counted per typed card number, whether or not such a card exists, and lock
like the booth's staff PINs; every answer reads the same for a card that does not exist,
one without a PIN and a wrong PIN.

What a postpaid account owes is booked entry by entry (`cloud_charge_ledger`): each
closed postpaid session's bill as the booth booked it, minus each payment the booth
recorded (`charging.owed_paid`); one entry per booth event, so a repeated event counts
once and the sum equals the booth's `owed` for the same account.
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from typing import Any, Sequence

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import func, insert, select, update
from sqlalchemy.engine import Connection

from console.domain.staff import MAX_FAILED_ATTEMPTS, lockout_after
from console.i18n import N_, _
from console.sync.server import accounts
from console.sync.server import db as cdb

# The booth's parameters (console/store/charging_cards.py); only used to spend the same
# time on a card number that has no hash, so the answer's delay tells nothing.
_HASHER = PasswordHasher(time_cost=2, memory_cost=19 * 1024, parallelism=1)
_NOBODY = _HASHER.hash("no such card")

WRONG_PROOF = N_("That card number and PIN (or code) do not go together. Check both and try again.")
LOCKED = N_("Too many wrong tries for this card number: try again in {minutes} min.")
DEVICE_LOCKED = N_("Too many wrong tries from this device: try again in {minutes} min.")
# Wrong PINs or codes one client may type in an hour over all card numbers: a lock per
# number alone would let one phone try a common PIN on number after number.
CLIENT_WRONG_PER_HOUR = 30

CARD_ISSUED, CARD_BOUND, CARD_BLOCKED = "charging.card_issued", "charging.card_bound", "charging.card_blocked"
CARD_PIN, BIND_CODE, PILES = "charging.card_pin", "charging.bind_code", "charging.piles_authorized"
OWED_PAID, SESSION_CLOSED, CHANGE_ANSWERED = "charging.owed_paid", "charging.session_closed", "charging.change_answered"


# -- events from the booth (lenient: an old booth's event without a field still books) ------------
class _Card(BaseModel):
    model_config = ConfigDict(extra="ignore")

    subject: str = Field(min_length=1, max_length=64)


class CardIn(_Card):
    """`charging.card_issued` / `card_bound`: the card and its account."""

    account: str = Field(default="", max_length=64)
    kind: str = Field(default="tenant", max_length=16)
    piles: list[str] = Field(default_factory=list, max_length=200)


class BlockedIn(_Card):
    """`charging.card_blocked`."""


class PinIn(_Card):
    """`charging.card_pin`: the card's PIN hash."""

    account: str = Field(default="", max_length=64)
    pin_hash: str = Field(min_length=10, max_length=200)


class BindCodeIn(_Card):
    """`charging.bind_code`: a printed code's hash for binding the new card `subject`."""

    account: str = Field(min_length=1, max_length=64)
    code_hash: str = Field(min_length=10, max_length=200)
    expires_at: datetime


class PilesIn(_Card):
    """`charging.piles_authorized`: the landlord card's piles now."""

    piles: list[str] = Field(default_factory=list, max_length=200)


class PaidIn(_Card):
    """`charging.owed_paid`: a payment of what the account (subject) owes."""

    amount_minor: int = Field(ge=0, le=10**12)
    currency: str = Field(default="", max_length=3)


class AnsweredIn(_Card):
    """`charging.change_answered`: the booth's outcome of a card or pile change (subject:
    the request)."""

    ok: bool = False
    error: str = Field(default="", max_length=2000)
    account: str = Field(default="", max_length=64)
    piles: list[str] = Field(default_factory=list, max_length=200)


PROJECTED: dict[str, type[BaseModel]] = {
    CARD_ISSUED: CardIn, CARD_BOUND: CardIn, CARD_BLOCKED: BlockedIn, CARD_PIN: PinIn, BIND_CODE: BindCodeIn, PILES: PilesIn,
    OWED_PAID: PaidIn, CHANGE_ANSWERED: AnsweredIn,
}


def _card(conn: Connection, site_id: str, card: str, at: datetime, **values: Any) -> None:
    c = cdb.charge_card.c
    done = conn.execute(update(cdb.charge_card).where(c.site_id == site_id, c.card == card).values(updated_at=at, **values))
    if not done.rowcount:
        conn.execute(insert(cdb.charge_card).values(site_id=site_id, card=card, updated_at=at, **values))


def book(conn: Connection, site_id: str, events: Sequence[tuple[Any, BaseModel | None]], at: datetime) -> None:
    """Book the cards' facts, the owed ledger and the answers to changes, in event order."""
    for ev, x in events:
        if isinstance(x, CardIn):
            _card(conn, site_id, x.subject, at, account=x.account, kind=x.kind or "tenant", state="active", piles=",".join(x.piles))
        elif isinstance(x, BlockedIn):
            _card(conn, site_id, x.subject, at, state="blocked")
        elif isinstance(x, PinIn):
            _card(conn, site_id, x.subject, at, pin_hash=x.pin_hash, **({"account": x.account} if x.account else {}))
        elif isinstance(x, BindCodeIn):
            b = cdb.bind_code.c
            conn.execute(cdb.bind_code.delete().where(b.site_id == site_id, b.card == x.subject))
            conn.execute(insert(cdb.bind_code).values(site_id=site_id, card=x.subject, account=x.account, code_hash=x.code_hash,
                                                      expires_at=x.expires_at))
        elif isinstance(x, PilesIn):
            _card(conn, site_id, x.subject, at, piles=",".join(x.piles))
        elif isinstance(x, PaidIn):
            if x.amount_minor:
                conn.execute(insert(cdb.charge_ledger).values(site_id=site_id, entry_id=ev.id, account=x.subject, card=None, kind="payment",
                                                              amount_minor=-x.amount_minor, currency=x.currency or _currency(conn, site_id),
                                                              at=ev.occurred_at))
        elif isinstance(x, AnsweredIn):
            _answered(conn, site_id, x, at)
        elif ev.type == SESSION_CLOSED:
            _bill(conn, site_id, ev, at)


def rebook(conn: Connection) -> int:
    """Book the charging facts of events stored before this cloud projected them (a cloud
    upgraded with booths' events already held): done once, while it has no cards and no
    ledger yet; each event is booked as if it had just arrived. Returns how many."""
    if conn.execute(select(cdb.charge_card.c.card).limit(1)).first() or conn.execute(select(cdb.charge_ledger.c.entry_id).limit(1)).first():
        return 0
    from console.sync import protocol as p

    e = cdb.event.c
    rows = conn.execute(select(cdb.event).where(e.type.in_([*PROJECTED, SESSION_CLOSED])).order_by(e.site_id, e.occurred_at, e.event_id)).mappings().all()
    booked = 0
    for row in rows:
        try:
            ev = p.EventIn(id=row["event_id"], type=row["type"], occurred_at=row["occurred_at"], payload=json.loads(row["payload"]))
            model = PROJECTED.get(ev.type)
            projected = model.model_validate(ev.payload) if model is not None else None
        except ValueError:
            continue  # what could not be read then cannot now
        if projected is None and ev.type != SESSION_CLOSED:
            continue
        book(conn, row["site_id"], [(ev, projected)], row["received_at"])
        booked += 1
    return booked


def _currency(conn: Connection, site_id: str) -> str:
    return str(conn.execute(select(cdb.site.c.currency).where(cdb.site.c.site_id == site_id)).scalar() or "EUR")


def _bill(conn: Connection, site_id: str, ev: Any, at: datetime) -> None:
    """A closed session's bill adds to its account's owed when it was postpaid."""
    body = ev.payload
    mode, account, card = body.get("mode"), body.get("account"), body.get("card")
    if mode is None or account is None:
        # A booth of before the close named them: the session's start says them.
        e = cdb.event.c
        start = conn.execute(select(e.payload).where(e.site_id == site_id, e.type == "charging.session_started")
                             .where(e.payload.like(f'%"subject":{json.dumps(str(body.get("subject", "")))}%'))).scalar()
        begun = json.loads(start) if start else {}
        mode, account, card = mode or begun.get("mode"), account or begun.get("account"), card or begun.get("card")
    bill = int(body.get("bill_minor") or 0)
    if mode != "postpaid" or not account or bill <= 0:
        return
    conn.execute(insert(cdb.charge_ledger).values(site_id=site_id, entry_id=ev.id, account=str(account)[:64], card=(str(card)[:64] if card else None),
                                                  kind="bill", amount_minor=bill, currency=str(body.get("currency") or _currency(conn, site_id))[:3],
                                                  at=ev.occurred_at))


def owed(conn: Connection, site_id: str, account: str) -> int:
    """What the account owes (minor units): booked postpaid bills minus payments."""
    led = cdb.charge_ledger.c
    return int(conn.execute(select(func.coalesce(func.sum(led.amount_minor), 0)).where(led.site_id == site_id, led.account == account)).scalar_one())


def account_billed(conn: Connection, site_id: str, card: str) -> str | None:
    """The account a card's postpaid bills went to (for a card whose facts never came up)."""
    led = cdb.charge_ledger.c
    return conn.execute(select(led.account).where(led.site_id == site_id, led.card == card).limit(1)).scalar()


def card_row(conn: Connection, site_id: str, card: str) -> dict[str, Any] | None:
    c = cdb.charge_card.c
    row = conn.execute(select(cdb.charge_card).where(c.site_id == site_id, c.card == card)).mappings().first()
    return dict(row) if row is not None else None


def _answered(conn: Connection, site_id: str, x: AnsweredIn, at: datetime) -> None:
    r = cdb.card_change.c
    row = conn.execute(select(cdb.card_change).where(r.site_id == site_id, r.request_id == x.subject, r.state == "queued")).mappings().first()
    if row is None:
        return
    state = "done" if x.ok else "refused"
    conn.execute(update(cdb.card_change).where(r.request_id == x.subject).values(state=state, detail=(x.error or ",".join(x.piles))[:300], updated_at=at))
    if x.ok and row["kind"] == "charging.bind_card":
        # The card is the person's from now on: it shows on their pages, charges without a PIN.
        g = cdb.grant.c
        known = conn.execute(select(g.seq).where(g.person == row["person"], g.kind == "card", g.site_id == site_id, g.ref == row["card"])).first()
        if known is None:
            conn.execute(insert(cdb.grant).values(person=row["person"], kind="card", site_id=site_id, ref=row["card"]))
    accounts.audit(conn, at, row["person"], row["kind"], site_id=site_id, subject=row["card"], outcome=state, detail=x.error[:300])


# -- proving a card's holder -----------------------------------------------------------------------
def _verify(secret_hash: str | None, secret: str) -> bool:
    try:
        if secret_hash is None:
            _HASHER.verify(_NOBODY, secret + "\x00")  # the same time as a real check
            return False
        return bool(_HASHER.verify(secret_hash, secret))
    except (VerificationError, InvalidHashError):
        return False


def _locked(until: datetime | None, at: datetime) -> str | None:
    if until is not None and at < until:
        minutes = max(1, -int(-(until - at).total_seconds() // 60))  # rounded up
        return _(LOCKED).format(minutes=minutes)
    return None


def check_proof(conn: Connection, site_id: str, card: str, secret: str, at: datetime, *, person: str, client: str,
                kind: str = "pin") -> str | None:
    """Does `secret` prove holding `card` — its PIN (`kind` "pin"), or the code the booth
    printed for binding it (`kind` "code", unused and unexpired)? None when it does; else
    the refusal for the page. Every try is audited and a wrong one counted (the caller
    commits even on a refusal)."""
    a = cdb.card_attempt.c
    where = (a.site_id == site_id) & (a.card == card)
    found = conn.execute(select(cdb.card_attempt).where(where)).mappings().first()
    tries: dict[str, Any] = dict(found) if found is not None else {"failed": 0, "lockouts": 0, "locked_until": None}
    if found is None:
        conn.execute(insert(cdb.card_attempt).values(site_id=site_id, card=card, failed=0, lockouts=0))
    action = "charging.card_pin" if kind == "pin" else "charging.bind_code"
    paused = _locked(tries["locked_until"], at) or _client_paused(conn, client, at)
    if paused:
        _verify(None, secret)
        accounts.audit(conn, at, person, action, site_id=site_id, subject=card, outcome="locked", client=client)
        return paused
    if kind == "pin":
        row = card_row(conn, site_id, card)
        ok = _verify(row["pin_hash"] if row is not None else None, secret)
    else:
        b = cdb.bind_code.c
        code = conn.execute(select(cdb.bind_code).where(b.site_id == site_id, b.card == card)).mappings().first()
        usable = code is not None and code["used_at"] is None and code["expires_at"] > at
        ok = _verify(code["code_hash"] if usable and code is not None else None, secret)
    if ok:
        conn.execute(update(cdb.card_attempt).where(where).values(failed=0, lockouts=0, locked_until=None))
        accounts.audit(conn, at, person, action, site_id=site_id, subject=card, outcome="ok", client=client)
        return None
    failed, lockouts, until = tries["failed"] + 1, tries["lockouts"], tries["locked_until"]
    if failed >= MAX_FAILED_ATTEMPTS:
        lockouts, failed, until = lockouts + 1, 0, at + lockout_after(lockouts + 1)
    conn.execute(update(cdb.card_attempt).where(where).values(failed=failed, lockouts=lockouts, locked_until=until))
    accounts.audit(conn, at, person, action, site_id=site_id, subject=card, outcome="refused", client=client,
                   detail="locked" if failed == 0 else f"{failed} wrong")
    return _(WRONG_PROOF)


def _client_paused(conn: Connection, client: str, at: datetime) -> str | None:
    """The refusal while one client has typed too many wrong PINs or codes this hour."""
    au = cdb.person_audit.c
    since = at - timedelta(hours=1)
    q = (select(au.at).where(au.client == client, au.outcome == "refused", au.action.in_(("charging.card_pin", "charging.bind_code")),
                             au.at > since).order_by(au.at.desc()).limit(CLIENT_WRONG_PER_HOUR))
    wrong = conn.execute(q).scalars().all()
    if len(wrong) < CLIENT_WRONG_PER_HOUR:
        return None
    minutes = max(1, -int(-(wrong[-1] + timedelta(hours=1) - at).total_seconds() // 60))
    return _(DEVICE_LOCKED).format(minutes=minutes)


def use_code(conn: Connection, site_id: str, card: str, at: datetime) -> None:
    """A bind code that proved its card is used up here (the booth uses its own up too)."""
    b = cdb.bind_code.c
    conn.execute(update(cdb.bind_code).where(b.site_id == site_id, b.card == card).values(used_at=at))


def unlock(conn: Connection, site_id: str, card: str, at: datetime, actor: str) -> bool:
    """Clear a card number's wrong tries and its lock (`booth cloud admin unlock-card`),
    audited. False when it had none."""
    a = cdb.card_attempt.c
    done = conn.execute(update(cdb.card_attempt).where(a.site_id == site_id, a.card == card, (a.failed > 0) | a.locked_until.is_not(None))
                        .values(failed=0, lockouts=0, locked_until=None))
    accounts.audit(conn, at, actor, "charging.card_unlocked", site_id=site_id, subject=card, outcome="ok" if done.rowcount else "none")
    return bool(done.rowcount)
