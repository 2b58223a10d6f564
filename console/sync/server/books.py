"""The reference cloud's logic, as plain functions over a database connection: ingest
a batch exactly once, keep the books, serve documents and remote payments, answer
drivers. The HTTP layer (app.py) only parses, authenticates and calls these.
"""

from __future__ import annotations

import hashlib
import json
import logging
import math
import operator
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Sequence

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    ValidationInfo,
    field_validator,
)
from sqlalchemy import delete, func, insert, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection
from sqlalchemy.sql.schema import Table

from console.domain.money import CURRENCY_EXPONENTS
from console.domain.quote import Quote
from console.domain.tariff import TariffBook
from console.sync import protocol as p
from console.sync.server import charge_events, charge_proof, db, faults, quotes, rides_cloud
from console.sync.server.provider import Notification

log = logging.getLogger(__name__)

# Occupancy older than this (server clock) is not shown as availability.
STALE_AFTER = timedelta(minutes=10)
LINK_LIFETIME = timedelta(minutes=30)


class Refused(ValueError):
    """A request the server refuses; `status` is the HTTP status to answer with."""

    def __init__(self, status: int, message: str, retry_after: int | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.retry_after = retry_after


class NoSite(Refused):
    """No site with this id is registered (404)."""


class NoStay(Refused):
    """No open stay of this plate at this site (404): one answer for every plate that is
    not parked there, whether it left, is parked elsewhere or was never seen."""


class NotQuotable(Refused):
    """The cloud cannot price the site's stays (409): no tariff has reached it yet, or
    the engine refuses the stay."""


class AlreadyPaid(Refused):
    """The stay was paid by phone already (409): what runs on after the exit grace is
    paid at the exit, never by a second phone payment (the booth settles a stay with one
    phone payment)."""


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def _insert(conn: Connection, table: Table) -> Any:
    """An INSERT that can say ON CONFLICT on the two dialects the server supports."""
    if conn.dialect.name == "postgresql":
        return postgresql.insert(table)
    if conn.dialect.name == "sqlite":
        return sqlite.insert(table)
    raise Refused(500, f"the reference cloud supports SQLite and PostgreSQL, not {conn.dialect.name}")


def _executemany(conn: Connection, stmt: Any, rows: list[dict[str, Any]]) -> None:
    """Run one INSERT (ON CONFLICT allowed) for many rows as a single driver executemany.

    The statement is compiled once for the batch and each value converted by its
    column's own bind processor (UTC times as the column stores them), so a batch of
    500 events costs one prepared statement run 500 times, not Core's bookkeeping per
    row. Every row must have the keys of the first."""
    if not rows:
        return
    dialect = conn.dialect
    keys = list(rows[0])
    compiled = stmt.compile(dialect=dialect, column_keys=keys)
    columns = stmt.table.c
    convert = {k: columns[k].type.bind_processor(dialect) for k in keys}
    if compiled.positional:
        order = list(compiled.positiontup or ())
        pick = operator.itemgetter(*order)
        convert_at = [(i, f) for i, k in enumerate(order) if (f := convert[k]) is not None]
        params: list[Any] = []
        for row in rows:
            values = list(pick(row)) if len(order) > 1 else [row[order[0]]]
            for i, f in convert_at:
                values[i] = f(values[i])
            params.append(tuple(values))
    else:
        steps = list(convert.items())
        params = [{k: f(row[k]) if f else row[k] for k, f in steps} for row in rows]
    conn.exec_driver_sql(str(compiled), params)


# -- sites and tokens -------------------------------------------------------------------------
def store_tariff_versions(conn: Connection, site_id: str, versions: list[tuple[str, str]], now: datetime) -> int:
    """Keep the tariff versions a booth prices with (see quotes.store_versions)."""
    site_row(conn, site_id)
    return quotes.store_versions(conn, site_id, versions, now)


def site_for_token(conn: Connection, token: str) -> dict[str, Any] | None:
    row = conn.execute(select(db.site).where(db.site.c.token_hash == token_hash(token))).mappings().first()
    return dict(row) if row else None


# -- events -----------------------------------------------------------------------------------
class _Payload(BaseModel):
    model_config = ConfigDict(extra="ignore")


class _Opened(_Payload):
    visit_id: str = Field(min_length=1, max_length=36)
    plate: str = Field(min_length=1, max_length=16)
    zone: str = Field(default="", max_length=32)
    lane: str = Field(default="", max_length=32)
    entry_at: datetime
    vehicle_class: str | None = Field(default=None, max_length=32)


class _Closed(_Payload):
    visit_id: str = Field(min_length=1, max_length=36)
    plate: str = Field(min_length=1, max_length=16)
    lane: str = Field(default="", max_length=32)
    exit_at: datetime
    fee_minor: int
    currency: str = Field(min_length=3, max_length=3)
    tariff_id: str | None = Field(default=None, max_length=64)


class _Paid(_Payload):
    payment_id: str = Field(min_length=1, max_length=36)
    visit_id: str = Field(min_length=1, max_length=36)
    method: str = Field(min_length=1, max_length=16)
    amount_minor: int
    currency: str = Field(min_length=3, max_length=3)
    attendant: str = Field(default="", max_length=64)
    reference: str | None = Field(default=None, max_length=64)

    @field_validator("currency")
    @classmethod
    def _known(cls, value: str) -> str:
        if value not in CURRENCY_EXPONENTS:
            raise ValueError(f"unknown currency {value!r}")
        return value


# Event types the books understand; any other type is stored as it came.
_PROJECTED: dict[str, type[BaseModel]] = {
    "visit.opened": _Opened, "visit.closed": _Closed, "payment.recorded": _Paid,
    # Elevator rides and charging faults are booked by their own modules.
    rides_cloud.RIDE_EVENT: rides_cloud.RideIn, faults.FAULT_RAISED: faults.FaultIn, faults.MAINTENANCE_CLOSED: faults.ClosedIn,
    **charge_events.PROJECTED,
    **charge_proof.PROJECTED,
}

_PHONE = frozenset(charge_events.PROJECTED.values())
_CARDS = frozenset(charge_proof.PROJECTED.values())


@dataclass
class BatchResult:
    acknowledged: list[str] = field(default_factory=list)
    accepted: int = 0
    duplicates: int = 0
    rejected: list[dict[str, str]] = field(default_factory=list)
    raised_faults: bool = False  # a fault new here was booked: its notifications are due now

    def to_json(self, received_at: datetime) -> dict[str, Any]:
        return {
            "acknowledged": self.acknowledged,
            "accepted": self.accepted,
            "duplicates": self.duplicates,
            "rejected": self.rejected,
            "received_at": p.utc_text(received_at),
        }


def ingest(conn: Connection, site_id: str, booth_id: str, sent_at: datetime | None, raw_events: Sequence[Any], received_at: datetime) -> BatchResult:
    """Store a batch exactly once and book its effects, inside the caller's transaction.

    An event is acknowledged when it is held now (new or seen before). One that cannot
    be read, or whose payload the books cannot use, is rejected with a reason and not
    acknowledged: the booth keeps it.
    """
    result = BatchResult()
    valid: list[tuple[p.EventIn, BaseModel | None]] = []
    seen: set[str] = set()
    for raw in raw_events:
        raw_id = str(raw.get("id", "")) if isinstance(raw, dict) else ""
        try:
            ev = p.EventIn.model_validate(raw)
            model = _PROJECTED.get(ev.type)
            projected = model.model_validate(ev.payload) if model else None
        except ValidationError as exc:
            result.rejected.append({"id": raw_id, "error": p.problems(exc, 3)})
            continue
        if ev.id in seen:
            result.duplicates += 1
            continue
        seen.add(ev.id)
        valid.append((ev, projected))
    if valid:
        try:
            with conn.begin_nested():
                fresh = _store_and_book(conn, site_id, booth_id, valid, received_at)
            stored = valid
        except Exception as exc:  # noqa: BLE001 - any event the database cannot hold
            # One event the database cannot hold (an amount beyond its integers, a text it
            # refuses) must not fail the batch: store them one by one, refuse the bad ones.
            log.warning("batch of %d from %s/%s stored one by one: %s", len(valid), site_id, booth_id, exc)
            fresh, stored = set(), []
            for item in valid:
                try:
                    with conn.begin_nested():
                        fresh |= _store_and_book(conn, site_id, booth_id, [item], received_at)
                    stored.append(item)
                except Exception as one:  # noqa: BLE001
                    result.rejected.append({"id": item[0].id, "error": f"cannot be stored: {type(one).__name__}: {one}"[:300]})
        result.accepted = len(fresh)
        result.duplicates += len(stored) - len(fresh)
        result.acknowledged = [ev.id for ev, _ in stored]
        result.raised_faults = any(isinstance(x, faults.FaultIn) and ev.id in fresh for ev, x in stored)
    _count(conn, site_id, result, sent_at, received_at)
    return result


def _store_and_book(conn: Connection, site_id: str, booth_id: str, events: list[tuple[p.EventIn, BaseModel | None]],
                    received_at: datetime) -> set[str]:
    """Store events (each once) and book the effects of those new here. Returns their ids."""
    rows = [
        {
            "site_id": site_id,
            "event_id": ev.id,
            "booth_id": booth_id,
            "type": ev.type,
            "occurred_at": ev.occurred_at,
            "received_at": received_at,
            "payload": json.dumps(ev.payload, ensure_ascii=False, sort_keys=True, separators=(",", ":")),
        }
        for ev, _ in events
    ]
    fresh = _new_events(conn, site_id, rows)
    _book(conn, site_id, [(ev, proj) for ev, proj in events if ev.id in fresh], received_at)
    return fresh


def _new_events(conn: Connection, site_id: str, rows: list[dict[str, Any]]) -> set[str]:
    """Insert the events not held yet (the batch has no id twice); their ids."""
    if conn.dialect.name == "sqlite":
        # A writer on SQLite holds the write lock from its BEGIN (IMMEDIATE, see
        # console.store.engine): what one SELECT finds missing nobody else can insert
        # before this transaction ends, so a plain executemany stores exactly those.
        ids = [r["event_id"] for r in rows]
        held = set(conn.execute(select(db.event.c.event_id).where(db.event.c.site_id == site_id, db.event.c.event_id.in_(ids))).scalars())
        new = [r for r in rows if r["event_id"] not in held]
        _executemany(conn, _insert(conn, db.event), new)
        return {r["event_id"] for r in new}
    # Elsewhere concurrent batches may carry the same event: the database says which
    # rows this one inserted.
    stmt = _insert(conn, db.event).on_conflict_do_nothing(index_elements=["site_id", "event_id"]).returning(db.event.c.event_id)
    return set(conn.execute(stmt, rows).scalars())


def _book(conn: Connection, site_id: str, events: list[tuple[p.EventIn, BaseModel | None]], received_at: datetime) -> None:
    """Apply the effects of events stored for the first time (and only those)."""
    opened = [x for _, x in events if isinstance(x, _Opened)]
    closed = [x for _, x in events if isinstance(x, _Closed)]
    paid = [(ev, x) for ev, x in events if isinstance(x, _Paid)]
    rides = [(ev, x) for ev, x in events if isinstance(x, rides_cloud.RideIn)]
    if rides:
        rides_cloud.book(conn, site_id, rides, received_at)
    raised = [(ev, x) for ev, x in events if isinstance(x, faults.FaultIn)]
    fixed = [(ev, x) for ev, x in events if isinstance(x, faults.ClosedIn)]
    if raised or fixed:
        faults.book(conn, site_id, raised, fixed, received_at)
    phone = [x for _, x in events if x is not None and type(x) in _PHONE]
    if phone:
        charge_events.book(conn, site_id, phone, received_at)
    cards = [(ev, x) for ev, x in events if x is not None and (type(x) in _CARDS or ev.type == charge_proof.SESSION_CLOSED)]
    if cards:
        charge_proof.book(conn, site_id, cards, received_at)
    if opened:
        stmt = _insert(conn, db.visit)
        stmt = stmt.on_conflict_do_update(
            index_elements=["site_id", "visit_id"],
            # An exit that arrived first keeps its state; the entry only fills entry facts.
            set_={k: stmt.excluded[k] for k in ("plate", "zone", "entry_lane", "entry_at", "vehicle_class")},
        )
        _executemany(
            conn,
            stmt,
            [
                {"site_id": site_id, "visit_id": o.visit_id, "plate": o.plate, "zone": o.zone, "entry_lane": o.lane, "entry_at": o.entry_at,
                 "vehicle_class": o.vehicle_class, "state": "open"}
                for o in opened
            ],
        )
    if closed:
        stmt = _insert(conn, db.visit)
        stmt = stmt.on_conflict_do_update(
            index_elements=["site_id", "visit_id"],
            set_={k: stmt.excluded[k] for k in ("plate", "exit_lane", "exit_at", "fee_minor", "currency", "tariff_id", "state")},
        )
        _executemany(
            conn,
            stmt,
            [
                {
                    "site_id": site_id,
                    "visit_id": c.visit_id,
                    "plate": c.plate,
                    "exit_lane": c.lane,
                    "exit_at": c.exit_at,
                    "fee_minor": c.fee_minor,
                    "currency": c.currency,
                    "tariff_id": c.tariff_id,
                    "state": "closed",
                }
                for c in closed
            ],
        )
    if paid:
        stmt = _insert(conn, db.payment).on_conflict_do_nothing(index_elements=["site_id", "payment_id"])
        _executemany(
            conn,
            stmt,
            [
                {
                    "site_id": site_id,
                    "payment_id": x.payment_id,
                    "visit_id": x.visit_id,
                    "method": x.method,
                    "amount_minor": x.amount_minor,
                    "currency": x.currency,
                    "attendant": x.attendant,
                    "reference": x.reference,
                    "occurred_at": ev.occurred_at,
                    "received_at": received_at,
                }
                for ev, x in paid
            ],
        )


def _count(conn: Connection, site_id: str, result: BatchResult, sent_at: datetime | None, received_at: datetime) -> None:
    values = {
        "batches": db.delivery.c.batches + 1,
        "events": db.delivery.c.events + result.accepted,
        "duplicates": db.delivery.c.duplicates + result.duplicates,
        "rejected": db.delivery.c.rejected + len(result.rejected),
        "last_booth_sent_at": sent_at,
        "last_received_at": received_at,
    }
    done = conn.execute(update(db.delivery).where(db.delivery.c.site_id == site_id).values(**values))
    if not done.rowcount:
        conn.execute(
            insert(db.delivery).values(
                site_id=site_id,
                batches=1,
                events=result.accepted,
                duplicates=result.duplicates,
                rejected=len(result.rejected),
                last_booth_sent_at=sent_at,
                last_received_at=received_at,
            )
        )


def books(conn: Connection, site_id: str) -> dict[str, Any]:
    """The site's totals: events, visits, and revenue by method and currency."""
    events = conn.execute(select(func.count()).select_from(db.event).where(db.event.c.site_id == site_id)).scalar_one()
    visits = conn.execute(select(func.count()).select_from(db.visit).where(db.visit.c.site_id == site_id, db.visit.c.entry_at.is_not(None))).scalar_one()
    closed = conn.execute(select(func.count()).select_from(db.visit).where(db.visit.c.site_id == site_id, db.visit.c.state == "closed")).scalar_one()
    revenue: dict[str, dict[str, int]] = {}
    payments = 0
    for method, currency, total, count in conn.execute(
        select(db.payment.c.method, db.payment.c.currency, func.sum(db.payment.c.amount_minor), func.count())
        .where(db.payment.c.site_id == site_id)
        .group_by(db.payment.c.method, db.payment.c.currency)
    ):
        revenue.setdefault(currency, {})[method] = int(total)
        payments += int(count)
    stats = conn.execute(select(db.delivery).where(db.delivery.c.site_id == site_id)).mappings().first()
    return {
        "site_id": site_id,
        "events": int(events),
        "visits": int(visits),
        "visits_closed": int(closed),
        "payments": payments,
        "revenue_minor": revenue,
        "deliveries": {
            "batches": int(stats["batches"]) if stats else 0,
            "duplicates": int(stats["duplicates"]) if stats else 0,
            "rejected": int(stats["rejected"]) if stats else 0,
        },
    }


# -- occupancy ---------------------------------------------------------------------------------
def put_occupancy(conn: Connection, site_id: str, snapshot: p.OccupancyIn, received_at: datetime) -> None:
    """Replace the site's occupancy with a snapshot (zones missing from it are gone)."""
    conn.execute(delete(db.occupancy).where(db.occupancy.c.site_id == site_id))
    if snapshot.zones:
        conn.execute(
            insert(db.occupancy),
            [
                {
                    "site_id": site_id,
                    "zone": z.zone,
                    "name": z.name,
                    "capacity": z.capacity,
                    "occupied": z.occupied,
                    "observed_at": snapshot.observed_at,
                    "received_at": received_at,
                    "booth_id": snapshot.booth_id,
                }
                for z in snapshot.zones
            ],
        )


# -- documents ---------------------------------------------------------------------------------
def publish_document(conn: Connection, site_id: str, kind: str, body: dict[str, Any], now: datetime) -> str:
    """Store a tariff / members / accounts document for a site. Returns its ETag."""
    if kind not in p.DOCUMENT_KINDS:
        raise Refused(404, f"unknown document kind {kind!r}")
    models: dict[str, type[BaseModel]] = {"tariff": p.TariffDoc, "members": p.MembersDoc, "accounts": p.AccountsDoc}
    model = models[kind]
    version = body.get("version")
    if not isinstance(version, str) or not version:
        raise Refused(422, "a document needs a version")
    # The server checks the shape only; the booth validates a tariff's meaning itself.
    try:
        model.model_validate(body)
    except ValidationError as exc:
        raise Refused(422, f"malformed {kind} document: {p.problems(exc)}") from None
    text = json.dumps(body, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
    etag = '"' + hashlib.sha256(text.encode("utf-8")).hexdigest()[:40] + '"'
    values = {"version": version, "etag": etag, "body": text, "updated_at": now}
    done = conn.execute(update(db.document).where(db.document.c.site_id == site_id, db.document.c.kind == kind).values(**values))
    if not done.rowcount:
        conn.execute(insert(db.document).values(site_id=site_id, kind=kind, **values))
    return etag


def get_document(conn: Connection, site_id: str, kind: str) -> tuple[str, str] | None:
    """(etag, body text) of a document, or None when none is published."""
    row = conn.execute(select(db.document.c.etag, db.document.c.body).where(db.document.c.site_id == site_id, db.document.c.kind == kind)).first()
    return (row.etag, row.body) if row else None


def etag_matches(if_none_match: str | None, etag: str) -> bool:
    """RFC 9110 weak comparison of an If-None-Match list against our ETag."""
    if not if_none_match:
        return False
    for candidate in if_none_match.split(","):
        candidate = candidate.strip()
        if candidate == "*":
            return True
        if candidate.removeprefix("W/") == etag.removeprefix("W/"):
            return True
    return False


# -- remote payments and payment links --------------------------------------------------------
def remote_payments_page(conn: Connection, site_id: str, after: str | None, limit: int) -> dict[str, Any]:
    """Remote payments after the cursor `after` (a sequence number the server issued)."""
    if after is not None and not after.isdigit():
        raise Refused(400, "after: not a cursor this server issued")
    start = int(after) if after else 0
    limit = max(1, min(limit, 1000))
    rows = conn.execute(
        select(db.remote_payment)
        .where(db.remote_payment.c.site_id == site_id, db.remote_payment.c.seq > start)
        .order_by(db.remote_payment.c.seq)
        .limit(limit + 1)
    ).mappings().all()
    more = len(rows) > limit
    rows = rows[:limit]
    return {
        "payments": [
            {
                "id": r["payment_id"],
                "plate": r["plate"],
                "amount_minor": r["amount_minor"],
                "currency": r["currency"],
                "paid_at": p.utc_text(r["paid_at"]),
                "reference": r["reference"],
            }
            for r in rows
        ],
        "cursor": str(rows[-1]["seq"]) if rows else after,
        "more": more,
    }


class LinkIn(BaseModel):
    """A driver's request for a payment order: which site and plate. The amount is not
    the driver's to give: the cloud quotes it."""

    model_config = ConfigDict(extra="forbid")
    site_id: str = Field(pattern=p.SITE_ID_PATTERN)
    plate: str

    @field_validator("plate")
    @classmethod
    def _plate(cls, value: str, info: ValidationInfo) -> str:
        # The server's plate rules come in the validation context (create_app's
        # plate_regions); without them, a plate of any region.
        rules = (info.context or {}).get("plates", p.WIRE_PLATES)
        return str(rules.normalize(value))


def _link_json(row: Any) -> dict[str, Any]:
    return {
        "id": row["link_id"],
        "site_id": row["site_id"],
        "plate": row["plate"],
        "amount_minor": row["amount_minor"],
        "currency": row["currency"],
        "status": row["status"],
        "created_at": p.utc_text(row["created_at"]),
        "expires_at": p.utc_text(row["expires_at"]),
        "paid_at": p.utc_text(row["paid_at"]) if row["paid_at"] else None,
        "remote_payment_id": row["remote_payment_id"],
        "reference": row.get("reference"),  # the provider's payment id, once paid
        "tariff_id": row.get("tariff_id"),
        "provider": row.get("provider"),
    }


def site_row(conn: Connection, site_id: str) -> dict[str, Any]:
    """A registered site (name, currency, position). Raises Refused 404."""
    row = conn.execute(select(db.site).where(db.site.c.site_id == site_id)).mappings().first()
    if row is None:
        raise NoSite(404, f"no site {site_id!r}")
    return dict(row)


def quote_plate(conn: Connection, site_id: str, plate: str, now: datetime) -> tuple[quotes.Stay, Quote, TariffBook]:
    """The plate's open stay at the site and its fee leaving now, quoted with the site's
    own tariff versions. Raises NoSite, NoStay (the same answer whatever else is parked)
    or NotQuotable. The tariff is looked for before the stay, so a site whose tariff has
    not arrived answers every plate alike: no answer depends on whether a plate is parked
    except the stay itself."""
    site_row(conn, site_id)
    try:
        book = quotes.site_book(conn, site_id)
    except quotes.NoTariff as exc:
        raise NotQuotable(409, f"the fee cannot be quoted here: {exc}") from None
    stay = quotes.open_stay(conn, site_id, plate)
    if stay is None:
        raise NoStay(404, "no stay of this plate is known at this site")
    try:
        return stay, quotes.quote_stay(book, stay, now), book
    except ValueError as exc:  # QuoteError
        raise NotQuotable(409, f"the fee cannot be quoted here: {exc}") from None


def create_link(conn: Connection, link: LinkIn, now: datetime, provider: str = "sim") -> dict[str, Any]:
    """A payment order for the plate's open stay, for the amount the cloud quotes now,
    open for LINK_LIFETIME. Raises Refused (404 unknown site or stay, 409 nothing to pay,
    no tariff, or the stay already paid by phone; 422 a currency the site does not bill in)."""
    site = site_row(conn, link.site_id)
    stay, quote, _book = quote_plate(conn, link.site_id, link.plate, now)
    if paid_link_for(conn, stay.visit_id) is not None:
        raise AlreadyPaid(409, "this stay was paid by phone already; anything more is paid at the exit")
    if quote.total.currency != site["currency"]:
        raise Refused(409, f"the site's tariff bills in {quote.total.currency}, the site in {site['currency']}")
    if quote.total.minor <= 0:
        raise Refused(409, "nothing to pay: the stay is free so far")
    values = {
        "link_id": str(uuid.uuid4()),
        "site_id": link.site_id,
        "plate": link.plate,
        "amount_minor": quote.total.minor,
        "currency": quote.total.currency,
        "created_at": now,
        "expires_at": now + LINK_LIFETIME,
        "status": "open",
        "paid_at": None,
        "reference": None,
        "remote_payment_id": None,
        "visit_id": stay.visit_id,
        "tariff_id": quote.tariff_id,
        "provider": provider,
    }
    conn.execute(insert(db.payment_link).values(**values))
    return _link_json(values)


def get_link(conn: Connection, link_id: str) -> dict[str, Any]:
    row = conn.execute(select(db.payment_link).where(db.payment_link.c.link_id == link_id)).mappings().first()
    if row is None:
        raise Refused(404, "no such payment link")
    return _link_json(row)


def link_visit(conn: Connection, link_id: str) -> str | None:
    """The visit an order pays for (kept out of the order's public JSON: the visit id
    opens the e-receipt)."""
    found: str | None = conn.execute(select(db.payment_link.c.visit_id).where(db.payment_link.c.link_id == link_id)).scalar()
    return found


def paid_link_for(conn: Connection, visit_id: str) -> dict[str, Any] | None:
    """The latest paid order of a visit, or None."""
    row = conn.execute(
        select(db.payment_link)
        .where(db.payment_link.c.visit_id == visit_id, db.payment_link.c.status == "paid")
        .order_by(db.payment_link.c.paid_at.desc())
        .limit(1)
    ).mappings().first()
    return _link_json(row) if row else None


def _record_notification(conn: Connection, provider: str, now: datetime, outcome: str, reason: str, link_id: str | None, nonce: str | None, client: str, body: bytes) -> None:
    conn.execute(
        insert(db.notification).values(
            provider=provider, received_at=now, outcome=outcome, reason=reason[:200], link_id=link_id, nonce=nonce,
            client=client[:64], body=body[:2000].decode("utf-8", "replace"),
        )
    )


def refuse_notification(conn: Connection, provider: str, reason: str, body: bytes, client: str, now: datetime, nonce: str | None = None) -> None:
    """Audit a notification refused before it could be read (signature, freshness)."""
    _record_notification(conn, provider, now, "refused", reason, None, nonce, client, body)


def accept_notification(conn: Connection, provider: str, note: Notification, body: bytes, client: str, now: datetime) -> tuple[str, str]:
    """Apply a notification whose signature and freshness the provider verified:
    (outcome, reason). "accepted" creates the remote payment the booths pull, with the
    order, in this transaction; "repeated" (the order is already paid) changes nothing;
    "refused" (a nonce seen before, an unknown order, another amount or currency, not a
    success) changes nothing. Every outcome is recorded."""
    if conn.dialect.name == "postgresql":
        # Cursor order must be commit order: one remote payment is created at a time.
        conn.exec_driver_sql("LOCK TABLE cloud_remote_payment IN SHARE ROW EXCLUSIVE MODE")

    def done(outcome: str, reason: str, link_id: str | None) -> tuple[str, str]:
        _record_notification(conn, provider, now, outcome, reason, link_id, note.nonce, client, body)
        return outcome, reason

    seen = conn.execute(
        select(func.count()).select_from(db.notification).where(
            db.notification.c.provider == provider, db.notification.c.nonce == note.nonce, db.notification.c.outcome != "refused"
        )
    ).scalar_one()
    if seen:
        return done("refused", "replayed: this nonce was used before", note.order_id[:64])
    row = conn.execute(select(db.payment_link).where(db.payment_link.c.link_id == note.order_id)).mappings().first()
    if row is None or row["provider"] != provider:
        return done("refused", "unknown order", None)
    if note.status != "succeeded":
        return done("refused", f"status {note.status[:32]!r} is not a payment", row["link_id"])
    if note.amount_minor != row["amount_minor"] or note.currency != row["currency"]:
        return done("refused", f"amount {note.amount_minor} {note.currency[:3]} differs from the order's {row['amount_minor']} {row['currency']}", row["link_id"])
    if row["status"] == "paid":
        return done("repeated", "already paid", row["link_id"])
    payment_id = f"rp-{uuid.uuid4()}"
    reference = note.provider_payment_id[:64]
    conn.execute(
        insert(db.remote_payment).values(
            payment_id=payment_id, site_id=row["site_id"], plate=row["plate"], amount_minor=row["amount_minor"],
            currency=row["currency"], paid_at=now, reference=reference, link_id=row["link_id"],
        )
    )
    conn.execute(
        update(db.payment_link)
        .where(db.payment_link.c.link_id == row["link_id"])
        .values(status="paid", paid_at=now, reference=reference, remote_payment_id=payment_id)
    )
    return done("accepted", "", row["link_id"])


def notifications(conn: Connection) -> list[dict[str, Any]]:
    """Every notification received, oldest first (the audit of payments)."""
    return [dict(r) for r in conn.execute(select(db.notification).order_by(db.notification.c.seq)).mappings()]


def audit(conn: Connection, at: datetime, action: str, client: str, detail: str) -> None:
    """Record something the cloud refused a driver's client (rate limits)."""
    conn.execute(insert(db.audit).values(at=at, action=action[:48], client=client[:64], detail=detail[:500]))


def receipt(conn: Connection, visit_id: str) -> tuple[quotes.Stay, list[dict[str, Any]]] | None:
    """A closed visit and its payments, for the e-receipt page; None when unknown."""
    stay = quotes.stay_by_id(conn, visit_id)
    if stay is None or stay.exit_at is None:
        return None
    rows = conn.execute(
        select(db.payment.c.method, db.payment.c.amount_minor, db.payment.c.currency, db.payment.c.reference)
        .where(db.payment.c.site_id == stay.site_id, db.payment.c.visit_id == visit_id)
        .order_by(db.payment.c.occurred_at)
    ).mappings().all()
    return stay, [dict(r) for r in rows]


# -- drivers: sites near a position -------------------------------------------------------------
def distance_m(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Great-circle distance in metres (haversine, mean Earth radius)."""
    r = 6_371_008.8
    phi1, phi2 = math.radians(lat1), math.radians(lat2)
    dphi, dlmb = math.radians(lat2 - lat1), math.radians(lon2 - lon1)
    a = math.sin(dphi / 2) ** 2 + math.cos(phi1) * math.cos(phi2) * math.sin(dlmb / 2) ** 2
    return 2 * r * math.asin(min(1.0, math.sqrt(a)))


def sites_near(conn: Connection, lat: float, lon: float, radius_m: float, limit: int, now: datetime) -> list[dict[str, Any]]:
    """Sites within `radius_m`, those with free spaces first, then those whose
    availability is unknown (no fresh snapshot), then full ones; nearest first in each."""
    occ: dict[str, dict[str, Any]] = {}
    for r in conn.execute(select(db.occupancy)).mappings():
        o = occ.setdefault(r["site_id"], {"capacity": 0, "remaining": 0, "received_at": r["received_at"]})
        o["capacity"] += r["capacity"]
        o["remaining"] += max(0, r["capacity"] - r["occupied"])
        o["received_at"] = min(o["received_at"], r["received_at"])
    found = []
    for s in conn.execute(select(db.site).where(db.site.c.lat.is_not(None), db.site.c.lon.is_not(None))).mappings():
        d = distance_m(lat, lon, s["lat"], s["lon"])
        if d > radius_m:
            continue
        zone_totals = occ.get(s["site_id"])
        fresh = zone_totals is not None and now - zone_totals["received_at"] <= STALE_AFTER
        remaining = zone_totals["remaining"] if fresh and zone_totals else None
        rank = 1 if remaining is None else (0 if remaining > 0 else 2)
        found.append(
            (
                rank,
                d,
                {
                    "site_id": s["site_id"],
                    "name": s["name"],
                    "lat": s["lat"],
                    "lon": s["lon"],
                    "distance_m": round(d),
                    "capacity": zone_totals["capacity"] if zone_totals else None,
                    "remaining": remaining,
                    "full": remaining == 0 if remaining is not None else None,
                    "updated_at": p.utc_text(zone_totals["received_at"]) if zone_totals else None,
                },
            )
        )
    found.sort(key=lambda t: (t[0], t[1]))
    return [item for _, _, item in found[:limit]]
