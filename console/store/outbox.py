"""The outbox: events written in the same transaction as the change they describe, sent
to the cloud later by the sync pump. At-least-once delivery with idempotent ids.

Every query on the outbox lives here; the sync pump only calls these."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Sequence

from sqlalchemy import and_, bindparam, func, select, update
from sqlmodel import Session

from console.i18n import _
from console.store.database import affected
from console.store.ids import new_id
from console.store.prepared import Prepared
from console.store.tables import OutboxRow
from console.store.types import table_of

_OUTBOX = table_of(OutboxRow)
# Compiled once, sent straight to the driver: the hot path of every change.
_INSERT = Prepared(_OUTBOX.insert().values({name: bindparam(name) for name in ("id", "type", "occurred_at", "payload", "attempts")}))
# Waiting to be sent: not acknowledged, and not parked after the cloud refused it.
_UNSENT = and_(_OUTBOX.c.sent_at.is_(None), _OUTBOX.c.refused_at.is_(None))
_PARKED = and_(_OUTBOX.c.sent_at.is_(None), _OUTBOX.c.refused_at.is_not(None))


def enqueue(db: Session, *, type: str, occurred_at: datetime, payload: dict[str, Any]) -> str:
    """Add an event inside the caller's transaction. Returns its id."""
    event_id = new_id()
    text = json.dumps(payload, ensure_ascii=False, sort_keys=True, separators=(",", ":"), default=str)
    _INSERT.execute(db, id=event_id, type=type, occurred_at=occurred_at, payload=text, attempts=0)
    return event_id


@dataclass(frozen=True, slots=True)
class OutboxEvent:
    """An event as the sync pump sends it."""

    id: str
    type: str
    occurred_at: datetime
    payload: dict[str, Any]
    attempts: int


@dataclass(frozen=True, slots=True)
class OutboxPage:
    """One page of unsent events, oldest first. `broken` are ids of rows whose payload is
    not a JSON object: they cannot be sent, only reported. `last_id` is where the next
    page starts (None for an empty page)."""

    events: list[OutboxEvent]
    broken: list[str]

    @property
    def last_id(self) -> str | None:
        ids = [e.id for e in self.events] + self.broken
        return max(ids) if ids else None

    def __len__(self) -> int:
        return len(self.events) + len(self.broken)


def unsent_page(db: Session, limit: int, after_id: str | None = None) -> OutboxPage:
    """The oldest unsent events after `after_id` (ids are time-ordered)."""
    query = select(_OUTBOX.c.id, _OUTBOX.c.type, _OUTBOX.c.occurred_at, _OUTBOX.c.payload, _OUTBOX.c.attempts).where(_UNSENT)
    if after_id is not None:
        query = query.where(_OUTBOX.c.id > after_id)
    rows = db.execute(query.order_by(_OUTBOX.c.id).limit(limit)).all()
    events: list[OutboxEvent] = []
    broken: list[str] = []
    for r in rows:
        try:
            payload = json.loads(r.payload)
            if not isinstance(payload, dict):
                raise ValueError(_("payload is not an object"))
        except ValueError:
            broken.append(r.id)
            continue
        events.append(OutboxEvent(r.id, r.type, r.occurred_at, payload, r.attempts))
    return OutboxPage(events, broken)


def fetch_unsent(db: Session, limit: int, after_id: str | None = None) -> list[OutboxEvent]:
    """The oldest unsent, readable events (by id, which is time-ordered)."""
    return unsent_page(db, limit, after_id).events


def mark_sent(db: Session, ids: Sequence[str], at: datetime) -> int:
    """Mark events acknowledged by the cloud. Returns how many changed."""
    if not ids:
        return 0
    result = db.execute(update(_OUTBOX).where(_OUTBOX.c.id.in_(list(ids)), _UNSENT).values(sent_at=at))
    return affected(result)


def backlog(db: Session) -> tuple[int, datetime | None]:
    """How many events are unsent, and when the oldest of them happened."""
    count, oldest = db.execute(select(func.count(), func.min(_OUTBOX.c.occurred_at)).where(_UNSENT)).one()
    return int(count), oldest


def newest_unsent_id(db: Session) -> str | None:
    """The id of the newest unsent event (None when everything is sent)."""
    value = db.execute(select(func.max(_OUTBOX.c.id)).where(_UNSENT)).scalar()
    return str(value) if value is not None else None


