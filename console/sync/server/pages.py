"""The drivers' phone pages of the reference cloud: small server-rendered HTML with one
stylesheet and one tiny script (the browser's location), in the browser's language.

Only layout lives here; the facts come from books.py and quotes.py, already read.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from html import escape
from typing import Any, Sequence
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from console.domain.money import Money
from console.domain.quote import Quote
from console.i18n import N_, _, current_language

METHODS = {"cash": N_("Cash"), "card": N_("Card"), "mobile": N_("Mobile"), "account": N_("Account")}

CSS = """
*{box-sizing:border-box}body{margin:0;font:16px/1.45 system-ui,-apple-system,"PingFang SC","Microsoft YaHei",sans-serif;
background:#f4f5f7;color:#1b1d21}header{background:#12324f;color:#fff;padding:14px 16px}header a{color:#fff;text-decoration:none}
h1{font-size:20px;margin:0}main{padding:12px 14px;max-width:560px;margin:auto}.card{background:#fff;border-radius:12px;
padding:14px;margin:10px 0;box-shadow:0 1px 3px rgba(0,0,0,.08)}.muted{color:#626a75;font-size:14px}.big{font-size:30px;
font-weight:700}label{display:block;margin:8px 0 4px}input{width:100%;font-size:18px;padding:10px;border:1px solid #b9c0ca;
border-radius:8px}button,.button{display:block;width:100%;margin:12px 0 4px;padding:14px;font-size:18px;border:0;
border-radius:10px;background:#1769c9;color:#fff;text-align:center;text-decoration:none}button.secondary{background:#5b6675}
table{width:100%;border-collapse:collapse}td{padding:5px 0;border-bottom:1px solid #eceef1}td.n{text-align:right;
white-space:nowrap}.free{color:#137a32;font-weight:700}.full{color:#b3261e;font-weight:700}.lot h2{font-size:18px;margin:0 0 4px}
.ok{background:#e6f4ea}.warn{background:#fdecea}.lot a{color:#1769c9}
label.radio{display:flex;align-items:center;gap:10px;margin:8px 0;padding:10px;border:1px solid #b9c0ca;border-radius:8px}
label.radio input{width:22px;height:22px;flex:none;margin:0}
"""

LOCATE_SCRIPT = """
document.getElementById('locate').addEventListener('click',function(){
 var s=document.getElementById('locstatus');s.textContent=s.dataset.wait;
 navigator.geolocation.getCurrentPosition(function(p){
  location.href='/?lat='+p.coords.latitude.toFixed(5)+'&lon='+p.coords.longitude.toFixed(5);},
 function(){s.textContent=s.dataset.fail;},{timeout:10000});});
"""


def page(title: str, body: str, *, refresh: int | None = None) -> str:
    """A whole page: phone viewport, the stylesheet, a header linking home."""
    lang = "zh-CN" if current_language() == "zh_CN" else "en"
    meta = f'<meta http-equiv="refresh" content="{refresh}">' if refresh else ""
    return (
        ('<!doctype html><html lang="' + str(lang) + '"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">' + str(meta) + '<title>' + escape(title) + '</title><style>' + str(CSS) + '</style></head><body><header><h1><a href="/">' + escape(_('Parking')) + '</a> · ' + escape(title) + '</h1></header><main>' + str(body) + '</main></body></html>')
    )


def local(at: datetime, tz: ZoneInfo) -> str:
    """A time as the site's clock shows it."""
    return at.astimezone(tz).strftime("%Y-%m-%d %H:%M")


def error_page(status: int, message: str) -> str:
    """A refusal, in plain words."""
    home = escape(_("Parking near me"))
    return page(_("Sorry"), f'<div class="card warn" id="refused" data-status="{status}"><p>{escape(message)}</p></div><a class="button" href="/">{home}</a>')


def lots_page(query: str, lat: float | None, lon: float | None, sites: Sequence[dict[str, Any]] | None, note: str = "") -> str:
    """Lots near a position (ordered by the cloud's recommendation), with a search form."""
    form = (
        ('<div class="card"><form method="get" action="/"><label for="q">' + escape(_('Where? (a lot name, or latitude, longitude)')) + '</label><input id="q" name="q" value="' + escape(query) + '" autocomplete="off"><button type="submit" id="search">' + escape(_('Find parking')) + '</button></form><button type="button" class="secondary" id="locate">' + escape(_('Use my location')) + '</button><p class="muted" id="locstatus" data-wait="' + escape(_('Finding your position...')) + '" data-fail="' + escape(_('Your position is not available; type a place instead.')) + '"></p></div><script>' + str(LOCATE_SCRIPT) + '</script>')
    )
    parts = [form]
    if note:
        parts.append(f'<div class="card warn"><p>{escape(note)}</p></div>')
    if sites is not None:
        if not sites:
            parts.append(('<div class="card"><p>' + escape(_('No parking lot within 5 km.')) + '</p></div>'))
        for s in sites:
            if s["remaining"] is None:
                spaces = ('<span class="muted">' + escape(_('free spaces unknown')) + '</span>')
            elif s["remaining"] == 0:
                spaces = ('<span class="full">' + escape(_('FULL')) + '</span>')
            else:
                spaces = ('<span class="free">' + escape(_('{n} free').format(n=s['remaining'])) + '</span>')
            distance = s["distance_m"]
            far = _("{km:.1f} km").format(km=distance / 1000) if distance >= 1000 else _("{m} m").format(m=distance)
            link = "/pay?" + urlencode({"site": s["site_id"]})
            parts.append(
                ('<div class="card lot" data-site="' + escape(s['site_id']) + '"><h2>' + escape(s['name'] or s['site_id']) + '</h2><p>' + str(spaces) + ' · ' + escape(far) + '</p><a href="' + escape(link) + '">' + escape(_('I am parked here: my fee')) + '</a></div>')
            )
    return page(_("Lots near me"), "".join(parts))


def plate_form(site_id: str, site_name: str, plate: str = "", note: str = "") -> str:
    """The form asking for the plate of a stay at a lot."""
    warn = f'<div class="card warn"><p>{escape(note)}</p></div>' if note else ""
    body = (
        (str(warn) + '<div class="card"><h2>' + escape(site_name) + '</h2><form method="get" action="/pay"><input type="hidden" name="site" value="' + escape(site_id) + '"><label for="plate">' + escape(_('Your plate')) + '</label><input id="plate" name="plate" value="' + escape(plate) + '" autocomplete="off" autocapitalize="characters"><button type="submit" id="lookup">' + escape(_('Show my fee')) + '</button></form></div>')
    )
    return page(_("My stay"), body)


def _items(quote: Quote) -> str:
    rows = "".join(f'<tr><td>{escape(i.label)}</td><td class="n">{escape(i.amount.format())}</td></tr>' for i in quote.items)
    total = escape(_("Total"))
    return f'<table class="items">{rows}<tr><td><b>{total}</b></td><td class="n"><b>{escape(quote.total.format())}</b></td></tr></table>'


def duration(span: timedelta) -> str:
    """A stay's length for a driver: "1 h 05 min", "2 d 3 h 00 min", "12 min"."""
    minutes = max(0, int(span.total_seconds() // 60))
    days, rest = divmod(minutes, 24 * 60)
    hours, mins = divmod(rest, 60)
    if days:
        return _("{d} d {h} h {m:02d} min").format(d=days, h=hours, m=mins)
    if hours:
        return _("{h} h {m:02d} min").format(h=hours, m=mins)
    return _("{m} min").format(m=mins)


def _hm(at: datetime, tz: ZoneInfo, now: datetime) -> str:
    """A clock time, with the date when it is not today (by the site's clock)."""
    local_at = at.astimezone(tz)
    return local_at.strftime("%H:%M") if local_at.date() == now.astimezone(tz).date() else local_at.strftime("%Y-%m-%d %H:%M")


@dataclass(frozen=True)
class StayView:
    """The facts of one stay a plate lookup shows (and nothing else)."""

    site_id: str
    site_name: str
    plate: str  # canonical, for the forms
    shown_plate: str  # as written (粤B·D12345)
    entry_at: datetime
    now: datetime
    tz: ZoneInfo
    quote: Quote
    exit_grace: int  # minutes to reach the exit after paying


def _facts(view: StayView) -> str:
    labels = escape(_("Plate")), escape(_("Entered")), escape(_("Parked for"))
    return (
        f'<div class="card"><h2>{escape(view.site_name)}</h2><table>'
        f'<tr><td>{labels[0]}</td><td class="n" id="plate">{escape(view.shown_plate)}</td></tr>'
        f'<tr><td>{labels[1]}</td><td class="n" id="entry">{escape(local(view.entry_at, view.tz))}</td></tr>'
        f'<tr><td>{labels[2]}</td><td class="n" id="duration">{escape(duration(view.now - view.entry_at))}</td></tr></table></div>'
    )


def _fee_card(view: StayView, heading: str, button: str | None) -> str:
    tariff = escape(_("Tariff"))
    form = ""
    if button is not None:
        form = (
            f'<form method="post" action="/pay"><input type="hidden" name="site" value="{escape(view.site_id)}">'
            f'<input type="hidden" name="plate" value="{escape(view.plate)}"><button type="submit" id="pay">{escape(button)}</button></form>'
        )
    return (
        f'<div class="card"><p class="muted">{escape(heading)}</p><p class="big" id="fee">{escape(view.quote.total.format())}</p>'
        f'{_items(view.quote)}<p class="muted">{tariff} <span id="tariff">{escape(view.quote.tariff_id)}</span></p>{form}</div>'
    )


def stay_page(view: StayView) -> str:
    """A stay not paid yet: entry, duration, the fee quoted now, itemized, the pay button
    and how long the driver then has to reach the exit."""
    hint = ""
    if view.exit_grace > 0:
        text = _("After paying you have at least {minutes} min to reach the exit; the barrier opens by itself when the camera reads your plate.").format(minutes=view.exit_grace)
        hint = f'<p class="muted" id="grace">{escape(text)}</p>'
    fee = _fee_card(view, _("Fee if you leave now"), _("Pay {amount}").format(amount=view.quote.total.format()))
    return page(_("My stay"), _facts(view) + fee.replace("</form></div>", "</form>" + hint + "</div>"))


def stay_paid_page(view: StayView, link: dict[str, Any], paid_at: datetime, leave_before: datetime | None) -> str:
    """A stay paid by phone: until when the exit opens by itself (the page refreshes),
    or, once that ran out, the extra fee due at the exit."""
    amount = Money(link["amount_minor"], link["currency"]).format()
    paid_text = escape(_("Paid {amount} at {time}").format(amount=amount, time=_hm(paid_at, view.tz, view.now)))
    if leave_before is not None:
        left = max(0, int((leave_before - view.now).total_seconds() // 60))
        drive = escape(_("Drive to the exit before {time}: the barrier opens by itself when the camera reads your plate.").format(time=_hm(leave_before, view.tz, view.now)))
        remaining = escape(_("{minutes} min left").format(minutes=left))
        status = f'<div class="card ok" id="paid"><p class="big">{paid_text}</p><p>{drive}</p><p class="big" id="left">{remaining}</p></div>'
        return page(_("My stay"), _facts(view) + status, refresh=30)
    ran_out = escape(_("The time to leave after paying has run out, so the barrier will not open by itself. The extra fee below is paid at the exit."))
    status = f'<div class="card warn" id="extra"><p><b>{paid_text}</b></p><p>{ran_out}</p></div>'
    return page(_("My stay"), _facts(view) + status + _fee_card(view, _("Extra fee if you leave now"), None))


def free_stay_page(site_name: str, plate: str, entry_at: datetime, now: datetime, tz: ZoneInfo) -> str:
    """A stay with nothing to pay yet."""
    nothing = escape(_("Nothing to pay yet"))
    entered = escape(_("Entered {time}, {duration} ago").format(time=local(entry_at, tz), duration=duration(now - entry_at)))
    return page(_("My stay"), f'<div class="card ok" id="free"><h2>{escape(site_name)}</h2><p>{escape(plate)}</p><p>{entered}</p><p class="big">{nothing}</p></div>')


def order_status_page(link: dict[str, Any], back: str, now: datetime, leave_before: datetime | None, tz: ZoneInfo) -> str:
    """After the provider's page: waiting for the provider's notification, then paid,
    with until when the barrier opens by itself."""
    amount = Money(link["amount_minor"], link["currency"]).format()
    if link["status"] == "paid":
        paid = escape(_("Paid {amount}").format(amount=amount))
        if leave_before is not None:
            minutes = max(0, int((leave_before - now).total_seconds() // 60))
            drive = escape(
                _("Drive to the exit within {minutes} min (before {time}): the barrier opens by itself when the camera reads your plate.").format(
                    minutes=minutes, time=_hm(leave_before, tz, now)
                )
            )
        else:
            drive = escape(_("The barrier opens by itself when the exit camera reads your plate."))
        mine = escape(_("My stay"))
        body = f'<div class="card ok" id="paid"><p class="big">{paid}</p><p>{drive}</p><a class="button" href="{escape(back)}">{mine}</a></div>'
        return page(_("Payment"), body)
    waiting = escape(_("Waiting for the payment provider to confirm {amount}...").format(amount=amount))
    refreshes = escape(_("This page refreshes by itself."))
    return page(_("Payment"), f'<div class="card" id="waiting"><p>{waiting}</p><p class="muted">{refreshes}</p></div>', refresh=1)


def checkout_page(order_id: str, amount: Money, description: str) -> str:
    """The simulated provider's own checkout page."""
    body = (
        ('<div class="card"><p class="muted">' + escape(_('Simulated payment provider')) + '</p><p>' + escape(description) + '</p><p class="big" id="amount">' + escape(amount.format()) + '</p><form method="post" action="/sim-provider/checkout/' + escape(order_id) + '/pay"><button type="submit" id="confirm">' + escape(_('Confirm payment')) + '</button></form></div>')
    )
    return page(_("Payment"), body)


def receipt_page(site_name: str, plate: str, entry_at: datetime, exit_at: datetime, fee: Money, tariff_id: str | None,
                 quote: Quote | None, payments: Sequence[dict[str, Any]], tz: ZoneInfo) -> str:
    """The e-receipt of a closed visit (the printed receipt's QR opens it)."""
    items = _items(quote) if quote is not None and quote.total == fee else (
        ('<table><tr><td><b>' + escape(_('Total')) + '</b></td><td class="n"><b>' + escape(fee.format()) + '</b></td></tr></table>')
    )
    paid = "".join(
        ('<tr><td>' + escape(_(METHODS[p['method']]) if p['method'] in METHODS else p['method']) + '</td><td class="n">' + escape(Money(p['amount_minor'], p['currency']).format()) + '</td></tr>')
        for p in payments
    )
    body = (
        ('<div class="card" id="receipt"><h2>' + escape(site_name) + '</h2><table><tr><td>' + escape(_('Plate')) + '</td><td class="n">' + escape(plate) + '</td></tr><tr><td>' + escape(_('Entered')) + '</td><td class="n">' + escape(local(entry_at, tz)) + '</td></tr><tr><td>' + escape(_('Left')) + '</td><td class="n">' + escape(local(exit_at, tz)) + '</td></tr><tr><td>' + escape(_('Parked for')) + '</td><td class="n">' + escape(duration(exit_at - entry_at)) + '</td></tr></table></div><div class="card">' + str(items) + '<p class="muted">' + escape(_('Tariff')) + ' ' + escape(tariff_id or '-') + '</p><p class="muted">' + escape(_('Paid')) + '</p><table id="payments">' + str(paid) + '</table></div>')
    )
    return page(_("Receipt"), body)
