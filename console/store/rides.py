"""Storing elevator rides: each record is one transaction with its audit entry (and,
for billed rides, its outbox event carrying the small snapshot), searches of the ride
log, statements by SQL aggregates, and the purge of old snapshots."""

from __future__ import annotations

import base64
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Sequence

from sqlalchemy import Select, func, update
from sqlalchemy import select as sa_select
from sqlmodel import Session, col, select

from console.domain.money import Money
from console.domain.rides import (
    Card,
    RideKind,
    RideQuery,
    Statement,
    build_statement,
    normalise_card,
)
from console.store import outbox
from console.store.audit import append_audit
from console.store.database import affected
from console.store.ids import new_id
from console.store.outbox import enqueue
from console.store.ride_tables import ElevatorCardRow, ElevatorRideRow
from console.store.types import table_of

OUTBOX_TYPE = outbox.RIDE_EVENT


@dataclass(frozen=True, slots=True)
class NewRide:
    """A record to store, as the site assembled it."""

    kind: RideKind
    car: int
    floor: int
    doors_open_at: datetime
    fee: Money
    card: str | None = None
    card_class: str | None = None
    account_id: str | None = None
    from_floor: int | None = None
    swiped_at: datetime | None = None
    arrived_at: datetime | None = None
    price_rule: str = ""
    flagged: bool = False
    flag_reason: str | None = None
    snapshot: bytes | None = None
    snapshot_width: int | None = None
    snapshot_height: int | None = None
    snapshot_face: bool = False
    snapshot_note: str | None = None
    # Sent to the cloud with the ride, so it keeps the portrait no longer than the booth
    # and reads statement months on the booth's clock.
    retention_days: int | None = None
    timezone: str | None = None


@dataclass(frozen=True, slots=True)
class RideSummary:
    """A stored record without its snapshot bytes (what lists show)."""

    id: str
    kind: RideKind
    card: str | None
    card_class: str | None
    account_id: str | None
    car: int
    from_floor: int | None
    floor: int
    swiped_at: datetime | None
    arrived_at: datetime | None
    doors_open_at: datetime
    fee: Money
    price_rule: str
    flagged: bool
    flag_reason: str | None
    has_snapshot: bool
    snapshot_bytes: int
    snapshot_face: bool
    snapshot_note: str | None
    snapshot_purged_at: datetime | None
    recorded_at: datetime


_SUMMARY_COLUMNS = [c for c in table_of(ElevatorRideRow).c if c.name != "snapshot"]
_HAS_SNAPSHOT = col(ElevatorRideRow.snapshot).is_not(None).label("has_snapshot")


def _summary(row: Any) -> RideSummary:
    m = row._mapping
    return RideSummary(
        id=m["id"], kind=RideKind(m["kind"]), card=m["card"], card_class=m["card_class"],
        account_id=m["account_id"], car=m["car"], from_floor=m["from_floor"], floor=m["floor"],
        swiped_at=m["swiped_at"], arrived_at=m["arrived_at"], doors_open_at=m["doors_open_at"],
        fee=Money(m["fee_minor"], m["currency"]), price_rule=m["price_rule"], flagged=m["flagged"],
        flag_reason=m["flag_reason"], has_snapshot=bool(m["has_snapshot"]), snapshot_bytes=m["snapshot_bytes"],
        snapshot_face=m["snapshot_face"], snapshot_note=m["snapshot_note"],
        snapshot_purged_at=m["snapshot_purged_at"], recorded_at=m["recorded_at"],
    )


def _summaries_query() -> Select[Any]:
    return sa_select(*_SUMMARY_COLUMNS, _HAS_SNAPSHOT)


def ride_payload(ride: RideSummary, snapshot: bytes | None, *, retention_days: int | None = None, timezone: str | None = None) -> dict[str, Any]:
    """The outbox event of a ride: the record and its snapshot as base64, with the
    booth's snapshot retention and time zone when known (nothing else)."""
    site: dict[str, Any] = {}
    if retention_days is not None:
        site["snapshot_retention_days"] = retention_days
    if timezone is not None:
        site["timezone"] = timezone
    return site | {
        "ride_id": ride.id,
        "kind": ride.kind.value,
        "card": ride.card,
        "card_class": ride.card_class,
        "account_id": ride.account_id,
        "car": ride.car,
        "from_floor": ride.from_floor,
        "floor": ride.floor,
        "swiped_at": ride.swiped_at.isoformat() if ride.swiped_at else None,
        "arrived_at": ride.arrived_at.isoformat() if ride.arrived_at else None,
        "doors_open_at": ride.doors_open_at.isoformat(),
        "fee_minor": ride.fee.minor,
        "currency": ride.fee.currency,
        "price_rule": ride.price_rule,
        "flagged": ride.flagged,
        "flag_reason": ride.flag_reason,
        "snapshot_face": ride.snapshot_face,
        "snapshot_jpeg_b64": base64.b64encode(snapshot).decode("ascii") if snapshot else None,
    }


