"""What the booth tells the cloud about charging asked from a phone: the start made (or
refused) for a request, and the running figures of its session."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlmodel import Session

from console.store.audit import append_audit
from console.store.outbox import enqueue
from console.store.tables import AuditRow

PHONE_STARTED = "charging.phone_started"
PHONE_REFUSED = "charging.phone_refused"
PROGRESS = "charging.progress"
CHANGE_ANSWERED = "charging.change_answered"


def answered(db: Session, request_id: str) -> bool:
    """Has this booth's site answered the phone's (or a card or pile change's) request
    already (started, refused, done)?"""
    audit = AuditRow.__table__.c  # type: ignore[attr-defined]
    q = select(audit.seq).where(audit.subject == request_id[:64], audit.action.in_([PHONE_STARTED, PHONE_REFUSED, CHANGE_ANSWERED]))
    return db.execute(q.limit(1)).first() is not None


def phone_sessions(db: Session, session_ids: list[str]) -> dict[str, str]:
    """Which of these (open) sessions a phone started: session id -> request id."""
    import json

    if not session_ids:
        return {}
    audit = AuditRow.__table__.c  # type: ignore[attr-defined]
    wanted, found = set(session_ids), {}
    for subject, detail in db.execute(select(audit.subject, audit.detail).where(audit.action == PHONE_STARTED)).all():
        try:
            session = json.loads(detail).get("session")
        except (ValueError, AttributeError):
            continue
        if session in wanted:
            found[session] = subject
    return found


def answer(db: Session, at: datetime, request_id: str, *, started: bool, detail: dict[str, Any]) -> None:
    """Record the answer to a phone's start request: audited, and sent to the cloud."""
    action = PHONE_STARTED if started else PHONE_REFUSED
    append_audit(db, at=at, actor="cloud:phone", action=action, subject=request_id[:64], detail=detail)
    enqueue(db, type=action, occurred_at=at, payload={"subject": request_id, **detail})


def progress(db: Session, at: datetime, session_id: str, *, energy_wh: int, seconds: int, fee_minor: int, currency: str) -> None:
    """A running session's figures for the phone that started it (not a decision: no audit)."""
    enqueue(db, type=PROGRESS, occurred_at=at, payload={
        "subject": session_id, "energy_wh": energy_wh, "seconds": seconds, "fee_minor": fee_minor, "currency": currency})


def answer_change(db: Session, at: datetime, request_id: str, actor: str, *, ok: bool, detail: dict[str, Any]) -> None:
    """Record the outcome of a card binding or pile authorization asked in the cloud:
    audited with the person who asked, and sent to the cloud for their page."""
    append_audit(db, at=at, actor=actor[:64], action=CHANGE_ANSWERED, subject=request_id[:64], detail={"ok": ok, **detail})
    enqueue(db, type=CHANGE_ANSWERED, occurred_at=at, payload={"subject": request_id, "ok": ok, **detail})
