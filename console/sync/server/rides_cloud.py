"""Elevator rides in the cloud: booked from the booths' `elevator.ride` events (fee,
card, floor, time and the exit portrait), found by building, floor, time and card,
shown with their portrait to the managers of their site or building only (every view
audited), billed in monthly statements computed as the booth computes them, and their
portraits deleted on the booth's own retention.

A building is a set of a site's elevator cars (`booth cloud admin building`); a ride
belongs to the building of its car.
"""

from __future__ import annotations

import base64
import binascii
import json
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any, Sequence
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict, Field, field_validator
from sqlalchemy import and_, func, insert, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection
from sqlalchemy.sql.elements import ColumnElement

from console.domain.money import CURRENCY_EXPONENTS
from console.domain.rides import Statement, build_statement, month_period, normalise_card
from console.i18n import _
from console.sync.server import accounts, db
from console.sync.server.accounts import Scope

RIDE_EVENT = "elevator.ride"
SNAPSHOT_FIELD = "snapshot_jpeg_b64"
# A booth that does not say its retention keeps portraits this long (its default).
DEFAULT_RETENTION_DAYS = 30
MAX_SNAPSHOT_B64 = 400_000


class RideIn(BaseModel):
    """The payload of an `elevator.ride` event (console/store/rides.py ride_payload)."""

    model_config = ConfigDict(extra="ignore")

    ride_id: str = Field(min_length=1, max_length=36)
    kind: str = Field(default="ride", max_length=16)
    card: str | None = Field(default=None, max_length=40)
    card_class: str | None = Field(default=None, max_length=32)
    account_id: str | None = Field(default=None, max_length=64)
    car: int = Field(ge=0, le=10_000)
    from_floor: int | None = Field(default=None, ge=-1000, le=1000)
    floor: int = Field(ge=-1000, le=1000)
    swiped_at: datetime | None = None
    doors_open_at: datetime
    fee_minor: int = Field(ge=0, le=2**31 - 1)
    currency: str = Field(min_length=3, max_length=3)
    price_rule: str = Field(default="", max_length=64)
    flagged: bool = False
    flag_reason: str | None = Field(default=None, max_length=200)
    snapshot_face: bool = False
    snapshot_jpeg_b64: str | None = Field(default=None, max_length=MAX_SNAPSHOT_B64)
    snapshot_retention_days: int | None = Field(default=None, ge=1, le=3650)
    timezone: str | None = Field(default=None, max_length=64)

    @field_validator("currency")
    @classmethod
    def _known(cls, value: str) -> str:
        if value not in CURRENCY_EXPONENTS:
            raise ValueError(f"unknown currency {value!r}")
        return value

    @field_validator("doors_open_at", "swiped_at")
    @classmethod
    def _aware(cls, value: datetime | None) -> datetime | None:
        if value is not None and value.utcoffset() is None:
            raise ValueError("a time needs its UTC offset")
        return value

    @field_validator("timezone")
    @classmethod
    def _zone(cls, value: str | None) -> str | None:
        if value is not None:
            try:
                ZoneInfo(value)
            except (ZoneInfoNotFoundError, ValueError):
                raise ValueError(f"unknown time zone {value!r}") from None
        return value

    @field_validator("snapshot_jpeg_b64")
    @classmethod
    def _b64(cls, value: str | None) -> str | None:
        if value is not None:
            try:
                base64.b64decode(value, validate=True)
            except (binascii.Error, ValueError):
                raise ValueError("the snapshot is not base64") from None
        return value

    @field_validator("card")
    @classmethod
    def _card(cls, value: str | None) -> str | None:
        return normalise_card(value) if value else value


def _insert(conn: Connection, table: Any) -> Any:
    return postgresql.insert(table) if conn.dialect.name == "postgresql" else sqlite.insert(table)


# -- buildings -----------------------------------------------------------------------------------
def _cars(text: str) -> set[int]:
    return {int(c) for c in text.split(",") if c.strip()}


