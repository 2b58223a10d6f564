"""The first, simple tariff: a free grace period, then a price per started hour, with a
maximum per started 24 hours of stay.

Example: grace 15 min, 2.50/h, max 20.00 per 24 h. A stay of 14 min costs 0; 61 min
costs 5.00 (two started hours); 30 h costs 20.00 + 6 x 2.50 = 35.00.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from console.domain.money import Money
from console.domain.quote import Quote, QuoteItem

_DAY_MINUTES = 24 * 60


class QuoteError(ValueError):
    """A stay that cannot be priced (impossible times)."""


@dataclass(frozen=True, slots=True)
class SimpleTariff:
    """Per started hour with a daily maximum and a grace period."""

    hourly: Money
    daily_max: Money
    grace_minutes: int
    tariff_id: str = "simple-hourly/1"

    @property
    def currency(self) -> str:
        return self.hourly.currency

    def quote(self, entry: datetime, exit: datetime) -> Quote:
        """Price a stay from `entry` to `exit` (aware datetimes; elapsed real time)."""
        if entry.tzinfo is None or exit.tzinfo is None:
            raise QuoteError("entry and exit must carry a time zone")
        if exit < entry:
            raise QuoteError("exit is before entry")
        minutes = int((exit - entry).total_seconds() // 60)
        zero = Money.zero(self.currency)
        if minutes <= self.grace_minutes:
            return Quote(zero, self.tariff_id, (QuoteItem(f"Grace period ({self.grace_minutes} min)", zero),))
        items: list[QuoteItem] = []
        full_days, rest = divmod(minutes, _DAY_MINUTES)
        if full_days:
            items.append(QuoteItem(f"{full_days} x 24 h at daily maximum", self.daily_max.times(full_days)))
        if rest:
            hours = -(-rest // 60)  # started hours
            amount = self.hourly.times(hours)
            if amount > self.daily_max:
                items.append(QuoteItem(f"{hours} h capped at daily maximum", self.daily_max))
            else:
                items.append(QuoteItem(f"{hours} h x {self.hourly.decimal_text()}", amount))
        total = sum((i.amount for i in items), zero)
        return Quote(total, self.tariff_id, tuple(items))
