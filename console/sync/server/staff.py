"""The cloud's pages for people with an account (managers, landlords, tenants): sign-in,
the elevator ride log with its portraits and statements, the open charging faults with
their notifications. Server-rendered like the drivers' pages (pages.py), in the
browser's language; every handler runs inside app.py's `html()` wrapper.

Each page shows only what the signed-in person's grants cover (accounts.Scope).
"""

from __future__ import annotations

import base64
import re
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone
from html import escape
from typing import Any, Callable
from urllib.parse import parse_qs, urlencode
from zoneinfo import ZoneInfo

from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, PlainTextResponse, RedirectResponse, Response

from console.domain.money import Money
from console.domain.rides import flag_reason_text, floor_label
from console.i18n import _, current_language
from console.sync.server import accounts, faults, pages, rides_cloud
from console.sync.server.accounts import Scope
from console.sync.server.books import Refused
from console.sync.server.phones import Tx

CSS_EXTRA = """
header nav{float:right;font-size:14px}header nav a,header nav button{color:#fff;margin-left:10px;background:none;border:0;
font-size:14px;padding:0;display:inline;width:auto;cursor:pointer}.rides td{font-size:14px;padding-right:8px}.fault p{margin:4px 0}
img.portrait{max-width:100%;border-radius:8px}select{width:100%;font-size:18px;padding:10px;border-radius:8px}
.state-delivered{color:#137a32}.state-failed,.state-cancelled{color:#b3261e}.state-pending{color:#8a5a00}
textarea{width:100%;font-size:16px;padding:8px;border-radius:8px;border:1px solid #b9c0ca}
"""


@dataclass(frozen=True)
class StaffContext:
    tx: Tx
    now: Callable[[], datetime]
    secure_cookie: bool


def _client(request: Request) -> str:
    return request.client.host if request.client else "unknown"


async def _form(request: Request) -> dict[str, str]:
    raw = await request.body()
    if len(raw) > 16_384:
        raise Refused(413, _("That form is too long."))
    return {k: v[0] for k, v in parse_qs(raw.decode("utf-8", "replace")).items()}


async def current(ctx: StaffContext, request: Request) -> Scope | None:
    """The signed-in person, or None."""
    token = request.cookies.get(accounts.SESSION_COOKIE, "")
    if not token or len(token) > 100:
        return None
    at = ctx.now()
    scope: Scope | None = await ctx.tx(lambda conn: accounts.scope_for_session(conn, token, at))
    return scope


def _to_sign_in(request: Request) -> Response:
    target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    return RedirectResponse("/staff/sign-in?" + urlencode({"next": target}), status_code=303)


def _check_csrf(scope: Scope, form: dict[str, str]) -> None:
    if not scope.csrf or form.get("csrf") != scope.csrf:
        raise Refused(403, _("This form has expired; open the page again."))


# -- layout --------------------------------------------------------------------------------------
def staff_page(title: str, body: str, scope: Scope | None = None, head: str = "") -> str:
    lang = "zh-CN" if current_language() == "zh_CN" else "en"
    nav = ""
    if scope is not None:
        links = [f'<a href="/staff">{escape(scope.display_name)}</a>']
        if scope.sees_rides:
            links.append('<a href="/staff/rides" id="nav-rides">' + escape(_("Rides")) + '</a>')
        if scope.sees_faults:
            links.append('<a href="/staff/faults" id="nav-faults">' + escape(_("Faults")) + '</a>')
        if scope.cards or scope.piles:
            links.append('<a href="/staff/charging" id="nav-charging">' + escape(_("Charging")) + '</a>')
        if scope.sites:
            links.append('<a href="/staff/audit" id="nav-audit">' + escape(_("Audit")) + '</a>')
        links.append(
            f'<form method="post" action="/staff/sign-out" style="display:inline"><input type="hidden" name="csrf" value="{escape(scope.csrf)}">'
            f'<button type="submit" id="sign-out">' + escape(_("Sign out")) + '</button></form>'
        )
        nav = "<nav>" + "".join(links) + "</nav>"
    return (
        f'<!doctype html><html lang="{lang}"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">'
        f'{head}<title>{escape(title)}</title><style>{pages.CSS}{CSS_EXTRA}</style></head><body><header>{nav}<h1>{escape(title)}</h1></header>'
        f"<main>{body}</main></body></html>"
    )


