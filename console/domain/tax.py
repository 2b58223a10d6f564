"""Sales tax and VAT on a fee: rates, and net / tax / gross in integer minor units.

The rule (docs/tariffs.md, "Tax"): the tax of an amount is computed on its gross (tax
included) per rate, `gross * rate / (100 % + rate)`, rounded half up at the minor unit;
the net is the gross less that tax. This is the receipt rule of most tax authorities
(the EU VAT directive leaves rounding to the member states, which round per rate and
invoice half up). Where prices exclude tax, the tariff adds `net * rate` rounded half
up; computing back from the gross gives exactly that tax again (the difference before
rounding is less than half a minor unit), so one rule serves both.

A shift report adds up the receipts' own lines per rate (`add_up`), never re-rounding
a sum, so the report matches the receipts the drivers hold.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from console.domain.money import Money

PPM = 1_000_000  # a rate is held in parts per million: 19 % is 190_000, 8.875 % is 88_750


def _div_half_up(numerator: int, denominator: int) -> int:
    """numerator / denominator rounded half away from zero (denominator > 0)."""
    q, r = divmod(abs(numerator), denominator)
    if 2 * r >= denominator:
        q += 1
    return q if numerator >= 0 else -q


@dataclass(frozen=True, slots=True)
class TaxRate:
    """One tax rate: an id ("vat"), a label for receipts ("VAT") and the rate in ppm."""

    id: str
    label: str
    ppm: int

    @property
    def percent_text(self) -> str:
        """The rate as people write it: "19 %", "8.875 %"."""
        whole, frac = divmod(self.ppm, 10_000)
        text = f"{whole}.{frac:04d}".rstrip("0").rstrip(".")
        return f"{text} %"

    def tax_in_gross(self, gross: int) -> int:
        """The tax contained in a gross amount (minor units), rounded half up."""
        return _div_half_up(gross * self.ppm, PPM + self.ppm)

    def tax_on_net(self, net: int) -> int:
        """The tax to add to a net amount (minor units), rounded half up."""
        return _div_half_up(net * self.ppm, PPM)


@dataclass(frozen=True, slots=True)
class TaxLine:
    """Net, tax and gross of one rate; net + tax == gross always."""

    rate: TaxRate
    net: Money
    tax: Money
    gross: Money

    def to_json(self) -> dict[str, object]:
        """A JSON-ready dict (amounts in minor units)."""
        return {"rate": self.rate.id, "label": self.rate.label, "percent": self.rate.percent_text,
                "net_minor": self.net.minor, "tax_minor": self.tax.minor,
                "gross_minor": self.gross.minor}


def split_gross(gross: Money, rate: TaxRate) -> TaxLine:
    """The tax line of a gross amount at one rate."""
    tax = rate.tax_in_gross(gross.minor)
    return TaxLine(rate, Money(gross.minor - tax, gross.currency), Money(tax, gross.currency),
                   gross)


def add_up(lines: Iterable[TaxLine]) -> tuple[TaxLine, ...]:
    """Tax lines of many receipts added per rate (and currency), in first-seen order.

    The stated amounts are summed as they are; nothing is rounded again.
    """
    sums: dict[tuple[str, int, str], list[int]] = {}
    rates: dict[tuple[str, int, str], TaxRate] = {}
    for line in lines:
        key = (line.rate.id, line.rate.ppm, line.gross.currency)
        acc = sums.setdefault(key, [0, 0, 0])
        rates[key] = line.rate
        acc[0] += line.net.minor
        acc[1] += line.tax.minor
        acc[2] += line.gross.minor
    return tuple(TaxLine(rates[k], Money(n, k[2]), Money(t, k[2]), Money(g, k[2]))
                 for k, (n, t, g) in sums.items())
