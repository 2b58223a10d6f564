"""Hand-built rows for report tests: each helper inserts exactly one row with the values
given, so every figure a test expects can be checked by hand."""

from __future__ import annotations

import json
from datetime import datetime, timezone
from itertools import count
from typing import Any

from sqlalchemy.engine import Engine
from sqlmodel import Session

from console.store.audit import append_audit
from console.store.tables import (
    CashMovementRow,
    DebtRow,
    GateActionRow,
    OccupancyAdjustmentRow,
    OverrideRow,
    PaymentRow,
    ReceiptRow,
    ShiftRow,
    VisitRow,
)

_ids = count(1)


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=timezone.utc)  # type: ignore[misc]


def _id(prefix: str) -> str:
    return f"{prefix}-{next(_ids):06d}"


class Rows:
    """Inserts rows through the real tables (so times are stored the way the console stores them)."""

    def __init__(self, engine: Engine, currency: str = "EUR") -> None:
        self.engine = engine
        self.currency = currency

    def _insert(self, table: Any, values: dict[str, Any]) -> str:
        with self.engine.begin() as conn:
            conn.execute(table.__table__.insert(), values)
        return values.get("id", "")

    def shift(self, *, opened: datetime, closed: datetime | None = None, booth: str = "booth-1", attendant: str = "anna",
              float_minor: int = 0, counted: int | None = None, expected: int | None = None,
              detail: dict[str, int] | str | None = None, closed_by: str | None = None, note: str = "",
              id: str | None = None) -> str:
        return self._insert(ShiftRow, {
            "id": id or _id("shift"), "booth_id": booth, "attendant": attendant,
            "state": "closed" if closed else "open", "currency": self.currency, "opened_at": opened, "closed_at": closed,
            "opening_float_minor": float_minor, "expected_cash_minor": expected, "counted_cash_minor": counted,
            "counted_detail": detail if isinstance(detail, str) or detail is None else json.dumps(detail),
            "closed_by": closed_by, "note": note,
        })

    def visit(self, plate: str, entry: datetime, exit: datetime | None = None, *, reason: str | None = "paid",
              zone: str = "P1", fee: int | None = None) -> str:
        return self._insert(VisitRow, {
            "id": _id("visit"), "plate": plate, "zone": zone, "vehicle_class": "car", "entry_lane": "IN1",
            "entry_at": entry, "exit_lane": "OUT1" if exit else None, "exit_at": exit,
            "state": "closed" if exit else "open", "currency": self.currency, "fee_minor": fee, "paid_minor": 0,
            "tariff_id": None, "close_reason": reason if exit else None,
        })

    def payment(self, visit_id: str, method: str, amount: int, *, at: datetime, shift_id: str | None,
                tendered: int | None = None, change: int | None = None, attendant: str = "anna",
                currency: str | None = None) -> str:
        return self._insert(PaymentRow, {
            "id": _id("pay"), "visit_id": visit_id, "method": method, "amount_minor": amount,
            "currency": currency or self.currency, "tendered_minor": tendered, "change_minor": change,
            "reference": None, "attendant": attendant, "created_at": at, "shift_id": shift_id,
            "idempotency_key": _id("key"),
        })

    def movement(self, shift_id: str, kind: str, amount: int, *, at: datetime, reason: str = "", actor: str = "anna") -> str:
        return self._insert(CashMovementRow, {
            "id": _id("cash"), "shift_id": shift_id, "kind": kind, "amount_minor": amount, "currency": self.currency,
            "reason": reason, "actor": actor, "at": at, "visit_id": None,
        })

    def override(self, visit_id: str, kind: str, quoted: int, new: int, *, at: datetime, shift_id: str | None,
                 reason: str, actor: str = "anna", approved_by: str | None = None) -> str:
        return self._insert(OverrideRow, {
            "id": _id("ovr"), "visit_id": visit_id, "shift_id": shift_id, "kind": kind, "quoted_minor": quoted,
            "new_minor": new, "currency": self.currency, "reason": reason, "actor": actor,
            "approved_by": approved_by, "at": at,
        })

    def gate(self, action: str, *, at: datetime, lane: str = "OUT1", reason: str = "exit without payment",
             note: str = "", plate: str | None = None, actor: str = "anna") -> str:
        return self._insert(GateActionRow, {
            "id": _id("gate"), "lane": lane, "action": action, "reason": reason, "note": note, "plate": plate,
            "actor": actor, "at": at, "snapshot": None,
        })

    def receipt(self, number: int, kind: str, *, at: datetime, shift_id: str | None, printed: bool = True,
                booth: str = "booth-1") -> str:
        return self._insert(ReceiptRow, {
            "id": _id("rcpt"), "booth_id": booth, "number": number, "kind": kind, "visit_id": None,
            "shift_id": shift_id, "created_at": at, "content": "{}", "printed_at": at if printed else None,
            "attempts": 1 if printed else 2, "last_error": None if printed else "paper out",
        })

    def debt(self, visit_id: str, plate: str, amount: int, *, at: datetime, shift_id: str | None, reason: str,
             settled_at: datetime | None = None, actor: str = "anna") -> str:
        return self._insert(DebtRow, {
            "id": _id("debt"), "plate": plate, "visit_id": visit_id, "shift_id": shift_id, "amount_minor": amount,
            "currency": self.currency, "reason": reason, "actor": actor, "at": at, "settled_at": settled_at,
            "settled_by_visit": None,
        })

    def adjustment(self, delta: int, *, at: datetime, zone: str = "P1", reason: str = "counted on the deck",
                   actor: str = "anna") -> str:
        return self._insert(OccupancyAdjustmentRow, {
            "id": _id("adj"), "zone": zone, "delta": delta, "reason": reason, "actor": actor, "at": at,
        })

    def audit(self, action: str, *, at: datetime, actor: str = "anna", subject: str = "", detail: dict[str, Any] | None = None) -> None:
        with Session(self.engine) as session, session.begin():
            append_audit(session, at=at, actor=actor, action=action, subject=subject, detail=detail)
