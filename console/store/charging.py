"""Durable records of charging: accounts and cards, sessions and their money, faults and
maintenance, anomalies, and the analytics the manager reads.

Every state change (session opened or closed, fault raised, record closed, card blocked,
top-up, anomaly) is one transaction with its audit entry and its outbox event. Meter
progress of an open session is saved without an audit entry: it is not a decision, and
the close that settles the money is audited with the final figures.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timezone, tzinfo
from typing import Any, Iterable

from sqlalchemy import and_, func, select, update
from sqlalchemy.engine import Connection
from sqlalchemy.exc import IntegrityError
from sqlalchemy.sql.elements import ColumnElement
from sqlmodel import Session

from console.domain.charging import (
    ChargingError,
    PayMode,
    Preset,
    check_postpaid,
    check_prepaid,
    energy_by_local_hour,
    refund_of,
)
from console.domain.money import Money
from console.i18n import _
from console.store.audit import append_audit
from console.store.charging_tables import (
    charge_account as A,
)
from console.store.charging_tables import (
    charge_anomaly as AN,
)
from console.store.charging_tables import (
    charge_card as C,
)
from console.store.charging_tables import (
    charge_fault as F,
)
from console.store.charging_tables import (
    charge_ledger as L,
)
from console.store.charging_tables import (
    charge_meter_sample as MS,
)
from console.store.charging_tables import (
    charge_session as S,
)
from console.store.charging_tables import (
    maintenance_record as MR,
)
from console.store.database import affected
from console.store.ids import new_id
from console.store.outbox import enqueue


@dataclass(frozen=True, slots=True)
class AccountView:
    id: str
    name: str
    kind: str
    balance: Money
    owed: Money
    credit_limit: Money


@dataclass(frozen=True, slots=True)
class CardView:
    card_id: str
    account_id: str
    kind: str
    state: str
    piles: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class NewSession:
    """What a start request carries once the service has resolved user and pile."""

    pile_id: str
    port: int
    pile_kind: str
    region: str
    franchise: str
    account_id: str
    card_id: str | None
    source: str
    mode: PayMode
    preset: Preset | None
    plan_id: str
    hold: Money  # zero for postpaid
    start_hour: int
    start_meter_wh: int | None = None
    ocpp_tx_id: int | None = None


@dataclass(frozen=True, slots=True)
class SessionRecord:
    id: str
    pile_id: str
    port: int
    account_id: str
    card_id: str | None
    mode: str
    preset: Preset | None
    plan_id: str
    currency: str
    hold_minor: int
    state: str
    started_at: datetime
    ended_at: datetime | None
    last_meter_wh: int | None
    energy_wh: int
    seconds: int
    lines: dict[str, int]
    fee_minor: int
    bill_minor: int | None
    refund_minor: int | None
    stop_reason: str | None
    ocpp_tx_id: int | None
    credit_left_minor: int | None = None


@dataclass(frozen=True, slots=True)
class Settlement:
    """The money of a closed session; `repeated` when it had been closed before."""

    session_id: str
    bill: Money
    refund: Money
    repeated: bool = False


@dataclass(frozen=True, slots=True)
class FaultRecord:
    id: str
    pile_id: str
    port: int | None
    code: str
    detail: str
    franchise: str
    raised_at: datetime
    state: str
    note: str | None = None


@dataclass(frozen=True, slots=True)
class UsageRow:
    franchise: str
    key: str
    sessions: int
    energy_wh: int
    fees_minor: int


def _preset(kind: str | None, value: int | None) -> Preset | None:
    from console.domain.charging import PresetKind

    if kind is None or value is None:
        return None
    return Preset(PresetKind(kind), value)


def _session(row: Any) -> SessionRecord:
    m = row._mapping
    return SessionRecord(
        m["id"], m["pile_id"], m["port"], m["account_id"], m["card_id"], m["mode"], _preset(m["preset_kind"], m["preset_value"]),
        m["plan_id"], m["currency"], m["hold_minor"], m["state"], m["started_at"], m["ended_at"], m["last_meter_wh"],
        m["energy_wh"], m["seconds"], json.loads(m["lines"] or "{}"), m["fee_minor"], m["bill_minor"], m["refund_minor"],
        m["stop_reason"], m["ocpp_tx_id"],
    )


ACTOR = "charging"


def _change(db: Session, at: datetime, action: str, subject: str, detail: dict[str, Any], event: str | None = None) -> None:
    append_audit(db, at=at, actor=detail.pop("_actor", ACTOR), action=action, subject=subject, detail=detail)
    enqueue(db, type=event or action, occurred_at=at, payload={"subject": subject, **detail})

# -- accounts and cards ------------------------------------------------------------

def seed(db: Session, accounts: Iterable[dict[str, Any]], cards: Iterable[dict[str, Any]], at: datetime) -> int:
    """Create the configured accounts and cards that do not exist yet (never changes
    existing ones: balances live in the database, not in the config). Returns how many."""
    created = 0
    for acc in accounts:
        if db.execute(select(A.c.id).where(A.c.id == acc["id"])).first() is None:
            db.execute(A.insert().values(created_at=at, **acc))
            _change(db, at, "charging.account_created", acc["id"], {"kind": acc["kind"]})
            created += 1
    for card in cards:
        if db.execute(select(C.c.card_id).where(C.c.card_id == card["card_id"])).first() is None:
            db.execute(C.insert().values(state="active", **card))
            _change(db, at, "charging.card_issued", card["card_id"], {"account": card["account_id"], "kind": card["kind"],
                                                                      "piles": [p for p in str(card.get("piles") or "").split(",") if p]})
            created += 1
    return created


def account(db: Session, account_id: str) -> AccountView | None:
    r = db.execute(select(A).where(A.c.id == account_id)).first()
    if r is None:
        return None
    m = r._mapping
    cur = m["currency"]
    return AccountView(m["id"], m["name"], m["kind"], Money(m["balance_minor"], cur), Money(m["owed_minor"], cur), Money(m["credit_limit_minor"], cur))


def card(db: Session, card_id: str) -> CardView | None:
    r = db.execute(select(C).where(C.c.card_id == card_id)).first()
    if r is None:
        return None
    m = r._mapping
    return CardView(m["card_id"], m["account_id"], m["kind"], m["state"], tuple(p for p in m["piles"].split(",") if p))


def active_cards(db: Session) -> list[tuple[str, str]]:
    """(card, OCPP status) for every card: the chargers' local authorization list."""
    rows = db.execute(select(C.c.card_id, C.c.state).order_by(C.c.card_id)).all()
    return [(card, "Accepted" if state == "active" else "Blocked") for card, state in rows]


