"""How the site prices a stay: the active tariff, asked with the visit's facts."""

from __future__ import annotations

from datetime import datetime
from typing import Protocol

from console.domain.money import Money
from console.domain.quote import Quote, QuoteItem
from console.domain.simple_tariff import SimpleTariff
from console.domain.visits import Visit
from console.site.config import SiteConfig


class Pricing(Protocol):
    """Quotes the fee of a visit leaving at `exit_at`."""

    def quote(self, visit: Visit, exit_at: datetime, *, lost_ticket: bool = False) -> Quote: ...


class SimplePricing:
    """The site file's simple hourly tariff."""

    def __init__(self, tariff: SimpleTariff) -> None:
        self.tariff = tariff

    @classmethod
    def from_config(cls, config: SiteConfig) -> SimplePricing:
        currency = config.site.currency
        return cls(
            SimpleTariff(
                hourly=Money.parse(config.tariff.hourly, currency),
                daily_max=Money.parse(config.tariff.daily_max, currency),
                grace_minutes=config.tariff.grace_minutes,
            )
        )

    def quote(self, visit: Visit, exit_at: datetime, *, lost_ticket: bool = False) -> Quote:
        """The simple tariff charges one daily maximum for a lost ticket."""
        if lost_ticket:
            fee = self.tariff.daily_max
            return Quote(fee, self.tariff.tariff_id, (QuoteItem("Lost ticket (daily maximum)", fee),))
        return self.tariff.quote(visit.entry_at, exit_at)
