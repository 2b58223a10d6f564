"""Visits, their payments and debts, and the zones' occupancy: the repository of the
lanes' records. Every function works inside the caller's transaction (`Store.write()`
or `Store.read()`), and every change writes its audit entry and outbox event with it."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import datetime
from typing import Any, Callable, Sequence

from sqlalchemy import bindparam, func, literal, union_all
from sqlalchemy import select as core_select  # Core rows, for the prepared statements
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from console.domain.money import Money
from console.domain.payments import (
    ClosedVisit,
    NewPayment,
    PaymentError,
    RecordedPayment,
)
from console.domain.quote import Quote
from console.domain.visits import Visit, VisitError, VisitState, check_exit_time
from console.i18n import _
from console.store.audit import append_audit
from console.store.ids import new_id
from console.store.integrity import violates
from console.store.locks import brief_waits_if_locked, lock_site_writes
from console.store.mapping import visit_from_row
from console.store.outbox import enqueue
from console.store.prepared import Prepared
from console.store.receipts import add_receipt
from console.store.tables import (
    AuditRow,
    CashMovementRow,
    DebtRow,
    OccupancyAdjustmentRow,
    OverrideRow,
    PaymentRow,
    ReceiptRow,
    VisitRow,
)
from console.store.types import table_of

__all__ = [
    "AlreadyInside", "AlreadySettled", "adjust_occupancy", "close_stale", "close_visit", "get_visit", "latest_visit_for", "occupancy_counts",
    "open_debts", "open_plates", "open_visit_for", "occupancy_for_entry", "record_entry", "stale_visits", "totals",
    "confirm_opened", "record_reopen",
]


class AlreadyInside(VisitError):
    """The plate already has an open visit (anti-passback)."""


class AlreadySettled(VisitError):
    """The stay was settled meanwhile (at another booth, or by an earlier press)."""


# The partial unique index that makes anti-passback hold across booths.
_OPEN_PLATE_INDEX = "uq_visit_open_plate"


def _is_open_plate_violation(exc: IntegrityError) -> bool:
    """Whether `exc` is the open-visit uniqueness violation (and not, say, a clash of
    some other key, which is a fault to report, not a car already inside)."""
    return violates(exc, index=_OPEN_PLATE_INDEX, table="visit", column="plate")


# Hot-path statements, built once.
_VISITS = table_of(VisitRow)
_OPEN_VISIT_ENTRY = Prepared(select(_VISITS.c.entry_at).where(_VISITS.c.plate == bindparam("plate"), _VISITS.c.state == "open"))
_ENTRY_COLUMNS = ("id", "plate", "zone", "vehicle_class", "entry_lane", "entry_at", "state", "currency", "paid_minor")
_INSERT_VISIT = Prepared(_VISITS.insert().values({name: bindparam(name) for name in _ENTRY_COLUMNS}))
_ADJUSTMENTS = table_of(OccupancyAdjustmentRow)
_OCCUPANCY = Prepared(union_all(
    select(_VISITS.c.zone, func.count().label("n"), literal(0).label("is_delta")).where(_VISITS.c.state == "open").group_by(_VISITS.c.zone),
    select(_ADJUSTMENTS.c.zone, func.sum(_ADJUSTMENTS.c.delta), literal(1)).group_by(_ADJUSTMENTS.c.zone),
))


_DEBTS = table_of(DebtRow)
_PAYMENTS = table_of(PaymentRow)
# The exit's transaction, compiled once. The visit's row is locked first (FOR UPDATE on
# PostgreSQL; SQLite's write transaction already excludes every other writer) and read
# afresh from the database, whatever the session may hold.
_LOCK_VISIT = Prepared(core_select(_VISITS).where(_VISITS.c.id == bindparam("visit_id")).with_for_update())
_PAYMENTS_OF_KEY = Prepared(core_select(_PAYMENTS).where(_PAYMENTS.c.idempotency_key == bindparam("key")).order_by(_PAYMENTS.c.id))
_PAYMENT_COLUMNS = ("id", "visit_id", "method", "amount_minor", "currency", "tendered_minor", "change_minor", "reference", "attendant",
                    "created_at", "idempotency_key", "shift_id")
_INSERT_PAYMENT = Prepared(_PAYMENTS.insert().values({name: bindparam(name) for name in _PAYMENT_COLUMNS}))
_CLOSE_VISIT = Prepared(_VISITS.update().where(_VISITS.c.id == bindparam("visit_id")).values(
    exit_lane=bindparam("u_exit_lane"), exit_at=bindparam("u_exit_at"), state=bindparam("u_state"), fee_minor=bindparam("u_fee"),
    paid_minor=bindparam("u_paid"), tariff_id=bindparam("u_tariff"), close_reason=bindparam("u_reason"),
))
# The exit lane's reads, built once: it asks them for every plate it reads.
_OPEN_VISIT = Prepared(core_select(_VISITS).where(_VISITS.c.plate == bindparam("plate"), _VISITS.c.state == "open").limit(1))
_LATEST_VISIT = Prepared(core_select(_VISITS).where(_VISITS.c.plate == bindparam("plate")).order_by(_VISITS.c.entry_at.desc()).limit(1))
_PREVIOUS_VISITS = Prepared(
    core_select(_VISITS)
    .where(_VISITS.c.plate == bindparam("plate"), _VISITS.c.exit_at.is_not(None),
           _VISITS.c.exit_at <= bindparam("before", type_=_VISITS.c.exit_at.type))
    .order_by(_VISITS.c.exit_at.desc())
    .limit(bindparam("limit"))
)
_OPEN_DEBTS = Prepared(
    select(_DEBTS.c.id, _DEBTS.c.amount_minor, _DEBTS.c.at, _DEBTS.c.reason)
    .where(_DEBTS.c.plate == bindparam("plate"), _DEBTS.c.settled_at.is_(None))
    .order_by(_DEBTS.c.at)
)


# -- reads ------------------------------------------------------------------------
def open_visit_for(db: Session, plate: str) -> Visit | None:
    """The plate's open visit, if any."""
    row = _OPEN_VISIT.first(db, plate=plate)
    return visit_from_row(row) if row else None


