"""Quotes in the cloud: the fee of a stay priced with the tariff versions the site's
booths sent, by the same engine and the same version rule as the booth
(`TariffBook.quote`: the version in force at entry prices the stay).

The booth's own quote still decides at the gate; the cloud's is what a driver sees on
the phone and what a provider's order is created with.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.engine import Connection

from console.domain.quote import Quote
from console.domain.tariff import TariffBook, TariffError, parse_tariff
from console.sync.server import db


@dataclass(frozen=True, slots=True)
class Stay:
    """An open (or closed) visit as the cloud's books know it."""

    visit_id: str
    site_id: str
    plate: str
    zone: str | None
    vehicle_class: str
    entry_at: datetime
    exit_at: datetime | None
    fee_minor: int | None
    tariff_id: str | None


class NoTariff(ValueError):
    """The cloud holds no tariff the site's booths price with."""


def store_versions(conn: Connection, site_id: str, versions: list[tuple[str, str]], now: datetime) -> int:
    """Keep the tariff versions (id, text) a booth sent; a known id is left as it is
    (a version never changes). Returns how many were new."""
    known = set(conn.execute(select(db.tariff_version.c.tariff_id).where(db.tariff_version.c.site_id == site_id)).scalars())
    fresh = [{"site_id": site_id, "tariff_id": tid, "text": text, "received_at": now} for tid, text in versions if tid not in known]
    if fresh:
        conn.execute(db.tariff_version.insert(), fresh)
    return len(fresh)


def site_book(conn: Connection, site_id: str) -> TariffBook:
    """The site's tariff book, from the versions its booths sent. Raises NoTariff."""
    texts = conn.execute(
        select(db.tariff_version.c.tariff_id, db.tariff_version.c.text).where(db.tariff_version.c.site_id == site_id).order_by(db.tariff_version.c.received_at)
    ).all()
    book = TariffBook()
    for tariff_id, text in texts:
        try:
            book.add(parse_tariff(text, f"tariff {tariff_id} of {site_id}"))
        except TariffError:
            continue  # a version the engine refuses prices nothing; the others still do
    if book.key is None:
        raise NoTariff(f"no tariff of site {site_id} has reached the cloud yet")
    return book


def open_stay(conn: Connection, site_id: str, plate: str) -> Stay | None:
    """The plate's open visit at the site (the newest entry), or None."""
    row = conn.execute(
        select(db.visit)
        .where(db.visit.c.site_id == site_id, db.visit.c.plate == plate, db.visit.c.state == "open", db.visit.c.entry_at.is_not(None))
        .order_by(db.visit.c.entry_at.desc())
        .limit(1)
    ).mappings().first()
    return _stay(row) if row else None


def stay_by_id(conn: Connection, visit_id: str) -> Stay | None:
    """A visit by its id (the e-receipt's QR names it), or None."""
    row = conn.execute(select(db.visit).where(db.visit.c.visit_id == visit_id)).mappings().first()
    return _stay(row) if row and row["entry_at"] is not None else None


def _stay(row: Any) -> Stay:
    return Stay(
        visit_id=row["visit_id"], site_id=row["site_id"], plate=row["plate"], zone=row["zone"] or None,
        vehicle_class=row["vehicle_class"] or "car", entry_at=row["entry_at"], exit_at=row["exit_at"],
        fee_minor=row["fee_minor"], tariff_id=row["tariff_id"],
    )


def quote_stay(book: TariffBook, stay: Stay, at: datetime, *, paid_until: datetime | None = None) -> Quote:
    """The stay's fee leaving at `at` (raises QuoteError, a ValueError), as the booth
    quotes it: same book, same facts (entry, class, zone)."""
    return book.quote(stay.entry_at, at, vehicle_class=stay.vehicle_class, zone=stay.zone, paid_until=paid_until)


def exit_grace_minutes(book: TariffBook, stay: Stay) -> int:
    """The exit grace (minutes after paying) of the version pricing the stay."""
    tariff = book.version_at(stay.entry_at)
    vc = tariff.classes.get(stay.vehicle_class)
    return vc.rules.exit_grace if vc is not None else 0


def leave_before(book: TariffBook, stay: Stay, paid_at: datetime, now: datetime, horizon: timedelta = timedelta(days=1)) -> datetime | None:
    """After a payment at `paid_at`, the first minute at which leaving costs more: the
    driver who reaches the exit before it owes nothing (the exit grace, and the rest of
    the period already paid for). None when something is owed already `now`; `now +
    horizon` when nothing is owed even then.

    What is owed after paying never goes down as the exit moves later (zero within the
    grace, then the fee's growth since paying), so a bisection on minutes finds it.
    """

    def free(at: datetime) -> bool:
        return quote_stay(book, stay, at, paid_until=paid_at).total.is_zero

    if not free(now):
        return None
    low, high = now, now + horizon
    if free(high):
        return high
    while high - low > timedelta(minutes=1):
        middle = low + (high - low) / 2
        if free(middle):
            low = middle
        else:
            high = middle
    return high.replace(second=0, microsecond=0)