def block_card(db: Session, card_id: str, at: datetime, actor: str, reason: str) -> None:
    """A lost or cancelled card: blocked at once; its account and balance stay."""
    if not reason.strip():
        raise ChargingError(_("say why the card is blocked"))
    done = db.execute(update(C).where(C.c.card_id == card_id, C.c.state == "active").values(state="blocked", blocked_at=at, note=reason[:200]))
    if not affected(done):
        raise ChargingError(_("card {card_id} is unknown or already blocked").format(card_id=card_id))
    _change(db, at, "charging.card_blocked", card_id, {"reason": reason, "_actor": actor})


def top_up(db: Session, account_id: str, amount: Money, at: datetime, actor: str) -> Money:
    """Add to a prepaid balance. Returns the new balance."""
    if amount.minor <= 0:
        raise ChargingError(_("a top-up must be more than zero"))
    r = db.execute(select(A.c.currency).where(A.c.id == account_id)).first()
    if r is None:
        raise ChargingError(_("unknown account {account_id}").format(account_id=account_id))
    if r[0] != amount.currency:
        raise ChargingError(_("account {account_id} is kept in {value}").format(account_id=account_id, value=r[0]))
    db.execute(update(A).where(A.c.id == account_id).values(balance_minor=A.c.balance_minor + amount.minor))
    db.execute(L.insert().values(id=new_id(), account_id=account_id, at=at, kind="topup", amount_minor=amount.minor, currency=amount.currency))
    _change(db, at, "charging.top_up", account_id, {"amount_minor": amount.minor, "_actor": actor})
    balance = db.execute(select(A.c.balance_minor).where(A.c.id == account_id)).scalar_one()
    return Money(balance, amount.currency)

