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

from console.store import cloud_copies as copies
from console.store.cloud_copies import PullState
from console.store.database import Store
from console.sync import protocol as p

log = logging.getLogger(__name__)

REMOTE_PAYMENTS = "remote_payments"
COMMANDS = "commands"
# Commands the charging service carries out itself (they need the running piles).
CHARGING_COMMANDS = ("charging.start", "charging.stop", "charging.scan_failed", "charging.block_card", "charging.bind_card",
                     "charging.authorize_piles")
_ERROR_KEEP = 2000

__all__ = ["Applied", "CHARGING_COMMANDS", "COMMANDS", "PullState", "REMOTE_PAYMENTS", "apply_commands", "apply_accounts", "apply_members", "apply_remote_payments", "apply_tariff", "read_states"]


@dataclass(frozen=True, slots=True)
class Applied:
    """What became of one pulled document."""

    kind: str
    outcome: Literal["applied", "refused", "unchanged"]
    version: str | None = None
    error: str | None = None
    count: int = 0


def read_states(store: Store) -> dict[str, PullState]:
    """Every document's ETag/cursor and the version applied."""
    with store.read() as s:
        return copies.pull_states(s)


def _refuse(
    store: Store,
    kind: str,
    etag: str | None,
    version: str | None,
    error: str,
    now: datetime,
    keep_text: str | None = None,
) -> Applied:
    """Keep the previous version; remember the refusal (and its ETag, so the same bad
    document is not fetched again and again) and tell the cloud. `keep_text` stores the
    refused tariff itself in the same transaction."""
    error = error[:_ERROR_KEEP]
    log.warning("refused %s %s from the cloud: %s", kind, version or "(no version)", error)
    with store.write() as s:
        if keep_text is not None and version is not None:
            copies.store_tariff(s, version, keep_text, "refused", now, error, replace_active=False)
        copies.save_pull_state(s, kind, etag=etag, error=error)
        copies.record_config_change(s, now, "config.refused", kind, {"version": version, "error": error[:300]})
    return Applied(kind, "refused", version, error)


def _parse(model: type[BaseModel], body: dict[str, Any]) -> tuple[BaseModel | None, str | None, str | None]:
    version = body.get("version") if isinstance(body.get("version"), str) else None
    try:
        return model.model_validate(body), version, None
    except ValidationError as exc:
        return None, version, p.problems(exc)


def apply_tariff(store: Store, body: dict[str, Any], etag: str | None, now: datetime, validate: Callable[[str], None]) -> Applied:
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
        return _refuse(store, "tariff", etag, doc.version, message, now, keep_text=doc.text)
    with store.write() as s:
        current = copies.active_tariff_version(s)
        if current is not None and current == (doc.version, doc.text):
            copies.save_pull_state(s, "tariff", etag=etag, version=doc.version, error=None)
            return Applied("tariff", "unchanged", doc.version)
        copies.store_tariff(s, doc.version, doc.text, "active", now, None, replace_active=True)
        copies.save_pull_state(s, "tariff", etag=etag, version=doc.version, applied_at=now, error=None)
        copies.record_config_change(s, now, "config.applied", "tariff", {"version": doc.version, "previous": current[0] if current else None})
    log.info("tariff %s from the cloud is now active", doc.version)
    return Applied("tariff", "applied", doc.version)


def apply_members(store: Store, body: dict[str, Any], etag: str | None, now: datetime) -> Applied:
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
            "plan": m.plan,
        }
        for m in doc.members
    ]
    with store.write() as s:
        copies.replace_members(s, rows)
        copies.save_pull_state(s, "members", etag=etag, version=doc.version, applied_at=now, error=None)
        copies.record_config_change(s, now, "config.applied", "members", {"version": doc.version, "count": len(rows)})
    return Applied("members", "applied", doc.version, count=len(rows))


def apply_accounts(store: Store, body: dict[str, Any], etag: str | None, now: datetime) -> Applied:
    """Replace the whole account list, or refuse it whole."""
    doc, version, error = _parse(p.AccountsDoc, body)
    if doc is None:
        return _refuse(store, "accounts", etag, version, f"malformed account list: {error}", now)
    assert isinstance(doc, p.AccountsDoc)
    ids = [a.id for a in doc.accounts]
    if len(set(ids)) != len(ids):
        return _refuse(store, "accounts", etag, doc.version, "an account id appears twice", now)
    rows = [a.model_dump() for a in doc.accounts]
    with store.write() as s:
        copies.replace_accounts(s, rows)
        copies.save_pull_state(s, "accounts", etag=etag, version=doc.version, applied_at=now, error=None)
        copies.record_config_change(s, now, "config.applied", "accounts", {"version": doc.version, "count": len(rows)})
    return Applied("accounts", "applied", doc.version, count=len(rows))


def apply_remote_payments(store: Store, page: p.RemotePaymentsPage, now: datetime) -> int:
    """Store a page of remote payments and move the cursor, in one transaction.
    A payment already known (same id) is left as it is. Returns how many were new."""
    payments = [
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
    ]
    with store.write() as s:
        fresh = copies.add_remote_payments(s, payments)
        if page.cursor is not None:
            copies.save_pull_state(s, REMOTE_PAYMENTS, cursor=page.cursor, applied_at=now)
    return fresh


def apply_commands(store: Store, page: p.CommandsPage, now: datetime) -> list[str]:
    """Carry out a page of the cloud's commands and move the cursor, in one transaction.
    `close_maintenance` closes a fault's maintenance record (audited with the cloud's
    person as actor; its outbox event tells the cloud); a record closed already, or a
    kind this booth does not know, is skipped. Returns the faults closed."""
    from console.domain.charging import ChargingError
    from console.store import charging as records

    closed: list[str] = []
    with store.write() as s:
        for command in page.commands:
            if command.kind in CHARGING_COMMANDS:
                continue  # handed to the charging service before this page is applied
            if command.kind != "close_maintenance" or not command.fault_id:
                log.warning("cloud command %s of kind %s skipped: not known to this booth", command.id, command.kind)
                continue
            try:
                with s.begin_nested():
                    records.close_maintenance(s, command.fault_id, command.note or "closed in the cloud", now, command.actor[:64])
            except ChargingError:
                continue  # closed here already (or unknown here): nothing to do
            closed.append(command.fault_id)
        if page.cursor is not None:
            copies.save_pull_state(s, COMMANDS, cursor=page.cursor, applied_at=now)
    return closed