def building_of(buildings: Sequence[dict[str, Any]], car: int) -> str | None:
    """The building of a car: one that names the car, else one that takes every car."""
    for b in buildings:
        if car in _cars(b["cars"]):
            return str(b["building_id"])
    for b in buildings:
        if not b["cars"].strip():
            return str(b["building_id"])
    return None


def _buildings(conn: Connection, site_id: str) -> list[dict[str, Any]]:
    return [dict(r) for r in conn.execute(select(db.building).where(db.building.c.site_id == site_id).order_by(db.building.c.building_id)).mappings()]


def save_building(conn: Connection, building_id: str, site_id: str, name: str, cars: Sequence[int], at: datetime) -> int:
    """Create or change a building (its site's cars; none: all of them) and move the
    site's rides booked so far to the buildings their cars now belong to. Returns how
    many rides the building holds."""
    for other in _buildings(conn, site_id):
        shared = sorted(_cars(other["cars"]) & set(cars)) if other["building_id"] != building_id else []
        if shared:
            raise ValueError(_("car(s) {cars} belong to building {building} already").format(cars=", ".join(map(str, shared)), building=other["building_id"]))
    values = {"site_id": site_id, "name": name[:80], "cars": ",".join(str(c) for c in sorted(set(cars)))}
    stmt = _insert(conn, db.building).values(building_id=building_id, **values)
    conn.execute(stmt.on_conflict_do_update(index_elements=["building_id"], set_=values))
    buildings = _buildings(conn, site_id)
    for car in conn.execute(select(db.ride.c.car).where(db.ride.c.site_id == site_id).distinct()).scalars():
        conn.execute(update(db.ride).where(db.ride.c.site_id == site_id, db.ride.c.car == car).values(building_id=building_of(buildings, car)))
    accounts.audit(conn, at, "cloud admin", "building.saved", site_id=site_id, subject=building_id, detail=f"cars={values['cars'] or 'all'}")
    return int(conn.execute(select(func.count()).select_from(db.ride).where(db.ride.c.building_id == building_id)).scalar_one())


def buildings_visible(conn: Connection, scope: Scope) -> list[dict[str, Any]]:
    q = select(db.building).where(or_(db.building.c.site_id.in_(scope.sites), db.building.c.building_id.in_(scope.buildings)))
    return [dict(r) for r in conn.execute(q.order_by(db.building.c.name, db.building.c.building_id)).mappings()]


# -- booking -------------------------------------------------------------------------------------
def book(conn: Connection, site_id: str, events: Sequence[tuple[Any, RideIn]], received_at: datetime) -> None:
    """Book rides of events stored for the first time, and take their portraits out of
    the stored events (the ride holds the one copy the retention deletes)."""
    rides = [(ev, r) for ev, r in events if r.kind == "ride"]
    if not events:
        return
    profile = conn.execute(select(db.site_elevator).where(db.site_elevator.c.site_id == site_id)).mappings().first()
    newest = max(events, key=lambda e: e[1].doors_open_at)[1]
    if newest.timezone or newest.snapshot_retention_days:
        values = {"timezone": newest.timezone or (profile["timezone"] if profile else "UTC"),
                  "retention_days": newest.snapshot_retention_days or (profile["retention_days"] if profile else DEFAULT_RETENTION_DAYS),
                  "updated_at": received_at}
        stmt = _insert(conn, db.site_elevator).values(site_id=site_id, **values)
        conn.execute(stmt.on_conflict_do_update(index_elements=["site_id"], set_=values))
    default_days = profile["retention_days"] if profile else DEFAULT_RETENTION_DAYS
    buildings = _buildings(conn, site_id)
    rows = []
    for _ev, r in rides:
        purge_after = r.doors_open_at + timedelta(days=r.snapshot_retention_days or default_days)
        keep = r.snapshot_jpeg_b64 is not None and purge_after > received_at
        rows.append({
            "site_id": site_id, "ride_id": r.ride_id, "building_id": building_of(buildings, r.car), "card": r.card,
            "card_class": r.card_class, "account_id": r.account_id, "car": r.car, "from_floor": r.from_floor, "floor": r.floor,
            "swiped_at": r.swiped_at, "doors_open_at": r.doors_open_at, "fee_minor": r.fee_minor, "currency": r.currency,
            "price_rule": r.price_rule, "flagged": r.flagged, "flag_reason": r.flag_reason,
            "snapshot": base64.b64decode(r.snapshot_jpeg_b64) if keep and r.snapshot_jpeg_b64 else None,
            "snapshot_face": r.snapshot_face, "purge_after": purge_after,
            "snapshot_purged_at": received_at if r.snapshot_jpeg_b64 is not None and not keep else None, "received_at": received_at,
        })
    if rows:
        conn.execute(_insert(conn, db.ride).on_conflict_do_nothing(index_elements=["site_id", "ride_id"]), rows)
    for ev, r in events:
        if r.snapshot_jpeg_b64 is not None:
            scrubbed = {**ev.payload, SNAPSHOT_FIELD: None, "snapshot_in": "cloud_ride"}
            conn.execute(update(db.event).where(db.event.c.site_id == site_id, db.event.c.event_id == ev.id)
                         .values(payload=json.dumps(scrubbed, ensure_ascii=False, sort_keys=True, separators=(",", ":"))))