def error_page(status: int, message: str) -> str:
    """A refusal on the people's pages, with the way back to them."""
    back = _("Back")
    return staff_page(_("Sorry"), f'<div class="card warn" id="refused" data-status="{status}"><p>{escape(message)}</p></div>'
                                  f'<a class="button" href="/staff">{escape(back)}</a>')


def _local(at: datetime | None, tz: ZoneInfo) -> str:
    return at.astimezone(tz).strftime("%Y-%m-%d %H:%M:%S") if at is not None else "-"


def _warn(note: str) -> str:
    return f'<div class="card warn" id="note"><p>{escape(note)}</p></div>' if note else ""


# -- sign-in -------------------------------------------------------------------------------------
def _sign_in_form(next_url: str, name: str = "", note: str = "") -> str:
    return staff_page(_("Sign in"), _warn(note) + (
        f'<div class="card"><form method="post" action="/staff/sign-in"><input type="hidden" name="next" value="{escape(next_url)}">'
        f'<label for="name">' + escape(_("Name")) + f'</label><input id="name" name="name" value="{escape(name)}" autocomplete="username">'
        f'<label for="password">' + escape(_("Password")) + '</label><input id="password" name="password" type="password" autocomplete="current-password">'
        '<button type="submit" id="sign-in">' + escape(_("Sign in")) + '</button></form></div>'
    ))


def _safe_next(value: str) -> str:
    # Only a path of this cloud: never an open redirect.
    return value if value.startswith("/staff") and not value.startswith("//") else "/staff"


async def sign_in_page(ctx: StaffContext, request: Request) -> Response:
    return HTMLResponse(_sign_in_form(_safe_next(request.query_params.get("next", "/staff"))))


async def sign_in(ctx: StaffContext, request: Request) -> Response:
    form = await _form(request)
    name, password, next_url = form.get("name", "")[:64], form.get("password", "")[:200], _safe_next(form.get("next", "/staff"))
    at, client = ctx.now(), _client(request)

    def work(conn: Any) -> str | accounts.AccountError:
        try:
            return accounts.sign_in(conn, name, password, at, client)
        except accounts.AccountError as exc:
            return exc  # returned, not raised: the count of wrong passwords must commit

    outcome = await ctx.tx(work)
    if isinstance(outcome, accounts.AccountError):
        return HTMLResponse(_sign_in_form(next_url, name, str(outcome)), status_code=401)
    response = RedirectResponse(next_url, status_code=303)
    response.set_cookie(accounts.SESSION_COOKIE, outcome, max_age=int(accounts.SESSION_LIFETIME.total_seconds()), path="/staff",
                        httponly=True, samesite="lax", secure=ctx.secure_cookie)
    return response


async def sign_out(ctx: StaffContext, request: Request) -> Response:
    token = request.cookies.get(accounts.SESSION_COOKIE, "")
    scope = await current(ctx, request)
    if scope is not None:
        _check_csrf(scope, await _form(request))
        at = ctx.now()
        await ctx.tx(lambda conn: accounts.sign_out(conn, token, at))
    response = RedirectResponse("/staff/sign-in", status_code=303)
    response.delete_cookie(accounts.SESSION_COOKIE, path="/staff")
    return response


async def home(ctx: StaffContext, request: Request) -> Response:
    scope = await current(ctx, request)
    if scope is None:
        return _to_sign_in(request)
    role = _(accounts.ROLES.get(scope.role, scope.role))
    covers = sorted(scope.sites) + sorted(scope.buildings) + sorted(scope.franchises) + [f"{s}:{x}" for s, x in sorted(scope.piles | scope.cards)]
    parts = ['<div class="card" id="who"><p>' + escape(_("Signed in as {name}, {role}").format(name=scope.display_name, role=role)) + f'</p>'
             f'<p class="muted">{escape(", ".join(covers))}</p></div>']
    if scope.sees_rides:
        parts.append('<a class="button" href="/staff/rides" id="go-rides">' + escape(_("Elevator rides")) + '</a>')
    if scope.sees_faults:
        parts.append('<a class="button" href="/staff/faults" id="go-faults">' + escape(_("Open charging faults")) + '</a>')
    return HTMLResponse(staff_page(_("Booth cloud"), "".join(parts), scope))