def latest_visit_for(db: Session, plate: str) -> Visit | None:
    """The plate's most recent visit, open or closed."""
    row = _LATEST_VISIT.first(db, plate=plate)
    return visit_from_row(row) if row else None


def previous_visits_for(db: Session, plate: str, before: datetime, limit: int = 8) -> list[Visit]:
    """The plate's last visits that had left by `before`, the latest first (a re-entry may
    continue them: a chain of short trips out is one stay)."""
    rows = _PREVIOUS_VISITS.all(db, plate=plate, before=before, limit=limit)
    return [visit_from_row(row) for row in rows]


def get_visit(db: Session, visit_id: str) -> Visit | None:
    row = db.get(VisitRow, visit_id)
    return visit_from_row(row) if row else None


def occupancy_counts(db: Session) -> dict[str, int]:
    """Vehicles in each zone: open visits plus the attendants' corrections (one query:
    it runs on every entry, under the site's write lock on a shared database)."""
    counts: dict[str, int] = {}
    deltas: dict[str, int] = {}
    for zone, n, is_delta in _OCCUPANCY.all(db):
        (deltas if is_delta else counts)[zone] = int(n or 0)
    for zone, delta in deltas.items():
        counts[zone] = max(0, counts.get(zone, 0) + delta)
    return counts


def occupancy_for_entry(db: Session) -> dict[str, int]:
    """Every zone's count as an entry must judge it: taken under the site's write lock
    (inside the entry's transaction), so no other booth's entry can take the last space
    between this count and the visit being recorded."""
    lock_site_writes(db)
    return occupancy_counts(db)


def open_debts(db: Session, plate: str) -> list[tuple[str, int, datetime, str]]:
    """Unpaid amounts the plate left behind: (id, amount_minor, at, reason), oldest first."""
    rows = _OPEN_DEBTS.all(db, plate=plate)
    return [(r.id, r.amount_minor, r.at, r.reason) for r in rows]


def open_plates(db: Session, zone: str | None = None) -> list[str]:
    """Plates with an open visit (for matching a doubtful plate read)."""
    query = select(VisitRow.plate).where(VisitRow.state == "open")
    if zone is not None:
        query = query.where(VisitRow.zone == zone)
    return list(db.exec(query).all())