def record_ride(db: Session, ride: NewRide, *, at: datetime, actor: str = "elevator") -> RideSummary:
    """Store one record with its audit entry; a billed ride also gets its outbox event.
    All in one transaction: either everything is recorded or nothing (StoreError)."""
    ride_id = new_id()
    row = ElevatorRideRow(
        id=ride_id, kind=ride.kind.value, card=ride.card, card_class=ride.card_class, account_id=ride.account_id,
        car=ride.car, from_floor=ride.from_floor, floor=ride.floor, swiped_at=ride.swiped_at,
        arrived_at=ride.arrived_at, doors_open_at=ride.doors_open_at, fee_minor=ride.fee.minor,
        currency=ride.fee.currency, price_rule=ride.price_rule[:64], flagged=ride.flagged,
        flag_reason=(ride.flag_reason or None) and ride.flag_reason[:200], snapshot=ride.snapshot,
        snapshot_bytes=len(ride.snapshot or b""), snapshot_width=ride.snapshot_width,
        snapshot_height=ride.snapshot_height, snapshot_face=ride.snapshot_face,
        snapshot_note=(ride.snapshot_note or None) and ride.snapshot_note[:200], recorded_at=at,
    )
    db.add(row)
    db.flush()
    summary = _summary(db.execute(_summaries_query().where(col(ElevatorRideRow.id) == ride_id)).one())
    append_audit(
        db, at=at, actor=actor, action=f"ride.{ride.kind.value}", subject=ride_id,
        detail={"card": ride.card, "car": ride.car, "floor": ride.floor, "fee_minor": ride.fee.minor,
                "flagged": ride.flagged, "reason": ride.flag_reason},
    )
    if ride.kind is RideKind.RIDE:
        enqueue(db, type=OUTBOX_TYPE, occurred_at=ride.doors_open_at, payload=ride_payload(summary, ride.snapshot, retention_days=ride.retention_days, timezone=ride.timezone))
    return summary


# -- cards -------------------------------------------------------------------------------------
def sync_cards(db: Session, cards: Sequence[Card], *, at: datetime, actor: str = "config") -> int:
    """Make the cards table say what the site file says (it is the source for now).
    Returns how many cards were added, changed or removed; audited when any."""
    wanted = {normalise_card(c.card_id): c for c in cards}
    changed: list[str] = []
    have = {r.card_id: r for r in db.exec(select(ElevatorCardRow)).all()}
    for card_id, card in wanted.items():
        row = have.get(card_id)
        if row is None:
            db.add(ElevatorCardRow(card_id=card_id, card_class=card.card_class, account_id=card.account_id,
                                  active=card.active, updated_at=at))
            changed.append(card_id)
        elif (row.card_class, row.account_id, row.active) != (card.card_class, card.account_id, card.active):
            row.card_class, row.account_id, row.active, row.updated_at = (
                card.card_class, card.account_id, card.active, at)
            db.add(row)
            changed.append(card_id)
    for card_id, row in have.items():
        if card_id not in wanted:
            db.delete(row)
            changed.append(card_id)
    if changed:
        append_audit(db, at=at, actor=actor, action="ride.cards_loaded", subject="elevator_card",
                     detail={"changed": sorted(changed), "cards": len(wanted)})
    return len(changed)


def find_card(db: Session, card_id: str) -> Card | None:
    """The card as the booth knows it, or None."""
    row = db.get(ElevatorCardRow, normalise_card(card_id))
    return Card(row.card_id, row.card_class, row.account_id, row.active) if row else None


# -- reads -------------------------------------------------------------------------------------
def search_rides(db: Session, query: RideQuery, *, limit: int = 200) -> list[RideSummary]:
    """Records matching the query, newest first."""
    q = _summaries_query()
    if query.card:
        q = q.where(col(ElevatorRideRow.card).startswith(query.card, autoescape=True))
    if query.floor is not None:
        q = q.where(col(ElevatorRideRow.floor) == query.floor)
    if query.since is not None:
        q = q.where(col(ElevatorRideRow.doors_open_at) >= query.since)
    if query.until is not None:
        q = q.where(col(ElevatorRideRow.doors_open_at) < query.until)
    if query.flagged_only:
        q = q.where(col(ElevatorRideRow.flagged).is_(True))
    if query.kinds:
        q = q.where(col(ElevatorRideRow.kind).in_([k.value for k in query.kinds]))
    q = q.order_by(col(ElevatorRideRow.doors_open_at).desc(), col(ElevatorRideRow.id).desc()).limit(limit)
    return [_summary(r) for r in db.execute(q).all()]


