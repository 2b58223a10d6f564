"""Changes to charging cards asked in the cloud and carried out by the booth.

`/staff/charging/bind`: a tenant binds a card to their account, proving they hold it with
the code the booth printed for the new card (`booth charging bind-code`) or, for a card
bound at the booth already, its PIN. `/staff/charging/piles`: a landlord authorizes or
takes away one of their piles on their landlord card. Each change is queued as a command
(`charging.bind_card` / `charging.authorize_piles`) that the site's booth pulls and
carries out with the same calls as `booth charging bind|authorize`, audited there; its
answer (`charging.change_answered`) shows on `/staff/charging/change/<request>`. A bound
card becomes the tenant's (a grant): it shows on their pages and charges without a PIN.
A tenant reaches only cards they prove; a landlord only their own cards and piles; every
try, refused ones too, is in the people's audit.
"""

from __future__ import annotations

import json
import re
import secrets
import uuid
from html import escape
from typing import Any

from sqlalchemy import insert, select
from sqlalchemy.engine import Connection
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response

from console.domain.charging import ChargingError
from console.domain.charging_cards import card_from_qr, normal_code
from console.i18n import N_, _
from console.sync.server import accounts, charge_proof
from console.sync.server import db as cdb
from console.sync.server.accounts import Scope
from console.sync.server.books import Refused
from console.sync.server.staff import StaffContext, _check_csrf, _client, _form, _to_sign_in, current, staff_page

BIND = "charging.bind_card"
AUTHORIZE = "charging.authorize_piles"
STATES = {"queued": N_("Sent to the booth; waiting for its answer…"), "done": N_("Done"), "refused": N_("Refused by the booth")}
_WORDS = (N_("Bind a card"), N_("Card (number or QR text)"), N_("Code printed at the booth"), N_("Card PIN"), N_("Bind"),
          N_("Authorize"), N_("Take away"), N_("Piles of card {card}"), N_("authorized"), N_("not authorized"), N_("Code or PIN"),
          N_("The booth prints a code for a new card; a card bound at the booth already is proved by its PIN."), N_("Piles now: {piles}"),
          N_("Site"), N_("Back"))


def _csrf(scope: Scope) -> str:
    return f'<input type="hidden" name="csrf" value="{escape(scope.csrf)}">'


def _note(text: str) -> str:
    return f'<div class="card warn" id="note"><p>{escape(text)}</p></div>' if text else ""


# -- a tenant binds a card -----------------------------------------------------------------------
def _sites_of(scope: Scope) -> list[str]:
    return sorted({s for s, _c in scope.cards} | {s for s, _p in scope.piles} | set(scope.sites))


def _bind_form(scope: Scope, note: str = "", card: str = "") -> str:
    sites = "".join(f'<option value="{escape(s)}">{escape(s)}</option>' for s in _sites_of(scope))
    proofs = (("code", _("Code printed at the booth")), ("pin", _("Card PIN")))
    radios = "".join(f'<label class="radio"><input type="radio" name="proof" value="{k}" id="proof-{k}"{" checked" if i == 0 else ""}> '
                     f'{escape(label)}</label>' for i, (k, label) in enumerate(proofs))
    return staff_page(_("Bind a card"), _note(note) + (
        f'<div class="card"><form method="post" action="/staff/charging/bind" id="bind-form">{_csrf(scope)}'
        f'<label for="site">{escape(_("Site"))}</label><select id="site" name="site">{sites}</select>'
        f'<label for="card">{escape(_("Card (number or QR text)"))}</label><input id="card" name="card" value="{escape(card)}" autocomplete="off">'
        f'{radios}<label for="secret">{escape(_("Code or PIN"))}</label>'
        '<input id="secret" name="secret" type="password" inputmode="numeric" autocomplete="off" maxlength="20">'
        f'<button type="submit" id="bind">{escape(_("Bind"))}</button></form>'
        f'<p class="muted">{escape(_("The booth prints a code for a new card; a card bound at the booth already is proved by its PIN."))}</p></div>'
    ), scope)


async def bind_page(ctx: StaffContext, request: Request) -> Response:
    scope = await current(ctx, request)
    if scope is None:
        return _to_sign_in(request)
    if scope.role != "tenant":
        raise Refused(403, _("Cards are bound from the cloud by tenants."))
    return HTMLResponse(_bind_form(scope))


