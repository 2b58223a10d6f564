"""Reports as files: JSON (machines), CSV (spreadsheets), PDF (people).

CSV files have one fixed header (`CSV_COLUMNS`) and one row per figure; amounts are plain
decimals in the currency's units ("12.50") so a spreadsheet sums them exactly, and times
are local ISO 8601 with their UTC offset. The PDF uses a Unicode TrueType font (DejaVu
Sans from the system, a CJK font when one is installed, else the DejaVu Sans Mono that
python-barcode ships, which always exists); a character no available font has is printed
as "?" and listed in `PdfExport.replaced` rather than failing or drawing an empty box.
"""

from __future__ import annotations

import csv
import glob
import io
import os
import unicodedata
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, Iterable, Sequence

from console import formats
from console.domain.money import Money
from console.i18n import _, current_language
from console.reports.model import ChargingRow, ChargingUsage, ManagerReport, ShiftReport

# -- JSON ---------------------------------------------------------------------------------


def _money(amount: Money | None) -> dict[str, Any] | None:
    if amount is None:
        return None
    return {"minor": amount.minor, "currency": amount.currency, "text": amount.decimal_text()}


def _time(report: ShiftReport | ManagerReport, moment: datetime | None) -> str | None:
    return moment.astimezone(report.tz).isoformat() if moment is not None else None


def shift_report_json(report: ShiftReport) -> dict[str, Any]:
    """The whole report as JSON-ready data (amounts as minor units with their currency)."""
    r = report
    c = r.cash
    return {
        "report": "Z" if r.is_final else "X",
        "site": r.site_name,
        "shift": {
            "id": r.shift_id, "booth_id": r.booth_id, "attendant": r.attendant, "state": r.state,
            "currency": r.currency, "opened_at": _time(r, r.opened_at), "closed_at": _time(r, r.closed_at),
            "window_end": _time(r, r.window_end), "closed_by": r.closed_by, "note": r.note, "timezone": r.tz_name,
            "audit_head": {"seq": r.audit_head[0], "digest": r.audit_head[1]} if r.audit_head else None,
        },
        "generated_at": _time(r, r.generated_at),
        "payments": [{"method": p.method, "count": p.count, "amount": _money(p.amount)} for p in r.payments],
        "payments_total": _money(r.payments_total),
        "payment_count": r.payment_count,
        "other_currency_payments": [
            {"method": p.method, "count": p.count, "amount": _money(p.amount)} for p in r.other_currency_payments
        ],
        "cash": {
            "opening_float": _money(c.opening_float),
            "cash_payments": _money(c.cash_payments),
            "cash_payment_count": c.cash_payment_count,
            "tendered": _money(c.tendered),
            "change_given": _money(c.change_given),
            "movements": [{"kind": m.kind, "count": m.count, "amount": _money(m.amount)} for m in c.movements],
            "change_left": _money(c.change_left),
            "expected": _money(c.expected),
            "counted": _money(c.counted),
            "difference": _money(c.difference),
            "recorded_expected": _money(c.recorded_expected),
            "denominations": [{"value": _money(d.value), "count": d.count} for d in c.denominations],
            "verdict": c.verdict,
            "notes": list(c.notes),
        },
        "visits": {"entries": r.visits.entries, "exits": r.visits.exits, "exits_by_reason": dict(r.visits.exits_by_reason)},
        "overrides": [
            {
                "at": _time(r, o.at), "kind": o.kind, "plate": o.plate, "visit_id": o.visit_id,
                "quoted": _money(o.quoted), "new": _money(o.new), "reason": o.reason, "actor": o.actor,
                "approved_by": o.approved_by,
            }
            for o in r.overrides
        ],
        "override_totals": [
            {"kind": t.kind, "count": t.count, "quoted": _money(t.quoted), "new": _money(t.new)} for t in r.override_totals
        ],
        "lost_tickets": len(r.lost_tickets),
        "gate_opens": [
            {"at": _time(r, g.at), "lane": g.lane, "reason": g.reason, "note": g.note, "plate": g.plate, "actor": g.actor}
            for g in r.gate_opens
        ],
        "gate_closes": r.gate_closes,
        "receipts": [
            {"kind": x.kind, "count": x.count, "printed": x.printed, "first_number": x.first_number, "last_number": x.last_number}
            for x in r.receipts
        ],
        "debts": [
            {
                "at": _time(r, d.at), "plate": d.plate, "visit_id": d.visit_id, "amount": _money(d.amount),
                "reason": d.reason, "actor": d.actor, "settled_at": _time(r, d.settled_at),
            }
            for d in r.debts
        ],
        "debts_total": _money(r.debts_total),
        "occupancy_adjustments": [
            {"at": _time(r, a.at), "zone": a.zone, "delta": a.delta, "reason": a.reason, "actor": a.actor}
            for a in r.adjustments
        ],
        "audit_actions": dict(r.audit_actions),
    }