# -- sessions --------------------------------------------------------------------------

def open_session(db: Session, new: NewSession, at: datetime) -> SessionRecord:
    """Open a session and take the prepaid hold, or check the postpaid credit, in one
    transaction. Raises ChargingError (nothing recorded) when it cannot start."""
    sid = new_id()
    try:
        acc = db.execute(select(A).where(A.c.id == new.account_id)).first()
        if acc is None:
            raise ChargingError(_("unknown account {account_id}").format(account_id=new.account_id))
        am = acc._mapping
        cur = am["currency"]
        if new.card_id is not None:
            busy = db.execute(select(S.c.pile_id, S.c.port).where(S.c.card_id == new.card_id, S.c.state == "open")).first()
            if busy is not None:
                raise ChargingError(_("card {card_id} is already charging at {value} port {value2}").format(card_id=new.card_id, value=busy[0], value2=busy[1]), cause="pile")
        busy_port = db.execute(select(S.c.id).where(S.c.pile_id == new.pile_id, S.c.port == new.port, S.c.state == "open")).first()
        if busy_port is not None:
            raise ChargingError(_("{pile_id} port {port} is already in use").format(pile_id=new.pile_id, port=new.port))
        if new.mode is PayMode.PREPAID:
            check_prepaid(Money(am["balance_minor"], cur), new.hold)
            db.execute(update(A).where(A.c.id == new.account_id).values(balance_minor=A.c.balance_minor - new.hold.minor))
            db.execute(L.insert().values(id=new_id(), account_id=new.account_id, session_id=sid, at=at, kind="hold", amount_minor=-new.hold.minor, currency=cur))
        elif am["kind"] != "landlord":
            check_postpaid(Money(am["owed_minor"], cur), Money(am["credit_limit_minor"], cur))
        tx_id = new.ocpp_tx_id
        if new.pile_kind == "ocpp" and tx_id is None:
            tx_id = int(db.execute(select(func.coalesce(func.max(S.c.ocpp_tx_id), 0))).scalar_one()) + 1
        db.execute(S.insert().values(
            id=sid, pile_id=new.pile_id, port=new.port, pile_kind=new.pile_kind, region=new.region, franchise=new.franchise,
            account_id=new.account_id, card_id=new.card_id, source=new.source, mode=new.mode.value,
            preset_kind=new.preset.kind.value if new.preset else None, preset_value=new.preset.value if new.preset else None,
            plan_id=new.plan_id, currency=cur, hold_minor=new.hold.minor if new.mode is PayMode.PREPAID else 0, state="open",
            started_at=at, start_hour=new.start_hour, start_meter_wh=new.start_meter_wh, last_meter_wh=new.start_meter_wh,
            ocpp_tx_id=tx_id,
        ))
        _change(db, at, "charging.session_started", sid, {
            "pile": new.pile_id, "port": new.port, "account": new.account_id, "card": new.card_id, "source": new.source,
            "mode": new.mode.value, "hold_minor": new.hold.minor, "franchise": new.franchise, "ocpp_tx_id": tx_id,
            "preset": [new.preset.kind.value, new.preset.value] if new.preset else None,
        })
        row = db.execute(select(S).where(S.c.id == sid)).one()
    except IntegrityError as exc:
        # Another booth or thread won the race for the port or the card.
        raise ChargingError(_("{pile_id} port {port} or card {card_id} is already charging").format(pile_id=new.pile_id, port=new.port, card_id=new.card_id), cause="pile") from exc
    record = _session(row)
    return record