def unsent_up_to(db: Session, last_id: str) -> int:
    """How many events up to and including `last_id` are still unsent."""
    return int(db.execute(select(func.count()).where(_UNSENT, _OUTBOX.c.id <= last_id)).scalar() or 0)


@dataclass(frozen=True, slots=True)
class RefusedEvent:
    """An event the cloud refused for itself, parked for the manager."""

    id: str
    type: str
    occurred_at: datetime
    refused_at: datetime
    reason: str
    attempts: int


def park(db: Session, refusals: Sequence[tuple[str, str]], at: datetime) -> int:
    """Park events the cloud refused one by one (id, its reason): they are not sent again
    until a manager puts them back (`requeue`), so they block nothing after them. Returns
    how many were parked."""
    parked = 0
    for event_id, reason in refusals:
        result = db.execute(
            update(_OUTBOX).where(_OUTBOX.c.id == event_id, _UNSENT)
            .values(refused_at=at, refused_reason=(reason or "")[:300], attempts=_OUTBOX.c.attempts + 1)
        )
        parked += affected(result)
    return parked


def refused(db: Session, limit: int = 200) -> list[RefusedEvent]:
    """Parked events, oldest first."""
    rows = db.execute(
        select(_OUTBOX.c.id, _OUTBOX.c.type, _OUTBOX.c.occurred_at, _OUTBOX.c.refused_at, _OUTBOX.c.refused_reason,
               _OUTBOX.c.attempts).where(_PARKED).order_by(_OUTBOX.c.id).limit(limit)
    ).all()
    return [RefusedEvent(r.id, r.type, r.occurred_at, r.refused_at, r.refused_reason or "", r.attempts) for r in rows]


def refused_count(db: Session) -> int:
    """How many events are parked."""
    return int(db.execute(select(func.count()).where(_PARKED)).scalar() or 0)


def requeue(db: Session, ids: Sequence[str] | None = None) -> int:
    """Put parked events back in the queue (all of them without `ids`), e.g. after the
    cloud was fixed. Returns how many."""
    query = update(_OUTBOX).where(_PARKED)
    if ids is not None:
        query = query.where(_OUTBOX.c.id.in_(list(ids)))
    return affected(db.execute(query.values(refused_at=None, refused_reason=None)))


# The only outbox payload field that holds a person's picture (elevator ride events).
SNAPSHOT_FIELD = "snapshot_jpeg_b64"
RIDE_EVENT = "elevator.ride"


def scrub_snapshots(db: Session, *, older_than: datetime) -> int:
    """Remove the pictures from ride events that happened before `older_than`, sent or
    not: retention means deletion, also of the copy waiting for the cloud. An unsent
    event still goes, without its picture (`snapshot_purged: true`). Returns how many."""
    rows = db.execute(
        select(_OUTBOX.c.id, _OUTBOX.c.payload).where(
            _OUTBOX.c.type == RIDE_EVENT, _OUTBOX.c.occurred_at < older_than,
            _OUTBOX.c.payload.like(f'%"{SNAPSHOT_FIELD}":"%'),
        )
    ).all()
    for row in rows:
        try:
            payload = json.loads(row.payload)
        except ValueError:
            continue
        if not isinstance(payload, dict):
            continue
        payload[SNAPSHOT_FIELD] = None
        payload["snapshot_purged"] = True
        db.execute(update(_OUTBOX).where(_OUTBOX.c.id == row.id).values(
            payload=json.dumps(payload, ensure_ascii=False, sort_keys=True, separators=(",", ":"))))
    return len(rows)


def prune_sent(db: Session, *, sent_before: datetime, limit: int = 5000) -> int:
    """Delete events the cloud acknowledged before `sent_before` (the cloud holds them;
    the booth keeps recent ones to answer questions about the link). Parked and unsent
    events are never pruned. At most `limit` per call, so one call is a short
    transaction. Returns how many."""
    ids = db.execute(
        select(_OUTBOX.c.id).where(_OUTBOX.c.sent_at.is_not(None), _OUTBOX.c.sent_at < sent_before)
        .order_by(_OUTBOX.c.id).limit(limit)
    ).scalars().all()
    if not ids:
        return 0
    return affected(db.execute(_OUTBOX.delete().where(_OUTBOX.c.id.in_(list(ids)))))
