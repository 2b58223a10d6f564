"""The worked examples of docs/tariffs.md, section 4, and the first example of section 1.

The tariffs of examples 23-39 are read from the document itself (the TOML block after
"Tariff `<name>`"), so the page and the tests cannot drift apart.
"""

from __future__ import annotations

import re
from functools import cache
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


DOC = (REPO / "docs" / "tariffs.md").read_text(encoding="utf-8")
_DAILY = {"day": 'caps.per_calendar_day = "10.00"', "24h": 'caps.per_24h = "10.00"',
          "wall": 'caps.periods = [{ every = "1d", max = "10.00", clock = "wall" }]'}


@cache
def doc_tariff(name: str, variant: str = "") -> Any:
    """The example tariff `name` as the document prints it (with a documented variant)."""
    if name == "default-vat":
        text = (REPO / "tariffs" / "default.toml").read_text(encoding="utf-8")
        block = re.search(r"Example 38 adds to `tariffs/default.toml`:\n\n```toml\n(.*?)```",
                          DOC, re.S)
        assert block is not None
        return parse_tariff(text.replace("[rules]", block.group(1) + "\n[rules]", 1))
    found = re.search(rf"Tariff `{re.escape(name)}`.*?```toml\n(.*?)```", DOC, re.S)
    assert found is not None, name
    text = found.group(1)
    if name == "dst-daily":
        text = text.replace(_DAILY["day"], _DAILY[variant])
    elif variant == "all":
        text = text.replace('ladder_time = "charged"', 'ladder_time = "all"')
    return parse_tariff(text)


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
    (23, "@jp-12h", "Asia/Tokyo", ("2026-03-03 10:00", "2026-03-03 11:00"), {}, "600"),
    (24, "@jp-12h", "Asia/Tokyo", ("2026-03-03 10:00", "2026-03-03 17:00"), {}, "800"),
    (25, "@jp-12h", "Asia/Tokyo", ("2026-03-03 10:00", "2026-03-04 00:00"), {}, "1600"),
    (26, "@jp-once", "Asia/Tokyo", ("2026-03-03 10:00", "2026-03-04 10:00"), {}, "1000"),
    (27, "@jp-once", "Asia/Tokyo", ("2026-03-03 10:00", "2026-03-05 10:00"), {}, "15400"),
    (28, "@jp-day", "Asia/Tokyo", ("2026-03-03 22:00", "2026-03-04 08:00"), {}, "1600"),
    (29, "@hospital-free-nights", "Europe/London", ("2026-04-07 21:00", "2026-04-08 07:00"),
     {}, "5.00"),
    (30, "@hospital-free-nights:all", "Europe/London", ("2026-04-07 21:00", "2026-04-08 07:00"),
     {}, "7.50"),
    (31, "@first-hour-each-day", "Europe/London", ("2026-04-07 22:00", "2026-04-08 02:00"),
     {}, "13.00"),
    (32, "@first-hour-each-day", "Europe/London", ("2026-04-12 15:00", "2026-04-13 08:00"),
     {}, "5.00"),
    (33, "@dst-daily:day", B, ("2026-10-24 10:00", "2026-10-25 10:00"), {}, "20.00"),
    (34, "@dst-daily:24h", B, ("2026-10-24 10:00", "2026-10-25 10:00"), {}, "11.00"),
    (35, "@dst-daily:wall", B, ("2026-10-24 10:00", "2026-10-25 10:00"), {}, "10.00"),
    (36, "@dst-daily:day", B, ("2026-03-28 10:00", "2026-03-29 10:00"), {}, "19.00"),
    (37, "@nyc-sales-tax", "America/New_York", ("2026-03-03 10:00", "2026-03-03 12:30"), {},
     "30.78"),
    (38, "@default-vat", B, ("2026-03-02 18:30", "2026-03-03 09:00"), {}, "15.00"),
    (39, "hospital", "Europe/London", ("2026-04-07 09:00", "2026-05-07 09:00"), {}, "360.00"),
]


@pytest.mark.parametrize(("number", "name", "tz", "stay", "opts", "expected"), EXAMPLES,
                         ids=[f"example-{e[0]}" for e in EXAMPLES])
def test_worked_example(number: int, name: Any, tz: str, stay: tuple[str | None, str],
                        opts: dict[str, Any], expected: str) -> None:
    if isinstance(name, tuple):
        tariff = _cr(*name)
    elif name.startswith("@"):
        tariff = doc_tariff(*name[1:].split(":"))
    else:
        tariff = load(name)
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


def test_examples_that_are_checked_against_the_reference() -> None:
    """The new shapes' examples agree with the minute-by-minute reading of the rules."""
    from naive_reference import naive_total
    for number, name, tz, (entry, exit_), _, expected in EXAMPLES:
        if number < 23 or not name.startswith("@"):
            continue
        t = doc_tariff(*name[1:].split(":"))
        assert naive_total(t, at(tz, entry), at(tz, exit_)) == Money.parse(expected, t.currency).minor


def test_taxes_of_the_documented_examples() -> None:
    q = quote(doc_tariff("default-vat"), at(B, "2026-03-02 18:30"), at(B, "2026-03-03 09:00"))
    (line,) = q.taxes()
    assert (line.net.minor, line.tax.minor, line.gross.minor) == (1261, 239, 1500)
    assert line.rate.percent_text == "19 %"
    ny = "America/New_York"
    q = quote(doc_tariff("nyc-sales-tax"), at(ny, "2026-03-03 10:00"), at(ny, "2026-03-03 12:30"))
    assert q.items[-1].label == "NYC parking tax 18.375 % on 26.00"
    assert q.items[-1].amount.minor == 478
    (line,) = q.taxes()
    assert (line.net.minor, line.tax.minor, line.gross.minor) == (2600, 478, 3078)


def test_thirty_days_of_bands_are_one_counted_line() -> None:
    london = "Europe/London"
    q = quote(load("hospital"), at(london, "2026-04-07 09:00"), at(london, "2026-05-07 09:00"))
    assert [(i.label, i.amount.decimal_text(), i.quantity) for i in q.items] == [
        ("Parking (0 h-720 h): 30 x up to 24 h @ 12.00", "360.00", 30)]
    assert "Parking (0 h-720 h): 30 x up to 24 h @ 12.00" in DOC
