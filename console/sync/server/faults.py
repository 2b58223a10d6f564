"""Charging faults in the cloud: the booths' `charging.fault_raised` events become faults
of their franchise; each raised fault is announced to the franchise manager (a webhook
to the franchise's URL, an e-mail to each of its managers), each notification retried
with back-off until delivered and every attempt recorded; closing the fault in the
cloud queues a command the site's booths pull to close their maintenance record, and a
record closed at a booth (`charging.maintenance_closed`) closes the cloud's fault.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
import uuid
from datetime import datetime, timedelta
from typing import Any, Sequence

from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import insert, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection
from sqlalchemy.sql.elements import ColumnElement

from console.i18n import _
from console.sync.server import accounts, db
from console.sync.server.accounts import Scope

FAULT_RAISED = "charging.fault_raised"
MAINTENANCE_CLOSED = "charging.maintenance_closed"
CLOSE_COMMAND = "close_maintenance"
MAX_ATTEMPTS = 12


class FaultIn(BaseModel):
    """The payload of `charging.fault_raised` (console/store/charging.py raise_fault)."""

    model_config = ConfigDict(extra="ignore")

    subject: str = Field(min_length=1, max_length=36)  # the booth's fault id
    pile: str = Field(min_length=1, max_length=64)
    port: int | None = Field(default=None, ge=0, le=10_000)
    code: str = Field(min_length=1, max_length=16)
    detail: str = Field(default="", max_length=2000)
    region: str = Field(default="", max_length=64)
    franchise: str = Field(min_length=1, max_length=64)
    notify: str = Field(default="", max_length=100)


class ClosedIn(BaseModel):
    """The payload of `charging.maintenance_closed`."""

    model_config = ConfigDict(extra="ignore")

    subject: str = Field(min_length=1, max_length=36)
    note: str = Field(default="", max_length=2000)


class FaultRefused(ValueError):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


def _insert(conn: Connection, table: Any) -> Any:
    return postgresql.insert(table) if conn.dialect.name == "postgresql" else sqlite.insert(table)


# -- booking -------------------------------------------------------------------------------------
def book(conn: Connection, site_id: str, raised: Sequence[tuple[Any, FaultIn]], closed: Sequence[tuple[Any, ClosedIn]], received_at: datetime) -> int:
    """Store faults of events new here and queue their notifications; close those a
    booth closed. Returns how many notifications were queued."""
    queued = 0
    for ev, f in raised:
        fresh = conn.execute(
            _insert(conn, db.fault).on_conflict_do_nothing(index_elements=["site_id", "fault_id"]).returning(db.fault.c.fault_id),
            {"site_id": site_id, "fault_id": f.subject, "pile_id": f.pile, "port": f.port, "code": f.code, "detail": f.detail[:300],
             "region": f.region, "franchise": f.franchise, "raised_at": ev.occurred_at, "received_at": received_at, "state": "open"},
        ).first()
        if fresh is not None:
            queued += _queue_notifications(conn, site_id, f.subject, f.franchise, received_at)
    for ev, c in closed:
        conn.execute(
            update(db.fault).where(db.fault.c.site_id == site_id, db.fault.c.fault_id == c.subject, db.fault.c.state == "open")
            .values(state="closed", closed_at=ev.occurred_at, closed_by="booth", closed_where="booth", note=c.note[:500])
        )
    return queued


def _queue_notifications(conn: Connection, site_id: str, fault_id: str, franchise_id: str, at: datetime) -> int:
    targets: list[tuple[str, str]] = []
    hook = conn.execute(select(db.franchise.c.webhook_url).where(db.franchise.c.franchise_id == franchise_id)).scalar()
    if hook:
        targets.append(("webhook", hook))
    targets += [("email", address) for address in accounts.franchise_emails(conn, franchise_id)]
    if not targets:
        conn.execute(insert(db.audit).values(at=at, action="fault.nobody_to_tell", client=site_id,
                                             detail=f"fault {fault_id}: franchise {franchise_id} has no webhook and no manager with an e-mail"))
        return 0
    conn.execute(insert(db.fault_delivery), [
        {"site_id": site_id, "fault_id": fault_id, "channel": ch, "target": t, "state": "pending", "attempts": 0, "next_attempt_at": at, "created_at": at}
        for ch, t in targets
    ])
    return len(targets)


# -- franchises ----------------------------------------------------------------------------------
def save_franchise(conn: Connection, franchise_id: str, name: str, webhook_url: str, at: datetime, *, new_secret: bool = False) -> str | None:
    """Create or change a franchise and the URL its fault webhooks go to ("": none).
    Returns the webhook signing secret when one was made (the first webhook, or
    `new_secret`), to give to the receiver; None when the secret stays as it was."""
    if webhook_url and not webhook_url.startswith(("http://", "https://")):
        raise ValueError(_("--webhook {url!r}: an http:// or https:// URL").format(url=webhook_url))
    old = conn.execute(select(db.franchise.c.webhook_secret).where(db.franchise.c.franchise_id == franchise_id)).scalar()
    secret = None
    if webhook_url and (new_secret or not old):
        secret = secrets.token_hex(32)
    values = {"name": name[:80], "webhook_url": webhook_url, "webhook_secret": secret or old or ""}
    stmt = _insert(conn, db.franchise).values(franchise_id=franchise_id, **values)
    conn.execute(stmt.on_conflict_do_update(index_elements=["franchise_id"], set_=values))
    accounts.audit(conn, at, "cloud admin", "franchise.saved", subject=franchise_id,
                   detail=f"webhook={'yes' if webhook_url else 'no'}{' new secret' if secret else ''}")
    return secret


def webhook_signature(secret: str, timestamp: str, body: bytes) -> str:
    """`X-Booth-Signature` of a webhook: HMAC-SHA256 over "<timestamp>.<body>" with the
    franchise's secret, as "sha256=<hex>". A receiver recomputes it and checks the
    timestamp is recent (a replayed old POST fails)."""
    mac = hmac.new(secret.encode("ascii"), timestamp.encode("ascii") + b"." + body, hashlib.sha256)
    return "sha256=" + mac.hexdigest()


# -- reading -------------------------------------------------------------------------------------
def _visible(scope: Scope) -> ColumnElement[bool]:
    f = db.fault.c
    parts: list[ColumnElement[bool]] = []
    if scope.sites:
        parts.append(f.site_id.in_(sorted(scope.sites)))
    if scope.franchises:
        parts.append(f.franchise.in_(sorted(scope.franchises)))
    for site_id, pile in sorted(scope.piles):
        parts.append((f.site_id == site_id) & (f.pile_id == pile))
    return or_(*parts) if parts else f.site_id.is_(None)


def list_faults(conn: Connection, scope: Scope, *, franchise: str | None = None, open_only: bool = True, limit: int = 200) -> list[dict[str, Any]]:
    """Faults the person may see, newest first, each with its notifications' states."""
    f = db.fault.c
    q = select(db.fault).where(_visible(scope))
    if franchise:
        q = q.where(f.franchise == franchise)
    if open_only:
        q = q.where(f.state == "open")
    rows = [dict(r) for r in conn.execute(q.order_by(f.raised_at.desc(), f.fault_id).limit(limit)).mappings()]
    for row in rows:
        row["deliveries"] = deliveries(conn, row["site_id"], row["fault_id"])
    return rows