def get_ride(db: Session, ride_id: str) -> RideSummary | None:
    row = db.execute(_summaries_query().where(col(ElevatorRideRow.id) == ride_id)).first()
    return _summary(row) if row else None


def latest_snapshots(db: Session, count: int) -> list[tuple[RideSummary, bytes]]:
    """The newest records that still have a snapshot, newest first (no audit: see
    `view_snapshots`, which the screens call)."""
    q = (
        select(*_SUMMARY_COLUMNS, _HAS_SNAPSHOT, ElevatorRideRow.snapshot)  # type: ignore[call-overload]
        .where(col(ElevatorRideRow.snapshot).is_not(None))
        .order_by(col(ElevatorRideRow.doors_open_at).desc(), col(ElevatorRideRow.id).desc())
        .limit(count)
    )
    return [(_summary(r), bytes(r._mapping["snapshot"])) for r in db.execute(q).all()]


def view_snapshots(
    db: Session, ride_ids: Sequence[str], *, actor: str, at: datetime, view: str = "ride"
) -> dict[str, bytes]:
    """The snapshots of these rides, for showing to `actor`; audited as
    "ride.snapshot_viewed" (one entry per ride opened, one entry for a gallery)."""
    if not ride_ids:
        return {}
    rows = db.execute(
        select(ElevatorRideRow.id, ElevatorRideRow.snapshot).where(col(ElevatorRideRow.id).in_(list(ride_ids)))
    ).all()
    found = {r[0]: bytes(r[1]) for r in rows if r[1] is not None}
    if view == "gallery":
        append_audit(db, at=at, actor=actor, action="ride.snapshot_viewed", subject="gallery",
                     detail={"view": "gallery", "rides": sorted(found)})
    else:
        for ride_id in ride_ids:
            append_audit(db, at=at, actor=actor, action="ride.snapshot_viewed", subject=ride_id,
                         detail={"view": view, "shown": ride_id in found})
    return found


def statement(db: Session, card: str, start: datetime, end: datetime, currency: str) -> Statement:
    """What `card` owes for rides with doors opened in [start, end): SQL aggregates per floor."""
    card = normalise_card(card)
    base = (
        col(ElevatorRideRow.card) == card,
        col(ElevatorRideRow.kind) == RideKind.RIDE.value,
        col(ElevatorRideRow.doors_open_at) >= start,
        col(ElevatorRideRow.doors_open_at) < end,
        col(ElevatorRideRow.currency) == currency,
    )
    per_floor = db.execute(
        select(ElevatorRideRow.floor, func.count(), func.coalesce(func.sum(ElevatorRideRow.fee_minor), 0))
        .where(*base)
        .group_by(col(ElevatorRideRow.floor))
    ).all()
    flagged = db.execute(
        select(func.count()).where(*base, col(ElevatorRideRow.flagged).is_(True))
    ).scalar_one()
    account = db.execute(
        select(ElevatorRideRow.account_id).where(*base).order_by(col(ElevatorRideRow.doors_open_at).desc()).limit(1)
    ).scalar()
    if account is None:
        row = db.get(ElevatorCardRow, card)
        account = row.account_id if row else None
    return build_statement(card, account, start, end, currency, [(f, int(n), int(t)) for f, n, t in per_floor], int(flagged))


# -- privacy -----------------------------------------------------------------------------------
def purge_snapshots(db: Session, *, older_than: datetime, at: datetime, actor: str = "retention") -> int:
    """Delete snapshots of records whose doors opened before `older_than`; the records
    stay, stamped with `snapshot_purged_at`. One audited transaction. Returns the count."""
    result = db.execute(
        update(ElevatorRideRow)
        .where(col(ElevatorRideRow.doors_open_at) < older_than, col(ElevatorRideRow.snapshot).is_not(None))
        .values(snapshot=None, snapshot_purged_at=at)
    )
    count = affected(result)
    scrubbed = outbox.scrub_snapshots(db, older_than=older_than)
    if count or scrubbed:
        append_audit(db, at=at, actor=actor, action="ride.snapshots_purged", subject="elevator_ride",
                     detail={"count": count, "outbox_events": scrubbed, "older_than": older_than.isoformat()})
    return count


