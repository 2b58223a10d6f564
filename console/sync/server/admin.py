"""Administration of the reference cloud, straight on its database: register a site and
its token, publish a tariff, members or accounts, read a site's books. Used by
`booth cloud admin ...`, by tests and by demos.
"""

from __future__ import annotations

import secrets
from datetime import datetime, timezone
from typing import Any, Callable

from sqlalchemy import insert, select, update
from sqlalchemy.engine import Engine

from console.domain.money import CURRENCY_EXPONENTS
from console.i18n import _
from console.sync import protocol as p
from console.sync.server import books, db


def _now() -> datetime:
    return datetime.now(timezone.utc)


def register_site(
    engine: Engine,
    site_id: str,
    *,
    name: str = "",
    lat: float | None = None,
    lon: float | None = None,
    currency: str = "EUR",
    token: str | None = None,
) -> str:
    """Create a site (or give an existing one a new token) and return its token.

    The token is shown once; the server keeps only its hash.
    """
    import re

    if not re.match(p.SITE_ID_PATTERN, site_id):
        raise ValueError(_("site id {site_id!r}: use 1 to 64 letters, digits, _ . -").format(site_id=site_id))
    if currency not in CURRENCY_EXPONENTS:
        raise ValueError(_("unknown currency {currency!r}").format(currency=currency))
    if (lat is None) != (lon is None):
        raise ValueError(_("give both --lat and --lon, or neither"))
    if lat is not None and lon is not None and not (-90 <= lat <= 90 and -180 <= lon <= 180):
        raise ValueError(_("latitude must be within ±90 and longitude within ±180"))
    token = token or secrets.token_urlsafe(32)
    values = {"name": name, "lat": lat, "lon": lon, "currency": currency, "token_hash": books.token_hash(token)}
    with engine.begin() as conn:
        exists = conn.execute(select(db.site.c.site_id).where(db.site.c.site_id == site_id)).first()
        if exists:
            conn.execute(update(db.site).where(db.site.c.site_id == site_id).values(**values))
        else:
            conn.execute(insert(db.site).values(site_id=site_id, created_at=_now(), **values))
    return token


def _require_site(engine: Engine, site_id: str) -> None:
    with engine.connect() as conn:
        if conn.execute(select(db.site.c.site_id).where(db.site.c.site_id == site_id)).first() is None:
            raise ValueError(_("no site {site_id!r} (register it first)").format(site_id=site_id))


def publish(engine: Engine, site_id: str, kind: str, body: dict[str, Any]) -> str:
    """Publish a document of `kind` (tariff, members, accounts) for a site; returns its ETag."""
    _require_site(engine, site_id)
    with engine.begin() as conn:
        try:
            return books.publish_document(conn, site_id, kind, body, _now())
        except books.Refused as exc:
            raise ValueError(str(exc)) from None


def publish_tariff(engine: Engine, site_id: str, version: str, text: str, *, validate: Callable[[str], None] | None = None) -> str:
    """Publish a tariff text. With `validate`, a text it refuses is not published."""
    if validate is not None:
        validate(text)
    return publish(engine, site_id, "tariff", {"version": version, "text": text, "format": "toml"})


def publish_members(engine: Engine, site_id: str, version: str, members: list[dict[str, Any]]) -> str:
    return publish(engine, site_id, "members", {"version": version, "members": members})


def publish_accounts(engine: Engine, site_id: str, version: str, accounts: list[dict[str, Any]]) -> str:
    return publish(engine, site_id, "accounts", {"version": version, "accounts": accounts})


def site_books(engine: Engine, site_id: str) -> dict[str, Any]:
    """The site's totals as the cloud keeps them."""
    with engine.connect() as conn:
        return books.books(conn, site_id)
