"""What the emergency journal leaves in the database: the mark that a journal line was
merged, and the conflicts a merge found, for the manager.

Both are audit entries (no table of their own): a line's `emergency.merged` entry is
written in the same transaction as the records the line stands for, so "is this line in
the database" is one look-up that can never disagree with the records. A conflict
(`emergency.conflict`) stays open until a manager marks it resolved
(`emergency.conflict_resolved`, with who and why).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlmodel import Session, select

from console.store.audit import append_audit
from console.store.outbox import enqueue
from console.store.tables import AuditRow
from console.store.types import table_of

MERGED = "emergency.merged"
CONFLICT = "emergency.conflict"
RESOLVED = "emergency.conflict_resolved"


@dataclass(frozen=True)
class Conflict:
    """A journal line whose decision the database could not take as it was: the stay
    settled at another booth meanwhile, the plate already inside, a record refused."""

    id: str  # the journal line's id
    kind: str  # settled_elsewhere | entered_twice | left_unsettled | refused
    at: datetime  # when the attendant acted (the journal's time)
    merged_at: datetime
    booth: str
    lane: str
    plate: str
    actor: str
    message: str  # what happened, in words for the manager
    paid_minor: int  # money taken at the booth with the decision (in the drawer)
    currency: str
    resolved_by: str | None = None
    resolution: str | None = None

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready dict."""
        return {
            "id": self.id, "kind": self.kind, "at": self.at.isoformat(), "merged_at": self.merged_at.isoformat(), "booth": self.booth,
            "lane": self.lane, "plate": self.plate, "actor": self.actor, "message": self.message, "paid_minor": self.paid_minor,
            "currency": self.currency, "resolved_by": self.resolved_by, "resolution": self.resolution,
        }


def is_merged(db: Session, line_id: str) -> bool:
    """Whether the journal line `line_id` was merged already (by any earlier merge)."""
    audit = table_of(AuditRow)
    found = db.execute(select(audit.c.seq).where(audit.c.action == MERGED, audit.c.subject == line_id).limit(1)).first()
    return found is not None


def mark_merged(db: Session, *, line_id: str, at: datetime, actor: str, detail: dict[str, Any]) -> None:
    """Write, in the merge's own transaction, that `line_id` is in the database now."""
    append_audit(db, at=at, actor=actor, action=MERGED, subject=line_id, detail=detail)


def record_conflict(db: Session, *, line_id: str, kind: str, at: datetime, merged_at: datetime, booth: str, lane: str, plate: str, actor: str,
                    message: str, paid_minor: int, currency: str) -> None:
    """List a conflict for the manager (audited, and sent to the cloud)."""
    detail = {"kind": kind, "at": at.isoformat(), "booth": booth, "lane": lane, "plate": plate, "message": message,
              "paid_minor": paid_minor, "currency": currency}
    append_audit(db, at=merged_at, actor=actor, action=CONFLICT, subject=line_id, detail=detail)
    enqueue(db, type="emergency.conflict", occurred_at=merged_at, payload={"id": line_id, "actor": actor, **detail})


def conflicts(db: Session, *, include_resolved: bool = False) -> list[Conflict]:
    """The conflicts emergency merges found, oldest first (only open ones unless told)."""
    audit = table_of(AuditRow)
    rows = db.exec(select(AuditRow).where(audit.c.action.in_([CONFLICT, RESOLVED])).order_by(audit.c.seq)).all()
    found: dict[str, Conflict] = {}
    resolutions: dict[str, tuple[str, str]] = {}
    for row in rows:
        detail = json.loads(row.detail or "{}")
        if row.action == RESOLVED:
            resolutions[row.subject] = (row.actor, str(detail.get("note", "")))
            continue
        found[row.subject] = Conflict(
            id=row.subject, kind=str(detail.get("kind", "")), at=datetime.fromisoformat(str(detail.get("at") or row.at.isoformat())),
            merged_at=row.at, booth=str(detail.get("booth", "")), lane=str(detail.get("lane", "")), plate=str(detail.get("plate", "")),
            actor=row.actor, message=str(detail.get("message", "")), paid_minor=int(detail.get("paid_minor", 0) or 0),
            currency=str(detail.get("currency", "")),
        )
    out: list[Conflict] = []
    for line_id, conflict in found.items():
        if line_id in resolutions:
            if not include_resolved:
                continue
            by, note = resolutions[line_id]
            conflict = Conflict(**{**conflict.__dict__, "resolved_by": by, "resolution": note})
        out.append(conflict)
    return out


def open_conflict_count(db: Session) -> int:
    """How many conflicts wait for the manager."""
    return len(conflicts(db))


def resolve_conflict(db: Session, *, line_id: str, actor: str, note: str, at: datetime) -> bool:
    """Mark a conflict resolved (audited). False when there is no open conflict `line_id`."""
    if not any(c.id == line_id for c in conflicts(db)):
        return False
    append_audit(db, at=at, actor=actor, action=RESOLVED, subject=line_id, detail={"note": note})
    enqueue(db, type="emergency.conflict_resolved", occurred_at=at, payload={"id": line_id, "actor": actor, "note": note})
    return True