def stale_visits(db: Session, zone: str, entered_before: datetime, limit: int = 200) -> list[Visit]:
    """Open visits older than `entered_before`, oldest first (candidates to close)."""
    rows = db.exec(
        select(VisitRow)
        .where(VisitRow.state == "open", VisitRow.zone == zone, col(VisitRow.entry_at) < entered_before)
        .order_by(col(VisitRow.entry_at))
        .limit(limit)
    ).all()
    return [visit_from_row(r) for r in rows]

# -- barriers seen open -----------------------------------------------------------
def confirm_opened(db: Session, *, visit_id: str, which: str, at: datetime) -> None:
    """The barrier was seen open for the visit's entry or exit. A device fact, not a
    decision: no audit entry (the entry or exit itself was audited)."""
    column = _VISITS.c.entry_opened_at if which == "entry" else _VISITS.c.exit_opened_at
    db.connection().execute(_VISITS.update().where(_VISITS.c.id == visit_id, column.is_(None)).values({column.name: at}))


def record_reopen(db: Session, *, visit: Visit, which: str, lane: str, at: datetime) -> None:
    """The barrier is opened again for a stay whose barrier was commanded and never seen
    open (the console stopped in between): audited, with the stay it belongs to."""
    append_audit(db, at=at, actor="lane", action=f"gate.reopen_{which}", subject=lane,
                 detail={"visit": visit.id, "plate": visit.plate, "recorded_at": (visit.entry_at if which == "entry" else visit.exit_at or at).isoformat()})
    enqueue(db, type="gate.reopened", occurred_at=at, payload={"lane": lane, "visit_id": visit.id, "plate": visit.plate, "which": which})


# -- attendant corrections --------------------------------------------------------
def adjust_occupancy(db: Session, *, zone: str, delta: int, reason: str, actor: str, at: datetime) -> None:
    """Record a correction of a zone's count, with its audit entry and outbox event."""
    if delta == 0:
        raise VisitError("the count is already that")
    db.add(OccupancyAdjustmentRow(id=new_id(), zone=zone, delta=delta, reason=reason, actor=actor, at=at))
    append_audit(db, at=at, actor=actor, action="occupancy.adjust", subject=zone, detail={"delta": delta, "reason": reason})
    enqueue(db, type="occupancy.adjusted", occurred_at=at, payload={"zone": zone, "delta": delta, "reason": reason, "actor": actor})


def close_stale(db: Session, *, visit_ids: Sequence[str], reason: str, actor: str, at: datetime) -> int:
    """Close visits of cars that left unseen (lane down), without a fee. Returns how many."""
    closed = 0
    for visit_id in visit_ids:
        row = _lock_visit(db, visit_id)
        if row is None or row.state != "open":
            continue
        row.state, row.exit_at, row.close_reason, row.fee_minor = "closed", max(at, row.entry_at), "stale", 0
        db.add(row)
        append_audit(db, at=at, actor=actor, action="visit.close_stale", subject=row.id, detail={"plate": row.plate, "reason": reason})
        enqueue(db, type="visit.closed", occurred_at=at, payload={"visit_id": row.id, "plate": row.plate, "exit_at": at.isoformat(), "reason": "stale", "note": reason, "fee_minor": 0, "currency": row.currency})
        closed += 1
    return closed


def totals(db: Session) -> dict[str, int]:
    """Entries, exits and revenue recorded so far (minor units of the payments)."""
    entries = db.exec(select(func.count()).select_from(VisitRow)).one()
    exits = db.exec(select(func.count()).select_from(VisitRow).where(VisitRow.state == "closed")).one()
    revenue = db.exec(select(func.coalesce(func.sum(PaymentRow.amount_minor), 0))).one()
    return {"entries": int(entries), "exits": int(exits), "revenue_minor": int(revenue)}