# -- finding -------------------------------------------------------------------------------------
@dataclass(frozen=True)
class RideSearch:
    """What a person looks for; every field narrows the search."""

    building_id: str | None = None
    floor: int | None = None
    card: str | None = None  # a prefix of the card id
    since: datetime | None = None  # UTC, inclusive
    until: datetime | None = None  # UTC, exclusive


def _visible(scope: Scope) -> ColumnElement[bool]:
    """The rides a person may see, as SQL."""
    r = db.ride.c
    parts: list[ColumnElement[bool]] = []
    if scope.sites:
        parts.append(r.site_id.in_(sorted(scope.sites)))
    if scope.buildings:
        parts.append(r.building_id.in_(sorted(scope.buildings)))
    for site_id, card in sorted(scope.cards):
        parts.append(and_(r.site_id == site_id, r.card == card))
    return or_(*parts) if parts else r.site_id.is_(None)


_LIST_COLUMNS = [c for c in db.ride.c if c.name != "snapshot"]


def search(conn: Connection, scope: Scope, query: RideSearch, *, limit: int = 200) -> list[dict[str, Any]]:
    """Rides the person may see that match the query, newest first (no portraits)."""
    r = db.ride.c
    q = select(*_LIST_COLUMNS, r.snapshot.is_not(None).label("has_snapshot")).where(_visible(scope))
    if query.building_id:
        q = q.where(r.building_id == query.building_id)
    if query.floor is not None:
        q = q.where(r.floor == query.floor)
    if query.card:
        q = q.where(r.card.startswith(normalise_card(query.card), autoescape=True))
    if query.since is not None:
        q = q.where(r.doors_open_at >= query.since)
    if query.until is not None:
        q = q.where(r.doors_open_at < query.until)
    q = q.order_by(r.doors_open_at.desc(), r.ride_id.desc()).limit(limit)
    return [dict(row) for row in conn.execute(q).mappings()]


