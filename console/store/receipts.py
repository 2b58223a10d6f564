"""Receipts: gap-free numbers per booth, and the durable print queue.

A receipt row is written in the same transaction as the payment it documents, so a crash
after the commit leaves the receipt waiting in the queue; it is never lost and never
numbered twice."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, update
from sqlmodel import Session, col, select

from console.store.audit import append_audit
from console.store.audit_records import content_digest
from console.store.ids import new_id
from console.store.locks import lock_site_writes
from console.store.prepared import Prepared
from console.store.tables import CounterRow, ReceiptRow
from console.store.types import table_of

_COUNTER = table_of(CounterRow)
_RECEIPTS = table_of(ReceiptRow)
# Compiled once (a receipt is numbered in every paid exit's transaction): one round trip
# advances the counter and returns the new value.
_ADVANCE = Prepared(
    update(_COUNTER).where(_COUNTER.c.booth_id == bindparam("b_booth"), _COUNTER.c.name == bindparam("b_name"))
    .values(value=_COUNTER.c.value + 1).returning(_COUNTER.c.value)
)
_START = Prepared(_COUNTER.insert().values(booth_id=bindparam("booth_id"), name=bindparam("name"), value=bindparam("value")))
_RECEIPT_COLUMNS = ("id", "booth_id", "number", "kind", "visit_id", "shift_id", "created_at", "content", "attempts")
_INSERT_RECEIPT = Prepared(_RECEIPTS.insert().values({name: bindparam(name) for name in _RECEIPT_COLUMNS}))


def next_number(db: Session, booth_id: str, name: str = "receipt") -> int:
    """Advance and return a booth's sequence inside the caller's transaction.

    Under the site's write lock (SQLite: the write transaction's): two documents of one
    booth, say a reprint and a payment's receipt from two threads, never read the same
    value, and the number is gap-free because it commits or rolls back with its document."""
    lock_site_writes(db)
    advanced = _ADVANCE.first(db, b_booth=booth_id, b_name=name)
    if advanced is not None:
        return int(advanced[0])
    _START.execute(db, booth_id=booth_id, name=name, value=1)
    return 1


@dataclass(frozen=True, slots=True)
class Receipt:
    """A receipt (or reprint, or shift report) as the print queue sees it."""

    id: str
    number: int
    kind: str
    visit_id: str | None
    created_at: datetime
    content: dict[str, Any]
    printed_at: datetime | None
    attempts: int
    last_error: str | None
    shift_id: str | None = None


def _receipt(row: ReceiptRow) -> Receipt:
    return Receipt(
        row.id, row.number, row.kind, row.visit_id, row.created_at, json.loads(row.content), row.printed_at, row.attempts,
        row.last_error, row.shift_id,
    )


def add_receipt(
    db: Session,
    *,
    booth_id: str,
    kind: str,
    content: dict[str, Any],
    at: datetime,
    visit_id: str | None = None,
    shift_id: str | None = None,
) -> Receipt:
    """Number a document and queue it for printing (inside the caller's transaction)."""
    number = next_number(db, booth_id)
    content = {**content, "number": number, "kind": kind}
    receipt_id, text = new_id(), json.dumps(content, ensure_ascii=False, sort_keys=True)
    _INSERT_RECEIPT.execute(db, id=receipt_id, booth_id=booth_id, number=number, kind=kind, visit_id=visit_id, shift_id=shift_id,
                            created_at=at, content=text, attempts=0)
    # The content's digest in the audit trail: a receipt edited or deleted later is found.
    append_audit(db, at=at, actor=f"booth {booth_id}", action="receipt.issued", subject=f"{booth_id}:{number}",
                 detail={"kind": kind, "visit": visit_id, "digest": content_digest(text)})
    return Receipt(receipt_id, number, kind, visit_id, at, json.loads(text), None, 0, None, shift_id)


def by_number(db: Session, booth_id: str, number: int) -> Receipt | None:
    """A booth's document by its number."""
    row = db.exec(select(ReceiptRow).where(ReceiptRow.booth_id == booth_id, ReceiptRow.number == number)).first()
    return _receipt(row) if row else None


def waiting(db: Session, limit: int = 20) -> list[Receipt]:
    """Documents not printed yet, oldest first (parked ones, attempts < 0, excluded)."""
    rows = db.exec(
        select(ReceiptRow)
        .where(col(ReceiptRow.printed_at).is_(None), col(ReceiptRow.attempts) >= 0)
        .order_by(col(ReceiptRow.number))
        .limit(limit)
    ).all()
    return [_receipt(r) for r in rows]


def recent(db: Session, limit: int = 20) -> list[Receipt]:
    """The newest documents, newest first."""
    rows = db.exec(select(ReceiptRow).order_by(col(ReceiptRow.created_at).desc(), col(ReceiptRow.number).desc()).limit(limit)).all()
    return [_receipt(r) for r in rows]


def mark_printed(db: Session, receipt_id: str, at: datetime) -> None:
    db.execute(update(ReceiptRow).where(col(ReceiptRow.id) == receipt_id).values(printed_at=at, last_error=None))


def mark_failed(db: Session, receipt_id: str, error: str, *, park: bool = False) -> None:
    """Count a failed attempt; a parked document (never printable) leaves the queue."""
    values: dict[str, Any] = {"last_error": error[:200]}
    if park:
        values["attempts"] = -1
    else:
        values["attempts"] = ReceiptRow.attempts + 1
    db.execute(update(ReceiptRow).where(col(ReceiptRow.id) == receipt_id).values(**values))