# -- writes -----------------------------------------------------------------------
def record_entry(db: Session,
    *,
    plate: str,
    zone: str,
    lane: str,
    at: datetime,
    currency: str,
    vehicle_class: str = "car",
    actor: str = "lane",
    note: str | None = None,
    booth_id: str | None = None,
    admit: Callable[[dict[str, int]], None] | None = None,
) -> Visit:
    """Open a visit. Raises AlreadyInside when the plate has an open visit.

    `note` marks an entry recorded by hand (e.g. a time the driver stated at the exit);
    `booth_id` names the booth in the audit entry, for the other booths' event logs.
    `admit`, when given, is called with every zone's count (this visit included) under
    the site's write lock, before the entry is audited; it refuses the entry by raising,
    and the caller's transaction is then abandoned.

    On a shared database the site's write lock is held from the count to the commit,
    and only that long: the visit and its outbox event are written before it. Another
    booth's entry of the same plate meanwhile waits on the unique index of open visits
    (and is refused as inside once this commits), not on the lock, so every other
    booth's entries wait only for the count, the audit entry and the commit."""
    visit_id = new_id()
    # Prepared statements on the session's transaction: the hot path
    existing = _OPEN_VISIT_ENTRY.first(db, plate=plate)
    if existing is not None:
        raise AlreadyInside(_("{plate} is already inside (entered {when} UTC)").format(plate=plate, when=f"{existing[0]:%Y-%m-%d %H:%M}"))
    try:
        with brief_waits_if_locked(db):  # a caller holding the site's lock must not wait for an entry waiting for it
            _INSERT_VISIT.execute(
                db, id=visit_id, plate=plate, zone=zone, vehicle_class=vehicle_class, entry_lane=lane, entry_at=at, state="open",
                currency=currency, paid_minor=0,
            )
    except IntegrityError as exc:
        # The partial unique index on open visits is the last guard: only its violation
        # means the plate is inside; any other clash is a fault and is reported as one.
        # Either way the caller's transaction is abandoned.
        if _is_open_plate_violation(exc):
            raise AlreadyInside(_("{plate} is already inside").format(plate=plate)) from None
        raise
    enqueue(
        db,
        type="visit.opened",
        occurred_at=at,
        payload={"visit_id": visit_id, "plate": plate, "zone": zone, "lane": lane, "entry_at": at.isoformat(), "vehicle_class": vehicle_class},
    )
    if admit is not None:
        admit(occupancy_for_entry(db))
    detail = {"plate": plate, "lane": lane, "zone": zone}
    if note:
        detail["note"] = note
    if booth_id:
        detail["booth"] = booth_id
    append_audit(db, at=at, actor=actor, action="visit.entry_manual" if note else "visit.entry", subject=visit_id, detail=detail)
    return Visit(
        id=visit_id, plate=plate, zone=zone, vehicle_class=vehicle_class, entry_lane=lane,
        entry_at=at, state=VisitState.OPEN, currency=currency,
    )


