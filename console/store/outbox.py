"""The outbox: events written in the same transaction as the change they describe, sent
to the cloud later by the sync pump. At-least-once delivery with idempotent ids."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Sequence

from sqlalchemy import func, update
from sqlalchemy.engine import Connection
from sqlmodel import Session, col, select

from console.store.ids import new_id
from console.store.tables import OutboxRow


_INSERT = OutboxRow.__table__.insert()  # type: ignore[attr-defined]  (built once: hot path)


def enqueue(db: Session | Connection, *, type: str, occurred_at: datetime, payload: dict[str, Any]) -> str:
    """Add an event inside the caller's transaction. Returns its id."""
    event_id = new_id()
    db.execute(
        _INSERT,
        {
            "id": event_id,
            "type": type,
            "occurred_at": occurred_at,
            "payload": json.dumps(payload, ensure_ascii=False, sort_keys=True, separators=(",", ":"), default=str),
            "attempts": 0,
        },
    )
    return event_id


@dataclass(frozen=True, slots=True)
class OutboxEvent:
    """An event as the sync pump sends it."""

    id: str
    type: str
    occurred_at: datetime
    payload: dict[str, Any]
    attempts: int


def fetch_unsent(session: Session, limit: int, after_id: str | None = None) -> list[OutboxEvent]:
    """The oldest unsent events (by id, which is time-ordered)."""
    query = select(OutboxRow).where(col(OutboxRow.sent_at).is_(None))
    if after_id is not None:
        query = query.where(col(OutboxRow.id) > after_id)
    rows = session.exec(query.order_by(col(OutboxRow.id)).limit(limit)).all()
    return [OutboxEvent(r.id, r.type, r.occurred_at, json.loads(r.payload), r.attempts) for r in rows]


def mark_sent(session: Session, ids: Sequence[str], at: datetime) -> int:
    """Mark events acknowledged by the cloud. Returns how many changed."""
    if not ids:
        return 0
    result = session.execute(
        update(OutboxRow).where(col(OutboxRow.id).in_(list(ids))).where(col(OutboxRow.sent_at).is_(None)).values(sent_at=at)
    )
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


def backlog(session: Session) -> tuple[int, datetime | None]:
    """How many events are unsent, and when the oldest of them happened."""
    count, oldest = session.execute(
        select(func.count(), func.min(OutboxRow.occurred_at)).where(col(OutboxRow.sent_at).is_(None))
    ).one()
    return int(count), oldest