# -- rides ---------------------------------------------------------------------------------------
_FLOOR = re.compile(r"^(?:[Bb](\d{1,3})|(-?\d{1,3}))$")


def _floor(text: str) -> int | None:
    text = text.strip()
    if not text:
        return None
    m = _FLOOR.match(text)
    if not m:
        raise Refused(400, _("{text!r} is not a floor (e.g. 12, -2 or B2).").format(text=text))
    return -int(m[1]) if m[1] else int(m[2])


def _clock(text: str) -> time | None:
    text = text.strip()
    if not text:
        return None
    m = re.fullmatch(r"(\d{1,2}):(\d{2})", text)
    if not m or int(m[1]) > 23 or int(m[2]) > 59:
        raise Refused(400, _("{text!r} is not a time of day (HH:MM).").format(text=text))
    return time(int(m[1]), int(m[2]))


def _period(day_text: str, start_text: str, end_text: str, tz: ZoneInfo) -> tuple[datetime | None, datetime | None]:
    day_text = day_text.strip()
    start, end = _clock(start_text), _clock(end_text)
    if not day_text:
        if start or end:
            raise Refused(400, _("Give the day of the times."))
        return None, None
    try:
        day = date.fromisoformat(day_text)
    except ValueError:
        raise Refused(400, _("{text!r} is not a date (YYYY-MM-DD).").format(text=day_text)) from None
    since = datetime.combine(day, start or time(0), tz)
    until_day = day + timedelta(days=1) if end is None or (start is not None and end <= start) else day
    until = datetime.combine(until_day, end or time(0), tz)
    return since.astimezone(timezone.utc), until.astimezone(timezone.utc)


def _search_zone(conn: Any, scope: Scope, building_id: str, buildings: list[dict[str, Any]]) -> ZoneInfo:
    """The clock a search's day and times are read on: the chosen building's site, or
    the one site the person sees; UTC when several."""
    if building_id:
        sites = {b["site_id"] for b in buildings if b["building_id"] == building_id}
    else:
        sites = {b["site_id"] for b in buildings} | set(scope.sites) | {s for s, _c in scope.cards}
    return rides_cloud.site_zone(conn, next(iter(sites))) if len(sites) == 1 else ZoneInfo("UTC")