def deliveries(conn: Connection, site_id: str, fault_id: str) -> list[dict[str, Any]]:
    d = db.fault_delivery.c
    q = select(db.fault_delivery).where(d.site_id == site_id, d.fault_id == fault_id).order_by(d.seq)
    return [dict(r) for r in conn.execute(q).mappings()]


def attempts(conn: Connection, delivery_seq: int) -> list[dict[str, Any]]:
    a = db.delivery_attempt.c
    return [dict(r) for r in conn.execute(select(db.delivery_attempt).where(a.delivery == delivery_seq).order_by(a.seq)).mappings()]


def get_fault(conn: Connection, scope: Scope, site_id: str, fault_id: str) -> dict[str, Any]:
    row = conn.execute(select(db.fault).where(db.fault.c.site_id == site_id, db.fault.c.fault_id == fault_id)).mappings().first()
    if row is None:
        raise FaultRefused(404, _("No such fault."))
    if not scope.may_see_fault(site_id, row["franchise"], row["pile_id"]):
        raise FaultRefused(403, _("This fault is not at a pile you may see."))
    found = dict(row)
    found["deliveries"] = deliveries(conn, site_id, fault_id)
    for d in found["deliveries"]:
        d["attempt_log"] = attempts(conn, d["seq"])
    return found


