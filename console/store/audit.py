"""The audit trail: every entry carries the hash of the previous one, so an edited or
deleted row breaks the chain and `verify_chain` names the first broken link."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

from sqlmodel import Session, col, select

from console.store.tables import AuditRow

GENESIS = "0" * 64


def _digest(prev_hash: str, seq: int, at: datetime, actor: str, action: str, subject: str, detail: str) -> str:
    material = json.dumps(
        [prev_hash, seq, at.isoformat(), actor, action, subject, detail],
        ensure_ascii=False,
        separators=(",", ":"),
    )
    return hashlib.sha256(material.encode("utf-8")).hexdigest()


def append_audit(
    session: Session,
    *,
    at: datetime,
    actor: str,
    action: str,
    subject: str = "",
    detail: dict[str, Any] | None = None,
) -> AuditRow:
    """Add an entry inside the caller's transaction (which holds the write lock, so the
    chain cannot fork between two writers)."""
    last = session.exec(select(AuditRow).order_by(col(AuditRow.seq).desc()).limit(1)).first()
    prev_hash = last.hash if last else GENESIS
    seq = (last.seq or 0) + 1 if last else 1
    detail_text = json.dumps(detail or {}, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
    at_utc = at.astimezone(timezone.utc)
    row = AuditRow(
        seq=seq,
        at=at_utc,
        actor=actor,
        action=action,
        subject=subject,
        detail=detail_text,
        prev_hash=prev_hash,
        hash=_digest(prev_hash, seq, at_utc, actor, action, subject, detail_text),
    )
    session.add(row)
    return row


@dataclass(frozen=True, slots=True)
class ChainReport:
    """The result of checking the audit chain."""

    entries: int
    ok: bool
    first_bad_seq: int | None = None
    problem: str = ""


def verify_chain(session: Session, batch: int = 5000) -> ChainReport:
    """Walk the chain in order; report the first missing, edited or re-linked entry."""
    prev_hash = GENESIS
    expected_seq = 1
    count = 0
    last_seq = 0
    while True:
        rows = session.exec(
            select(AuditRow).where(col(AuditRow.seq) > last_seq).order_by(col(AuditRow.seq)).limit(batch)
        ).all()
        if not rows:
            return ChainReport(count, True)
        for row in rows:
            seq = row.seq or 0
            if seq != expected_seq:
                return ChainReport(count, False, expected_seq, f"entry {expected_seq} is missing")
            if row.prev_hash != prev_hash:
                return ChainReport(count, False, seq, f"entry {seq} does not link to entry {seq - 1}")
            digest = _digest(row.prev_hash, seq, row.at, row.actor, row.action, row.subject, row.detail)
            if digest != row.hash:
                return ChainReport(count, False, seq, f"entry {seq} was altered after it was written")
            prev_hash = row.hash
            expected_seq += 1
            count += 1
            last_seq = seq
