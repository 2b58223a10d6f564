"""`/staff/charging`: a tenant's cards and a landlord's piles in the cloud.

A tenant sees each card their grants name (`SITE:CARD`) with its charging sessions as
the booths reported them (energy, fee, pay mode) and what its account owes (postpaid
bills booked less payments, `charge_proof.owed`: the booth's figure),
and blocks a lost card: the cloud queues `charging.block_card` and the booth blocks it
(its account stays). A landlord sees the sessions, energy and fees on each pile their
grants name (`SITE:PILE`). Nobody sees a card or pile their grants do not name. The
figures are read from the booths' `charging.session_started` / `session_closed` events.
"""

from __future__ import annotations

import json
import uuid
from html import escape
from typing import Any

from sqlalchemy import insert, select
from sqlalchemy.engine import Connection
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, RedirectResponse, Response

from console.domain.money import Money
from console.i18n import N_, _
from console.sync.server import accounts, charge_proof
from console.sync.server import db as cdb
from console.sync.server.accounts import Scope
from console.sync.server.books import Refused
from console.sync.server.staff import StaffContext, _check_csrf, _client, _form, _to_sign_in, current, staff_page

BLOCK_COMMAND = "charging.block_card"
_WORDS = (N_("Block this card"), N_("Sessions"), N_("Owed (postpaid)"), N_("Your piles"), N_("Your cards"), N_("Bind a card"), N_("Authorize piles"))


def sessions(conn: Connection, sites: set[str]) -> list[dict[str, Any]]:
    """The closed sessions the booths of these sites reported, with their card and pile."""
    if not sites:
        return []
    e = cdb.event.c
    rows = conn.execute(select(e.site_id, e.type, e.payload).where(
        e.site_id.in_(sorted(sites)), e.type.in_(("charging.session_started", "charging.session_closed")))).all()
    started: dict[tuple[str, str], dict[str, Any]] = {}
    closed: dict[tuple[str, str], dict[str, Any]] = {}
    for site_id, kind, payload in rows:
        body = json.loads(payload)
        key = (site_id, str(body.get("subject", "")))
        (started if kind == "charging.session_started" else closed)[key] = body
    found = []
    for key, end in closed.items():
        begin = started.get(key, {})
        found.append({"site_id": key[0], "session": key[1], "card": begin.get("card"), "pile": end.get("pile"), "mode": begin.get("mode", ""),
                      "energy_wh": int(end.get("energy_wh") or 0), "bill_minor": int(end.get("bill_minor") or 0)})
    return found


def _currency(conn: Connection, site_id: str) -> str:
    return str(conn.execute(select(cdb.site.c.currency).where(cdb.site.c.site_id == site_id)).scalar() or "EUR")


