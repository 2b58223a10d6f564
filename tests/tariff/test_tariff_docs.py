"""The worked examples of docs/tariffs.md, section 4, and the first example of section 1."""

from __future__ import annotations

from typing import Any

import pytest
from conftest import REPO, at, load

from console.domain.money import Money
from console.domain.tariff import PreviousVisit, parse_tariff, quote

B = "Europe/Berlin"

CARRY_RESTART = """
[tariff]
id = "carry-restart"
version = 1
currency = "EUR"
timezone = "Europe/Berlin"
[rules]
unit_boundary = "{boundary}"
partial_unit = "{partial}"
[windows.day]
from = "08:00"
to = "20:00"
[windows.night]
from = "20:00"
to = "08:00"
[classes.car.rates.day]
unit = "1h"
price = "2.00"
[classes.car.rates.night]
unit = "30min"
price = "1.00"
"""


def _cr(boundary: str, partial: str = "started"):  # type: ignore[no-untyped-def]
    return parse_tariff(CARRY_RESTART.format(boundary=boundary, partial=partial))


EXAMPLES: list[tuple[int, Any, str, tuple[str | None, str], dict[str, Any], str]] = [
    (1, "default", B, ("2026-03-02 10:00", "2026-03-02 10:12"), {}, "0.00"),
    (2, "default", B, ("2026-03-02 07:40", "2026-03-02 19:05"), {}, "20.00"),
    (3, "default", B, ("2026-03-02 18:30", "2026-03-03 09:00"), {}, "15.00"),
    (4, "default", B, ("2026-03-02 10:00", "2026-03-05 10:00"), {}, "72.50"),
    (5, "default", B, ("2026-03-29 01:00", "2026-03-29 04:00"), {}, "2.00"),
    (6, "default", B, ("2026-03-02 10:00", "2026-03-02 13:00"), {"vehicle_class": "motorcycle"}, "3.00"),
    (7, "default", B, ("2026-03-02 09:00", "2026-03-02 12:10"), {"paid_until": "2026-03-02 11:30"}, "2.50"),
    (8, "default", B, ("2026-03-02 09:00", "2026-03-02 12:05"), {"paid_until": "2026-03-02 11:55"}, "0.00"),
    (9, "default", B, ("2026-03-02 10:35", "2026-03-02 11:20"),
     {"previous": ("2026-03-02 09:00", "2026-03-02 10:30", "5.00")}, "2.50"),
    (10, "default", B, (None, "2026-03-02 11:20"), {"lost_ticket": True}, "20.00"),
    (11, "default", B, ("2026-03-02 10:00", "2026-03-02 11:20"), {"lost_ticket": True}, "20.00"),
    (12, "city_garage", "America/New_York", ("2026-03-03 10:00", "2026-03-03 13:05"), {}, "5.00"),
    (13, "city_garage", "America/New_York", ("2026-03-03 07:30", "2026-03-03 18:00"), {}, "10.00"),
    (14, "hospital", "Europe/London", ("2026-04-07 09:00", "2026-04-08 11:30"), {}, "17.00"),
    (15, "airport", "Europe/London", ("2026-04-07 10:00", "2026-04-09 12:00"), {}, "135.00"),
    (16, "mall", B, ("2026-03-03 10:00", "2026-03-03 11:45"), {"validations": ["ALDI", "CINEMA"]}, "0.80"),
    (17, "mall", B, ("2026-03-03 10:00", "2026-03-03 11:45"), {"validations": ["GIFT2", "CINEMA"]}, "0.00"),
    (18, "residential", B, ("2026-03-03 18:00", "2026-03-04 08:00"), {}, "5.50"),
    (19, ("carry", "started"), B, ("2026-03-02 19:30", "2026-03-02 21:00"), {}, "3.00"),
    (20, ("restart", "started"), B, ("2026-03-02 19:30", "2026-03-02 21:00"), {}, "4.00"),
    (21, ("restart", "completed"), B, ("2026-03-02 19:30", "2026-03-02 21:00"), {}, "2.00"),
    (22, ("restart", "half"), B, ("2026-03-02 19:45", "2026-03-02 21:00"), {}, "2.00"),
]


@pytest.mark.parametrize(("number", "name", "tz", "stay", "opts", "expected"), EXAMPLES,
                         ids=[f"example-{e[0]}" for e in EXAMPLES])
def test_worked_example(number: int, name: Any, tz: str, stay: tuple[str | None, str],
                        opts: dict[str, Any], expected: str) -> None:
    tariff = _cr(*name) if isinstance(name, tuple) else load(name)
    kw = dict(opts)
    if "paid_until" in kw:
        kw["paid_until"] = at(tz, kw["paid_until"])
    if "previous" in kw:
        pe, px, paid = kw.pop("previous")
        kw["previous_visit"] = PreviousVisit(at(tz, pe), at(tz, px), Money.parse(paid, tariff.currency))
    entry = at(tz, stay[0]) if stay[0] else None
    q = quote(tariff, entry, at(tz, stay[1]), **kw)
    assert q.total == Money.parse(expected, tariff.currency), [(i.label, str(i.amount)) for i in q.items]
    assert sum(i.amount.minor for i in q.items) == q.total.minor


def test_doc_lists_every_example_with_its_fee() -> None:
    doc = (REPO / "docs" / "tariffs.md").read_text(encoding="utf-8")
    for number, _, _, _, _, expected in EXAMPLES:
        row = next(line for line in doc.splitlines() if line.startswith(f"| {number} |"))
        assert f"| {expected} |" in row, row


def test_first_example_receipt_matches_the_doc() -> None:
    q = quote(load("default"), at(B, "2026-03-02 18:30"), at(B, "2026-03-03 09:00"))
    assert [(i.label, i.amount.decimal_text()) for i in q.items] == [
        ("Day 07:00-20:00: 4 x 1 h @ 2.50", "10.00"),
        ("Night 20:00-07:00: 11 x 1 h @ 1.00", "11.00"),
        ("Night 20:00-07:00: maximum 5.00 each (Mon 2026-03-02)", "-6.00"),
    ]
    doc = (REPO / "docs" / "tariffs.md").read_text(encoding="utf-8")
    for item in q.items:
        assert item.label in doc
