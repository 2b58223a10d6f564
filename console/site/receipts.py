"""What a receipt says, and how it is laid out for the printer.

The content is built once, when the payment is committed, and stored with the receipt;
printing and reprinting lay out those stored facts, so a reprint shows exactly what the
driver was charged."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from console import formats
from console.domain.money import Money
from console.domain.payments import NewPayment
from console.i18n import _
from console.site.config import SiteConfig
from console.site.events import ExitTicket
from drivers.printer import QR, Columns, Cut, Feed, PrintDocument, Rule, Text

METHOD_LABELS = formats.METHOD_LABELS


def _local(moment: datetime, tz: ZoneInfo) -> str:
    return formats.date_time(moment, tz)


def receipt_content(
    config: SiteConfig,
    ticket: ExitTicket,
    payments: list[NewPayment],
    *,
    attendant: str,
    change: Money | None,
    paid_at: datetime,
    owed: tuple[Money, str] | None = None,
) -> dict[str, Any]:
    """The facts a receipt prints (the store adds the number), written in the current
    language (amounts, dates, payment methods): a reprint shows what the driver was given.

    `paid_at` is when the payment was taken (the exit time is the plate read). `owed`
    (amount, reason) makes it the slip of an unpaid exit: what the driver owes and why."""
    tz = config.site.tz
    tendered = sum((p.tendered for p in payments if p.tendered is not None), Money.zero(ticket.due.currency))
    cloud = config.cloud.url.rstrip("/")
    # A lost ticket's entry is recorded by hand at the exit lane, at the exit: printing it
    # as an entry time (and a stay of 0:00) would state something nobody knows.
    entry_unknown = ticket.facts.lost_ticket and ticket.visit.entry_lane == ticket.lane_id
    return {
        "site": config.site.name,
        "booth": config.site.booth_id,
        "plate": ticket.visit.plate,
        "plate_shown": config.site.plates.display(ticket.visit.plate),  # as written: 粤B·D12345
        "entry": _("unknown (lost ticket)") if entry_unknown else _local(ticket.visit.entry_at, tz),
        "exit": _local(ticket.exit_at, tz),
        "paid_at": _local(paid_at, tz) if payments else "",
        "duration": "" if entry_unknown else formats.duration(ticket.exit_at - ticket.visit.entry_at),
        "items": [[item.label, formats.money(item.amount)] for item in ticket.quote.items],
        "total": formats.money(ticket.quote.total),
        "total_minor": ticket.quote.total.minor,
        "currency": ticket.quote.total.currency,
        "payments": [[formats.payment_method(p.method), formats.money(p.amount), p.reference or ""] for p in payments],
        "tendered": formats.money(tendered) if not tendered.is_zero else "",
        "change": formats.money(change) if change is not None and not change.is_zero else "",
        "tariff": ticket.quote.tariff_id,
        "attendant": attendant,
        "visit": ticket.visit.id,
        "owed": formats.money(owed[0]) if owed is not None else "",
        "owed_reason": owed[1] if owed is not None else "",
        "qr": f"{cloud}/e-receipt/{ticket.visit.id}" if cloud else f"BOOTH-RECEIPT:{config.site.booth_id}:{ticket.visit.id}",
    }


def receipt_document(content: dict[str, Any]) -> PrintDocument:
    """Lay out stored receipt facts for the printer, with labels in the current language."""
    blocks: list[Any] = [Text(str(content.get("site", "")), align="center", bold=True, size=2)]
    if content.get("kind") == "reprint":
        blocks.append(Text(_("COPY of receipt {number}").format(number=content.get("copy_of", "?")), align="center", bold=True))
    owed = str(content.get("owed") or "")
    if owed:
        blocks.append(Text(_("UNPAID EXIT"), align="center", bold=True))
    blocks += [
        Text(_("Booth {booth}   Receipt {number}").format(booth=content.get("booth", ""), number=content.get("number", "")),
             align="center"),
        Rule(),
        Columns(_("Plate"), str(content.get("plate_shown") or content.get("plate", "")), bold=True),
        Columns(_("Entry"), str(content.get("entry", ""))),
        Columns(_("Exit"), str(content.get("exit", ""))),
    ]
    if content.get("duration"):
        blocks.append(Columns(_("Duration"), str(content["duration"])))
    blocks.append(Rule())
    for label, amount in content.get("items", []):
        blocks.append(Columns(str(label), str(amount), fill="."))
    blocks.append(Columns(_("TOTAL"), str(content.get("total", "")), bold=True))
    blocks.append(Rule())
    if content.get("paid_at"):
        blocks.append(Columns(_("Paid"), str(content["paid_at"])))
    if owed:
        blocks.append(Columns(_("OWED"), owed, bold=True))
        if content.get("owed_reason"):
            blocks.append(Text(_("Reason: {reason}").format(reason=content["owed_reason"])))
        blocks.append(Text(_("Not paid: the amount is due at this plate's next exit.")))
    for method, amount, reference in content.get("payments", []):
        blocks.append(Columns(f"{method}{' ' + reference if reference else ''}", str(amount)))
    if content.get("tendered"):
        blocks.append(Columns(_("Tendered"), str(content["tendered"])))
    if content.get("change"):
        blocks.append(Columns(_("Change"), str(content["change"]), bold=True))
    blocks += [
        Rule(),
        Text(_("Tariff {tariff}").format(tariff=content.get("tariff", ""))),
        Text(_("Served by {attendant}").format(attendant=content.get("attendant", ""))),
        Feed(1),
        Text(_("Scan for your e-receipt / invoice"), align="center"),
        QR(str(content.get("qr", "")), size=5),
        Feed(2),
        Cut(),
    ]
    return PrintDocument(tuple(blocks), title=f"receipt {content.get('number', '')}")