def manager_report_json(report: ManagerReport) -> dict[str, Any]:
    """The manager's figures as JSON-ready data."""
    m = report
    return {
        "start": m.start.isoformat(), "end": m.end.isoformat(), "timezone": m.tz_name, "currency": m.currency,
        "generated_at": _time(m, m.generated_at),
        "revenue_total": _money(m.revenue_total), "payment_count": m.payment_count,
        "entries": m.entries, "exits": m.exits,
        "methods": [{"method": x.method, "count": x.count, "amount": _money(x.amount)} for x in m.methods],
        "revenue_by_hour": [{"hour": h.hour, "amount": _money(h.amount), "payments": h.payments} for h in m.revenue_by_hour],
        "days": [
            {"day": d.day.isoformat(), "revenue": _money(d.revenue), "payments": d.payments, "entries": d.entries, "exits": d.exits}
            for d in m.days
        ],
        "occupancy_by_hour": [{"hour": o.hour, "average": o.average, "peak": o.peak} for o in m.occupancy_by_hour],
        "occupancy": [{"at": p.at.isoformat(), "vehicles": p.vehicles} for p in m.occupancy],
        "dwell": [{"bin": b.label, "count": b.count} for b in m.dwell],
        "dwell_average_seconds": int(m.dwell_average.total_seconds()) if m.dwell_average is not None else None,
        "overrides_by_attendant": [
            {"actor": a.actor, "count": a.count, "forgone": _money(a.forgone), "by_kind": dict(a.by_kind)}
            for a in m.overrides_by_attendant
        ],
        "charging": _charging_json(m.charging),
    }


def _charging_json(c: ChargingUsage) -> dict[str, Any]:
    def rows(items: tuple[ChargingRow, ...], name: str) -> list[dict[str, Any]]:
        return [{"franchise": r.franchise, name: r.key, "sessions": r.sessions, "energy_wh": r.energy_wh, "fees": _money(r.fees)}
                for r in items]

    return {
        "sessions": c.sessions, "energy_wh": c.energy_wh,
        "energy_by_hour": [{"hour": h, "energy_wh": wh} for h, wh in enumerate(c.energy_by_hour)],
        "franchises": [{"franchise": f.franchise, "sessions": f.sessions, "energy_wh": f.energy_wh, "fees": _money(f.fees)}
                       for f in c.franchises],
        "by_user": rows(c.by_user, "user"),
        "by_pile": rows(c.by_pile, "pile"),
        "by_region": rows(c.by_region, "region"),
        "users_by_hour": [{"user": u.account, "energy_wh_by_hour": list(u.energy_by_hour)} for u in c.user_curves],
    }


# -- CSV ----------------------------------------------------------------------------------

CSV_COLUMNS: tuple[str, ...] = (
    "section", "item", "count", "amount", "amount_before", "currency", "time", "plate", "actor", "approved_by",
    "reason", "note",
)


class _Rows:
    def __init__(self, report: ShiftReport | ManagerReport) -> None:
        self.report = report
        self.rows: list[dict[str, str]] = []

    def add(self, section: str, item: str, *, count: int | None = None, amount: Money | None = None,
            before: Money | None = None, at: datetime | None = None, **text: str | None) -> None:
        row = {name: "" for name in CSV_COLUMNS}
        row.update(section=section, item=item)
        if count is not None:
            row["count"] = str(count)
        money = amount or before
        if amount is not None:
            row["amount"] = amount.decimal_text()
        if before is not None:
            row["amount_before"] = before.decimal_text()
        if money is not None:
            row["currency"] = money.currency
        if at is not None:
            row["time"] = at.astimezone(self.report.tz).isoformat()
        for key, value in text.items():
            row[key] = value or ""
        self.rows.append(row)

    def text(self) -> str:
        out = io.StringIO()
        writer = csv.DictWriter(out, fieldnames=CSV_COLUMNS, lineterminator="\r\n")
        writer.writeheader()
        writer.writerows(self.rows)
        return out.getvalue()


