"""How the site prices a stay: the tariff version in force at entry, asked with the
visit's facts."""

from __future__ import annotations

from datetime import datetime
from typing import Protocol

from console.domain.quote import Quote
from console.domain.tariff import Tariff, TariffBook
from console.domain.visits import Visit


class Pricing(Protocol):
    """Quotes the fee of a visit leaving at `exit_at`."""

    def quote(
        self, visit: Visit, exit_at: datetime, *, lost_ticket: bool = False, validations: tuple[str, ...] = (),
        paid_until: datetime | None = None,
    ) -> Quote: ...


class TariffPricing:
    """Prices with a `TariffBook`; new versions (from the cloud) are added while running."""

    def __init__(self, book: TariffBook) -> None:
        self.book = book

    @classmethod
    def of(cls, tariff: Tariff) -> TariffPricing:
        return cls(TariffBook([tariff]))

    def quote(
        self, visit: Visit, exit_at: datetime, *, lost_ticket: bool = False, validations: tuple[str, ...] = (),
        paid_until: datetime | None = None,
    ) -> Quote:
        """The fee for `visit` leaving at `exit_at` (raises QuoteError, a ValueError). With
        `paid_until`, only what is owed beyond a payment made then (nothing within the
        tariff's exit grace)."""
        return self.book.quote(
            visit.entry_at, exit_at, vehicle_class=visit.vehicle_class, zone=visit.zone, lost_ticket=lost_ticket,
            validations=validations, paid_until=paid_until,
        )
