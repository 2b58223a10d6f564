"""Shifts at a booth's cash drawer: opening float, payments, cash movements, the count."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, func
from sqlalchemy import select as core_select  # Core rows, for the prepared statements
from sqlmodel import Session, col, select

from console.domain.cash import count_total
from console.domain.errors import DomainError
from console.domain.money import Money
from console.i18n import _
from console.store.audit import append_audit
from console.store.ids import new_id
from console.store.outbox import enqueue
from console.store.prepared import Prepared
from console.store.tables import CashMovementRow, PaymentRow, ShiftRow
from console.store.types import table_of


class ShiftError(DomainError):
    """A shift operation refused, with a message for people."""


@dataclass(frozen=True, slots=True)
class Shift:
    id: str
    booth_id: str
    attendant: str
    state: str
    currency: str
    opened_at: datetime
    opening_float: Money
    closed_at: datetime | None = None
    expected_cash: Money | None = None
    counted_cash: Money | None = None

    @property
    def difference(self) -> Money | None:
        if self.expected_cash is None or self.counted_cash is None:
            return None
        return self.counted_cash - self.expected_cash


def _shift(row: Any) -> Shift:
    cur = row.currency
    return Shift(
        row.id, row.booth_id, row.attendant, row.state, cur, row.opened_at, Money(row.opening_float_minor, cur), row.closed_at,
        Money(row.expected_cash_minor, cur) if row.expected_cash_minor is not None else None,
        Money(row.counted_cash_minor, cur) if row.counted_cash_minor is not None else None,
    )


_SHIFTS = table_of(ShiftRow)
# Read in every paid exit's transaction: compiled once.
_CURRENT = Prepared(core_select(_SHIFTS).where(_SHIFTS.c.booth_id == bindparam("booth_id"), _SHIFTS.c.state == "open").limit(1))


def current_shift(session: Session, booth_id: str) -> Shift | None:
    """The booth's open shift, if any."""
    row = _CURRENT.first(session, booth_id=booth_id)
    return _shift(row) if row else None


def open_shift(session: Session, *, booth_id: str, attendant: str, opening_float: Money, at: datetime) -> Shift:
    """Open the booth's drawer for `attendant` (inside the caller's transaction)."""
    if opening_float.is_negative:
        raise ShiftError(_("the float cannot be negative"))
    if current_shift(session, booth_id) is not None:
        raise ShiftError(_("a shift is already open at this booth; close it or hand over"))
    row = ShiftRow(id=new_id(), booth_id=booth_id, attendant=attendant, currency=opening_float.currency, opened_at=at, opening_float_minor=opening_float.minor)
    session.add(row)
    session.flush()
    session.add(CashMovementRow(id=new_id(), shift_id=row.id, kind="float", amount_minor=opening_float.minor, currency=row.currency, reason="opening float", actor=attendant, at=at))
    append_audit(session, at=at, actor=attendant, action="shift.open", subject=row.id, detail={"float_minor": opening_float.minor})
    enqueue(session, type="shift.opened", occurred_at=at, payload={"shift_id": row.id, "booth_id": booth_id, "attendant": attendant, "float_minor": opening_float.minor, "currency": row.currency})
    return _shift(row)


def expected_cash(session: Session, shift: ShiftRow) -> int:
    """Float + cash taken + cash movements (refunds, paid-outs, change left...), minor units."""
    taken = session.exec(
        select(func.coalesce(func.sum(PaymentRow.amount_minor), 0)).where(PaymentRow.shift_id == shift.id, PaymentRow.method == "cash")
    ).one()
    moved = session.exec(
        select(func.coalesce(func.sum(CashMovementRow.amount_minor), 0)).where(CashMovementRow.shift_id == shift.id, CashMovementRow.kind != "float")
    ).one()
    return shift.opening_float_minor + int(taken) + int(moved)


def close_shift(session: Session, *, shift_id: str, counted: dict[int, int], closed_by: str, note: str, at: datetime) -> Shift:
    """Close a shift with the drawer counted by denomination. A shift closes once."""
    row = session.get(ShiftRow, shift_id)
    if row is None:
        raise ShiftError(_("no such shift"))
    if row.state != "open":
        raise ShiftError(_("this shift was already closed at {closed_at:%H:%M} UTC by {closed_by}").format(closed_at=row.closed_at, closed_by=row.closed_by))
    total = count_total(counted, row.currency)
    row.expected_cash_minor = expected_cash(session, row)
    row.counted_cash_minor = total.minor
    row.counted_detail = json.dumps({str(k): v for k, v in sorted(counted.items(), reverse=True)})
    row.state, row.closed_at, row.closed_by, row.note = "closed", at, closed_by, note.strip()[:500]
    session.add(row)
    difference = row.counted_cash_minor - row.expected_cash_minor
    append_audit(session, at=at, actor=closed_by, action="shift.close", subject=row.id, detail={"expected_minor": row.expected_cash_minor, "counted_minor": total.minor, "difference_minor": difference, "note": row.note})
    enqueue(session, type="shift.closed", occurred_at=at, payload={"shift_id": row.id, "booth_id": row.booth_id, "expected_minor": row.expected_cash_minor, "counted_minor": total.minor, "difference_minor": difference, "currency": row.currency})
    return _shift(row)


def record_cash_movement(session: Session, *, shift_id: str, kind: str, amount: Money, reason: str, actor: str, at: datetime, visit_id: str | None = None) -> None:
    """Cash into (+) or out of (-) the drawer that is not a fee (audited)."""
    if kind not in ("paid_out", "refund", "change_left", "drop"):
        raise ShiftError(_("unknown kind of cash movement {kind!r}").format(kind=kind))
    if not reason.strip():
        raise ShiftError(_("give a reason"))
    session.add(CashMovementRow(id=new_id(), shift_id=shift_id, kind=kind, amount_minor=amount.minor, currency=amount.currency, reason=reason.strip(), actor=actor, at=at, visit_id=visit_id))
    append_audit(session, at=at, actor=actor, action=f"cash.{kind}", subject=shift_id, detail={"amount_minor": amount.minor, "reason": reason.strip()})
    enqueue(session, type="cash.moved", occurred_at=at, payload={"shift_id": shift_id, "kind": kind, "amount_minor": amount.minor, "currency": amount.currency, "reason": reason.strip()})


def recent_shift_ids(session: Session, booth_id: str, limit: int = 10) -> list[str]:
    rows = session.exec(select(ShiftRow.id).where(ShiftRow.booth_id == booth_id).order_by(col(ShiftRow.opened_at).desc()).limit(limit)).all()
    return list(rows)