def shift_report_csv(report: ShiftReport) -> str:
    """One row per figure under the `CSV_COLUMNS` header (RFC 4180, CRLF line ends)."""
    r = report
    c = r.cash
    out = _Rows(r)
    out.add("shift", "id", note=r.shift_id)
    out.add("shift", "report", note="Z" if r.is_final else "X")
    out.add("shift", "site", note=r.site_name)
    out.add("shift", "booth", note=r.booth_id)
    out.add("shift", "attendant", actor=r.attendant)
    out.add("shift", "opened", at=r.opened_at)
    out.add("shift", "closed" if r.is_final else "up_to", at=r.window_end, actor=r.closed_by)
    out.add("shift", "timezone", note=r.tz_name)
    if r.audit_head:
        out.add("shift", "audit_head", note=r.anchor_text)
    if r.note:
        out.add("shift", "note", note=r.note)
    for p in r.payments + r.other_currency_payments:
        out.add("payment", p.method, count=p.count, amount=p.amount)
    out.add("payment", "total", count=r.payment_count, amount=r.payments_total)
    out.add("cash", "opening_float", amount=c.opening_float)
    out.add("cash", "cash_payments", count=c.cash_payment_count, amount=c.cash_payments)
    out.add("cash", "tendered", amount=c.tendered)
    out.add("cash", "change_given", amount=c.change_given)
    for m in c.movements:
        out.add("cash", m.kind, count=m.count, amount=m.amount)
    out.add("cash", "expected", amount=c.expected)
    if c.counted is not None:
        out.add("cash", "counted", amount=c.counted)
    if c.difference is not None:
        out.add("cash", "difference", amount=c.difference, note=c.verdict)
    if c.recorded_expected is not None:
        out.add("cash", "recorded_expected", amount=c.recorded_expected)
    for note in c.notes:
        out.add("cash", "note", note=note)
    for d in c.denominations:
        out.add("denomination", d.value.decimal_text(), count=d.count, amount=d.subtotal)
    out.add("visits", "entries", count=r.visits.entries)
    out.add("visits", "exits", count=r.visits.exits)
    for reason, n in r.visits.exits_by_reason:
        out.add("exit_reason", reason, count=n)
    for o in r.overrides:
        out.add("override", o.kind, amount=o.new, before=o.quoted, at=o.at, plate=o.plate, actor=o.actor,
                approved_by=o.approved_by, reason=o.reason, note=o.visit_id)
    for t in r.override_totals:
        out.add("override_total", t.kind, count=t.count, amount=t.new, before=t.quoted)
    for g in r.gate_opens:
        out.add("gate_open", g.lane, at=g.at, plate=g.plate, actor=g.actor, reason=g.reason, note=g.note)
    out.add("gate_closes", "total", count=r.gate_closes)
    for x in r.receipts:
        numbers = f"{x.first_number}-{x.last_number}" if x.first_number is not None else ""
        out.add("receipt", x.kind, count=x.count, note=numbers)
        out.add("receipt_printed", x.kind, count=x.printed)
    for debt in r.debts:
        settled = f"settled {debt.settled_at.astimezone(r.tz).isoformat()}" if debt.settled_at else ""
        out.add("debt", debt.visit_id, amount=debt.amount, at=debt.at, plate=debt.plate, actor=debt.actor, reason=debt.reason, note=settled)
    for a in r.adjustments:
        out.add("occupancy_adjustment", a.zone, count=a.delta, at=a.at, actor=a.actor, reason=a.reason)
    for action, n in r.audit_actions:
        out.add("audit", action, count=n)
    return out.text()


