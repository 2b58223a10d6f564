"""Applying what the cloud sends down: tariffs, members/passes/whitelist, accounts and
remote payments.

Each pulled document is applied in one transaction together with its ETag (or cursor),
its audit entry and an outbox event that tells the cloud what the site now uses. A
document that fails validation changes nothing but its recorded refusal: the previous
version stays in force.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Callable, Literal

from pydantic import BaseModel, ValidationError
from sqlalchemy import delete, insert, select, update
from sqlmodel import Session

from console.store.audit import append_audit
from console.store.booth_store import BoothStore
from console.store.outbox import enqueue
from console.sync import protocol as p
from console.sync.tables import CloudAccountRow, CloudMemberRow, CloudTariffRow, RemotePaymentRow, SyncStateRow

log = logging.getLogger(__name__)

REMOTE_PAYMENTS = "remote_payments"
ACTOR = "cloud"
_ERROR_KEEP = 2000

_STATE = SyncStateRow.__table__  # type: ignore[attr-defined]
_TARIFF = CloudTariffRow.__table__  # type: ignore[attr-defined]
_MEMBER = CloudMemberRow.__table__  # type: ignore[attr-defined]
_ACCOUNT = CloudAccountRow.__table__  # type: ignore[attr-defined]
_REMOTE = RemotePaymentRow.__table__  # type: ignore[attr-defined]


@dataclass(frozen=True, slots=True)
class PullState:
    """Where one pulled document stands on this booth."""

    name: str
    etag: str | None = None
    cursor: str | None = None
    version: str | None = None
    applied_at: datetime | None = None
    error: str | None = None


@dataclass(frozen=True, slots=True)
class Applied:
    """What became of one pulled document."""

    kind: str
    outcome: Literal["applied", "refused", "unchanged"]
    version: str | None = None
    error: str | None = None
    count: int = 0


def read_states(store: BoothStore) -> dict[str, PullState]:
    """Every document's ETag/cursor and the version applied."""
    with store.transaction() as s:
        rows = s.execute(select(_STATE)).all()
    return {r.name: PullState(r.name, r.etag, r.cursor, r.version, r.applied_at, r.error) for r in rows}


def _save_state(s: Session, name: str, **values: Any) -> None:
    done = s.execute(update(_STATE).where(_STATE.c.name == name).values(**values))
    if not done.rowcount:  # type: ignore[attr-defined]
        s.execute(insert(_STATE).values(name=name, **values))


def _record(s: Session, now: datetime, action: str, kind: str, detail: dict[str, Any]) -> None:
    append_audit(s, at=now, actor=ACTOR, action=action, subject=kind, detail=detail)
    enqueue(s, type=action, occurred_at=now, payload={"kind": kind, **detail})


def _refuse(
    store: BoothStore,
    kind: str,
    etag: str | None,
    version: str | None,
    error: str,
    now: datetime,
    keep: Callable[[Session], None] | None = None,
) -> Applied:
    """Keep the previous version; remember the refusal (and its ETag, so the same bad
    document is not fetched again and again) and tell the cloud. `keep` stores the
    refused document itself in the same transaction."""
    error = error[:_ERROR_KEEP]
    log.warning("refused %s %s from the cloud: %s", kind, version or "(no version)", error)
    with store.transaction() as s:
        if keep is not None:
            keep(s)
        _save_state(s, kind, etag=etag, error=error)
        _record(s, now, "config.refused", kind, {"version": version, "error": error[:300]})
    return Applied(kind, "refused", version, error)


def _parse(model: type[BaseModel], body: dict[str, Any]) -> tuple[BaseModel | None, str | None, str | None]:
    version = body.get("version") if isinstance(body.get("version"), str) else None
    try:
        return model.model_validate(body), version, None
    except ValidationError as exc:
        return None, version, p.problems(exc)


