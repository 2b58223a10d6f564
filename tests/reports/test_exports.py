"""CSV, JSON, PDF and the receipt printout of the shift report, read back and checked."""

from __future__ import annotations

import csv
import io
import json
from datetime import date

from console.domain.money import Money
from console.reports.export import (
    CSV_COLUMNS,
    manager_report_csv,
    manager_report_json,
    manager_report_text,
    shift_report_csv,
    shift_report_json,
    shift_report_pdf,
)
from console.reports.printout import document_text, shift_report_document
from console.reports.queries import build_manager_report, build_shift_report
from drivers.printer.document import PrintDocument
from drivers.printer.escpos_decode import decode, render_text
from drivers.printer.render import RenderOptions, render_document
from tests.reports.conftest import TZ, Day
from tests.reports.pdftext import pdf_text


def _rows(text: str) -> list[dict[str, str]]:
    reader = csv.DictReader(io.StringIO(text, newline=""))
    assert tuple(reader.fieldnames or ()) == CSV_COLUMNS
    return list(reader)


def _find(rows: list[dict[str, str]], section: str, item: str) -> dict[str, str]:
    matches = [r for r in rows if r["section"] == section and r["item"] == item]
    assert len(matches) == 1, (section, item, matches)
    return matches[0]


def test_csv_parses_back_to_the_same_figures(store, day: Day) -> None:  # type: ignore[no-untyped-def]
    report = build_shift_report(store.engine, day.s1, TZ, site_name="Test, \"Garage\"")
    rows = _rows(shift_report_csv(report))
    amount = lambda r: Money.parse(r["amount"], r["currency"])  # noqa: E731
    assert _find(rows, "shift", "site")["note"] == "Test, \"Garage\""
    assert {r["item"]: (int(r["count"]), amount(r)) for r in rows if r["section"] == "payment"} == {
        "cash": (3, Money(2270, "EUR")), "card": (2, Money(2980, "EUR")), "mobile": (1, Money(990, "EUR")),
        "account": (1, Money(3000, "EUR")), "total": (7, Money(9240, "EUR")),
    }
    assert amount(_find(rows, "cash", "expected")) == Money(6550, "EUR")
    assert amount(_find(rows, "cash", "counted")) == Money(6500, "EUR")
    assert amount(_find(rows, "cash", "difference")) == Money(-50, "EUR")
    assert amount(_find(rows, "cash", "change_left")) == Money(30, "EUR")
    # The expected amount is the sum of its parts as exported.
    parts = ["opening_float", "cash_payments", "change_left", "refund", "paid_out", "drop"]
    assert sum(amount(_find(rows, "cash", p)).minor for p in parts) == 6550
    overrides = [r for r in rows if r["section"] == "override"]
    assert [(r["item"], r["amount_before"], r["amount"], r["reason"], r["approved_by"]) for r in overrides] == [
        ("waive", "5.00", "0.00", "ambulance on call", "max"),
        ("lost_ticket", "0.00", "20.00", "ticket lost", ""),
        ("fee_change", "12.00", "8.00", "barrier fault delay", "max"),
    ]
    assert overrides[0]["time"] == "2026-03-02T10:10:00+01:00"
    gates = [r for r in rows if r["section"] == "gate_open"]
    assert [(g["item"], g["reason"], g["plate"]) for g in gates] == [
        ("OUT1", "exit without payment", "M-XY 1"), ("OUT2", "emergency vehicle", ""),
    ]
    assert _find(rows, "receipt", "receipt")["count"] == "3"
    assert _find(rows, "receipt_printed", "receipt")["count"] == "2"
    assert _find(rows, "receipt", "reprint")["note"] == "14-14"
    assert sum(amount(r).minor for r in rows if r["section"] == "debt") == 1650