def _queue(conn: Connection, scope: Scope, site_id: str, kind: str, card: str, at: Any, client: str, *, proof: str = "",
           piles: tuple[str, ...] = (), remove: bool = False) -> str:
    request_id = secrets.token_hex(16)
    conn.execute(insert(cdb.card_change).values(request_id=request_id, site_id=site_id, kind=kind, card=card, piles=",".join(piles),
                                                remove=remove, person=scope.person, state="queued", created_at=at, updated_at=at))
    body: dict[str, Any] = {"request_id": request_id, "card": card, "actor": f"cloud:{scope.person}"[:64]}
    if kind == BIND:
        body["proof"] = proof
    else:
        body.update(piles=list(piles), remove=remove)
    conn.execute(insert(cdb.site_command).values(command_id=str(uuid.uuid4()), site_id=site_id, kind=kind, subject=request_id,
                                                 created_at=at, body=json.dumps(body)))
    accounts.audit(conn, at, scope.person, kind, site_id=site_id, subject=card, outcome="queued", client=client,
                   detail=(f"proof {proof}" if kind == BIND else f"{'remove' if remove else 'add'} {','.join(piles)}"))
    return request_id


async def bind(ctx: StaffContext, request: Request) -> Response:
    """POST: check the proof here, then ask the booth to bind (code) or confirm (PIN)."""
    scope = await current(ctx, request)
    if scope is None:
        return _to_sign_in(request)
    form = await _form(request)
    _check_csrf(scope, form)
    if scope.role != "tenant":
        raise Refused(403, _("Cards are bound from the cloud by tenants."))
    at, client = ctx.now(), _client(request)
    site_id, proof = form.get("site", "")[:64], form.get("proof", "")
    secret = normal_code(form.get("secret", ""))[:20]
    try:
        card = card_from_qr(form.get("card", "")[:200])
    except ChargingError:
        return HTMLResponse(_bind_form(scope, _("Type the number printed on your card, or its QR text."), form.get("card", "")[:64]), status_code=422)
    if site_id not in _sites_of(scope):
        raise Refused(403, _("That site is not one of yours."))
    if proof not in ("code", "pin") or not secret:
        return HTMLResponse(_bind_form(scope, _("Type the code printed at the booth, or the card's PIN."), card), status_code=422)

    def work(conn: Connection) -> str | tuple[str]:
        refusal = charge_proof.check_proof(conn, site_id, card, secret, at, person=scope.person, client=client, kind=proof)
        if refusal is not None:
            return (refusal,)  # returned, not raised: the counted try commits
        if proof == "code":
            charge_proof.use_code(conn, site_id, card, at)
        return _queue(conn, scope, site_id, BIND, card, at, client, proof=proof)

    outcome = await ctx.tx(work)
    if isinstance(outcome, tuple):
        return HTMLResponse(_bind_form(scope, outcome[0], card), status_code=403)
    return RedirectResponse(f"/staff/charging/change/{outcome}", status_code=303)


# -- a landlord authorizes piles -----------------------------------------------------------------
def _landlord_cards(conn: Connection, scope: Scope) -> list[dict[str, Any]]:
    found = []
    for site_id, card in sorted(scope.cards):
        row = charge_proof.card_row(conn, site_id, card)
        if row is not None and row["kind"] == "landlord":
            found.append(row)
    return found


