"""The audit trail: every entry carries the hash of the previous one, so an edited or
deleted row breaks the chain and `verify_chain` names the first broken link."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

from sqlalchemy import select
from sqlmodel import Session

from console.store.changes import announce
from console.store.locks import lock_site_writes
from console.store.tables import AuditRow
from console.store.types import table_of

GENESIS = "0" * 64

# Built once: statement construction costs more than the SQL itself on the hot path.
_TABLE = table_of(AuditRow)
_LAST_ENTRY = select(_TABLE.c.seq, _TABLE.c.hash).order_by(_TABLE.c.seq.desc()).limit(1)
_INSERT = _TABLE.insert()


def _digest(prev_hash: str, seq: int, at: datetime, actor: str, action: str, subject: str, detail: str) -> str:
    material = json.dumps(
        [prev_hash, seq, at.isoformat(), actor, action, subject, detail],
        ensure_ascii=False,
        separators=(",", ":"),
    )
    return hashlib.sha256(material.encode("utf-8")).hexdigest()


def append_audit(
    db: Session,
    *,
    at: datetime,
    actor: str,
    action: str,
    subject: str = "",
    detail: dict[str, Any] | None = None,
) -> str:
    """Add an entry inside the caller's transaction. Returns the entry's hash.

    The chain cannot fork between two writers: on SQLite the transaction holds the
    database's write lock; on PostgreSQL the site's write lock is taken here, before the
    chain's head is read, and held until the caller commits (so every booth's entries
    join one chain per site)."""
    lock_site_writes(db)
    conn = db.connection()  # Core statements on the session's connection: the hot path
    last = conn.execute(_LAST_ENTRY).first()
    prev_hash = last[1] if last else GENESIS
    seq = last[0] + 1 if last else 1
    detail_text = json.dumps(detail or {}, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
    at_utc = at.astimezone(timezone.utc)
    digest = _digest(prev_hash, seq, at_utc, actor, action, subject, detail_text)
    conn.execute(
        _INSERT,
        {"seq": seq, "at": at_utc, "actor": actor, "action": action, "subject": subject, "detail": detail_text, "prev_hash": prev_hash, "hash": digest},
    )
    announce(db, action)  # every booth's listener hears of it when this commits
    return digest


@dataclass(frozen=True, slots=True)
class ChainReport:
    """The result of checking the audit chain."""

    entries: int
    ok: bool
    first_bad_seq: int | None = None
    problem: str = ""


def verify_chain(session: Session, batch: int = 20000) -> ChainReport:
    """Walk the chain in order; report the first missing, edited or re-linked entry.

    Reads plain rows in batches (no ORM objects): a year of entries checks in seconds."""
    table = table_of(AuditRow)
    columns = select(table.c.seq, table.c.at, table.c.actor, table.c.action, table.c.subject, table.c.detail, table.c.prev_hash, table.c.hash)
    utc = timezone.utc
    prev_hash = GENESIS
    expected_seq = 1
    count = 0
    last_seq = 0
    while True:
        rows = session.execute(columns.where(table.c.seq > last_seq).order_by(table.c.seq).limit(batch)).all()
        if not rows:
            return ChainReport(count, True)
        for seq, at, actor, action, subject, detail, row_prev, row_hash in rows:
            if seq != expected_seq:
                return ChainReport(count, False, expected_seq, f"entry {expected_seq} is missing")
            if row_prev != prev_hash:
                return ChainReport(count, False, seq, f"entry {seq} does not link to entry {seq - 1}")
            moment = at if at.tzinfo is not None else at.replace(tzinfo=utc)
            if _digest(row_prev, seq, moment, actor, action, subject, detail) != row_hash:
                return ChainReport(count, False, seq, f"entry {seq} was altered after it was written")
            prev_hash = row_hash
            expected_seq += 1
            count += 1
            last_seq = seq