async def rides(ctx: StaffContext, request: Request) -> Response:
    """GET /staff/rides: the search form and the rides found (newest first)."""
    scope = await current(ctx, request)
    if scope is None:
        return _to_sign_in(request)
    q = request.query_params
    building_id, floor_text, card = q.get("building", "")[:64], q.get("floor", "")[:8], q.get("card", "")[:40]
    day_text, start_text, end_text = q.get("day", "")[:10], q.get("from", "")[:5], q.get("until", "")[:5]
    floor = _floor(floor_text)
    if card and not re.fullmatch(r"[0-9A-Fa-f:\s-]{1,40}", card):
        raise Refused(400, _("{text!r} is not a card id (hex digits).").format(text=card))

    def read(conn: Any) -> tuple[list[dict[str, Any]], list[dict[str, Any]], ZoneInfo, dict[str, ZoneInfo]]:
        buildings = rides_cloud.buildings_visible(conn, scope)
        tz = _search_zone(conn, scope, building_id, buildings)
        since, until = _period(day_text, start_text, end_text, tz)
        found = rides_cloud.search(conn, scope, rides_cloud.RideSearch(building_id or None, floor, card or None, since, until))
        zones = {s: rides_cloud.site_zone(conn, s) for s in {r["site_id"] for r in found}}
        return buildings, found, tz, zones

    buildings, found, tz, zones = await ctx.tx(read)
    options = ['<option value="">' + escape(_("every building")) + '</option>'] + [
        f'<option value="{escape(b["building_id"])}"{" selected" if b["building_id"] == building_id else ""}>{escape(b["name"] or b["building_id"])}</option>'
        for b in buildings
    ]
    form = (
        '<div class="card"><form method="get" action="/staff/rides" id="search">'
        '<label for="building">' + escape(_("Building")) + f'</label><select id="building" name="building">{"".join(options)}</select>'
        f'<label for="floor">' + escape(_("Floor")) + f'</label><input id="floor" name="floor" value="{escape(floor_text)}">'
        f'<label for="card">' + escape(_("Card id")) + f'</label><input id="card" name="card" value="{escape(card)}" autocomplete="off">'
        f'<label for="day">' + escape(_("Day (YYYY-MM-DD)")) + f'</label><input id="day" name="day" value="{escape(day_text)}">'
        f'<label for="from">' + escape(_("From (HH:MM)")) + f'</label><input id="from" name="from" value="{escape(start_text)}">'
        f'<label for="until">' + escape(_("Until (HH:MM)")) + f'</label><input id="until" name="until" value="{escape(end_text)}">'
        f'<button type="submit" id="find">' + escape(_("Find rides")) + '</button></form>'
        '<p class="muted">' + escape(_("Times on the clock of {zone}").format(zone=tz.key)) + '</p></div>'
    )
    names = {b["building_id"]: b["name"] or b["building_id"] for b in buildings}
    rows = []
    for r in found:
        link = f"/staff/rides/{r['site_id']}/{r['ride_id']}"
        zone = zones.get(r["site_id"], tz)
        rows.append(
            f'<tr class="ride" data-ride="{escape(r["ride_id"])}"><td><a href="{escape(link)}">{escape(_local(r["doors_open_at"], zone))}</a></td>'
            f'<td>{escape(names.get(r["building_id"] or "", r["building_id"] or "-"))}</td><td class="n">{escape(floor_label(r["floor"]))}</td><td>{escape(r["card"] or "-")}</td>'
            f'<td class="n">{escape(Money(r["fee_minor"], r["currency"]).format())}</td></tr>'
        )
    head = "".join(f"<td><b>{escape(h)}</b></td>" for h in (_("Doors opened"), _("Building"), _("Floor"), _("Card id"), _("Fee")))
    table = ('<div class="card"><p id="count">' + escape(_("{count} ride(s)").format(count=len(found))) + f'</p>'
             f'<table class="rides" id="rides"><tr>{head}</tr>{"".join(rows)}</table></div>')
    statement = ('<div class="card"><form method="get" action="/staff/statement"><label for="s-card">' + escape(_("Monthly statement of card")) + f'</label>'
                 f'<input id="s-card" name="card" value="{escape(card)}"><label for="s-month">' + escape(_("Month (YYYY-MM)")) + f'</label>'
                 f'<input id="s-month" name="month" value="{escape(ctx.now().astimezone(tz).strftime("%Y-%m"))}">'
                 f'<input type="hidden" name="site" value="{escape(next(iter(zones), next(iter(scope.sites), "")))}">'
                 f'<button type="submit" id="statement">' + escape(_("Statement")) + '</button></form></div>')
    return HTMLResponse(staff_page(_("Elevator rides"), form + table + statement, scope))