class RideRefused(ValueError):
    """A ride or its portrait not shown (`status`: 404 unknown, 403 not this person's)."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


def open_ride(conn: Connection, scope: Scope, site_id: str, ride_id: str, at: datetime, client: str) -> tuple[dict[str, Any], bytes | None]:
    """A ride with its portrait, for `scope`. Every attempt is audited as
    `ride.portrait_viewed`: shown, purged, none, withheld (a tenant's own ride: no
    portrait) or refused (someone else's ride, or no such ride)."""
    row = conn.execute(select(db.ride).where(db.ride.c.site_id == site_id, db.ride.c.ride_id == ride_id)).mappings().first()

    def record(outcome: str, detail: str = "") -> None:
        accounts.audit(conn, at, scope.person, "ride.portrait_viewed", site_id=site_id, subject=ride_id, outcome=outcome, client=client,
                       detail=detail)

    if row is None:
        record("refused", "no such ride")
        raise RideRefused(404, _("No such ride."))
    if not scope.may_see_ride(site_id, row["building_id"], row["card"]):
        record("refused", f"ride of building {row['building_id'] or '-'}; {scope.role} of {', '.join(sorted(scope.buildings | scope.sites)) or '-'}")
        raise RideRefused(403, _("This ride is not in a building you manage; the attempt was recorded."))
    ride = {k: v for k, v in row.items() if k != "snapshot"}
    if not scope.may_see_portrait(site_id, row["building_id"]):
        record("withheld")
        return ride, None
    snapshot = row["snapshot"]
    if snapshot is not None and row["purge_after"] <= at:
        snapshot = None  # past the retention even if the purge has not run yet
    record("shown" if snapshot is not None else ("purged" if row["snapshot_purged_at"] or row["purge_after"] <= at else "none"))
    return ride, bytes(snapshot) if snapshot is not None else None


def portrait_views(conn: Connection, site_id: str, ride_id: str) -> list[dict[str, Any]]:
    """Who looked at a ride's portrait (or tried), newest first."""
    q = (select(db.person_audit).where(db.person_audit.c.action == "ride.portrait_viewed", db.person_audit.c.site_id == site_id,
                                       db.person_audit.c.subject == ride_id).order_by(db.person_audit.c.seq.desc()))
    return [dict(r) for r in conn.execute(q).mappings()]


# -- statements ----------------------------------------------------------------------------------
def site_zone(conn: Connection, site_id: str) -> ZoneInfo:
    """The site's time zone as its booths last said (UTC before any said)."""
    name = conn.execute(select(db.site_elevator.c.timezone).where(db.site_elevator.c.site_id == site_id)).scalar()
    try:
        return ZoneInfo(name) if name else ZoneInfo("UTC")
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")


def statement(conn: Connection, scope: Scope, site_id: str, card: str, year: int, month: int) -> Statement:
    """What a card owes for a local calendar month of its site, computed as the booth's
    `booth rides statement` does (same aggregates, same domain arithmetic), over the
    rides the person may see. Raises RideRefused for a card the person may not see."""
    card = normalise_card(card)
    if not (site_id in scope.sites or (site_id, card) in scope.cards or scope.buildings):
        raise RideRefused(403, _("This card is not one you may see."))
    start, end = month_period(year, month, site_zone(conn, site_id))
    r = db.ride.c
    currency = conn.execute(select(r.currency).where(r.site_id == site_id).order_by(r.doors_open_at.desc()).limit(1)).scalar()
    if currency is None:
        currency = conn.execute(select(db.site.c.currency).where(db.site.c.site_id == site_id)).scalar() or "EUR"
    base = (r.site_id == site_id, r.card == card, r.doors_open_at >= start, r.doors_open_at < end, r.currency == currency, _visible(scope))
    per_floor = conn.execute(select(r.floor, func.count(), func.coalesce(func.sum(r.fee_minor), 0)).where(*base).group_by(r.floor)).all()
    flagged = conn.execute(select(func.count()).select_from(db.ride).where(*base, r.flagged.is_(True))).scalar_one()
    account = conn.execute(select(r.account_id).where(*base).order_by(r.doors_open_at.desc()).limit(1)).scalar()
    if account is None:
        account = conn.execute(select(r.account_id).where(r.site_id == site_id, r.card == card, r.account_id.is_not(None), _visible(scope))
                               .order_by(r.doors_open_at.desc()).limit(1)).scalar()
    return build_statement(card, account, start, end, currency, [(f, int(n), int(t)) for f, n, t in per_floor], int(flagged))


def account_cards(conn: Connection, scope: Scope, site_id: str, account_id: str) -> list[str]:
    """The cards whose rides the person may see that billed `account_id`."""
    r = db.ride.c
    q = select(r.card).where(r.site_id == site_id, r.account_id == account_id, r.card.is_not(None), _visible(scope)).distinct()
    return sorted(c for c in conn.execute(q).scalars() if c)


def account_statements(conn: Connection, scope: Scope, site_id: str, account_id: str, year: int, month: int) -> list[Statement]:
    """The month's statement of every card (that the person may see) billed to an
    account, card by card; cards without rides in the month are left out."""
    found = [statement(conn, scope, site_id, card, year, month) for card in account_cards(conn, scope, site_id, account_id)]
    return [s for s in found if s.rides]


def account_json(account_id: str, statements: Sequence[Statement], month: str) -> dict[str, Any]:
    """An account's month: its cards' statements and their sum."""
    currencies = {s.total.currency for s in statements}
    return {
        "account": account_id, "month": month, "cards": [statement_json(s, month) for s in statements],
        "rides": sum(s.rides for s in statements), "flagged": sum(s.flagged for s in statements),
        "total_minor": sum(s.total.minor for s in statements) if len(currencies) <= 1 else None,
        "currency": next(iter(currencies)) if len(currencies) == 1 else None,
    }


def account_text(account_id: str, statements: Sequence[Statement], month: str) -> str:
    """An account's month as text: each card's statement, then the account's total."""
    from console import formats
    from console.domain.money import Money

    parts = [statement_text(s, month) for s in statements]
    currencies = {s.total.currency for s in statements}
    if len(currencies) == 1:
        total = formats.money(Money(sum(s.total.minor for s in statements), next(iter(currencies))))
        rides = sum(s.rides for s in statements)
        parts.append(_("Account {account}, {month}: {cards} card(s), {rides} rides, {amount}").format(
            account=account_id, month=month, cards=len(statements), rides=rides, amount=total) + "\n")
    elif not statements:
        parts.append(_("Account {account}, {month}: no rides").format(account=account_id, month=month) + "\n")
    return "".join(parts)


def statement_json(result: Statement, month: str) -> dict[str, Any]:
    """A statement as `booth rides statement --json` prints it."""
    return {
        "card": result.card, "account": result.account_id, "month": month, "rides": result.rides,
        "total_minor": result.total.minor, "currency": result.total.currency, "flagged": result.flagged,
        "floors": [{"floor": line.floor, "rides": line.rides, "total_minor": line.total.minor} for line in result.lines],
    }


def statement_text(result: Statement, month: str) -> str:
    """A statement as `booth rides statement` prints it, line for line."""
    from console import formats
    from console.domain.rides import floor_label

    lines = [_("Elevator statement {month} for card {card} (account {account})").format(month=month, card=result.card, account=result.account_id or "-")]
    for line in result.lines:
        label = floor_label(line.floor) if line.floor is not None else _("all floors")
        lines.append("  " + _("floor {floor:>5}: {rides:4d} rides  {amount:>12}").format(floor=label, rides=line.rides, amount=formats.money(line.total)))
    flagged = "   " + _("({count} flagged for review)").format(count=result.flagged) if result.flagged else ""
    lines.append("  " + _("total       : {rides:4d} rides  {amount:>12}").format(rides=result.rides, amount=formats.money(result.total)) + flagged)
    return "\n".join(lines) + "\n"


# -- retention -----------------------------------------------------------------------------------
def purge(conn: Connection, at: datetime) -> int:
    """Delete every portrait past its booth's retention; the rides stay, stamped. Audited
    in the cloud's audit when any went. Returns how many."""
    r = db.ride.c
    done = conn.execute(update(db.ride).where(r.purge_after <= at, r.snapshot.is_not(None)).values(snapshot=None, snapshot_purged_at=at))
    count = int(done.rowcount or 0)
    if count:
        conn.execute(insert(db.audit).values(at=at, action="ride.portraits_purged", client="retention", detail=f"{count} portrait(s) past their retention"))
    return count


def utc_now() -> datetime:
    return datetime.now(timezone.utc)

