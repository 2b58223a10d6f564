"""Tariff versions: immutable, and the version in force at entry prices the stay."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from conftest import at

from console.domain.tariff import (
    QuoteError,
    TariffBook,
    TariffError,
    parse_tariff,
    quote,
)

V1 = """
[tariff]
id = "garage"
version = 1
currency = "EUR"
timezone = "Europe/Berlin"
effective_from = 2026-01-01T00:00:00
[classes.car.rate]
unit = "1h"
price = "2.00"
"""
V2 = V1.replace("version = 1", "version = 2").replace(
    "2026-01-01T00:00:00", "2026-03-29T02:30:00").replace('"2.00"', '"3.00"')


def test_version_in_force_at_entry_prices_the_whole_stay() -> None:
    book = TariffBook([parse_tariff(V1), parse_tariff(V2)])
    # 2026-03-29 02:30 does not exist in Berlin (clocks jump 02:00 -> 03:00): a wall
    # time that is skipped means the instant of the jump, 03:00 CEST (01:00 UTC).
    v2_start = book.get("garage@2").effective_from  # type: ignore[union-attr]
    assert v2_start == datetime(2026, 3, 29, 1, 0, tzinfo=UTC)
    entry = at("Europe/Berlin", "2026-03-28 22:00")
    exit_ = at("Europe/Berlin", "2026-03-29 06:00")  # 7 real hours, across the change
    t = book.version_at(entry)
    assert t.tariff_id == "garage@1"
    q = quote(t, entry, exit_)
    assert q.total.minor == 7 * 200
    assert q.tariff_id == "garage@1"
    assert book.version_at(exit_).tariff_id == "garage@2"


def test_version_boundaries() -> None:
    book = TariffBook([parse_tariff(V2), parse_tariff(V1)])
    assert [t.tariff_id for t in book] == ["garage@1", "garage@2"]
    start2 = book.get("garage@2").effective_from  # type: ignore[union-attr]
    assert book.version_at(start2).tariff_id == "garage@2"  # type: ignore[arg-type]
    just_before = datetime.fromtimestamp(start2.timestamp() - 1, UTC)  # type: ignore[union-attr]
    assert book.version_at(just_before).tariff_id == "garage@1"
    with pytest.raises(QuoteError, match="no version"):
        book.version_at(datetime(2025, 12, 31, 22, 0, tzinfo=UTC))
    with pytest.raises(QuoteError):
        book.version_at(datetime(2026, 5, 1))  # naive


def test_a_version_never_changes() -> None:
    book = TariffBook([parse_tariff(V1)])
    assert book.add(parse_tariff(V1 + "\n# the same content, pushed again\n")) is False
    edited = V1.replace('"2.00"', '"2.20"')
    with pytest.raises(TariffError) as caught:
        book.add(parse_tariff(edited))
    assert caught.value.problems[0].key == "tariff.version"
    assert "already exists with different content" in str(caught.value)
    assert book.get("garage@1").classes["car"].rates[0].steps[0].price == 200  # type: ignore[union-attr]
    assert len(book) == 1


def test_a_book_holds_one_tariff_and_distinct_start_times() -> None:
    book = TariffBook([parse_tariff(V1)])
    with pytest.raises(TariffError, match="holds tariff 'garage'"):
        book.add(parse_tariff(V1.replace('id = "garage"', 'id = "other"')))
    with pytest.raises(TariffError, match="same instant"):
        book.add(parse_tariff(V1.replace("version = 1", "version = 9")))


def test_tariff_identity() -> None:
    a, b = parse_tariff(V1), parse_tariff(V1)
    assert a == b and hash(a) == hash(b)
    assert a != parse_tariff(V1.replace('"2.00"', '"2.10"'))
    assert a.tariff_id == "garage@1"
    assert a.effective_from == datetime(2025, 12, 31, 23, 0, tzinfo=UTC)
    assert a.timezone.key == "Europe/Berlin"
    assert a.currency == "EUR"


def test_book_quote_picks_the_version_at_entry() -> None:
    from console.domain.money import Money
    from console.domain.tariff import PreviousVisit

    v1 = V1.replace("[classes.car.rate]", "[classes.car.rules]\nreentry_within = 30\n[classes.car.rate]")
    v2 = V2.replace("[classes.car.rate]", "[classes.car.rules]\nreentry_within = 30\n[classes.car.rate]")
    book = TariffBook([parse_tariff(v1), parse_tariff(v2)])
    entry = at("Europe/Berlin", "2026-03-29 01:00")
    exit_ = at("Europe/Berlin", "2026-03-29 05:00")  # 3 real hours
    assert book.quote(entry, exit_).total.minor == 600
    assert book.quote(entry, exit_).tariff_id == "garage@1"
    later = at("Europe/Berlin", "2026-03-29 10:00")
    assert book.quote(later, at("Europe/Berlin", "2026-03-29 11:00")).tariff_id == "garage@2"
    # a visit continued from before the change keeps the older version
    prev = PreviousVisit(entry, exit_, Money(600, "EUR"))
    q = book.quote(at("Europe/Berlin", "2026-03-29 05:20"), at("Europe/Berlin", "2026-03-29 06:00"),
                   previous_visit=prev)
    assert q.tariff_id == "garage@1"
    assert q.total.minor == 200  # 01:00-06:00 is 4 real hours = 8.00, less 6.00 paid
    # a lost ticket with no known entry: the version in force at the exit (here it has no
    # lost-ticket fee, which the error names)
    with pytest.raises(QuoteError, match="garage@2 has no lost-ticket fee"):
        book.quote(None, later, lost_ticket=True)