def close_fault(conn: Connection, scope: Scope, site_id: str, fault_id: str, note: str, at: datetime, client: str) -> None:
    """Close a fault in the cloud (its site's or its franchise's manager, with a note
    saying what was done) and queue the command that closes the booth's maintenance
    record. Audited. Raises FaultRefused."""
    note = note.strip()
    row = get_fault(conn, scope, site_id, fault_id)
    if not scope.may_close_fault(site_id, row["franchise"]):
        accounts.audit(conn, at, scope.person, "fault.close", site_id=site_id, subject=fault_id, outcome="refused", client=client)
        raise FaultRefused(403, _("Only the site's or the franchise's manager closes a fault."))
    if not note:
        raise FaultRefused(422, _("Say what was done: a fault is closed with a note."))
    if row["state"] != "open":
        raise FaultRefused(409, _("This fault is closed already."))
    conn.execute(update(db.fault).where(db.fault.c.site_id == site_id, db.fault.c.fault_id == fault_id, db.fault.c.state == "open")
                 .values(state="closed", closed_at=at, closed_by=scope.person, closed_where="cloud", note=note[:500]))
    # Pending notifications of a closed fault have nothing left to say.
    conn.execute(update(db.fault_delivery).where(db.fault_delivery.c.site_id == site_id, db.fault_delivery.c.fault_id == fault_id,
                                                 db.fault_delivery.c.state == "pending").values(state="cancelled"))
    conn.execute(insert(db.site_command).values(
        command_id=str(uuid.uuid4()), site_id=site_id, kind=CLOSE_COMMAND, subject=fault_id,
        body=json.dumps({"fault_id": fault_id, "note": note[:500], "actor": f"cloud:{scope.person}"}, ensure_ascii=False), created_at=at,
    ))
    accounts.audit(conn, at, scope.person, "fault.close", site_id=site_id, subject=fault_id, outcome="ok", client=client, detail=note[:300])


def commands_page(conn: Connection, site_id: str, after: str | None, limit: int) -> dict[str, Any]:
    """The site's commands after the cursor (what its booths pull)."""
    c = db.site_command.c
    q = select(db.site_command).where(c.site_id == site_id)
    if after:
        try:
            q = q.where(c.seq > int(after))
        except ValueError:
            raise FaultRefused(400, "after: not a cursor this cloud gave") from None
    rows = conn.execute(q.order_by(c.seq).limit(limit)).mappings().all()
    cursor = str(rows[-1]["seq"]) if rows else after
    return {"commands": [{"id": r["command_id"], "kind": r["kind"], "subject": r["subject"], **json.loads(r["body"]),
                          "created_at": r["created_at"].isoformat()} for r in rows], "cursor": cursor, "more": len(rows) == limit}


# -- delivering ----------------------------------------------------------------------------------
def due(conn: Connection, at: datetime, limit: int = 50) -> list[dict[str, Any]]:
    """Notifications due now, with their fault (oldest first)."""
    d = db.fault_delivery.c
    q = (select(db.fault_delivery, db.fault.c.pile_id, db.fault.c.port, db.fault.c.code, db.fault.c.detail, db.fault.c.region,
                db.fault.c.franchise, db.fault.c.raised_at, db.franchise.c.webhook_secret)
         .join(db.fault, (db.fault.c.site_id == d.site_id) & (db.fault.c.fault_id == d.fault_id))
         .outerjoin(db.franchise, db.franchise.c.franchise_id == db.fault.c.franchise)
         .where(d.state == "pending", d.next_attempt_at <= at).order_by(d.next_attempt_at, d.seq).limit(limit))
    return [dict(r) for r in conn.execute(q).mappings()]


def record_attempt(conn: Connection, seq: int, at: datetime, ok: bool, detail: str, retry_in: timedelta | None) -> str:
    """Record one attempt; returns the notification's new state (delivered, pending or,
    after MAX_ATTEMPTS, failed)."""
    d = db.fault_delivery.c
    row = conn.execute(select(d.attempts, d.state).where(d.seq == seq)).first()
    if row is None or row.state != "pending":
        return row.state if row is not None else "gone"
    tries = row.attempts + 1
    conn.execute(insert(db.delivery_attempt).values(delivery=seq, at=at, ok=ok, detail=detail[:300]))
    values: dict[str, Any]
    if ok:
        state, values = "delivered", {"delivered_at": at, "last_error": None}
    elif tries >= MAX_ATTEMPTS or retry_in is None:
        state, values = "failed", {"last_error": detail[:300]}
    else:
        state, values = "pending", {"last_error": detail[:300], "next_attempt_at": at + retry_in}
    conn.execute(update(db.fault_delivery).where(d.seq == seq).values(attempts=tries, state=state, **values))
    return state


def notification_body(item: dict[str, Any], site_name: str) -> dict[str, Any]:
    """What a webhook receives about a raised fault."""
    return {
        "type": FAULT_RAISED, "site_id": item["site_id"], "site_name": site_name, "fault_id": item["fault_id"],
        "pile": item["pile_id"], "port": item["port"], "code": item["code"], "detail": item["detail"], "region": item["region"],
        "franchise": item["franchise"], "raised_at": item["raised_at"].isoformat(), "notify": f"franchise-manager:{item['franchise']}",
    }
