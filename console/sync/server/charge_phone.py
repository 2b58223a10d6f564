"""Charging from the phone: the pile's QR opens `/staff/charge/<site>/<pile>/<port>`.

The user signs in (a tenant sees their own cards to choose from) or types the card,
chooses a preset (energy, time or amount) and prepaid or postpaid as the pile takes
(`?modes=` in the QR's address; the booth checks again), and the cloud queues a
`charging.start` command for the site. The booth pulls it, starts the pile and answers
with `charging.phone_started` or `charging.phone_refused`; while the session runs its
`charging.progress` events carry the energy and the fee, and `charging.session_closed`
its bill. The page `/staff/charge/r/<request>` shows them and a stop button (a
`charging.stop` command). The request's random id is the page's only key, so a typed
card's holder without an account follows their own session; a signed-in tenant may
choose only the cards their grants name. A typed card starts only with its PIN
(`charge_proof`: wrong PINs counted and locked, one answer whether the card exists or
not), for prepaid and postpaid alike. Every start and stop asked is audited.
"""

from __future__ import annotations

import json
import re
import secrets
import uuid
from decimal import Decimal, InvalidOperation
from html import escape
from typing import Any

from sqlalchemy import insert, select, update
from sqlalchemy.engine import Connection
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, RedirectResponse, Response

from console.domain.charging_cards import PAY_MODES, pile_qr_address
from console.domain.money import Money, MoneyError
from console.i18n import N_, _
from console.sync.server import accounts, charge_proof
from console.sync.server import db as cdb
from console.sync.server.accounts import Scope
from console.sync.server.books import Refused
from console.sync.server.staff import StaffContext, _check_csrf, _client, _form, current, staff_page

START_COMMAND = "charging.start"
STOP_COMMAND = "charging.stop"
SCAN_FAILED_COMMAND = "charging.scan_failed"

# Words used inside the pages' f-strings (where the catalog's extractor does not look).
_WORDS = (N_("Card number"), N_("Energy"), N_("Fee"), N_("How much"), N_("Pay"), N_("Pile {pile}, port {port}, card {card}"),
          N_("Refunded"), N_("Start charging"), N_("Stop at"), N_("Stop charging"), N_("Stopping…"), N_("Time"), N_("Your card"))

_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:-]{0,63}$")
MODES = PAY_MODES


# -- reading the form ------------------------------------------------------------------------------
def parse_preset(kind: str, value: str, currency: str) -> str:
    """The booth's preset text (`energy:Wh`, `time:s`, `amount:minor`) from what the user
    typed: kWh, minutes, or an amount in the site's currency. Raises Refused (422)."""
    value = value.strip().replace(",", ".")
    try:
        if kind == "energy":
            wh = int(Decimal(value) * 1000)
            if not 100 <= wh <= 200_000:
                raise Refused(422, _("Choose between 0.1 and 200 kWh."))
            return f"energy:{wh}"
        if kind == "time":
            minutes = int(Decimal(value))
            if not 1 <= minutes <= 24 * 60:
                raise Refused(422, _("Choose between 1 and 1440 minutes."))
            return f"time:{minutes * 60}"
        if kind == "amount":
            amount = Money.parse(value, currency)
            if not 0 < amount.minor <= 10**7:
                raise Refused(422, _("Choose an amount above zero."))
            return f"amount:{amount.minor}"
    except (InvalidOperation, MoneyError, ValueError):
        raise Refused(422, _("{value!r} is not a number.").format(value=value[:20])) from None
    raise Refused(422, _("Choose energy, time or an amount."))


def _modes(request: Request) -> tuple[str, ...]:
    asked = tuple(m for m in request.query_params.get("modes", "").split(",") if m in MODES)
    return asked or MODES


def _where(request: Request) -> tuple[str, str, int]:
    site_id, pile = request.path_params["site_id"][:64], request.path_params["pile"][:64]
    try:
        port = int(request.path_params["port"])
    except ValueError:
        raise Refused(404, _("No such charging port.")) from None
    if not _ID.match(site_id) or not _ID.match(pile) or not 0 < port <= 1000:
        raise Refused(404, _("No such charging port."))
    return site_id, pile, port


def _site(conn: Connection, site_id: str) -> dict[str, Any]:
    row = conn.execute(select(cdb.site.c.name, cdb.site.c.currency).where(cdb.site.c.site_id == site_id)).mappings().first()
    if row is None:
        raise Refused(404, _("No such charging port."))
    return dict(row)