async def ride(ctx: StaffContext, request: Request) -> Response:
    """GET /staff/rides/<site>/<ride>: one ride with its portrait (the view is audited)."""
    scope = await current(ctx, request)
    if scope is None:
        return _to_sign_in(request)
    site_id, ride_id = request.path_params["site_id"][:64], request.path_params["ride_id"][:36]
    at, client = ctx.now(), _client(request)

    def read(conn: Any) -> tuple[dict[str, Any], bytes | None, ZoneInfo, list[dict[str, Any]]] | rides_cloud.RideRefused:
        try:
            found, portrait = rides_cloud.open_ride(conn, scope, site_id, ride_id, at, client)
        except rides_cloud.RideRefused as exc:
            return exc  # the refusal's audit entry must commit
        # The site's manager sees who else looked (or tried).
        views = rides_cloud.portrait_views(conn, site_id, ride_id) if site_id in scope.sites else []
        return found, portrait, rides_cloud.site_zone(conn, site_id), views

    result = await ctx.tx(read)
    if isinstance(result, rides_cloud.RideRefused):
        raise Refused(result.status, str(result))
    found, portrait, tz, views = result
    facts = [
        (_("Doors opened"), _local(found["doors_open_at"], tz)), (_("Swiped"), _local(found["swiped_at"], tz)),
        (_("Building"), found["building_id"] or "-"), (_("Car"), str(found["car"])),
        (_("From floor"), floor_label(found["from_floor"]) if found["from_floor"] is not None else "-"), (_("Floor"), floor_label(found["floor"])),
        (_("Card id"), found["card"] or "-"), (_("Billed account"), found["account_id"] or "-"),
        (_("Fee"), Money(found["fee_minor"], found["currency"]).format()), (_("Price rule"), found["price_rule"] or "-"),
    ]
    if found["flagged"]:
        facts.append((_("Flagged"), flag_reason_text(found["flag_reason"]) or _("yes")))
    table = "".join(f"<tr><td>{escape(k)}</td><td class=\"n\">{escape(v)}</td></tr>" for k, v in facts)
    if portrait is not None:
        # Inline, so the one audited view is the one picture sent (no second URL to fetch).
        picture = '<img class="portrait" id="portrait" alt="' + escape(_("Portrait at the exit")) + f'" src="data:image/jpeg;base64,{base64.b64encode(portrait).decode("ascii")}">'
        picture += '<p class="muted">' + escape(_("This view of the portrait is recorded with your name.")) + '</p>'
    elif scope.may_see_portrait(site_id, found["building_id"]):
        picture = '<p id="no-portrait">' + escape(_("No portrait: deleted after the retention period, or none was taken.")) + '</p>'
    else:
        picture = '<p id="no-portrait">' + escape(_("Portraits are shown to the managers of the building only.")) + '</p>'
    body = f'<div class="card" id="ride"><table>{table}</table></div><div class="card">{picture}</div>'
    if views:
        heading = _("Who opened this ride")
        lines = "".join(f'<tr class="view"><td>{escape(_local(v["at"], tz))}</td><td>{escape(v["person"])}</td>'
                        f'<td>{escape(_outcome(v["outcome"]))}</td></tr>' for v in views)
        body += f'<div class="card"><p class="muted">{escape(heading)}</p><table id="views">{lines}</table></div>'
    return HTMLResponse(staff_page(_("Ride"), body, scope), headers={"Cache-Control": "no-store"})


def _outcome(code: str) -> str:
    """An audit entry's outcome for people."""
    labels = {"shown": _("shown"), "refused": _("refused"), "purged": _("purged"), "none": _("no portrait"), "withheld": _("withheld"), "ok": _("done")}
    return labels.get(code, code)


async def statement(ctx: StaffContext, request: Request) -> Response:
    """GET /staff/statement?site=&card=&month=YYYY-MM[&format=json|text]: what a card
    owes for a month, as `booth rides statement` says it; with `account=` instead of
    `card=`, the statements of the account's cards and their sum."""
    scope = await current(ctx, request)
    if scope is None:
        return _to_sign_in(request)
    q = request.query_params
    site_id, card, month, fmt = q.get("site", "")[:64], q.get("card", "")[:40], q.get("month", "")[:7], q.get("format", "html")
    account = q.get("account", "")[:64]
    if not site_id and len(scope.sites | {s for s, _c in scope.cards}) == 1:
        site_id = next(iter(scope.sites | {s for s, _c in scope.cards}))
    m = re.fullmatch(r"(\d{4})-(\d{2})", month)
    if not m or not 1 <= int(m[2]) <= 12:
        raise Refused(400, _("Write the month as YYYY-MM."))
    if not account and not re.fullmatch(r"[0-9A-Fa-f:\s-]{2,40}", card):
        raise Refused(400, _("{text!r} is not a card id (hex digits).").format(text=card))
    year, number = int(m[1]), int(m[2])

    def read(conn: Any) -> Any:
        try:
            if account:
                return rides_cloud.account_statements(conn, scope, site_id, account, year, number)
            return rides_cloud.statement(conn, scope, site_id, card, year, number)
        except rides_cloud.RideRefused as exc:
            raise Refused(exc.status, str(exc)) from None

    result = await ctx.tx(read)
    if account:
        data, text = rides_cloud.account_json(account, result, month), rides_cloud.account_text(account, result, month)
    else:
        data, text = rides_cloud.statement_json(result, month), rides_cloud.statement_text(result, month)
    if fmt == "json":
        return JSONResponse(data)
    if fmt == "text":
        return PlainTextResponse(text)
    return HTMLResponse(staff_page(_("Statement"), f'<div class="card"><pre id="statement-text">{escape(text)}</pre></div>', scope))