def manager_report_csv(report: ManagerReport) -> str:
    """The manager's figures, one row each, under the same header as the shift report."""
    m = report
    out = _Rows(m)
    out.add("period", "start", note=m.start.isoformat())
    out.add("period", "end", note=m.end.isoformat())
    out.add("period", "timezone", note=m.tz_name)
    out.add("revenue", "total", count=m.payment_count, amount=m.revenue_total)
    for x in m.methods:
        out.add("method", x.method, count=x.count, amount=x.amount)
    for d in m.days:
        out.add("day", d.day.isoformat(), count=d.payments, amount=d.revenue, note=f"entries={d.entries};exits={d.exits}")
    for h in m.revenue_by_hour:
        out.add("hour", f"{h.hour:02d}", count=h.payments, amount=h.amount)
    for o in m.occupancy_by_hour:
        out.add("occupancy_hour", f"{o.hour:02d}", count=o.peak, note=f"average={o.average}")
    for b in m.dwell:
        out.add("dwell", b.label, count=b.count)
    for a in m.overrides_by_attendant:
        kinds = ";".join(f"{k}={n}" for k, n in a.by_kind)
        out.add("overrides", a.actor, count=a.count, amount=a.forgone, actor=a.actor, note=kinds)
    c = m.charging
    for hour, wh in enumerate(c.energy_by_hour):
        out.add("charging_hour", f"{hour:02d}", note=f"energy_wh={wh}")
    for f in c.franchises:
        out.add("charging_franchise", f.franchise, count=f.sessions, amount=f.fees, note=f"energy_wh={f.energy_wh}")
    for section, items in (("charging_user", c.by_user), ("charging_pile", c.by_pile), ("charging_region", c.by_region)):
        for r in items:
            out.add(section, r.key, count=r.sessions, amount=r.fees, note=f"franchise={r.franchise};energy_wh={r.energy_wh}")
    for u in c.user_curves:
        for hour, wh in enumerate(u.energy_by_hour):
            if wh:
                out.add("charging_user_hour", f"{u.account} {hour:02d}", note=f"energy_wh={wh}")
    return out.text()


# -- PDF ----------------------------------------------------------------------------------

_SANS = (
    "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf",
    "/usr/share/fonts/dejavu/DejaVuSans.ttf",
    "/usr/share/fonts/TTF/DejaVuSans.ttf",
    "/usr/share/fonts/dejavu-sans-fonts/DejaVuSans.ttf",
    "/Library/Fonts/DejaVuSans.ttf",
)
_BOLD_NAMES = {"DejaVuSans.ttf": "DejaVuSans-Bold.ttf", "DejaVuSansMono.ttf": "DejaVuSansMono-Bold.ttf"}


def _bundled_mono() -> str | None:
    try:
        import barcode  # python-barcode, which python-escpos depends on

        path = Path(barcode.__file__).parent / "fonts" / "DejaVuSansMono.ttf"
        return str(path) if path.is_file() else None
    except ImportError:
        return None


def _first(patterns: Iterable[str]) -> str | None:
    for pattern in patterns:
        for path in sorted(glob.glob(pattern)):
            if os.path.isfile(path):
                return path
    return None


@dataclass(frozen=True, slots=True)
class PdfFonts:
    """The font files a PDF is drawn with: the body font, its bold (may be the same
    file), and fallbacks tried for characters the body font lacks (CJK)."""

    regular: str
    bold: str
    fallbacks: tuple[str, ...] = ()


def find_pdf_fonts(font: str | None = None, *, cjk_body: bool = False) -> PdfFonts:
    """Pick fonts: `font` if given, else DejaVu Sans, else the bundled DejaVu Sans Mono;
    a system CJK font, when one exists, is added as a fallback. With `cjk_body` (a report
    in Chinese) the CJK font (WenQuanYi Micro Hei from `quickstart.py setup`, or Noto
    Sans CJK) is the body font itself; without one the Latin font stays and the missing
    characters are listed in `PdfExport.replaced`."""
    from drivers.printer.fonts import CJK_FONT_PATTERNS

    cjk = _first(CJK_FONT_PATTERNS)
    if font is None and cjk_body and cjk is not None:
        latin = _first(_SANS) or _bundled_mono()
        return PdfFonts(cjk, cjk, tuple(p for p in (latin,) if p))
    regular = font or _first(_SANS) or _bundled_mono()
    if regular is None:
        raise RuntimeError(_("no TrueType font found for the PDF (install fonts-dejavu, or pass font=)"))
    bold_name = _BOLD_NAMES.get(Path(regular).name)
    bold = str(Path(regular).with_name(bold_name)) if bold_name and Path(regular).with_name(bold_name).is_file() else regular
    fallbacks = tuple(p for p in (cjk,) if p and p != regular)
    return PdfFonts(regular, bold, fallbacks)


@dataclass(frozen=True, slots=True)
class PdfExport:
    """A PDF and the characters that had to be printed as "?"."""

    data: bytes
    replaced: frozenset[str]
    fonts: PdfFonts


