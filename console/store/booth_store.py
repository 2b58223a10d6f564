"""The store's service layer: every state change is one transaction that writes the
change, its audit entry and its outbox event together."""

from __future__ import annotations

import sqlite3
from contextlib import contextmanager
from datetime import datetime
from typing import Any, Iterator, Sequence

__all__ = ["AlreadyInside", "BoothStore", "ClosedVisit", "NewPayment", "RecordedPayment"]

from sqlalchemy import bindparam, func
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import DBAPIError, IntegrityError, OperationalError
from sqlmodel import Session, col, select

from console.domain.money import Money
from console.domain.payments import ClosedVisit, NewPayment, PaymentError, RecordedPayment
from console.domain.quote import Quote
from console.domain.visits import Visit, VisitError, VisitState, check_exit_time
from console.store.audit import append_audit
from console.store.engine import StoreError
from console.store.ids import new_id
from console.store.mapping import visit_from_row
from console.store.outbox import enqueue
from console.store.receipts import add_receipt
from console.store.tables import CashMovementRow, DebtRow, GateActionRow, OccupancyAdjustmentRow, OverrideRow, PaymentRow, ReceiptRow, VisitRow


class AlreadyInside(VisitError):
    """The plate already has an open visit (anti-passback)."""


def _explain(exc: Exception) -> str:
    text = str(getattr(exc, "orig", exc)).lower()
    if "locked" in text or "busy" in text:
        return "the database is busy (locked by another program); nothing was recorded"
    if "readonly" in text or "read-only" in text:
        return "the database is read-only; nothing was recorded"
    if "full" in text:
        return "the disk is full; nothing was recorded"
    if "unable to open" in text:
        return "the database file cannot be opened"
    if "malformed" in text or "not a database" in text:
        return "the database file is damaged"
    return f"database error: {getattr(exc, 'orig', exc)}"


# Hot-path statements, built once.
_VISITS = VisitRow.__table__  # type: ignore[attr-defined]
_OPEN_VISIT_ENTRY = select(_VISITS.c.entry_at).where(_VISITS.c.plate == bindparam("plate"), _VISITS.c.state == "open")
_INSERT_VISIT = _VISITS.insert()


@contextmanager
def _database_errors() -> Iterator[None]:
    try:
        yield
    except IntegrityError:
        raise
    except (OperationalError, sqlite3.OperationalError, DBAPIError) as exc:
        raise StoreError(_explain(exc)) from exc