async def audit(ctx: StaffContext, request: Request) -> Response:
    """GET /staff/audit[?person=NAME]: who opened which ride (or tried) and who closed
    which fault, at the site manager's sites."""
    scope = await current(ctx, request)
    if scope is None:
        return _to_sign_in(request)
    if not scope.sites:
        raise Refused(403, _("The audit is for the site's managers."))
    person = request.query_params.get("person", "")[:64] or None
    entries = await ctx.tx(lambda conn: accounts.site_audit(conn, scope, person=person))
    actions = {"ride.portrait_viewed": _("opened a ride"), "fault.close": _("closed a fault")}
    rows = "".join(
        f'<tr class="entry"><td>{escape(e["at"].strftime("%Y-%m-%d %H:%M:%S"))}</td><td>{escape(e["person"])}</td>'
        f'<td>{escape(actions.get(e["action"], e["action"]))}</td><td>{escape(e["subject"])}</td><td>{escape(_outcome(e["outcome"]))}</td></tr>'
        for e in entries
    )
    heading = _("Times in UTC; the newest first.")
    body = f'<div class="card"><p class="muted">{escape(heading)}</p><table class="rides" id="audit">{rows}</table></div>'
    return HTMLResponse(staff_page(_("Audit"), body, scope))


# -- faults --------------------------------------------------------------------------------------
def _state(state: str) -> str:
    labels = {"pending": _("retrying"), "delivered": _("delivered"), "failed": _("given up"), "cancelled": _("cancelled")}
    return labels.get(state, state)


def _deliveries(items: list[dict[str, Any]]) -> str:
    if not items:
        return '<span class="muted">' + escape(_("nobody to tell")) + '</span>'
    return "<br>".join(
        f'<span class="delivery state-{escape(d["state"])}" data-channel="{escape(d["channel"])}" data-state="{escape(d["state"])}">'
        f'{escape(d["channel"])} {escape(d["target"])}: {escape(_state(d["state"]))} ({d["attempts"]})</span>'
        for d in items
    )


async def fault_list(ctx: StaffContext, request: Request) -> Response:
    """GET /staff/faults[?franchise=F&state=all]: the open faults of the person's
    franchises (or sites, or piles), each with its notifications' delivery."""
    scope = await current(ctx, request)
    if scope is None:
        return _to_sign_in(request)
    franchise = request.query_params.get("franchise", "")[:64] or None
    open_only = request.query_params.get("state", "open") != "all"
    found = await ctx.tx(lambda conn: faults.list_faults(conn, scope, franchise=franchise, open_only=open_only))
    open_label, closed_label = _("open"), _("closed")
    cards = []
    for f in found:
        port = f"/{f['port']}" if f["port"] is not None else ""
        link = f"/staff/faults/{f['site_id']}/{f['fault_id']}"
        state = open_label if f["state"] == "open" else closed_label
        cards.append(
            f'<div class="card fault" data-fault="{escape(f["fault_id"])}"><p><a href="{escape(link)}"><b>{escape(f["code"])}</b> '
            f'{escape(f["detail"])}</a></p><p class="muted">{escape(f["site_id"])} · {escape(f["pile_id"])}{escape(port)} · {escape(f["franchise"])} · '
            f'{escape(f["raised_at"].strftime("%Y-%m-%d %H:%M"))} UTC · {escape(state)}</p><p>{_deliveries(f["deliveries"])}</p></div>'
        )
    names = sorted(scope.franchises)
    picks = " · ".join(f'<a href="/staff/faults?{urlencode({"franchise": n})}">{escape(n)}</a>' for n in names)
    title = _("Open faults of {franchise}").format(franchise=franchise) if franchise else _("Open charging faults")
    count = _("{count} fault(s)").format(count=len(found))
    also = _("Also closed ones")
    query = urlencode({"state": "all", **({"franchise": franchise} if franchise else {})})
    body = (f'<div class="card"><p>{picks}</p><p id="count">{escape(count)}</p></div><div id="faults">{"".join(cards)}</div>'
            f'<p><a href="/staff/faults?{query}">{escape(also)}</a></p>')
    return HTMLResponse(staff_page(title, body, scope))


