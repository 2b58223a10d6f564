"""The result of pricing a stay: a total with the lines that explain it."""

from __future__ import annotations

from dataclasses import dataclass, field

from console.domain.money import Money
from console.domain.tax import TaxLine, TaxRate, split_gross


@dataclass(frozen=True, slots=True)
class QuoteItem:
    """One line of an itemized fee ("Day rate 08:00-18:00, 3 x 2.00").

    `quantity` is how many identical periods the line stands for when the engine
    collapsed repeated ones into it (29 days of a daily band: quantity 29, `amount`
    the total of all 29); 1 otherwise.
    """

    label: str
    amount: Money
    quantity: int = 1


@dataclass(frozen=True, slots=True)
class Quote:
    """What a stay costs, which tariff version said so, and why.

    `tax` is the rate the fee is taxed at (None when the tariff names none);
    `taxes()` splits the total into net, tax and gross by the rule in console.domain.tax.
    """

    total: Money
    tariff_id: str
    items: tuple[QuoteItem, ...] = field(default=())
    notes: tuple[str, ...] = field(default=())
    tax: TaxRate | None = None

    def taxes(self) -> tuple[TaxLine, ...]:
        """Net, tax and gross of the total per tax rate (empty without a rate)."""
        if self.tax is None:
            return ()
        return (split_gross(self.total, self.tax),)

    def to_json(self) -> dict[str, object]:
        """A JSON-ready dict (amounts in minor units)."""
        items: list[dict[str, object]] = []
        for i in self.items:
            item: dict[str, object] = {"label": i.label, "amount_minor": i.amount.minor}
            if i.quantity != 1:
                item["quantity"] = i.quantity
            items.append(item)
        out: dict[str, object] = {
            "total_minor": self.total.minor,
            "currency": self.total.currency,
            "tariff_id": self.tariff_id,
            "items": items,
            "notes": list(self.notes),
        }
        if self.tax is not None:
            out["taxes"] = [line.to_json() for line in self.taxes()]
        return out