async def page(ctx: StaffContext, request: Request) -> Response:
    scope = await current(ctx, request)
    if scope is None:
        return _to_sign_in(request)
    sites = {s for s, _x in scope.cards | scope.piles}

    def read(conn: Connection) -> tuple[list[dict[str, Any]], dict[str, str], dict[tuple[str, str], bool], dict[tuple[str, str], tuple[str, int]]]:
        c = cdb.site_command.c
        blocked = {(r.site_id, r.subject): True for r in conn.execute(select(c.site_id, c.subject).where(c.kind == BLOCK_COMMAND))}
        owed: dict[tuple[str, str], tuple[str, int]] = {}
        for site_id, card in scope.cards:
            row = charge_proof.card_row(conn, site_id, card)
            account = row["account"] if row is not None and row["account"] else charge_proof.account_billed(conn, site_id, card)
            if account:
                # The card's account owes it (all its cards' postpaid sessions, less payments).
                owed[(site_id, card)] = (account, charge_proof.owed(conn, site_id, account))
        return sessions(conn, sites), {s: _currency(conn, s) for s in sites}, blocked, owed

    found, currencies, blocked, owed = await ctx.tx(read)
    if request.query_params.get("format") == "json":
        return JSONResponse({"cards": [
            {"site": site_id, "card": card, "account": owed.get((site_id, card), ("", 0))[0], "owed_minor": owed.get((site_id, card), ("", 0))[1],
             "currency": currencies.get(site_id, "EUR"), "sessions": len([x for x in found if x["site_id"] == site_id and x["card"] == card])}
            for site_id, card in sorted(scope.cards)]}, headers={"Cache-Control": "no-store"})
    parts: list[str] = []
    links = []
    if scope.role == "tenant":
        links.append(f'<a class="button" id="go-bind" href="/staff/charging/bind">{escape(_("Bind a card"))}</a>')
    if scope.role == "landlord":
        links.append(f'<a class="button" id="go-piles" href="/staff/charging/piles">{escape(_("Authorize piles"))}</a>')
    if scope.cards:
        parts.append("<h2>" + escape(_("Your cards")) + "</h2>")
    for site_id, card in sorted(scope.cards):
        mine = [x for x in found if x["site_id"] == site_id and x["card"] == card]
        cur = currencies.get(site_id, "EUR")
        account, owed_minor = owed.get((site_id, card), ("", 0))
        energy = sum(x["energy_wh"] for x in mine) / 1000
        parts.append(f'<div class="card" data-card="{escape(card)}"><p><strong>{escape(card)}</strong> · {escape(site_id)}'
                     + (f' · {escape(account)}' if account else "") + '</p>'
                     f'<p>{escape(_("Sessions"))}: <span class="sessions">{len(mine)}</span> · {energy:.3f} kWh</p>'
                     f'<p>{escape(_("Owed (postpaid)"))}: <span class="owed">{escape(str(Money(owed_minor, cur)))}</span></p>')
        if (site_id, card) in blocked:
            parts.append('<p class="muted blocked">' + escape(_("Blocking asked; the booth blocks the card when it next checks in.")) + "</p>")
        else:
            parts.append(f'<form method="post" action="/staff/charging/block"><input type="hidden" name="csrf" value="{escape(scope.csrf)}">'
                         f'<input type="hidden" name="site" value="{escape(site_id)}"><input type="hidden" name="card" value="{escape(card)}">'
                         f'<button type="submit" class="secondary block">{escape(_("Block this card"))}</button></form>')
        parts.append("</div>")
    if scope.piles:
        parts.append("<h2>" + escape(_("Your piles")) + "</h2>")
    for site_id, pile in sorted(scope.piles):
        on = [x for x in found if x["site_id"] == site_id and x["pile"] == pile]
        fees = Money(sum(x["bill_minor"] for x in on), currencies.get(site_id, "EUR"))
        parts.append(f'<div class="card" data-pile="{escape(pile)}"><p><strong>{escape(pile)}</strong> · {escape(site_id)}</p>'
                     f'<p>{escape(_("Sessions"))}: <span class="sessions">{len(on)}</span> · {sum(x["energy_wh"] for x in on) / 1000:.3f} kWh · '
                     f'<span class="fees">{escape(str(fees))}</span></p></div>')
    if not parts:
        parts.append('<div class="card"><p>' + escape(_("No charging cards or piles are granted to you.")) + "</p></div>")
    return HTMLResponse(staff_page(_("Charging"), "".join(links + parts), scope))


async def block(ctx: StaffContext, request: Request) -> Response:
    """POST: block one of the person's own cards (a lost card); the account stays."""
    scope = await current(ctx, request)
    if scope is None:
        return _to_sign_in(request)
    form = await _form(request)
    _check_csrf(scope, form)
    site_id, card = form.get("site", "")[:64], form.get("card", "")[:64]
    at, client = ctx.now(), _client(request)
    mine = (site_id, card) in scope.cards

    def work(conn: Connection) -> None:
        accounts.audit(conn, at, scope.person, BLOCK_COMMAND, site_id=site_id, subject=card, outcome="queued" if mine else "refused", client=client)
        if mine:
            conn.execute(insert(cdb.site_command).values(
                command_id=str(uuid.uuid4()), site_id=site_id, kind=BLOCK_COMMAND, subject=card, created_at=at,
                body=json.dumps({"card": card, "note": f"lost, blocked in the cloud by {scope.person}", "actor": f"cloud:{scope.person}"[:64]})))

    await ctx.tx(work)
    if not mine:
        raise Refused(403, _("That card is not one of yours."))
    return RedirectResponse("/staff/charging", status_code=303)


def sees_charging(scope: Scope) -> bool:
    return bool(scope.cards or scope.piles)
