"""What the drivers' phone pages do: read the books, quote, create the provider's order,
and hand the facts to pages.py to lay out. Every handler runs inside the browser's
language (app.py sets it) and raises Refused for what it refuses.

A plate lookup shows one stay only, and only that stay's entry, duration and fee.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any, Awaitable, Callable
from urllib.parse import parse_qs, urlencode
from zoneinfo import ZoneInfo

from sqlalchemy import select
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response

from console.domain.money import Money
from console.domain.plates import PlateError, PlateRules
from console.i18n import _
from console.sync.protocol import WIRE_PLATES
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
    def work(conn: Any) -> tuple[dict[str, Any], str]:
        made = books.create_link(conn, link, now, provider.name)
        return made, books.site_row(conn, link.site_id)["name"] or link.site_id

    created, site_name = await tx(work)
    base = base_url.rstrip("/")
    order = Order(
        order_id=created["id"], amount_minor=created["amount_minor"], currency=created["currency"],
        description=f"{site_name} · {WIRE_PLATES.display(created['plate'])}",
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
    except PlateError:
        # The plate rules' own reason is for attendants (and in English); a driver is
        # told what to type.
        raise Refused(422, _("{plate} is not a plate: type the letters and digits on your number plate.").format(plate=text[:20])) from None


def _tz(book: Any, stay: quotes.Stay) -> ZoneInfo:
    tz: ZoneInfo = book.version_at(stay.entry_at).timezone
    return tz


def _site(conn: Any, site_id: str) -> dict[str, Any]:
    try:
        return books.site_row(conn, site_id)
    except books.NoSite:
        raise Refused(404, _("This parking lot is not known here; open it from the list of lots near you.")) from None


def _unpriced() -> Refused:
    return Refused(409, _("The fee of this stay cannot be shown here right now; pay at the exit."))


@dataclass(frozen=True)
class Paid:
    """A stay's phone payment, and when leaving starts to cost more."""

    link: dict[str, Any]
    paid_at: datetime
    leave_before: datetime | None  # None: the time to leave ran out


def _paid(book: Any, found: quotes.Stay, link: dict[str, Any] | None, at: datetime) -> Paid | None:
    if link is None:
        return None
    paid_at = datetime.fromisoformat(link["paid_at"])
    try:
        return Paid(link, paid_at, quotes.leave_before(book, found, paid_at, at))
    except ValueError:  # the engine refuses the stay: say what was paid, no deadline
        return Paid(link, paid_at, None)


async def stay(ctx: PageContext, request: Request) -> Response:
    """GET /pay?site=..&plate=..: the plate form, or the stay with its fee (the exit
    desk's QR opens this; an amount in the link is ignored: the cloud quotes). A stay
    paid by phone shows until when the exit opens by itself, or the extra fee after."""
    site_id = request.query_params.get("site", "")[:64]
    site = await ctx.tx(lambda conn: _site(conn, site_id))
    name = site["name"] or site_id
    plate_text = request.query_params.get("plate", "").strip()
    if not plate_text:
        return HTMLResponse(pages.plate_form(site_id, name))
    try:
        plate = _plate(ctx, plate_text)
    except Refused as exc:
        return HTMLResponse(pages.plate_form(site_id, name, plate_text[:20], str(exc)), status_code=422)
    at = ctx.now()

    def read(conn: Any) -> tuple[Any, ...]:
        found, quote, book = books.quote_plate(conn, site_id, plate, at)
        return found, quote, book, books.paid_link_for(conn, found.visit_id)

    try:
        found, quote, book, link = await ctx.tx(read)
    except books.NoStay:
        # The same answer for every plate not parked here: no oracle of other plates.
        return HTMLResponse(pages.plate_form(site_id, name, ctx.plates.display(plate), _("No stay of this plate is known here right now.")), status_code=404)
    except books.NotQuotable:
        raise _unpriced() from None
    tz = _tz(book, found)
    shown = ctx.plates.display(plate)
    paid = _paid(book, found, link, at)
    if paid is not None and paid.leave_before is None:
        try:
            quote = quotes.quote_stay(book, found, at, paid_until=paid.paid_at)  # what is due now is the extra fee
        except ValueError:
            raise _unpriced() from None
    elif paid is None and quote.total.is_zero:
        return HTMLResponse(pages.free_stay_page(name, shown, found.entry_at, at, tz))
    grace = quotes.exit_grace_minutes(book, found)
    view = pages.StayView(site_id=site_id, site_name=name, plate=plate, shown_plate=shown, entry_at=found.entry_at, now=at, tz=tz, quote=quote, exit_grace=grace)
    if paid is not None:
        return HTMLResponse(pages.stay_paid_page(view, paid.link, paid.paid_at, paid.leave_before))
    return HTMLResponse(pages.stay_page(view))


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
    back = "/pay?" + urlencode({"site": site_id, "plate": plate})
    try:
        created = await start_order(ctx.tx, ctx.provider, link, ctx.now(), str(request.base_url))
    except books.NoSite:
        raise Refused(404, _("This parking lot is not known here; open it from the list of lots near you.")) from None
    except books.NoStay:
        raise Refused(404, _("No stay of this plate is known here right now.")) from None
    except books.AlreadyPaid:
        return RedirectResponse(back, status_code=303)  # the stay page says what is left to do
    except books.NotQuotable:
        raise _unpriced() from None
    except Refused as exc:
        if exc.status == 409:  # nothing to pay (the stay became free), or another currency
            return RedirectResponse(back, status_code=303)
        raise
    return RedirectResponse(created["checkout_url"], status_code=303)


async def order(ctx: PageContext, request: Request) -> Response:
    """GET /pay/order/<id>: where the provider sends the driver back; waits for the
    provider's notification, then says until when the exit opens by itself."""
    link_id = request.path_params["link_id"][:64]
    at = ctx.now()

    def read(conn: Any) -> tuple[dict[str, Any], datetime | None, ZoneInfo]:
        try:
            found_link = books.get_link(conn, link_id)
        except Refused:
            raise Refused(404, _("No such order.")) from None
        if found_link["status"] != "paid":
            return found_link, None, ZoneInfo("UTC")
        stay_ = quotes.stay_by_id(conn, books.link_visit(conn, link_id) or "")
        try:
            book = quotes.site_book(conn, found_link["site_id"])
        except quotes.NoTariff:
            return found_link, None, ZoneInfo("UTC")
        if stay_ is None:
            return found_link, None, ZoneInfo("UTC")
        paid = _paid(book, stay_, found_link, at)
        return found_link, paid.leave_before if paid else None, _tz(book, stay_)

    link, leave_by, tz = await ctx.tx(read)
    back = "/pay?" + urlencode({"site": link["site_id"], "plate": link["plate"]})
    return HTMLResponse(pages.order_status_page(link, back, at, leave_by, tz))


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
    return HTMLResponse(
        pages.receipt_page(site["name"] or stay_.site_id, ctx.plates.display(stay_.plate), stay_.entry_at, stay_.exit_at, fee, stay_.tariff_id, quote, payments, tz)
    )


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