def credit_left(db: Session, account_id: str) -> int | None:
    """Postpaid credit still available (None: landlord, no limit)."""
    acc = account(db, account_id)
    if acc is None or acc.kind == "landlord":
        return None
    return (acc.credit_limit - acc.owed).minor


def open_sessions(db: Session) -> list[SessionRecord]:
    return [_session(r) for r in db.execute(select(S).where(S.c.state == "open").order_by(S.c.started_at))]


def session(db: Session, session_id: str) -> SessionRecord | None:
    r = db.execute(select(S).where(S.c.id == session_id)).first()
    return _session(r) if r else None


def session_by_tx(db: Session, pile_id: str, tx_id: int) -> SessionRecord | None:
    r = db.execute(select(S).where(S.c.pile_id == pile_id, S.c.ocpp_tx_id == tx_id)).first()
    return _session(r) if r else None


def save_progress(db: Session, session_id: str, *, meter_wh: int, energy_wh: int, seconds: int, lines: dict[str, int], fee_minor: int,
                  at: datetime, current_ma: int, start_meter_wh: int | None = None) -> None:
    """Keep an open session's running figures (a crash loses at most one interval)."""
    values: dict[str, Any] = dict(last_meter_wh=meter_wh, energy_wh=energy_wh, seconds=seconds,
                                  lines=json.dumps(lines, sort_keys=True), fee_minor=fee_minor)
    if start_meter_wh is not None:
        values["start_meter_wh"] = start_meter_wh
    db.execute(update(S).where(S.c.id == session_id, S.c.state == "open").values(**values))
    db.execute(MS.insert().values(session_id=session_id, at=at, meter_wh=meter_wh, current_ma=current_ma))


def close_session(db: Session, session_id: str, *, at: datetime, reason: str, bill: Money, energy_wh: int, seconds: int,
                  lines: dict[str, int], meter_wh: int | None) -> Settlement:
    """Settle a session: prepaid refunds the unused hold, postpaid adds the bill to what
    the account owes. Closing a closed session changes nothing and returns the first
    settlement, so a repeated stop never bills twice."""
    r = db.execute(select(S).where(S.c.id == session_id)).first()
    if r is None:
        raise ChargingError(_("unknown session {session_id}").format(session_id=session_id))
    m = r._mapping
    cur = m["currency"]
    if m["state"] != "open":
        return Settlement(session_id, Money(m["bill_minor"] or 0, cur), Money(m["refund_minor"] or 0, cur), repeated=True)
    if bill.currency != cur or bill.is_negative:
        raise ChargingError(_("a bill must be a non-negative amount in the session's currency"))
    refund = Money.zero(cur)
    if m["mode"] == PayMode.PREPAID.value:
        hold = Money(m["hold_minor"], cur)
        bill = bill.min(hold)
        refund = refund_of(hold, bill)
        if refund.minor:
            db.execute(update(A).where(A.c.id == m["account_id"]).values(balance_minor=A.c.balance_minor + refund.minor))
            db.execute(L.insert().values(id=new_id(), account_id=m["account_id"], session_id=session_id, at=at, kind="refund", amount_minor=refund.minor, currency=cur))
    elif bill.minor:
        db.execute(update(A).where(A.c.id == m["account_id"]).values(owed_minor=A.c.owed_minor + bill.minor))
        db.execute(L.insert().values(id=new_id(), account_id=m["account_id"], session_id=session_id, at=at, kind="bill", amount_minor=-bill.minor, currency=cur))
    db.execute(update(S).where(S.c.id == session_id).values(
        state="closed", ended_at=at, stop_reason=reason[:120], bill_minor=bill.minor, refund_minor=refund.minor, fee_minor=bill.minor,
        energy_wh=energy_wh, seconds=seconds, lines=json.dumps(lines, sort_keys=True),
        last_meter_wh=meter_wh if meter_wh is not None else m["last_meter_wh"],
    ))
    _change(db, at, "charging.session_closed", session_id, {
        "pile": m["pile_id"], "port": m["port"], "account": m["account_id"], "reason": reason, "energy_wh": energy_wh,
        "seconds": seconds, "bill_minor": bill.minor, "refund_minor": refund.minor, "franchise": m["franchise"],
        # What the cloud books an account's owed from (postpaid bills) without the start.
        "mode": m["mode"], "card": m["card_id"], "currency": cur,
    })
    return Settlement(session_id, bill, refund)

