"""Parking tariffs: a versioned TOML language and an exact, itemized fee engine.

Public API:
- `parse_tariff(text, source)` -> `Tariff` (raises `TariffError` listing every problem);
- `quote(tariff, entry, exit, *, ...)` -> `console.domain.quote.Quote`;
- `TariffBook` (versions of one tariff; the version in force at entry prices a stay);
- `PreviousVisit` (for re-entry continuation), `QuoteError`, `Problem`.

The language and its exact semantics are documented in docs/tariffs.md.
"""

from console.domain.tariff.book import TariffBook
from console.domain.tariff.errors import Problem, QuoteError, TariffError
from console.domain.tariff.model import Tariff
from console.domain.tariff.parse import parse_tariff
from console.domain.tariff.pricing import PreviousVisit, quote

__all__ = [
    "PreviousVisit",
    "Problem",
    "QuoteError",
    "Tariff",
    "TariffBook",
    "TariffError",
    "parse_tariff",
    "quote",
]