def close_visit(db: Session,
    *,
    visit_id: str,
    exit_lane: str,
    exit_at: datetime,
    quote: Quote,
    payments: Sequence[NewPayment],
    attendant: str,
    idempotency_key: str,
    reason: str = "paid",
    allow_unpaid: bool = False,
    receipt: dict[str, Any] | None = None,
    booth_id: str = "booth-1",
    shift_id: str | None = None,
    settles_debts: Sequence[str] = (),
    new_debt: tuple[int, str] | None = None,
    overrides: Sequence[dict[str, Any]] = (),
    change_left: int = 0,
) -> ClosedVisit:
    """Close a visit at exit with the payments that settle its fee.

    Idempotent by `idempotency_key`: repeating the same request returns the first
    result and records nothing new. Refuses a visit already closed, payments that do
    not add up to the amount still due, or an exit before the entry. With
    `allow_unpaid` and no payments the visit closes owing its fee (a manual open).
    With `receipt` content, a numbered receipt is queued for printing in the same
    transaction.
    """
    # The visit's row is locked first (SELECT ... FOR UPDATE on PostgreSQL; SQLite's
    # write transaction already excludes every other writer): a second booth settling
    # the same stay waits here for the first to commit, then reads it closed.
    locked = _LOCK_VISIT.first(db, visit_id=visit_id)
    earlier = _PAYMENTS_OF_KEY.all(db, key=idempotency_key)
    if earlier:
        row = db.get(VisitRow, earlier[0].visit_id, populate_existing=True)
        assert row is not None
        number = db.exec(
            select(ReceiptRow.number).where(ReceiptRow.visit_id == row.id, ReceiptRow.kind == "receipt")
        ).first()
        return ClosedVisit(visit_from_row(row), tuple(_recorded(p) for p in earlier), replayed=True, receipt_number=number)
    if locked is None:
        raise VisitError("no such visit")
    if locked.state != "open":
        raise AlreadySettled(settled_by(db, locked))
    visit = visit_from_row(locked)
    check_exit_time(visit, exit_at)
    currency = visit.currency
    if quote.total.currency != currency:
        raise PaymentError(f"fee is in {quote.total.currency}, visit in {currency}")
    due = quote.total.minor - visit.paid_minor
    taken = sum(p.amount.minor for p in payments)
    if any(p.amount.minor < 0 for p in payments):
        raise PaymentError("a payment amount cannot be negative")
    # Unpaid (a debt, a manual open): what was paid (a phone payment) may cover a part.
    if taken != max(0, due) and not (allow_unpaid and 0 <= taken <= max(0, due)):
        raise PaymentError(f"payments add up to {Money(taken, currency)}, {Money(max(0, due), currency)} is due")
    recorded: list[RecordedPayment] = []
    for p in payments:
        payment = RecordedPayment(
            id=new_id(), method=p.method, amount=p.amount, tendered=p.tendered, change=p.change, reference=p.reference,
            attendant=attendant, created_at=exit_at,
        )
        _INSERT_PAYMENT.execute(
            db, id=payment.id, visit_id=visit.id, method=p.method, amount_minor=p.amount.minor, currency=p.amount.currency,
            tendered_minor=p.tendered.minor if p.tendered else None, change_minor=p.change.minor if p.change else None,
            reference=p.reference, attendant=attendant, created_at=exit_at, idempotency_key=idempotency_key, shift_id=shift_id,
        )
        recorded.append(payment)
    closed = replace(
        visit, state=VisitState.CLOSED, exit_lane=exit_lane, exit_at=exit_at, fee_minor=quote.total.minor,
        paid_minor=visit.paid_minor + taken, tariff_id=quote.tariff_id, close_reason=reason,
    )
    _CLOSE_VISIT.execute(
        db, visit_id=visit.id, u_exit_lane=exit_lane, u_exit_at=exit_at, u_state="closed", u_fee=quote.total.minor,
        u_paid=closed.paid_minor, u_tariff=quote.tariff_id, u_reason=reason,
    )
    row = locked  # the plate and the visit's id, for the records below
    append_audit(
        db,
        at=exit_at,
        actor=attendant,
        action="visit.exit",
        subject=row.id,
        detail={"plate": row.plate, "fee_minor": quote.total.minor, "paid_minor": taken, "reason": reason, "lane": exit_lane, "booth": booth_id,
                # each payment as recorded: `booth audit verify` checks the rows against it
                "payments": [[p.id, p.method, p.amount.minor] for p in recorded]},
    )
    enqueue(
        db,
        type="visit.closed",
        occurred_at=exit_at,
        payload={
            "visit_id": row.id,
            "plate": row.plate,
            "exit_at": exit_at.isoformat(),
            "lane": exit_lane,
            "fee_minor": quote.total.minor,
            "currency": row.currency,
            "tariff_id": quote.tariff_id,
            "reason": reason,
        },
    )
    for payment in recorded:
        enqueue(
            db,
            type="payment.recorded",
            occurred_at=exit_at,
            payload={
                "payment_id": payment.id,
                "visit_id": row.id,
                "method": payment.method,
                "amount_minor": payment.amount.minor,
                "currency": payment.amount.currency,
                "attendant": attendant,
                "reference": payment.reference,  # card approval code, phone payment id: reconciliation
            },
        )
    for debt_id in settles_debts:
        debt = db.get(DebtRow, debt_id)
        if debt is not None and debt.settled_at is None:
            debt.settled_at, debt.settled_by_visit = exit_at, row.id
            db.add(debt)
            append_audit(db, at=exit_at, actor=attendant, action="debt.settled", subject=debt.id, detail={"plate": debt.plate, "amount_minor": debt.amount_minor})
    if new_debt is not None:
        amount_minor, debt_reason = new_debt
        debt = DebtRow(id=new_id(), plate=row.plate, visit_id=row.id, shift_id=shift_id, amount_minor=amount_minor, currency=row.currency, reason=debt_reason, actor=attendant, at=exit_at)
        db.add(debt)
        append_audit(db, at=exit_at, actor=attendant, action="debt.recorded", subject=debt.id, detail={"plate": row.plate, "amount_minor": amount_minor, "reason": debt_reason})
        enqueue(db, type="debt.recorded", occurred_at=exit_at, payload={"debt_id": debt.id, "plate": row.plate, "visit_id": row.id, "amount_minor": amount_minor, "currency": row.currency, "reason": debt_reason})
    for ov in overrides:
        db.add(OverrideRow(id=new_id(), visit_id=row.id, shift_id=shift_id, kind=ov["kind"], quoted_minor=ov["quoted_minor"], new_minor=ov["new_minor"], currency=row.currency, reason=ov["reason"], actor=attendant, approved_by=ov.get("approved_by"), at=exit_at))
        append_audit(db, at=exit_at, actor=attendant, action=f"override.{ov['kind']}", subject=row.id, detail=ov)
        enqueue(db, type="fee.overridden", occurred_at=exit_at, payload={"visit_id": row.id, **ov})
    if change_left and shift_id is not None:
        db.add(CashMovementRow(id=new_id(), shift_id=shift_id, kind="change_left", amount_minor=change_left, currency=row.currency, reason="change left by the driver", actor=attendant, at=exit_at, visit_id=row.id))
        append_audit(db, at=exit_at, actor=attendant, action="cash.change_left", subject=row.id, detail={"amount_minor": change_left})
    number = None
    if receipt is not None:
        number = add_receipt(db, booth_id=booth_id, kind="receipt", content=receipt, at=exit_at, visit_id=row.id, shift_id=shift_id
        ).number
    db.flush()  # the rarer records above (debts, overrides, change left) are ORM rows
    return ClosedVisit(closed, tuple(recorded), receipt_number=number)


