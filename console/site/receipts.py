"""What a receipt says, and how it is laid out for the printer.

The content is built once, when the payment is committed, and stored with the receipt;
printing and reprinting lay out those stored facts, so a reprint shows exactly what the
driver was charged."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from console.domain.money import Money
from console.domain.payments import NewPayment
from console.domain.visits import format_duration
from console.site.config import SiteConfig
from console.site.events import ExitTicket
from drivers.printer import QR, Columns, Cut, Feed, PrintDocument, Rule, Text

METHOD_LABELS = {"cash": "Cash", "card": "Card", "mobile": "Mobile", "account": "Account"}


def _local(moment: datetime, tz: ZoneInfo) -> str:
    return moment.astimezone(tz).strftime("%d.%m.%Y %H:%M")


def receipt_content(
    config: SiteConfig,
    ticket: ExitTicket,
    payments: list[NewPayment],
    *,
    attendant: str,
    change: Money | None,
) -> dict[str, Any]:
    """The facts a receipt prints (the store adds the number)."""
    tz = config.site.tz
    tendered = sum((p.tendered for p in payments if p.tendered is not None), Money.zero(ticket.due.currency))
    cloud = config.cloud.url.rstrip("/")
    return {
        "site": config.site.name,
        "booth": config.site.booth_id,
        "plate": ticket.visit.plate,
        "entry": _local(ticket.visit.entry_at, tz),
        "exit": _local(ticket.exit_at, tz),
        "duration": format_duration(ticket.exit_at - ticket.visit.entry_at),
        "items": [[item.label, item.amount.format()] for item in ticket.quote.items],
        "total": ticket.quote.total.format(),
        "total_minor": ticket.quote.total.minor,
        "currency": ticket.quote.total.currency,
        "payments": [[METHOD_LABELS.get(p.method, p.method), p.amount.format(), p.reference or ""] for p in payments],
        "tendered": tendered.format() if not tendered.is_zero else "",
        "change": change.format() if change is not None and not change.is_zero else "",
        "tariff": ticket.quote.tariff_id,
        "attendant": attendant,
        "visit": ticket.visit.id,
        "qr": f"{cloud}/e-receipt/{ticket.visit.id}" if cloud else f"BOOTH-RECEIPT:{config.site.booth_id}:{ticket.visit.id}",
    }


def receipt_document(content: dict[str, Any]) -> PrintDocument:
    """Lay out stored receipt facts for the printer."""
    blocks: list[Any] = [Text(str(content.get("site", "")), align="center", bold=True, size=2)]
    if content.get("kind") == "reprint":
        blocks.append(Text(f"COPY of receipt {content.get('copy_of', '?')}", align="center", bold=True))
    blocks += [
        Text(f"Booth {content.get('booth', '')}   Receipt {content.get('number', '')}", align="center"),
        Rule(),
        Columns("Plate", str(content.get("plate", "")), bold=True),
        Columns("Entry", str(content.get("entry", ""))),
        Columns("Exit", str(content.get("exit", ""))),
        Columns("Duration", str(content.get("duration", ""))),
        Rule(),
    ]
    for label, amount in content.get("items", []):
        blocks.append(Columns(str(label), str(amount), fill="."))
    blocks.append(Columns("TOTAL", str(content.get("total", "")), bold=True))
    blocks.append(Rule())
    for method, amount, reference in content.get("payments", []):
        blocks.append(Columns(f"{method}{' ' + reference if reference else ''}", str(amount)))
    if content.get("tendered"):
        blocks.append(Columns("Tendered", str(content["tendered"])))
    if content.get("change"):
        blocks.append(Columns("Change", str(content["change"]), bold=True))
    blocks += [
        Rule(),
        Text(f"Tariff {content.get('tariff', '')}"),
        Text(f"Served by {content.get('attendant', '')}"),
        Feed(1),
        Text("Scan for your e-receipt / invoice", align="center"),
        QR(str(content.get("qr", "")), size=5),
        Feed(2),
        Cut(),
    ]
    return PrintDocument(tuple(blocks), title=f"receipt {content.get('number', '')}")