def apply_tariff(store: BoothStore, body: dict[str, Any], etag: str | None, now: datetime, validate: Callable[[str], None]) -> Applied:
    """Activate a tariff document if `validate` accepts its text; otherwise refuse it
    and keep the active one."""
    doc, version, error = _parse(p.TariffDoc, body)
    if doc is None:
        return _refuse(store, "tariff", etag, version, f"malformed tariff document: {error}", now)
    assert isinstance(doc, p.TariffDoc)
    try:
        # Validation runs before the transaction: parsing must not hold the write lock.
        validate(doc.text)
    except Exception as exc:  # the validator's own error type is not ours to know
        message = str(exc) or type(exc).__name__

        def keep(s: Session) -> None:
            _upsert_tariff(s, doc, "refused", now, message[:_ERROR_KEEP], replace_active=False)

        return _refuse(store, "tariff", etag, doc.version, message, now, keep)
    with store.transaction() as s:
        current = s.execute(select(_TARIFF.c.version, _TARIFF.c.text).where(_TARIFF.c.state == "active")).first()
        if current is not None and current.version == doc.version and current.text == doc.text:
            _save_state(s, "tariff", etag=etag, version=doc.version, error=None)
            return Applied("tariff", "unchanged", doc.version)
        _upsert_tariff(s, doc, "active", now, None, replace_active=True)
        _save_state(s, "tariff", etag=etag, version=doc.version, applied_at=now, error=None)
        _record(s, now, "config.applied", "tariff", {"version": doc.version, "previous": current.version if current else None})
    log.info("tariff %s from the cloud is now active", doc.version)
    return Applied("tariff", "applied", doc.version)


def _upsert_tariff(s: Session, doc: p.TariffDoc, state: str, now: datetime, error: str | None, *, replace_active: bool) -> None:
    if replace_active:
        s.execute(update(_TARIFF).where(_TARIFF.c.state == "active").values(state="superseded"))
    values = {"text": doc.text, "state": state, "received_at": now, "error": error}
    existing = s.execute(select(_TARIFF.c.state).where(_TARIFF.c.version == doc.version)).first()
    if existing is None:
        s.execute(insert(_TARIFF).values(version=doc.version, **values))
    elif existing.state != "active" or replace_active:
        s.execute(update(_TARIFF).where(_TARIFF.c.version == doc.version).values(**values))
    # A refused copy of the active version's number never demotes the active one.


def apply_members(store: BoothStore, body: dict[str, Any], etag: str | None, now: datetime) -> Applied:
    """Replace the whole member/pass/whitelist list, or refuse it whole."""
    doc, version, error = _parse(p.MembersDoc, body)
    if doc is None:
        return _refuse(store, "members", etag, version, f"malformed member list: {error}", now)
    assert isinstance(doc, p.MembersDoc)
    rows = [
        {
            "plate": m.plate,
            "kind": m.kind,
            "name": m.name,
            "account_id": m.account_id,
            "valid_from": m.valid_from,
            "valid_until": m.valid_until,
        }
        for m in doc.members
    ]
    with store.transaction() as s:
        s.execute(delete(_MEMBER))
        if rows:
            s.execute(insert(_MEMBER), rows)
        _save_state(s, "members", etag=etag, version=doc.version, applied_at=now, error=None)
        _record(s, now, "config.applied", "members", {"version": doc.version, "count": len(rows)})
    return Applied("members", "applied", doc.version, count=len(rows))


def apply_accounts(store: BoothStore, body: dict[str, Any], etag: str | None, now: datetime) -> Applied:
    """Replace the whole account list, or refuse it whole."""
    doc, version, error = _parse(p.AccountsDoc, body)
    if doc is None:
        return _refuse(store, "accounts", etag, version, f"malformed account list: {error}", now)
    assert isinstance(doc, p.AccountsDoc)
    ids = [a.id for a in doc.accounts]
    if len(set(ids)) != len(ids):
        return _refuse(store, "accounts", etag, doc.version, "an account id appears twice", now)
    rows = [a.model_dump() for a in doc.accounts]
    with store.transaction() as s:
        s.execute(delete(_ACCOUNT))
        if rows:
            s.execute(insert(_ACCOUNT), rows)
        _save_state(s, "accounts", etag=etag, version=doc.version, applied_at=now, error=None)
        _record(s, now, "config.applied", "accounts", {"version": doc.version, "count": len(rows)})
    return Applied("accounts", "applied", doc.version, count=len(rows))


def apply_remote_payments(store: BoothStore, page: p.RemotePaymentsPage, now: datetime) -> int:
    """Store a page of remote payments and move the cursor, in one transaction.
    A payment already known (same id) is left as it is. Returns how many were new."""
    with store.transaction() as s:
        ids = [rp.id for rp in page.payments]
        known = set(s.execute(select(_REMOTE.c.id).where(_REMOTE.c.id.in_(ids))).scalars()) if ids else set()
        fresh = [
            {
                "id": rp.id,
                "plate": rp.plate,
                "amount_minor": rp.amount_minor,
                "currency": rp.currency,
                "paid_at": rp.paid_at,
                "reference": rp.reference,
                "received_at": now,
            }
            for rp in page.payments
            if rp.id not in known
        ]
        if fresh:
            s.execute(insert(_REMOTE), fresh)
        if page.cursor is not None:
            _save_state(s, REMOTE_PAYMENTS, cursor=page.cursor, applied_at=now)
    return len(fresh)