# -- pages -----------------------------------------------------------------------------------------
def _start_form(site: dict[str, Any], pile: str, port: int, modes: tuple[str, ...], scope: Scope | None, site_id: str,
                note: str = "") -> str:
    mine = sorted(card for s, card in (scope.cards if scope else frozenset()) if s == site_id)
    here = escape(_("{site}: pile {pile}, port {port}").format(site=site["name"] or site_id, pile=pile, port=port))
    parts = [f'<div class="card warn" id="note"><p>{escape(note)}</p></div>' if note else "", f'<div class="card"><p id="where">{here}</p></div>']
    action = f"/staff/charge/{escape(site_id)}/{escape(pile)}/{port}?modes={','.join(modes)}"
    form = [f'<div class="card"><form method="post" action="{action}" id="start-form">']
    if scope is not None:
        form.append(f'<input type="hidden" name="csrf" value="{escape(scope.csrf)}">')
    if mine:
        options = "".join(f'<option value="{escape(c)}">{escape(c)}</option>' for c in mine)
        form.append(f'<label for="card">{escape(_("Your card"))}</label><select id="card" name="card">{options}</select>')
    else:
        form.append(f'<label for="card">{escape(_("Card number"))}</label><input id="card" name="card" autocomplete="off">')
        # Typed, a card needs its PIN: the number alone is printed on the card.
        form.append(f'<label for="pin">{escape(_("Card PIN"))}</label>'
                    '<input id="pin" name="pin" type="password" inputmode="numeric" autocomplete="off" maxlength="12">')
        if scope is None:
            target = f"/staff/charge/{site_id}/{pile}/{port}?modes={','.join(modes)}"
            form.append(f'<p class="muted"><a id="sign-in-link" href="/staff/sign-in?next={escape(target)}">'
                        + escape(_("Or sign in to choose one of your cards")) + "</a></p>")
    kinds = (("energy", _("Energy (kWh)")), ("time", _("Time (minutes)")), ("amount", _("Amount ({currency})").format(currency=site["currency"])))
    form.append(f'<label for="preset-kind">{escape(_("Stop at"))}</label><select id="preset-kind" name="kind">'
                + "".join(f'<option value="{k}">{escape(label)}</option>' for k, label in kinds) + "</select>")
    form.append(f'<label for="preset-value">{escape(_("How much"))}</label><input id="preset-value" name="value" inputmode="decimal" value="1">')
    names = {"prepaid": _("Prepaid (the amount is held, the rest refunded)"), "postpaid": _("Postpaid (billed to your account)")}
    form.append(f'<label>{escape(_("Pay"))}</label>' + "".join(
        f'<label class="radio"><input type="radio" name="mode" value="{m}" id="mode-{m}"{" checked" if i == 0 else ""}> {escape(names[m])}</label>'
        for i, m in enumerate(modes)))
    form.append(f'<button type="submit" id="start">{escape(_("Start charging"))}</button></form></div>')
    problem = escape(_("The pile did not react to the code: tell the operator"))
    form.append(f'<form method="post" action="/staff/charge/{escape(site_id)}/{escape(pile)}/{port}/problem">'
                + (f'<input type="hidden" name="csrf" value="{escape(scope.csrf)}">' if scope is not None else "")
                + f'<button type="submit" class="secondary" id="report-problem">{problem}</button></form>')
    return "".join(parts) + "".join(form)


async def report_problem(ctx: StaffContext, request: Request) -> Response:
    """POST: the code was scanned but the pile did nothing: fault 3 at the booth."""
    site_id, pile, port = _where(request)
    scope = await current(ctx, request)
    form = await _form(request)
    if scope is not None:
        _check_csrf(scope, form)
    at, client = ctx.now(), _client(request)
    await ctx.tx(lambda conn: _site(conn, site_id))
    person = scope.person if scope is not None else "phone"

    def work(conn: Connection) -> None:
        conn.execute(insert(cdb.site_command).values(
            command_id=str(uuid.uuid4()), site_id=site_id, kind=SCAN_FAILED_COMMAND, subject=f"{pile}/{port}", created_at=at,
            body=json.dumps({"pile": pile, "port": port, "note": f"reported by {person}", "actor": f"cloud:{person}"[:64]})))
        accounts.audit(conn, at, person, "charging.scan_failed", site_id=site_id, subject=f"{pile}/{port}", outcome="queued", client=client)

    await ctx.tx(work)
    thanks = escape(_("Thank you: the operator has been told that pile {pile}, port {port} did not work.").format(pile=pile, port=port))
    return HTMLResponse(staff_page(_("Charge at this pile"), f'<div class="card" id="reported"><p>{thanks}</p></div>', scope))