class BoothStore:
    """Durable records of one booth."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    @contextmanager
    def transaction(self) -> Iterator[Session]:
        """A session whose work commits at the end of the block or not at all.

        Database failures come out as StoreError with a message for the attendant.
        """
        session = Session(self.engine, expire_on_commit=False)
        try:
            with _database_errors():
                yield session
                session.commit()
        except BaseException:
            session.rollback()
            raise
        finally:
            session.close()

    @contextmanager
    def connection(self) -> Iterator[Connection]:
        """A Core connection in one transaction: the fast path for hot writes."""
        with _database_errors(), self.engine.begin() as conn:
            yield conn

    # -- reads ------------------------------------------------------------------------
    def open_visit_for(self, plate: str) -> Visit | None:
        """The plate's open visit, if any."""
        with self.transaction() as s:
            row = s.exec(select(VisitRow).where(VisitRow.plate == plate, VisitRow.state == "open")).first()
            return visit_from_row(row) if row else None

    def latest_visit_for(self, plate: str) -> Visit | None:
        """The plate's most recent visit, open or closed."""
        with self.transaction() as s:
            row = s.exec(
                select(VisitRow).where(VisitRow.plate == plate).order_by(col(VisitRow.entry_at).desc()).limit(1)
            ).first()
            return visit_from_row(row) if row else None

    def get_visit(self, visit_id: str) -> Visit | None:
        with self.transaction() as s:
            row = s.get(VisitRow, visit_id)
            return visit_from_row(row) if row else None

    def occupancy_counts(self) -> dict[str, int]:
        """Vehicles in each zone: open visits plus the attendants' corrections."""
        with self.transaction() as s:
            rows = s.exec(
                select(VisitRow.zone, func.count()).where(VisitRow.state == "open").group_by(VisitRow.zone)
            ).all()
            counts = {zone: int(n) for zone, n in rows}
            for zone, delta in s.exec(
                select(OccupancyAdjustmentRow.zone, func.sum(OccupancyAdjustmentRow.delta)).group_by(OccupancyAdjustmentRow.zone)
            ).all():
                counts[zone] = max(0, counts.get(zone, 0) + int(delta or 0))
            return counts

    def open_debts(self, plate: str) -> list[tuple[str, int, datetime, str]]:
        """Unpaid amounts the plate left behind: (id, amount_minor, at, reason), oldest first."""
        with self.transaction() as s:
            rows = s.exec(select(DebtRow).where(DebtRow.plate == plate, col(DebtRow.settled_at).is_(None)).order_by(col(DebtRow.at))).all()
            return [(r.id, r.amount_minor, r.at, r.reason) for r in rows]

    def open_plates(self, zone: str | None = None) -> list[str]:
        """Plates with an open visit (for matching a doubtful plate read)."""
        with self.transaction() as s:
            query = select(VisitRow.plate).where(VisitRow.state == "open")
            if zone is not None:
                query = query.where(VisitRow.zone == zone)
            return list(s.exec(query).all())

    def stale_visits(self, zone: str, entered_before: datetime, limit: int = 200) -> list[Visit]:
        """Open visits older than `entered_before`, oldest first (candidates to close)."""
        with self.transaction() as s:
            rows = s.exec(
                select(VisitRow)
                .where(VisitRow.state == "open", VisitRow.zone == zone, col(VisitRow.entry_at) < entered_before)
                .order_by(col(VisitRow.entry_at))
                .limit(limit)
            ).all()
            return [visit_from_row(r) for r in rows]

    # -- attendant operations ---------------------------------------------------------
    def adjust_occupancy(self, *, zone: str, delta: int, reason: str, actor: str, at: datetime) -> None:
        """Record a correction of a zone's count, with its audit entry and outbox event."""
        if delta == 0:
            raise VisitError("the count is already that")
        with self.transaction() as s:
            s.add(OccupancyAdjustmentRow(id=new_id(), zone=zone, delta=delta, reason=reason, actor=actor, at=at))
            append_audit(s, at=at, actor=actor, action="occupancy.adjust", subject=zone, detail={"delta": delta, "reason": reason})
            enqueue(s, type="occupancy.adjusted", occurred_at=at, payload={"zone": zone, "delta": delta, "reason": reason, "actor": actor})

    def record_gate_action(
        self,
        *,
        lane: str,
        action: str,
        reason: str,
        note: str,
        actor: str,
        at: datetime,
        plate: str | None = None,
        snapshot: bytes | None = None,
    ) -> str:
        """Record a barrier moved by hand (before it moves). Returns the record's id."""
        action_id = new_id()
        with self.transaction() as s:
            s.add(GateActionRow(id=action_id, lane=lane, action=action, reason=reason, note=note, plate=plate, actor=actor, at=at, snapshot=snapshot))
            append_audit(
                s, at=at, actor=actor, action=f"gate.manual_{action}", subject=lane,
                detail={"reason": reason, "note": note, "plate": plate, "record": action_id},
            )
            enqueue(
                s, type="gate.manual", occurred_at=at,
                payload={"id": action_id, "lane": lane, "action": action, "reason": reason, "note": note, "plate": plate, "actor": actor},
            )
        return action_id

    def close_stale(self, *, visit_ids: Sequence[str], reason: str, actor: str, at: datetime) -> int:
        """Close visits of cars that left unseen (lane down), without a fee. Returns how many."""
        closed = 0
        with self.transaction() as s:
            for visit_id in visit_ids:
                row = s.get(VisitRow, visit_id)
                if row is None or row.state != "open":
                    continue
                row.state, row.exit_at, row.close_reason, row.fee_minor = "closed", max(at, row.entry_at), "stale", 0
                s.add(row)
                append_audit(s, at=at, actor=actor, action="visit.close_stale", subject=row.id, detail={"plate": row.plate, "reason": reason})
                enqueue(s, type="visit.closed", occurred_at=at, payload={"visit_id": row.id, "plate": row.plate, "exit_at": at.isoformat(), "reason": "stale", "note": reason, "fee_minor": 0, "currency": row.currency})
                closed += 1
        return closed

    def totals(self) -> dict[str, int]:
        """Entries, exits and revenue recorded so far (minor units of the payments)."""
        with self.transaction() as s:
            entries = s.exec(select(func.count()).select_from(VisitRow)).one()
            exits = s.exec(select(func.count()).select_from(VisitRow).where(VisitRow.state == "closed")).one()
            revenue = s.exec(select(func.coalesce(func.sum(PaymentRow.amount_minor), 0))).one()
            return {"entries": int(entries), "exits": int(exits), "revenue_minor": int(revenue)}

    # -- writes -----------------------------------------------------------------------
    def record_entry(
        self,
        *,
        plate: str,
        zone: str,
        lane: str,
        at: datetime,
        currency: str,
        vehicle_class: str = "car",
        actor: str = "lane",
        note: str | None = None,
    ) -> Visit:
        """Open a visit. Raises AlreadyInside when the plate has an open visit.

        `note` marks an entry recorded by hand (e.g. a time the driver stated at the exit)."""
        visit_id = new_id()
        try:
            with self.connection() as conn:
                existing = conn.execute(_OPEN_VISIT_ENTRY, {"plate": plate}).first()
                if existing is not None:
                    raise AlreadyInside(f"{plate} is already inside (entered {existing[0]:%Y-%m-%d %H:%M} UTC)")
                conn.execute(
                    _INSERT_VISIT,
                    {
                        "id": visit_id, "plate": plate, "zone": zone, "vehicle_class": vehicle_class, "entry_lane": lane,
                        "entry_at": at, "state": "open", "currency": currency, "paid_minor": 0,
                    },
                )
                detail = {"plate": plate, "lane": lane, "zone": zone}
                if note:
                    detail["note"] = note
                append_audit(conn, at=at, actor=actor, action="visit.entry_manual" if note else "visit.entry", subject=visit_id, detail=detail)
                enqueue(
                    conn,
                    type="visit.opened",
                    occurred_at=at,
                    payload={"visit_id": visit_id, "plate": plate, "zone": zone, "lane": lane, "entry_at": at.isoformat(), "vehicle_class": vehicle_class},
                )
        except IntegrityError:
            # Another booth opened the same plate between our check and insert.
            raise AlreadyInside(f"{plate} is already inside") from None
        return Visit(
            id=visit_id, plate=plate, zone=zone, vehicle_class=vehicle_class, entry_lane=lane,
            entry_at=at, state=VisitState.OPEN, currency=currency,
        )

    def close_visit(
        self,
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
        with self.transaction() as s:
            earlier = s.exec(select(PaymentRow).where(PaymentRow.idempotency_key == idempotency_key)).all()
            if earlier:
                row = s.get(VisitRow, earlier[0].visit_id)
                assert row is not None
                number = s.exec(
                    select(ReceiptRow.number).where(ReceiptRow.visit_id == row.id, ReceiptRow.kind == "receipt")
                ).first()
                return ClosedVisit(visit_from_row(row), tuple(_recorded(p) for p in earlier), replayed=True, receipt_number=number)
            row = s.get(VisitRow, visit_id)
            if row is None:
                raise VisitError("no such visit")
            if row.state != "open":
                when = f" at {row.exit_at:%Y-%m-%d %H:%M} UTC" if row.exit_at else ""
                raise VisitError(f"{row.plate} has already left{when}")
            visit = visit_from_row(row)
            check_exit_time(visit, exit_at)
            if quote.total.currency != row.currency:
                raise PaymentError(f"fee is in {quote.total.currency}, visit in {row.currency}")
            due = quote.total.minor - row.paid_minor
            taken = sum(p.amount.minor for p in payments)
            if any(p.amount.minor < 0 for p in payments):
                raise PaymentError("a payment amount cannot be negative")
            if taken != max(0, due) and not (allow_unpaid and taken == 0):
                raise PaymentError(f"payments add up to {Money(taken, row.currency)}, {Money(max(0, due), row.currency)} is due")
            recorded: list[PaymentRow] = []
            for p in payments:
                prow = PaymentRow(
                    id=new_id(),
                    visit_id=row.id,
                    method=p.method,
                    amount_minor=p.amount.minor,
                    currency=p.amount.currency,
                    tendered_minor=p.tendered.minor if p.tendered else None,
                    change_minor=p.change.minor if p.change else None,
                    reference=p.reference,
                    attendant=attendant,
                    created_at=exit_at,
                    idempotency_key=idempotency_key,
                    shift_id=shift_id,
                )
                s.add(prow)
                recorded.append(prow)
            row.state = "closed"
            row.exit_lane = exit_lane
            row.exit_at = exit_at
            row.fee_minor = quote.total.minor
            row.paid_minor += taken
            row.tariff_id = quote.tariff_id
            row.close_reason = reason
            s.add(row)
            append_audit(
                s,
                at=exit_at,
                actor=attendant,
                action="visit.exit",
                subject=row.id,
                detail={"plate": row.plate, "fee_minor": quote.total.minor, "paid_minor": taken, "reason": reason, "lane": exit_lane},
            )
            enqueue(
                s,
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
            for prow in recorded:
                enqueue(
                    s,
                    type="payment.recorded",
                    occurred_at=exit_at,
                    payload={
                        "payment_id": prow.id,
                        "visit_id": row.id,
                        "method": prow.method,
                        "amount_minor": prow.amount_minor,
                        "currency": prow.currency,
                        "attendant": attendant,
                    },
                )
            for debt_id in settles_debts:
                debt = s.get(DebtRow, debt_id)
                if debt is not None and debt.settled_at is None:
                    debt.settled_at, debt.settled_by_visit = exit_at, row.id
                    s.add(debt)
                    append_audit(s, at=exit_at, actor=attendant, action="debt.settled", subject=debt.id, detail={"plate": debt.plate, "amount_minor": debt.amount_minor})
            if new_debt is not None:
                amount_minor, debt_reason = new_debt
                debt = DebtRow(id=new_id(), plate=row.plate, visit_id=row.id, shift_id=shift_id, amount_minor=amount_minor, currency=row.currency, reason=debt_reason, actor=attendant, at=exit_at)
                s.add(debt)
                append_audit(s, at=exit_at, actor=attendant, action="debt.recorded", subject=debt.id, detail={"plate": row.plate, "amount_minor": amount_minor, "reason": debt_reason})
                enqueue(s, type="debt.recorded", occurred_at=exit_at, payload={"debt_id": debt.id, "plate": row.plate, "visit_id": row.id, "amount_minor": amount_minor, "currency": row.currency, "reason": debt_reason})
            for ov in overrides:
                s.add(OverrideRow(id=new_id(), visit_id=row.id, shift_id=shift_id, kind=ov["kind"], quoted_minor=ov["quoted_minor"], new_minor=ov["new_minor"], currency=row.currency, reason=ov["reason"], actor=attendant, approved_by=ov.get("approved_by"), at=exit_at))
                append_audit(s, at=exit_at, actor=attendant, action=f"override.{ov['kind']}", subject=row.id, detail=ov)
                enqueue(s, type="fee.overridden", occurred_at=exit_at, payload={"visit_id": row.id, **ov})
            if change_left and shift_id is not None:
                s.add(CashMovementRow(id=new_id(), shift_id=shift_id, kind="change_left", amount_minor=change_left, currency=row.currency, reason="change left by the driver", actor=attendant, at=exit_at, visit_id=row.id))
                append_audit(s, at=exit_at, actor=attendant, action="cash.change_left", subject=row.id, detail={"amount_minor": change_left})
            number = None
            if receipt is not None:
                number = add_receipt(
                    s, booth_id=booth_id, kind="receipt", content=receipt, at=exit_at, visit_id=row.id, shift_id=shift_id
                ).number
            s.flush()
            return ClosedVisit(visit_from_row(row), tuple(_recorded(p) for p in recorded), receipt_number=number)


def _recorded(p: PaymentRow) -> RecordedPayment:
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