# -- faults, maintenance, anomalies ---------------------------------------------------------

def raise_fault(db: Session, *, pile_id: str, port: int | None, code: str, detail: str, region: str, franchise: str, at: datetime) -> FaultRecord | None:
    """Record a fault with its maintenance record and the franchise manager's outbox
    event. None when the same fault on the same port is still open (no duplicates)."""
    cond = [F.c.pile_id == pile_id, F.c.code == code, F.c.state == "open"]
    cond.append(F.c.port.is_(None) if port is None else F.c.port == port)
    if db.execute(select(F.c.id).where(and_(*cond))).first() is not None:
        return None
    fid = new_id()
    db.execute(F.insert().values(id=fid, pile_id=pile_id, port=port, code=code, detail=detail[:300], region=region, franchise=franchise, raised_at=at, state="open"))
    db.execute(MR.insert().values(id=new_id(), fault_id=fid, opened_at=at))
    _change(db, at, "charging.fault_raised", fid, {
        "pile": pile_id, "port": port, "code": code, "detail": detail, "region": region, "franchise": franchise,
        "notify": f"franchise-manager:{franchise}",
    })
    return FaultRecord(fid, pile_id, port, code, detail, franchise, at, "open")


def close_maintenance(db: Session, fault_id: str, note: str, at: datetime, actor: str) -> None:
    """Close a fault's maintenance record with a note (required)."""
    if not note.strip():
        raise ChargingError(_("a maintenance record is closed with a note saying what was done"))
    done = db.execute(update(MR).where(MR.c.fault_id == fault_id, MR.c.closed_at.is_(None)).values(closed_at=at, closed_by=actor, note=note))
    if not affected(done):
        raise ChargingError(_("no open maintenance record for this fault"))
    db.execute(update(F).where(F.c.id == fault_id).values(state="closed"))
    _change(db, at, "charging.maintenance_closed", fault_id, {"note": note, "_actor": actor})


def faults(db: Session, *, open_only: bool = False, limit: int = 200) -> list[FaultRecord]:
    q = select(F, MR.c.note).join(MR, MR.c.fault_id == F.c.id).order_by(F.c.raised_at.desc()).limit(limit)
    if open_only:
        q = q.where(F.c.state == "open")
    rows = db.execute(q).all()
    return [FaultRecord(r.id, r.pile_id, r.port, r.code, r.detail, r.franchise, r.raised_at, r.state, r.note) for r in rows]


def record_anomaly(db: Session, *, pile_id: str, port: int | None, kind: str, detail: str, at: datetime) -> None:
    """Keep bad input that was refused (meter backwards, unknown port, duplicate id)."""
    db.execute(AN.insert().values(at=at, pile_id=pile_id, port=port, kind=kind, detail=detail[:300]))
    _change(db, at, "charging.anomaly", f"{pile_id}/{port}", {"kind": kind, "detail": detail})


def anomalies(db: Session, kind: str | None = None) -> list[tuple[str, int | None, str, str]]:
    q = select(AN.c.pile_id, AN.c.port, AN.c.kind, AN.c.detail).order_by(AN.c.id)
    if kind:
        q = q.where(AN.c.kind == kind)
    return [tuple(r) for r in db.execute(q).all()]