class _Sanitizer:
    """Replaces characters no chosen font can draw, and remembers which ones."""

    def __init__(self, fonts: PdfFonts) -> None:
        from drivers.printer.fonts import font_covers

        self._covers = font_covers
        self._paths = (fonts.regular, *fonts.fallbacks)
        self.replaced: set[str] = set()
        self._known: dict[str, bool] = {}

    def __call__(self, text: object) -> str:
        out = []
        for ch in str(text):
            if ch in "\n" or ch == " ":
                out.append(ch)
                continue
            if unicodedata.category(ch) in ("Cc", "Cs", "Co", "Cn"):
                out.append("?")
                self.replaced.add(ch)
                continue
            ok = self._known.get(ch)
            if ok is None:
                ok = any(self._covers(path, ch) for path in self._paths)
                self._known[ch] = ok
            if ok:
                out.append(ch)
            else:
                out.append("?")
                self.replaced.add(ch)
        return "".join(out)


def shift_report_pdf(report: ShiftReport, *, font: str | None = None) -> PdfExport:
    """The shift report as an A4 PDF for people: facts, then one table per section."""
    from fpdf import FPDF
    from fpdf.fonts import FontFace

    r = report
    c = r.cash
    fonts = find_pdf_fonts(font, cjk_body=current_language() == "zh_CN")
    clean = _Sanitizer(fonts)

    pdf = FPDF(orientation="portrait", unit="mm", format="A4")
    pdf.set_creation_date(r.generated_at)
    pdf.set_title(clean(f"{r.site_name} {r.title}".strip()))
    pdf.set_subject(clean(_("Shift {shift}").format(shift=r.shift_id)))
    pdf.set_lang("zh-CN" if current_language() == "zh_CN" else "en")
    pdf.set_creator("booth console")
    pdf.set_auto_page_break(auto=True, margin=15)
    collection: dict[str, Any] = {"collection_font_number": 0}
    pdf.add_font("body", "", fonts.regular, **(collection if fonts.regular.endswith(".ttc") else {}))
    pdf.add_font("body", "B", fonts.bold, **(collection if fonts.bold.endswith(".ttc") else {}))
    fallback_names = []
    for index, path in enumerate(fonts.fallbacks):
        name = f"fallback{index}"
        pdf.add_font(name, "", path, **(collection if path.endswith(".ttc") else {}))
        pdf.add_font(name, "B", path, **(collection if path.endswith(".ttc") else {}))
        fallback_names.append(name)
    if fallback_names:
        pdf.set_fallback_fonts(fallback_names, exact_match=False)
    pdf.add_page()
    heading_face = FontFace(emphasis="BOLD")

    def when(moment: datetime | None) -> str:
        return formats.date_time(r.local(moment)) if moment is not None else "-"

    def at(moment: datetime) -> str:
        return formats.clock(r.local(moment))

    def m(amount: Money) -> str:
        return formats.money(amount)

    def title(text: str) -> None:
        pdf.ln(3)
        pdf.set_font("body", "B", 12)
        pdf.cell(0, 7, clean(text), new_x="LMARGIN", new_y="NEXT")
        pdf.set_font("body", "", 9)

    def table(header: tuple[str, ...] | None, rows: Sequence[tuple[str, ...]], widths: tuple[int, ...],
              align: tuple[str, ...] | None = None) -> None:
        if not rows:
            pdf.cell(0, 6, clean(_("none")), new_x="LMARGIN", new_y="NEXT")
            return
        with pdf.table(col_widths=widths, text_align=align or ("LEFT",) * len(widths), headings_style=heading_face,
                       first_row_as_headings=header is not None, line_height=4.5, padding=(0.6, 1.2)) as t:
            if header is not None:
                head = t.row()
                for cell in header:
                    head.cell(clean(cell))
            for values in rows:
                row = t.row()
                for value in values:
                    row.cell(clean(value))

    pdf.set_font("body", "B", 16)
    pdf.multi_cell(0, 9, clean(r.site_name or _("Parking")), new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("body", "B", 13)
    pdf.cell(0, 8, clean(r.title), new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("body", "", 9)
    facts = [
        (_("Booth"), r.booth_id), (_("Attendant"), r.attendant), (_("Opened"), when(r.opened_at)),
        (_("Closed") if r.is_final else _("Up to"), when(r.window_end)), (_("Closed by"), r.closed_by or "-"),
        (_("Shift"), r.shift_id), (_("Time zone"), r.tz_name), (_("Generated"), when(r.generated_at)),
    ]
    if r.anchor_text:
        facts.append((_("Audit head"), r.anchor_text))
    table(None, [(k, v) for k, v in facts], (40, 140))

    title(_("Payments by method"))
    rows = [(p.label, str(p.count), m(p.amount)) for p in r.payments + r.other_currency_payments]
    rows.append((_("Total"), str(r.payment_count), m(r.payments_total)))
    table((_("Method"), _("Count"), _("Amount")), rows, (90, 30, 60), ("LEFT", "RIGHT", "RIGHT"))

    title(_("Cash drawer"))
    cash_rows = [
        (_("Opening float"), "", m(c.opening_float)),
        (_("Cash payments"), str(c.cash_payment_count), m(c.cash_payments)),
        ("   " + _("handed over by drivers"), "", m(c.tendered)),
        ("   " + _("change given back"), "", m(-c.change_given)),
    ]
    cash_rows += [(x.label, str(x.count), m(x.amount)) for x in c.movements]
    cash_rows += [
        (_("Expected in drawer"), "", m(c.expected)),
        (_("Counted"), "", m(c.counted) if c.counted is not None else _("not counted")),
        (_("Difference (counted - expected)"), "", m(c.difference) if c.difference is not None else "-"),
    ]
    table(("", _("Count"), _("Amount")), cash_rows, (110, 20, 50), ("LEFT", "RIGHT", "RIGHT"))
    pdf.multi_cell(0, 5, clean(c.verdict), new_x="LMARGIN", new_y="NEXT")
    for note in c.notes:
        pdf.multi_cell(0, 5, clean(f"* {note}"), new_x="LMARGIN", new_y="NEXT")
    if c.denominations:
        title(_("Count by denomination"))
        table((_("Denomination"), _("Count"), _("Subtotal")),
              [(m(d.value), str(d.count), m(d.subtotal)) for d in c.denominations], (90, 30, 60),
              ("LEFT", "RIGHT", "RIGHT"))

    title(_("Vehicles"))
    vehicle_rows = [(_("Entries"), str(r.visits.entries)), (_("Exits"), str(r.visits.exits))]
    vehicle_rows += [("   " + _("exits: {reason}").format(reason=reason), str(n)) for reason, n in r.visits.exits_by_reason]
    table(("", _("Count")), vehicle_rows, (150, 30), ("LEFT", "RIGHT"))

    title(_("Overrides and waivers ({count}), lost tickets: {lost}").format(count=len(r.overrides), lost=len(r.lost_tickets)))
    table((_("Time"), _("Kind"), _("Plate"), _("Quoted"), _("New"), _("Reason"), _("By / approved")),
          [(at(o.at), o.label, o.plate, m(o.quoted), m(o.new), o.reason,
            o.actor + (f" / {o.approved_by}" if o.approved_by else "")) for o in r.overrides],
          (14, 24, 24, 22, 22, 44, 30), ("LEFT", "LEFT", "LEFT", "RIGHT", "RIGHT", "LEFT", "LEFT"))

    title(_("Gate opened without payment ({count})").format(count=len(r.gate_opens)))
    table((_("Time"), _("Lane"), _("Reason"), _("Note"), _("Plate"), _("By")),
          [(at(g.at), g.lane, g.reason, g.note, g.plate or "", g.actor) for g in r.gate_opens],
          (14, 20, 40, 56, 24, 26))
    if r.gate_closes:
        pdf.cell(0, 6, clean(_("Barriers closed by hand: {count}").format(count=r.gate_closes)), new_x="LMARGIN", new_y="NEXT")

    title(_("Receipts"))
    table((_("Kind"), _("Count"), _("Printed"), _("Numbers")),
          [(x.label, str(x.count), str(x.printed),
            f"{x.first_number}-{x.last_number}" if x.first_number is not None else "") for x in r.receipts],
          (60, 30, 30, 60), ("LEFT", "RIGHT", "RIGHT", "LEFT"))

    title(_("Unpaid exits ({count}), owed {amount}").format(count=len(r.debts), amount=m(r.debts_total)))
    table((_("Time"), _("Plate"), _("Amount"), _("Reason"), _("By"), _("Settled")),
          [(at(d.at), d.plate, m(d.amount), d.reason, d.actor, when(d.settled_at) if d.settled_at else "")
           for d in r.debts],
          (14, 26, 24, 60, 26, 30), ("LEFT", "LEFT", "RIGHT", "LEFT", "LEFT", "LEFT"))

    if r.adjustments:
        title(_("Occupancy corrections ({count})").format(count=len(r.adjustments)))
        table((_("Time"), _("Zone"), _("Change"), _("Reason"), _("By")),
              [(at(a.at), a.zone, f"{a.delta:+d}", a.reason, a.actor) for a in r.adjustments],
              (14, 26, 20, 90, 30))
    if r.note:
        title(_("Note"))
        pdf.multi_cell(0, 5, clean(r.note), new_x="LMARGIN", new_y="NEXT")

    pdf.ln(12)
    pdf.cell(90, 6, clean(_("Attendant") + ": ______________________"))
    pdf.cell(90, 6, clean(_("Manager") + ": ______________________"), new_x="LMARGIN", new_y="NEXT")
    data = bytes(pdf.output())
    return PdfExport(data, frozenset(clean.replaced), fonts)



# -- plain text ---------------------------------------------------------------------------


def manager_report_text(report: ManagerReport) -> str:
    """The manager's figures as plain text tables for a terminal, in the current language."""
    m = report
    money = formats.money
    lines = [
        _("Period {start} to {end} ({zone})").format(start=formats.day(m.start), end=formats.day(m.end), zone=m.tz_name),
        _("Revenue {amount} from {payments} payments; {entries} entries, {exits} exits").format(
            amount=money(m.revenue_total), payments=m.payment_count, entries=m.entries, exits=m.exits),
        "",
        _("By method"),
    ]
    lines += [f"  {x.label:<10} {x.count:>8} {money(x.amount):>14}" for x in m.methods]
    lines += ["", _("By day        revenue  payments  entries    exits")]
    lines += [f"  {formats.day(d.day)} {money(d.revenue):>12} {d.payments:>9} {d.entries:>8} {d.exits:>8}" for d in m.days]
    lines += ["", _("By hour of day   revenue  payments   inside avg  peak")]
    for h, o in zip(m.revenue_by_hour, m.occupancy_by_hour):
        lines.append(f"  {h.hour:02d}:00 {money(h.amount):>16} {h.payments:>9} {o.average:>12.1f} {o.peak:>5}")
    average = formats.duration(m.dwell_average) if m.dwell_average is not None else "-"
    lines += ["", _("Stays (visits that left; average {average})").format(average=average)]
    lines += [f"  {b.label:<10} {b.count:>8}" for b in m.dwell]
    lines += ["", _("Overrides by attendant")]
    if not m.overrides_by_attendant:
        lines.append("  " + _("none"))
    for a in m.overrides_by_attendant:
        kinds = ", ".join(f"{k} {n}" for k, n in a.by_kind)
        lines.append("  " + _("{actor:<16} {count:>5}  {amount:>12} off  ({kinds})").format(
            actor=a.actor, count=a.count, amount=money(a.forgone), kinds=kinds))
    lines += _charging_text(m.charging)
    return "\n".join(lines) + "\n"


def _kwh(wh: int) -> str:
    return f"{wh / 1000:.3f}"


def _charging_text(c: ChargingUsage) -> list[str]:
    money = formats.money
    lines = ["", _("Charging: {sessions} sessions, {kwh} kWh").format(sessions=c.sessions, kwh=_kwh(c.energy_wh))]
    if not c.sessions:
        lines.append("  " + _("none"))
        return lines
    lines.append(_("By franchise        sessions       kWh          fees"))
    lines += [f"  {f.franchise:<16} {f.sessions:>9} {_kwh(f.energy_wh):>9} {money(f.fees):>13}" for f in c.franchises]
    for title, items in ((_("By user"), c.by_user), (_("By pile"), c.by_pile), (_("By region"), c.by_region)):
        lines += ["", title + "  " + _("(franchise, sessions, kWh, fees)")]
        lines += [f"  {r.franchise:<12} {r.key:<14} {r.sessions:>6} {_kwh(r.energy_wh):>9} {money(r.fees):>13}" for r in items]
    everyone = _("all")  # outside the f-string, where extraction finds it
    lines += ["", _("Charging kWh by hour of day, all users and each user"),
              f"  {'':5} {everyone:>9}" + "".join(f" {u.account[:9]:>9}" for u in c.user_curves)]
    for h, wh in enumerate(c.energy_by_hour):
        lines.append(f"  {h:02d}:00 {_kwh(wh):>9}" + "".join(f" {_kwh(u.energy_by_hour[h]):>9}" for u in c.user_curves))
    return lines