async def start_page(ctx: StaffContext, request: Request) -> Response:
    """GET: what the pile's QR opens."""
    site_id, pile, port = _where(request)
    scope = await current(ctx, request)
    site = await ctx.tx(lambda conn: _site(conn, site_id))
    return HTMLResponse(staff_page(_("Charge at this pile"), _start_form(site, pile, port, _modes(request), scope, site_id), scope))


async def start(ctx: StaffContext, request: Request) -> Response:
    """POST: queue the start for the site's booth; then follow it on the request's page."""
    site_id, pile, port = _where(request)
    modes = _modes(request)
    scope = await current(ctx, request)
    form = await _form(request)
    if scope is not None:
        _check_csrf(scope, form)
    at, client = ctx.now(), _client(request)
    site = await ctx.tx(lambda conn: _site(conn, site_id))
    card = form.get("card", "").strip()[:64]
    mode = form.get("mode", "")

    def again(note: str, status: int) -> Response:
        return HTMLResponse(staff_page(_("Charge at this pile"), _start_form(site, pile, port, modes, scope, site_id, note), scope), status_code=status)

    if not _ID.match(card):
        return again(_("Type the number printed on your card."), 422)
    if mode not in modes:
        return again(_("This pile does not take that way of paying."), 422)
    try:
        preset = parse_preset(form.get("kind", ""), form.get("value", ""), site["currency"])
    except Refused as exc:
        return again(str(exc), exc.status)
    person = scope.person if scope is not None else f"card:{card}"
    owner = scope is not None and (site_id, card) in scope.cards
    pin = form.get("pin", "").strip()[:12]
    if not owner and scope is not None and scope.role == "tenant" and not pin:
        # A tenant charges on their own cards, or on another with its PIN; the refusal is kept.
        await ctx.tx(lambda conn: accounts.audit(conn, at, person, "charging.phone_start", site_id=site_id, subject=card,
                                                 outcome="refused", client=client, detail=f"{pile}/{port}"))
        return again(_("That card is not one of yours."), 403)
    if not owner and not pin:
        return again(_("Type the card's PIN as well: the number alone does not start it."), 422)  # not a try: nothing counted
    if not owner:
        # The number alone proves nothing: its PIN does (tries counted, locked like PINs).
        refusal = await ctx.tx(lambda conn: charge_proof.check_proof(conn, site_id, card, pin, at, person=person, client=client))
        if refusal is not None:
            await ctx.tx(lambda conn: accounts.audit(conn, at, person, "charging.phone_start", site_id=site_id, subject=card,
                                                     outcome="refused", client=client, detail=f"{pile}/{port}: no proof"))
            return again(refusal, 403)
    request_id = secrets.token_hex(16)

    def work(conn: Connection) -> None:
        conn.execute(insert(cdb.charge_request).values(
            request_id=request_id, site_id=site_id, pile=pile, port=port, card=card, person=scope.person if scope else None,
            preset=preset, mode=mode, state="queued", currency=site["currency"], created_at=at, updated_at=at))
        conn.execute(insert(cdb.site_command).values(
            command_id=str(uuid.uuid4()), site_id=site_id, kind=START_COMMAND, subject=request_id, created_at=at,
            body=json.dumps({"request_id": request_id, "pile": pile, "port": port, "card": card, "preset": preset, "mode": mode,
                             "proof": "owner" if owner else "pin", "actor": f"cloud:{person}"[:64]})))
        accounts.audit(conn, at, person, "charging.phone_start", site_id=site_id, subject=request_id, outcome="queued", client=client,
                       detail=f"{pile}/{port} card {card} {preset} {mode} proof {'owner' if owner else 'pin'}")

    await ctx.tx(work)
    return RedirectResponse(f"/staff/charge/r/{request_id}", status_code=303)


def _request(conn: Connection, request_id: str) -> dict[str, Any]:
    if not re.fullmatch(r"[0-9a-f]{32}", request_id):
        raise Refused(404, _("No such charging session."))
    row = conn.execute(select(cdb.charge_request).where(cdb.charge_request.c.request_id == request_id)).mappings().first()
    if row is None:
        raise Refused(404, _("No such charging session."))
    return dict(row)


