"""What the drivers' phone pages do: read the books, quote, create the provider's order,
and hand the facts to pages.py to lay out. Every handler runs inside the browser's
language (app.py sets it) and raises Refused for what it refuses.

A plate lookup shows one stay only, and only that stay's entry, duration and fee.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any, Awaitable, Callable
from urllib.parse import parse_qs, urlencode
from zoneinfo import ZoneInfo

from sqlalchemy import select
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response

from console.domain.money import Money
from console.domain.plates import PlateError, PlateRules
from console.i18n import _
from console.sync.server import books, db, pages, quotes
from console.sync.server.books import Refused
from console.sync.server.provider import Order, PaymentProvider, SimulatedProvider

Tx = Callable[[Callable[[Any], Any]], Awaitable[Any]]
_LATLON = re.compile(r"^\s*(-?\d{1,2}(?:\.\d+)?)\s*[, ]\s*(-?\d{1,3}(?:\.\d+)?)\s*$")
NEAR_M = 5000


@dataclass(frozen=True)
class PageContext:
    """What the page handlers share: the transaction runner, the clock, plate rules, provider."""

    tx: Tx
    now: Callable[[], datetime]
    plates: PlateRules
    provider: PaymentProvider


def error_text(exc: Refused) -> str:
    """A refusal as a page."""
    return pages.error_page(exc.status, str(exc))


async def start_order(tx: Tx, provider: PaymentProvider, link: books.LinkIn, now: datetime, base_url: str) -> dict[str, Any]:
    """Quote the stay, record the order with the quoted amount, register it with the
    provider. Returns the link with `checkout_url`."""
    created: dict[str, Any] = await tx(lambda conn: books.create_link(conn, link, now, provider.name))
    base = base_url.rstrip("/")
    order = Order(
        order_id=created["id"], amount_minor=created["amount_minor"], currency=created["currency"],
        description=f"{created['site_id']} {created['plate']}",
        notify_url=f"{base}/v1/payments/notify/{provider.name}", return_url=f"{base}/pay/order/{created['id']}",
        expires_at=datetime.fromisoformat(created["expires_at"]),
    )
    checkout = provider.create_order(order)
    return {**created, "checkout_url": checkout}


# -- lots near me ------------------------------------------------------------------------------
async def lots(ctx: PageContext, request: Request) -> Response:
    """GET /: the search form; with `lat`/`lon` or a typed place, the lots near it."""
    query = request.query_params.get("q", "").strip()[:100]
    lat_text, lon_text = request.query_params.get("lat"), request.query_params.get("lon")
    position: tuple[float, float] | None = None
    note = ""
    if lat_text is not None and lon_text is not None:
        position = _position(lat_text, lon_text)
        if position is None:
            note = _("That position is not on the map.")
    elif query:
        match = _LATLON.match(query)
        if match:
            position = _position(match.group(1), match.group(2))
        else:
            position = await ctx.tx(lambda conn: _place(conn, query))
        if position is None:
            note = _("No place called {place} is known; type a lot's name or a position.").format(place=query)
    sites = None
    if position is not None:
        at = ctx.now()
        lat, lon = position
        sites = await ctx.tx(lambda conn: books.sites_near(conn, lat, lon, NEAR_M, 20, at))
    return HTMLResponse(pages.lots_page(query, position[0] if position else None, position[1] if position else None, sites, note))


def _position(lat_text: str, lon_text: str) -> tuple[float, float] | None:
    try:
        lat, lon = float(lat_text), float(lon_text)
    except ValueError:
        return None
    return (lat, lon) if -90 <= lat <= 90 and -180 <= lon <= 180 else None


def _place(conn: Any, query: str) -> tuple[float, float] | None:
    """A typed place: the position of the first lot whose name contains it."""
    needle = query.casefold()
    for row in conn.execute(select(db.site.c.name, db.site.c.lat, db.site.c.lon).where(db.site.c.lat.is_not(None))):
        if needle in (row.name or "").casefold():
            return float(row.lat), float(row.lon)
    return None


# -- my stay ---------------------------------------------------------------------------------------
def _plate(ctx: PageContext, text: str) -> str:
    try:
        return ctx.plates.normalize(text)
    except PlateError as exc:
        raise Refused(422, _("{plate} is not a plate: {reason}").format(plate=text[:20], reason=exc)) from None


def _tz(book: Any, stay: quotes.Stay) -> ZoneInfo:
    tz: ZoneInfo = book.version_at(stay.entry_at).timezone
    return tz


async def stay(ctx: PageContext, request: Request) -> Response:
    """GET /pay?site=..&plate=..: the plate form, or the stay with its fee (the exit
    desk's QR opens this; an amount in the link is ignored: the cloud quotes)."""
    site_id = request.query_params.get("site", "")[:64]
    site = await ctx.tx(lambda conn: books.site_row(conn, site_id))
    plate_text = request.query_params.get("plate", "").strip()
    if not plate_text:
        return HTMLResponse(pages.plate_form(site_id, site["name"] or site_id))
    try:
        plate = _plate(ctx, plate_text)
    except Refused as exc:
        return HTMLResponse(pages.plate_form(site_id, site["name"] or site_id, plate_text[:20], str(exc)), status_code=422)
    at = ctx.now()

    def read(conn: Any) -> tuple[Any, ...]:
        found, quote, book = books.quote_plate(conn, site_id, plate, at)
        return found, quote, book, books.paid_link_for(conn, found.visit_id)

    try:
        found, quote, book, paid = await ctx.tx(read)
    except Refused as exc:
        if exc.status != 404 or "stay" not in str(exc):
            raise
        # The same answer for every plate not parked here: no oracle of other plates.
        return HTMLResponse(pages.plate_form(site_id, site["name"] or site_id, plate, _("No stay of this plate is known here right now.")), status_code=404)
    tz = _tz(book, found)
    grace_until = extra = None
    if paid is not None:
        paid_at = datetime.fromisoformat(paid["paid_at"])
        grace_until = paid_at + timedelta(minutes=quotes.exit_grace_minutes(book, found))
        owed = quotes.quote_stay(book, found, at, paid_until=paid_at)
        extra = None if owed.total.is_zero else owed
        if extra is not None:
            quote = owed  # what is due now is the extra fee
    elif quote.total.is_zero:
        return HTMLResponse(pages.free_stay_page(site["name"] or site_id, plate, found.entry_at, tz))
    return HTMLResponse(pages.stay_page(site_id, site["name"] or site_id, plate, found.entry_at, at, quote, tz, paid, grace_until, extra))


async def pay(ctx: PageContext, request: Request) -> Response:
    """POST /pay (site, plate): create the order server-side with the cloud's quote and
    send the driver to the provider's checkout page."""
    # A two-field urlencoded form: read with the standard library (no multipart parser).
    raw = await request.body()
    if len(raw) > 4096:
        raise Refused(413, _("The lot or the plate is not valid."))
    form = parse_qs(raw.decode("utf-8", "replace"))
    site_id = (form.get("site") or [""])[0][:64]
    plate = _plate(ctx, (form.get("plate") or [""])[0])
    try:
        link = books.LinkIn.model_validate({"site_id": site_id, "plate": plate}, context={"plates": ctx.plates})
    except ValueError:
        raise Refused(422, _("The lot or the plate is not valid.")) from None
    created = await start_order(ctx.tx, ctx.provider, link, ctx.now(), str(request.base_url))
    return RedirectResponse(created["checkout_url"], status_code=303)


async def order(ctx: PageContext, request: Request) -> Response:
    """GET /pay/order/<id>: where the provider sends the driver back; waits for the
    provider's notification, then says the exit will open."""
    link_id = request.path_params["link_id"][:64]
    link = await ctx.tx(lambda conn: books.get_link(conn, link_id))
    back = "/pay?" + urlencode({"site": link["site_id"], "plate": link["plate"]})
    return HTMLResponse(pages.order_status_page(link, back))


async def receipt(ctx: PageContext, request: Request) -> Response:
    """GET /e-receipt/<visit>: the receipt of a stay that has left."""
    visit_id = request.path_params["visit_id"][:64]

    def read(conn: Any) -> tuple[Any, ...] | None:
        found = books.receipt(conn, visit_id)
        if found is None:
            return None
        stay_, payments = found
        site = books.site_row(conn, stay_.site_id)
        try:
            book = quotes.site_book(conn, stay_.site_id)
        except quotes.NoTariff:
            book = None
        return stay_, payments, site, book

    found = await ctx.tx(read)
    if found is None:
        raise Refused(404, _("No receipt with this code (it appears once the booth has sent it)."))
    stay_, payments, site, book = found
    assert stay_.exit_at is not None
    fee = Money(stay_.fee_minor or 0, site["currency"])
    quote = None
    tz = ZoneInfo("UTC")
    if book is not None:
        tz = _tz(book, stay_)
        try:
            quote = quotes.quote_stay(book, stay_, stay_.exit_at)
        except ValueError:
            quote = None
    return HTMLResponse(pages.receipt_page(site["name"] or stay_.site_id, stay_.plate, stay_.entry_at, stay_.exit_at, fee, stay_.tariff_id, quote, payments, tz))


# -- the simulated provider's own pages --------------------------------------------------------
def _sim(ctx: PageContext) -> SimulatedProvider:
    if not isinstance(ctx.provider, SimulatedProvider):
        raise Refused(404, _("No such page."))
    return ctx.provider


async def sim_checkout(ctx: PageContext, request: Request) -> Response:
    """The simulated provider's checkout page for an order."""
    found = _sim(ctx).order(request.path_params["order_id"])
    if found is None:
        raise Refused(404, _("No such order."))
    return HTMLResponse(pages.checkout_page(found.order_id, Money(found.amount_minor, found.currency), found.description))


async def sim_confirm(ctx: PageContext, request: Request) -> Response:
    """The driver confirmed at the simulated provider: it notifies the cloud on its own
    thread and sends the driver back to the cloud's order page."""
    provider = _sim(ctx)
    found = provider.order(request.path_params["order_id"])
    if found is None:
        raise Refused(404, _("No such order."))
    if found.expires_at is not None and ctx.now() >= found.expires_at and found.order_id not in provider.paid:
        raise Refused(410, _("This payment has expired; start again from your stay."))
    provider.confirm(found.order_id)
    return RedirectResponse(found.return_url, status_code=303)


def utcnow() -> datetime:
    return datetime.now(timezone.utc)