def _fault_body(found: dict[str, Any], scope: Scope, note: str = "") -> str:
    facts = [
        (_("Site"), found["site_id"]), (_("Pile"), found["pile_id"] + (f"/{found['port']}" if found["port"] is not None else "")),
        (_("Fault"), f"{found['code']} {found['detail']}"), (_("Franchise"), found["franchise"]), (_("Region"), found["region"] or "-"),
        (_("Raised (UTC)"), found["raised_at"].strftime("%Y-%m-%d %H:%M:%S")),
        (_("State"), _("open") if found["state"] == "open" else _("closed")),
    ]
    if found["state"] != "open":
        facts += [(_("Closed by"), f"{found['closed_by']} ({found['closed_where']})"), (_("Note"), found["note"] or "")]
    table = "".join(f"<tr><td>{escape(k)}</td><td class=\"n\" id=\"f-{i}\">{escape(v)}</td></tr>" for i, (k, v) in enumerate(facts))
    log = "".join(
        f'<li>{escape(d["channel"])} {escape(d["target"])}: <b class="state-{escape(d["state"])}">{escape(_state(d["state"]))}</b><ul>'
        + "".join(f'<li class="attempt">{escape(a["at"].strftime("%H:%M:%S"))} {"✓" if a["ok"] else "✗"} {escape(a["detail"])}</li>' for a in d["attempt_log"])
        + "</ul></li>"
        for d in found["deliveries"]
    )
    close = ""
    if found["state"] == "open" and scope.may_close_fault(found["site_id"], found["franchise"]):
        close = (f'<div class="card"><form method="post" action="/staff/faults/{escape(found["site_id"])}/{escape(found["fault_id"])}/close">'
                 f'<input type="hidden" name="csrf" value="{escape(scope.csrf)}"><label for="note">' + escape(_("What was done")) + '</label>'
                 '<textarea id="note" name="note" rows="3"></textarea><button type="submit" id="close">' + escape(_("Close the fault")) + '</button></form></div>')
    return (_warn(note) + f'<div class="card" id="fault"><table>{table}</table></div>'
            f'<div class="card"><p class="muted">' + escape(_("Notifications")) + f'</p><ul id="deliveries">{log}</ul></div>' + close)


async def fault(ctx: StaffContext, request: Request) -> Response:
    scope = await current(ctx, request)
    if scope is None:
        return _to_sign_in(request)
    site_id, fault_id = request.path_params["site_id"][:64], request.path_params["fault_id"][:36]

    def read(conn: Any) -> dict[str, Any]:
        try:
            return faults.get_fault(conn, scope, site_id, fault_id)
        except faults.FaultRefused as exc:
            raise Refused(exc.status, str(exc)) from None

    found = await ctx.tx(read)
    return HTMLResponse(staff_page(_("Charging fault"), _fault_body(found, scope), scope))


async def close_fault(ctx: StaffContext, request: Request) -> Response:
    """POST .../close (note): close the fault here; the booth's maintenance record
    follows when its booth next pulls."""
    scope = await current(ctx, request)
    if scope is None:
        return _to_sign_in(request)
    form = await _form(request)
    _check_csrf(scope, form)
    site_id, fault_id = request.path_params["site_id"][:64], request.path_params["fault_id"][:36]
    at, client = ctx.now(), _client(request)

    def work(conn: Any) -> faults.FaultRefused | None:
        try:
            faults.close_fault(conn, scope, site_id, fault_id, form.get("note", "")[:500], at, client)
        except faults.FaultRefused as exc:
            return exc  # a refusal's audit entry commits
        return None

    refused = await ctx.tx(work)
    if refused is not None:
        if refused.status == 422:
            found = await ctx.tx(lambda conn: faults.get_fault(conn, scope, site_id, fault_id))
            return HTMLResponse(staff_page(_("Charging fault"), _fault_body(found, scope, str(refused)), scope), status_code=422)
        raise Refused(refused.status, str(refused))
    return RedirectResponse(f"/staff/faults/{site_id}/{fault_id}", status_code=303)
