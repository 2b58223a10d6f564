"""The result of pricing a stay: a total with the lines that explain it."""

from __future__ import annotations

from dataclasses import dataclass, field

from console.domain.money import Money


@dataclass(frozen=True, slots=True)
class QuoteItem:
    """One line of an itemized fee ("Day rate 08:00-18:00, 3 x 2.00")."""

    label: str
    amount: Money


@dataclass(frozen=True, slots=True)
class Quote:
    """What a stay costs, which tariff version said so, and why."""

    total: Money
    tariff_id: str
    items: tuple[QuoteItem, ...] = field(default=())
    notes: tuple[str, ...] = field(default=())

    def to_json(self) -> dict[str, object]:
        """A JSON-ready dict (amounts in minor units)."""
        return {
            "total_minor": self.total.minor,
            "currency": self.total.currency,
            "tariff_id": self.tariff_id,
            "items": [{"label": i.label, "amount_minor": i.amount.minor} for i in self.items],
            "notes": list(self.notes),
        }
