"""Barriers moved by hand: the record that is written before the barrier moves."""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Session

from console.store.audit import append_audit
from console.store.ids import new_id
from console.store.outbox import enqueue
from console.store.tables import GateActionRow


def record_gate_action(db: Session,
    *,
    lane: str,
    action: str,
    reason: str,
    note: str,
    actor: str,
    at: datetime,
    plate: str | None = None,
    snapshot: bytes | None = None,
    action_id: str | None = None,
    booth_id: str | None = None,
) -> str:
    """Record a barrier moved by hand (before it moves). Returns the record's id (given
    when the move was kept in the emergency journal first). `booth_id` names the booth in the
    audit entry, for the other booths' event logs."""
    action_id = action_id or new_id()
    db.add(GateActionRow(id=action_id, lane=lane, action=action, reason=reason, note=note, plate=plate, actor=actor, at=at, snapshot=snapshot))
    detail: dict[str, object] = {"reason": reason, "note": note, "plate": plate, "record": action_id}
    if booth_id:
        detail["booth"] = booth_id
    append_audit(db, at=at, actor=actor, action=f"gate.manual_{action}", subject=lane, detail=detail)
    enqueue(
        db, type="gate.manual", occurred_at=at,
        payload={"id": action_id, "lane": lane, "action": action, "reason": reason, "note": note, "plate": plate, "actor": actor},
    )
    return action_id
