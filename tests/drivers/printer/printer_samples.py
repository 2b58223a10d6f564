"""Sample documents shared by the receipt printer tests."""

from __future__ import annotations

from drivers.printer.document import QR, Columns, Cut, Feed, PrintDocument, Rule, Text

SITE_CJK = "停车场 Central Park"
E_RECEIPT = "https://pay.example.com/r/R-000123?s=7f3a"


def make_receipt(site: str = "Central Park") -> PrintDocument:
    """A receipt like the console prints after an exit payment."""
    return PrintDocument(
        [
            Text(site, align="center", bold=True, size=2),
            Text("12 Harbour Road", align="center"),
            Rule(),
            Columns("Receipt", "R-000123"),
            Columns("Plate", "ABC-1234", bold=True),
            Columns("Entry", "2025-03-01 08:15"),
            Columns("Exit", "2025-03-01 10:30"),
            Columns("Duration", "2 h 15 min"),
            Rule(),
            Columns("First hour", "5.00", fill="."),
            Columns("Each further hour x2", "7.00", fill="."),
            Columns("Total", "12.00", bold=True),
            Columns("Cash", "20.00"),
            Columns("Change", "8.00"),
            Rule(),
            Columns("Tariff", "T-2025-01"),
            Columns("Attendant", "Lee"),
            Feed(1),
            Text("Scan for an e-receipt or invoice", align="center"),
            QR(E_RECEIPT, size=6),
            Cut(),
        ],
        title="receipt R-000123",
    )