def test_json_is_complete_and_serialisable(store, day: Day) -> None:  # type: ignore[no-untyped-def]
    data = json.loads(json.dumps(shift_report_json(build_shift_report(store.engine, day.s1, TZ))))
    assert data["report"] == "Z"
    assert data["payments_total"] == {"minor": 9240, "currency": "EUR", "text": "92.40"}
    assert data["cash"]["difference"]["minor"] == -50
    assert data["cash"]["change_left"]["minor"] == 30
    assert data["lost_tickets"] == 1
    assert len(data["gate_opens"]) == 2 and data["gate_closes"] == 1
    assert data["shift"]["opened_at"] == "2026-03-02T08:00:00+01:00"
    assert data["visits"]["exits_by_reason"]["stale"] == 1


def test_pdf_is_a_pdf_with_the_site_name_and_figures(store, day: Day) -> None:  # type: ignore[no-untyped-def]
    export = shift_report_pdf(build_shift_report(store.engine, day.s1, TZ, site_name="Parkhaus Zürich Süd"))
    assert export.data.startswith(b"%PDF-") and export.data.rstrip().endswith(b"%%EOF")
    text = pdf_text(export.data)
    assert "Parkhaus Zürich Süd" in text
    assert "Z report" in text
    for figure in ("€92.40", "€65.50", "€65.00", "-€0.50", "ambulance on call",
                   "emergency vehicle", "M-XY 1"):
        assert figure in text, figure
    assert "Short by €0.50: counted €65.00, expected €65.50." in text
    assert export.replaced == frozenset()


def test_pdf_with_chinese_site_name_does_not_crash(store, day: Day) -> None:  # type: ignore[no-untyped-def]
    report = build_shift_report(store.engine, day.s1, TZ, site_name="停车场 Central Park")
    export = shift_report_pdf(report)
    text = pdf_text(export.data)
    if export.fonts.fallbacks:  # a CJK font is installed: the characters are drawn
        assert "停车场" in text or export.replaced
    else:  # none: each becomes "?", and the export says which
        assert export.replaced == frozenset("停车场")
        assert "??? Central Park" in text


def test_pdf_with_the_bundled_mono_font(store, day: Day) -> None:  # type: ignore[no-untyped-def]
    """The font python-barcode ships is the fallback that always exists."""
    from console.reports.export import _bundled_mono

    font = _bundled_mono()
    assert font is not None
    export = shift_report_pdf(build_shift_report(store.engine, day.s1, TZ, site_name="Гараж 1"), font=font)
    assert export.fonts.regular == font == export.fonts.bold
    assert "Гараж 1" in pdf_text(export.data)


def test_printout_renders_and_decodes(store, day: Day) -> None:  # type: ignore[no-untyped-def]
    report = build_shift_report(store.engine, day.s1, TZ, site_name="Test Garage")
    document = shift_report_document(report)
    assert PrintDocument.from_dict(document.to_dict()) == document  # can wait in the print queue as JSON
    result = render_document(document, RenderOptions(width=42))
    printed = render_text(decode(result.data), width=42)
    assert "Test Garage" in printed
    assert "Z REPORT" in printed
    for figure in ("92.40", "65.50", "-€0.50", "ambulance on call", "emergency vehicle", "Lost tickets"):
        assert figure in printed, figure
    assert result.substituted == 0
    text = document_text(document, width=48)
    assert "Expected in drawer" in text and "Manager" in text
    assert all(len(line) <= 48 for line in text.splitlines())


def test_manager_exports(store, day: Day) -> None:  # type: ignore[no-untyped-def]
    report = build_manager_report(store.engine, date(2026, 3, 2), date(2026, 3, 2), TZ, currency="EUR")
    # Every payment of the day counts, whatever its shift: 92.40 + 50.00 + 1.00 + 7.77
    assert report.revenue_total == Money(15117, "EUR")
    rows = _rows(manager_report_csv(report))
    assert Money.parse(_find(rows, "revenue", "total")["amount"], "EUR") == Money(15117, "EUR")
    assert _find(rows, "day", "2026-03-02")["count"] == "10"  # 7 + 1 + 1 + 1
    data = json.loads(json.dumps(manager_report_json(report)))
    assert data["revenue_total"]["minor"] == 15117 and len(data["revenue_by_hour"]) == 24
    assert "Revenue €151.17 from 10 payments" in manager_report_text(report)
