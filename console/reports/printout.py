"""The shift report on paper: a `PrintDocument` for the receipt printer, and the same
layout as plain text for the terminal (`booth report shift --format text`)."""

from __future__ import annotations

from datetime import datetime

from console import formats
from console.domain.money import Money
from console.i18n import _
from console.reports.model import ShiftReport
from drivers.printer.document import (
    Block,
    Columns,
    Cut,
    Feed,
    PrintDocument,
    Rule,
    Text,
)
from drivers.printer.layout import column_lines, natural_columns, pad_columns, wrap


def _measure(text: str) -> int:
    return sum(natural_columns(ch) for ch in text)


def _when(report: ShiftReport, moment: datetime | None) -> str:
    return formats.date_time(report.local(moment)) if moment is not None else "-"


def _at(report: ShiftReport, moment: datetime) -> str:
    return formats.clock(report.local(moment))


def _m(amount: Money) -> str:
    return formats.money(amount)


def _signed(amount: Money) -> str:
    return formats.signed_money(amount)


def _heading(text: str) -> list[Block]:
    return [Rule(), Text(text.upper(), bold=True)]


def shift_report_document(report: ShiftReport) -> PrintDocument:
    """The Z (or X) report as the receipt printer prints it, in the current language, ending with signature lines
    and a cut. Long lists (overrides, gate opens) are printed in full: the paper is the
    record the manager signs."""
    r = report
    cash = r.cash
    blocks: list[Block] = []
    if r.site_name:
        blocks.append(Text(r.site_name, align="center", bold=True, size=2))
    blocks += [
        Text(r.title.upper(), align="center", bold=True),
        Feed(1),
        Columns(_("Booth"), r.booth_id),
        Columns(_("Attendant"), r.attendant),
        Columns(_("Opened"), _when(r, r.opened_at)),
        Columns(_("Closed") if r.is_final else _("Up to"), _when(r, r.closed_at if r.is_final else r.window_end)),
    ]
    if r.closed_by:
        blocks.append(Columns(_("Closed by"), r.closed_by))
    if r.anchor_text:
        blocks.append(Columns(_("Audit head"), r.anchor_text))
    blocks.append(Text(_("Shift {shift}").format(shift=r.shift_id)))

    blocks += _heading(_("Payments"))
    for line in r.payments:
        blocks.append(Columns(f"{line.label} ({line.count})", _m(line.amount), fill="."))
    blocks.append(Columns(_("Total ({count})").format(count=r.payment_count), _m(r.payments_total), bold=True))
    for line in r.other_currency_payments:
        blocks.append(Columns(_("{method} in {currency} ({count})").format(method=line.label, currency=line.amount.currency, count=line.count), _m(line.amount), fill="."))

    blocks += _heading(_("Cash drawer"))
    blocks += [
        Columns(_("Opening float"), _m(cash.opening_float), fill="."),
        Columns(_("Cash payments ({count})").format(count=cash.cash_payment_count), _signed(cash.cash_payments), fill="."),
        Columns("  " + _("handed over by drivers"), _m(cash.tendered)),
        Columns("  " + _("change given back"), _m(-cash.change_given)),
    ]
    for movement in cash.movements:
        blocks.append(Columns(f"{movement.label} ({movement.count})", _signed(movement.amount), fill="."))
    blocks.append(Columns(_("Expected in drawer"), _m(cash.expected), bold=True))
    blocks.append(Columns(_("Counted"), _m(cash.counted) if cash.counted is not None else _("not counted")))
    if cash.difference is not None:
        blocks.append(Columns(_("Difference"), _signed(cash.difference), bold=True))
    blocks.append(Text(cash.verdict))
    for note in cash.notes:
        blocks.append(Text(f"* {note}"))
    if cash.denominations:
        blocks.append(Text(_("Count:")))
        for d in cash.denominations:
            blocks.append(Columns(f"  {d.count} x {_m(d.value)}", _m(d.subtotal)))

    blocks += _heading(_("Vehicles"))
    blocks.append(Columns(_("Entries"), str(r.visits.entries), fill="."))
    blocks.append(Columns(_("Exits"), str(r.visits.exits), fill="."))
    for reason, count in r.visits.exits_by_reason:
        blocks.append(Columns(f"  {reason}", str(count)))

    blocks += _heading(_("Overrides and waivers ({count})").format(count=len(r.overrides)))
    for o in r.overrides:
        blocks.append(Columns(f"{_at(r, o.at)} {o.label} {o.plate}", f"{_m(o.quoted)} > {_m(o.new)}"))
        who = (_("by {actor}, approved by {manager}").format(actor=o.actor, manager=o.approved_by) if o.approved_by
               else _("by {actor}").format(actor=o.actor))
        blocks.append(Text(f"  {o.reason} ({who})"))
    for total in r.override_totals:
        blocks.append(Columns(f"{total.label} x{total.count}", _signed(-total.forgone), bold=True))
    blocks.append(Columns(_("Lost tickets"), str(len(r.lost_tickets)), fill="."))

    blocks += _heading(_("Gate opened without payment ({count})").format(count=len(r.gate_opens)))
    for g in r.gate_opens:
        what = f"{_at(r, g.at)} {g.lane} {g.reason}"
        blocks.append(Text(what + (f" {g.plate}" if g.plate else "")))
        detail = "  " + _("by {actor}").format(actor=g.actor) + (f": {g.note}" if g.note else "")
        blocks.append(Text(detail))
    if r.gate_closes:
        blocks.append(Columns(_("Closed by hand"), str(r.gate_closes), fill="."))

    blocks += _heading(_("Receipts"))
    if not r.receipts:
        blocks.append(Text(_("none")))
    for rc in r.receipts:
        numbers = _("no. {first}-{last}").format(first=rc.first_number, last=rc.last_number) if rc.first_number is not None else ""
        blocks.append(Columns(f"{rc.label} {numbers}".strip(), str(rc.count), fill="."))
        if rc.not_printed:
            blocks.append(Columns("  " + _("not printed"), str(rc.not_printed)))

    blocks += _heading(_("Unpaid exits ({count})").format(count=len(r.debts)))
    for debt in r.debts:
        blocks.append(Columns(f"{_at(r, debt.at)} {debt.plate}", _m(debt.amount)))
        blocks.append(Text(f"  {debt.reason} (" + _("by {actor}").format(actor=debt.actor) + ")" + (" - " + _("settled") if debt.settled_at else "")))
    if r.debts:
        blocks.append(Columns(_("Owed"), _m(r.debts_total), bold=True))

    if r.adjustments:
        blocks += _heading(_("Occupancy corrections ({count})").format(count=len(r.adjustments)))
        for a in r.adjustments:
            blocks.append(Columns(f"{_at(r, a.at)} {a.zone}", f"{a.delta:+d}"))
            blocks.append(Text(f"  {a.reason} (" + _("by {actor}").format(actor=a.actor) + ")"))

    if r.note:
        blocks += _heading(_("Note"))
        blocks.append(Text(r.note))

    blocks += [
        Rule(),
        Text(_("Printed {when} ({zone})").format(when=_when(r, r.generated_at), zone=r.tz_name)),
        Feed(2),
        Text(_("Attendant") + "  ______________________"),
        Feed(2),
        Text(_("Manager") + "    ______________________"),
        Feed(1),
        Cut(),
    ]
    return PrintDocument(tuple(blocks), title=f"shift report {r.shift_id}")


def document_text(document: PrintDocument, width: int = 64) -> str:
    """A print document as plain text lines of `width` columns (for terminals and logs)."""
    lines: list[str] = []
    for block in document.blocks:
        if isinstance(block, Text):
            room = width // block.size
            for part in block.text.split("\n"):
                for line in wrap(part, room, natural_columns) or [""]:
                    pad = max(0, width - _measure(line))
                    if block.align == "center":
                        line = " " * (pad // 2) + line
                    elif block.align == "right":
                        line = " " * pad + line
                    lines.append(line)
        elif isinstance(block, Columns):
            for left, right in column_lines(block.left, block.right, width, block.fill, _measure, natural_columns):
                lines.append(pad_columns(left, right, width, block.fill, _measure))
        elif isinstance(block, Rule):
            lines.append(block.char * width)
        elif isinstance(block, Feed):
            lines.extend([""] * block.lines)
        elif isinstance(block, Cut):
            continue
        else:  # QR codes have no text form
            lines.append(f"[{type(block).__name__}]")
    return "\n".join(line.rstrip() for line in lines) + "\n"


__all__ = ["document_text", "shift_report_document"]