async def piles_page(ctx: StaffContext, request: Request) -> Response:
    """GET: the landlord's cards and, for each, their piles with authorize / take away."""
    scope = await current(ctx, request)
    if scope is None:
        return _to_sign_in(request)
    if scope.role != "landlord":
        raise Refused(403, _("Piles are authorized by their landlords."))
    cards = await ctx.tx(lambda conn: _landlord_cards(conn, scope))
    parts = []
    for row in cards:
        on = {p for p in row["piles"].split(",") if p}
        lines = []
        for site_id, pile in sorted(scope.piles):
            if site_id != row["site_id"]:
                continue
            authorized = pile in on
            action, label = ("remove", _("Take away")) if authorized else ("add", _("Authorize"))
            state = _("authorized") if authorized else _("not authorized")
            lines.append(
                f'<form method="post" action="/staff/charging/piles" class="pile" data-pile="{escape(pile)}" data-state="{"on" if authorized else "off"}">'
                f'{_csrf(scope)}<input type="hidden" name="site" value="{escape(site_id)}"><input type="hidden" name="card" value="{escape(row["card"])}">'
                f'<input type="hidden" name="pile" value="{escape(pile)}"><input type="hidden" name="action" value="{action}">'
                f'<p><strong>{escape(pile)}</strong> · <span class="state">{escape(state)}</span></p>'
                f'<button type="submit" class="secondary" id="{action}-{escape(row["card"])}-{escape(pile)}">{escape(label)}</button></form>')
        title = escape(_("Piles of card {card}").format(card=row["card"]))
        parts.append(f'<div class="card" data-card="{escape(row["card"])}"><p>{title} · {escape(row["site_id"])}</p>{"".join(lines)}</div>')
    if not parts:
        parts.append('<div class="card"><p>' + escape(_("No landlord card is granted to you yet, or its booth has not reported it.")) + "</p></div>")
    return HTMLResponse(staff_page(_("Your piles"), "".join(parts), scope))


async def authorize(ctx: StaffContext, request: Request) -> Response:
    """POST: authorize (or take away) one of the landlord's piles on their own card."""
    scope = await current(ctx, request)
    if scope is None:
        return _to_sign_in(request)
    form = await _form(request)
    _check_csrf(scope, form)
    at, client = ctx.now(), _client(request)
    site_id, card, pile, action = form.get("site", "")[:64], form.get("card", "")[:64], form.get("pile", "")[:64], form.get("action", "")
    if action not in ("add", "remove"):
        raise Refused(422, _("Choose to authorize the pile or to take it away."))
    mine = scope.role == "landlord" and (site_id, card) in scope.cards and (site_id, pile) in scope.piles

    def work(conn: Connection) -> str | None:
        if not mine:
            accounts.audit(conn, at, scope.person, AUTHORIZE, site_id=site_id, subject=card, outcome="refused", client=client,
                           detail=f"{action} {pile}")
            return None
        return _queue(conn, scope, site_id, AUTHORIZE, card, at, client, piles=(pile,), remove=action == "remove")

    request_id = await ctx.tx(work)
    if request_id is None:
        raise Refused(403, _("That card or pile is not one of yours."))
    return RedirectResponse(f"/staff/charging/change/{request_id}", status_code=303)


# -- the change's outcome --------------------------------------------------------------------------
async def change(ctx: StaffContext, request: Request) -> Response:
    """GET: a change as the booth answered it (reloads itself while it waits)."""
    scope = await current(ctx, request)
    if scope is None:
        return _to_sign_in(request)
    request_id = request.path_params["request_id"][:64]
    if not re.fullmatch(r"[0-9a-f]{32}", request_id):
        raise Refused(404, _("No such change."))
    row = await ctx.tx(lambda conn: conn.execute(select(cdb.card_change).where(cdb.card_change.c.request_id == request_id)).mappings().first())
    if row is None or row["person"] != scope.person:
        raise Refused(404, _("No such change."))
    what = (_("Bind card {card}").format(card=row["card"]) if row["kind"] == BIND else
            (_("Take pile {pile} away from card {card}") if row["remove"] else _("Authorize pile {pile} on card {card}")).format(
                pile=row["piles"], card=row["card"]))
    body = [f'<div class="card" id="change" data-state="{escape(row["state"])}"><p id="what">{escape(what)}</p>',
            f'<p><strong id="state">{escape(_(STATES.get(row["state"], row["state"])))}</strong></p>']
    if row["state"] == "refused" and row["detail"]:
        body.append(f'<p class="muted" id="detail">{escape(row["detail"])}</p>')
    elif row["state"] == "done" and row["kind"] == AUTHORIZE:
        body.append(f'<p class="muted" id="detail">{escape(_("Piles now: {piles}").format(piles=row["detail"] or "-"))}</p>')
    back = "/staff/charging/piles" if row["kind"] == AUTHORIZE else "/staff/charging"
    body.append(f'</div><a class="button" id="back" href="{back}">{escape(_("Back"))}</a>')
    head = '<meta http-equiv="refresh" content="2">' if row["state"] == "queued" else ""
    return HTMLResponse(staff_page(_("Charging"), "".join(body), scope, head=head), headers={"Cache-Control": "no-store"})