def _lock_visit(db: Session, visit_id: str) -> VisitRow | None:
    """The visit's row, locked for the rest of the transaction and read afresh (a copy
    already in the session may predate another booth's commit)."""
    query = select(VisitRow).where(VisitRow.id == visit_id).with_for_update().execution_options(populate_existing=True)
    return db.exec(query).first()


_SETTLING_ACTIONS = ("visit.exit", "visit.close_stale")


def settled_by(db: Session, row: Any) -> str:
    """Who closed a visit, at which booth and lane, and when: the refusal a second booth
    shows when the stay it was about to settle has just been settled elsewhere."""
    audit = table_of(AuditRow)
    entry = db.execute(
        select(audit.c.actor, audit.c.at, audit.c.detail)
        .where(audit.c.subject == row.id, audit.c.action.in_(_SETTLING_ACTIONS))
        .order_by(audit.c.seq.desc())
        .limit(1)
    ).first()
    moment = row.exit_at
    actor, booth, lane = "", "", row.exit_lane or ""
    if entry is not None:
        actor, moment = entry[0], entry[1]
        detail = json.loads(entry[2] or "{}")
        booth, lane = str(detail.get("booth") or ""), str(detail.get("lane") or lane)
    when = f"{moment:%Y-%m-%d %H:%M:%S} UTC" if moment is not None else _("earlier")
    where = booth or _("another booth")
    return _("{plate} has already left: settled at {booth} (lane {lane}) by {actor} at {when}; nothing was charged").format(
        plate=row.plate, booth=where, lane=lane or "-", actor=actor or "-", when=when,
    )


def _recorded(p: Any) -> RecordedPayment:
    """A payment row (ORM object or Core row) as the domain's record."""
    cur = p.currency
    return RecordedPayment(
        id=p.id,
        method=p.method,
        amount=Money(p.amount_minor, cur),
        tendered=Money(p.tendered_minor, cur) if p.tendered_minor is not None else None,
        change=Money(p.change_minor, cur) if p.change_minor is not None else None,
        reference=p.reference,
        attendant=p.attendant,
        created_at=p.created_at,
    )
