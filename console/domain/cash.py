"""The cash drawer: denominations, counting, and what the drawer should hold."""

from __future__ import annotations

from console.domain.errors import DomainError
from console.domain.money import Money, currency_exponent
from console.i18n import _

# Notes and coins in minor units. A currency not listed counts in its smallest unit only.
DENOMINATIONS: dict[str, tuple[int, ...]] = {
    "EUR": (50000, 20000, 10000, 5000, 2000, 1000, 500, 200, 100, 50, 20, 10, 5, 2, 1),
    "USD": (10000, 5000, 2000, 1000, 500, 100, 25, 10, 5, 1),
    "GBP": (5000, 2000, 1000, 500, 200, 100, 50, 20, 10, 5, 2, 1),
    "CHF": (100000, 20000, 10000, 5000, 2000, 1000, 500, 200, 100, 50, 20, 10, 5),
    "CNY": (10000, 5000, 2000, 1000, 500, 100, 50, 10),
}

MAX_PIECES = 5000  # more of one denomination than a booth drawer could hold


class CountError(DomainError):
    """A drawer count that cannot be right (negative, unknown denomination, absurd)."""


def denominations(currency: str) -> tuple[int, ...]:
    """The notes and coins of `currency`, largest first."""
    return DENOMINATIONS.get(currency, (10 ** currency_exponent(currency),))


def count_total(detail: dict[int, int], currency: str) -> Money:
    """Total of a count by denomination {value in minor units: pieces}."""
    known = set(denominations(currency))
    total = 0
    for value, pieces in detail.items():
        if value not in known:
            raise CountError(_("{value} is not a {currency} note or coin").format(value=Money(value, currency), currency=currency))
        if not isinstance(pieces, int) or isinstance(pieces, bool) or pieces < 0:
            raise CountError(_("the number of {value} pieces must be a whole number, not {pieces!r}").format(value=Money(value, currency), pieces=pieces))
        if pieces > MAX_PIECES:
            raise CountError(_("{pieces} pieces of {value} cannot be in one drawer; check the count").format(pieces=pieces, value=Money(value, currency)))
        total += value * pieces
    return Money(total, currency)


def parse_count(text: str, currency: str) -> dict[int, int]:
    """Parse "50x10 20x3 0.50x12" (pieces of each denomination, in major units)."""
    detail: dict[int, int] = {}
    for part in text.replace(",", " ").split():
        if "x" not in part:
            raise CountError(_("{part!r}: write value x pieces, e.g. 20x3").format(part=part))
        value_text, pieces_text = part.split("x", 1)
        try:
            value = Money.parse(value_text, currency).minor
            pieces = int(pieces_text)
        except ValueError:
            raise CountError(_("{part!r} is not value x pieces").format(part=part)) from None
        detail[value] = detail.get(value, 0) + pieces
    count_total(detail, currency)  # validates
    return detail
