"""The shift report on paper: a `PrintDocument` for the receipt printer, and the same
layout as plain text for the terminal (`booth report shift --format text`)."""

from __future__ import annotations

from datetime import datetime

from console.domain.money import Money
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

_STAMP = "%d.%m.%Y %H:%M"


def _measure(text: str) -> int:
    return sum(natural_columns(ch) for ch in text)


def _when(report: ShiftReport, moment: datetime | None, fmt: str = _STAMP) -> str:
    return report.local(moment).strftime(fmt) if moment is not None else "-"


def _signed(amount: Money) -> str:
    return f"+{amount}" if amount.minor > 0 else str(amount)


def _heading(text: str) -> list[Block]:
    return [Rule(), Text(text.upper(), bold=True)]


def shift_report_document(report: ShiftReport) -> PrintDocument:
    """The Z (or X) report as the receipt printer prints it, ending with signature lines
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
        Columns("Booth", r.booth_id),
        Columns("Attendant", r.attendant),
        Columns("Opened", _when(r, r.opened_at)),
        Columns("Closed" if r.is_final else "Up to", _when(r, r.closed_at if r.is_final else r.window_end)),
    ]
    if r.closed_by:
        blocks.append(Columns("Closed by", r.closed_by))
    blocks.append(Text(f"Shift {r.shift_id}"))

    blocks += _heading("Payments")
    for line in r.payments:
        blocks.append(Columns(f"{line.label} ({line.count})", str(line.amount), fill="."))
    blocks.append(Columns(f"Total ({r.payment_count})", str(r.payments_total), bold=True))
    for line in r.other_currency_payments:
        blocks.append(Columns(f"{line.label} in {line.amount.currency} ({line.count})", str(line.amount), fill="."))

    blocks += _heading("Cash drawer")
    blocks += [
        Columns("Opening float", str(cash.opening_float), fill="."),
        Columns(f"Cash payments ({cash.cash_payment_count})", _signed(cash.cash_payments), fill="."),
        Columns("  handed over by drivers", str(cash.tendered)),
        Columns("  change given back", str(-cash.change_given)),
    ]
    for movement in cash.movements:
        blocks.append(Columns(f"{movement.label} ({movement.count})", _signed(movement.amount), fill="."))
    blocks.append(Columns("Expected in drawer", str(cash.expected), bold=True))
    blocks.append(Columns("Counted", str(cash.counted) if cash.counted is not None else "not counted"))
    if cash.difference is not None:
        blocks.append(Columns("Difference", _signed(cash.difference), bold=True))
    blocks.append(Text(cash.verdict))
    for note in cash.notes:
        blocks.append(Text(f"* {note}"))
    if cash.denominations:
        blocks.append(Text("Count:"))
        for d in cash.denominations:
            blocks.append(Columns(f"  {d.count} x {d.value}", str(d.subtotal)))

    blocks += _heading("Vehicles")
    blocks.append(Columns("Entries", str(r.visits.entries), fill="."))
    blocks.append(Columns("Exits", str(r.visits.exits), fill="."))
    for reason, count in r.visits.exits_by_reason:
        blocks.append(Columns(f"  {reason}", str(count)))

    blocks += _heading(f"Overrides and waivers ({len(r.overrides)})")
    for o in r.overrides:
        blocks.append(Columns(f"{_when(r, o.at, '%H:%M')} {o.label} {o.plate}", f"{o.quoted} > {o.new}"))
        who = f"by {o.actor}" + (f", approved by {o.approved_by}" if o.approved_by else "")
        blocks.append(Text(f"  {o.reason} ({who})"))
    for total in r.override_totals:
        blocks.append(Columns(f"{total.label} x{total.count}", _signed(-total.forgone), bold=True))
    blocks.append(Columns("Lost tickets", str(len(r.lost_tickets)), fill="."))

    blocks += _heading(f"Gate opened without payment ({len(r.gate_opens)})")
    for g in r.gate_opens:
        what = f"{_when(r, g.at, '%H:%M')} {g.lane} {g.reason}"
        blocks.append(Text(what + (f" {g.plate}" if g.plate else "")))
        detail = f"  by {g.actor}" + (f": {g.note}" if g.note else "")
        blocks.append(Text(detail))
    if r.gate_closes:
        blocks.append(Columns("Closed by hand", str(r.gate_closes), fill="."))

    blocks += _heading("Receipts")
    if not r.receipts:
        blocks.append(Text("none"))
    for rc in r.receipts:
        numbers = f"no. {rc.first_number}-{rc.last_number}" if rc.first_number is not None else ""
        blocks.append(Columns(f"{rc.label} {numbers}".strip(), str(rc.count), fill="."))
        if rc.not_printed:
            blocks.append(Columns("  not printed", str(rc.not_printed)))

    blocks += _heading(f"Unpaid exits ({len(r.debts)})")
    for debt in r.debts:
        blocks.append(Columns(f"{_when(r, debt.at, '%H:%M')} {debt.plate}", str(debt.amount)))
        blocks.append(Text(f"  {debt.reason} (by {debt.actor})" + (" - settled" if debt.settled_at else "")))
    if r.debts:
        blocks.append(Columns("Owed", str(r.debts_total), bold=True))

    if r.adjustments:
        blocks += _heading(f"Occupancy corrections ({len(r.adjustments)})")
        for a in r.adjustments:
            blocks.append(Columns(f"{_when(r, a.at, '%H:%M')} {a.zone}", f"{a.delta:+d}"))
            blocks.append(Text(f"  {a.reason} (by {a.actor})"))

    if r.note:
        blocks += _heading("Note")
        blocks.append(Text(r.note))

    blocks += [
        Rule(),
        Text(f"Printed {_when(r, r.generated_at)} ({r.tz_name})"),
        Feed(2),
        Text("Attendant  ______________________"),
        Feed(2),
        Text("Manager    ______________________"),
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