def ledger(db: Session, account_id: str) -> list[tuple[str, int, str | None]]:
    return [tuple(r) for r in db.execute(select(L.c.kind, L.c.amount_minor, L.c.session_id).where(L.c.account_id == account_id).order_by(L.c.id)).all()]

# -- analytics ---------------------------------------------------------------------------

def usage(db: Session, by: str, *, since: datetime | None = None, until: datetime | None = None, piles: Iterable[str] | None = None) -> list[UsageRow]:
    """Total energy and fees of closed sessions per user (account), pile or region,
    grouped by franchise."""
    key = {"user": S.c.account_id, "account": S.c.account_id, "pile": S.c.pile_id, "region": S.c.region}.get(by)
    if key is None:
        raise ChargingError(_("usage is by user, pile or region"))
    q = select(S.c.franchise, key, func.count(), func.sum(S.c.energy_wh), func.sum(S.c.bill_minor)).where(S.c.state == "closed")
    if since is not None:
        q = q.where(S.c.started_at >= since)
    if until is not None:
        q = q.where(S.c.started_at < until)
    if piles is not None:
        q = q.where(S.c.pile_id.in_(list(piles)))
    q = q.group_by(S.c.franchise, key).order_by(S.c.franchise, key)
    rows = db.execute(q).all()
    return [UsageRow(f, k, int(n), int(e or 0), int(b or 0)) for f, k, n, e, b in rows]


def usage_by_hour(db: Session, *, tz: tzinfo = timezone.utc, franchise: str | None = None, piles: Iterable[str] | None = None,
                  since: datetime | None = None, until: datetime | None = None) -> list[int]:
    """Energy (Wh) of closed sessions by local hour of day (24 values), each session's
    energy spread over the hours it actually ran (see `hourly_energy`)."""
    conditions: list[ColumnElement[bool]] = []
    if franchise is not None:
        conditions.append(S.c.franchise == franchise)
    if piles is not None:
        conditions.append(S.c.pile_id.in_(list(piles)))
    if since is not None:
        conditions.append(S.c.started_at >= since)
    if until is not None:
        conditions.append(S.c.started_at < until)
    return hourly_energy(db, tz, *conditions)


def hourly_energy(db: Session | Connection, tz: tzinfo, *conditions: ColumnElement[bool]) -> list[int]:
    """Energy (Wh) of the closed sessions matching `conditions` by local hour of day (24
    values): each session's energy spread over the hours it ran, by its saved meter samples,
    or by time when only its start and end are known (`energy_by_local_hour`). Reads only,
    so reports can call it on their read-only connection."""
    q = select(S.c.id, S.c.started_at, S.c.ended_at, S.c.start_meter_wh, S.c.last_meter_wh, S.c.energy_wh).where(
        S.c.state == "closed", S.c.energy_wh > 0, *conditions)
    sessions = db.execute(q).all()
    samples: dict[str, list[tuple[datetime, int]]] = {}
    ids = [r.id for r in sessions]
    for chunk in range(0, len(ids), 500):  # SQLite limits the parameters of one query
        sq = select(MS.c.session_id, MS.c.at, MS.c.meter_wh).where(MS.c.session_id.in_(ids[chunk:chunk + 500]))
        for sid, at, wh in db.execute(sq).all():
            samples.setdefault(sid, []).append((at, int(wh)))
    hours = [0] * 24
    for r in sessions:
        readings = list(samples.get(r.id, []))
        if r.start_meter_wh is not None:
            readings.append((r.started_at, int(r.start_meter_wh)))
        if r.last_meter_wh is not None and r.ended_at is not None:
            readings.append((r.ended_at, int(r.last_meter_wh)))
        spread = energy_by_local_hour(r.started_at, r.ended_at or r.started_at, int(r.energy_wh), readings, tz)
        hours = [a + b for a, b in zip(hours, spread)]
    return hours