STATES = {"queued": N_("Starting…"), "started": N_("Charging now"), "refused": N_("Not started"), "closed": N_("Finished")}


def _figures(row: dict[str, Any]) -> dict[str, Any]:
    fee = Money(int(row["fee_minor"]), row["currency"])
    return {"state": row["state"], "energy_wh": row["energy_wh"], "seconds": row["seconds"], "fee_minor": fee.minor,
            "currency": fee.currency, "fee": str(fee), "detail": row["detail"], "refund_minor": row["refund_minor"],
            "stop_asked": bool(row["stop_asked"])}


async def status(ctx: StaffContext, request: Request) -> Response:
    """The request's page: live energy and fee while it runs, its stop button."""
    request_id = request.path_params["request_id"][:64]
    row = await ctx.tx(lambda conn: _request(conn, request_id))
    if request.query_params.get("format") == "json":
        return JSONResponse(_figures(row), headers={"Cache-Control": "no-store"})
    scope = await current(ctx, request)
    f = _figures(row)
    running = row["state"] in ("queued", "started")
    state = _(STATES.get(row["state"], row["state"]))
    body = [f'<div class="card" id="charging" data-state="{escape(row["state"])}">',
            f'<p id="where">{escape(_("Pile {pile}, port {port}, card {card}").format(pile=row["pile"], port=row["port"], card=row["card"]))}</p>',
            f'<p><strong id="state">{escape(state)}</strong></p>',
            f'<p>{escape(_("Energy"))}: <span id="energy">{row["energy_wh"] / 1000:.3f}</span> kWh</p>',
            f'<p>{escape(_("Fee"))}: <span id="fee">{escape(f["fee"])}</span></p>',
            f'<p>{escape(_("Time"))}: <span id="time">{escape(_("{minutes} min").format(minutes=row["seconds"] // 60))}</span></p>']
    if row["detail"] and row["state"] in ("refused", "closed"):
        body.append(f'<p class="muted" id="detail">{escape(row["detail"])}</p>')
    if row["state"] == "closed" and row["refund_minor"]:
        body.append(f'<p id="refund">{escape(_("Refunded"))}: {escape(str(Money(int(row["refund_minor"]), row["currency"])))}</p>')
    body.append("</div>")
    if row["state"] == "started" and not row["stop_asked"]:
        csrf = f'<input type="hidden" name="csrf" value="{escape(scope.csrf)}">' if scope is not None else ""
        body.append(f'<form method="post" action="/staff/charge/r/{request_id}/stop">{csrf}'
                    f'<button type="submit" id="stop">{escape(_("Stop charging"))}</button></form>')
    elif row["stop_asked"] and running:
        body.append(f'<p class="muted" id="stopping">{escape(_("Stopping…"))}</p>')
    # The page follows the session by reloading itself while it runs: no script needed.
    head = '<meta http-equiv="refresh" content="2">' if running else ""
    return HTMLResponse(staff_page(_("Charging"), "".join(body), scope, head=head), headers={"Cache-Control": "no-store"})


async def stop(ctx: StaffContext, request: Request) -> Response:
    """POST: ask the booth to stop the request's session."""
    request_id = request.path_params["request_id"][:64]
    scope = await current(ctx, request)
    form = await _form(request)
    if scope is not None:
        _check_csrf(scope, form)
    at, client = ctx.now(), _client(request)

    def work(conn: Connection) -> None:
        row = _request(conn, request_id)
        if row["state"] != "started" or row["stop_asked"] or not row["session_id"]:
            return  # nothing running, or asked already: a second press changes nothing
        conn.execute(update(cdb.charge_request).where(cdb.charge_request.c.request_id == request_id).values(stop_asked=True, updated_at=at))
        conn.execute(insert(cdb.site_command).values(
            command_id=str(uuid.uuid4()), site_id=row["site_id"], kind=STOP_COMMAND, subject=request_id, created_at=at,
            body=json.dumps({"request_id": request_id, "session_id": row["session_id"], "actor": "cloud:phone"})))
        accounts.audit(conn, at, scope.person if scope else f"card:{row['card']}", "charging.phone_stop", site_id=row["site_id"],
                       subject=request_id, outcome="queued", client=client)

    await ctx.tx(work)
    return RedirectResponse(f"/staff/charge/r/{request_id}", status_code=303)


qr_address = pile_qr_address  # the address the page answers at
