"""Money as an integer count of minor units with a currency code.

Floats never appear: amounts typed by people are parsed from decimal strings, and
arithmetic stays in integers.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

from console.domain.errors import DomainError
from console.i18n import _

# ISO 4217 minor-unit exponents for the currencies a site is likely to use.
# A currency not listed here is refused rather than guessed.
CURRENCY_EXPONENTS: dict[str, int] = {
    "EUR": 2, "USD": 2, "GBP": 2, "CHF": 2, "CNY": 2, "HKD": 2, "TWD": 2, "SGD": 2,
    "AUD": 2, "CAD": 2, "NZD": 2, "SEK": 2, "NOK": 2, "DKK": 2, "PLN": 2, "CZK": 2,
    "HUF": 2, "RON": 2, "BGN": 2, "TRY": 2, "ILS": 2, "AED": 2, "SAR": 2, "INR": 2,
    "THB": 2, "MYR": 2, "PHP": 2, "IDR": 2, "MXN": 2, "BRL": 2, "ZAR": 2, "VND": 0,
    "JPY": 0, "KRW": 0, "CLP": 0, "ISK": 0, "KWD": 3, "BHD": 3, "OMR": 3, "JOD": 3,
}

CURRENCY_SYMBOLS: dict[str, str] = {
    "EUR": "€", "USD": "$", "GBP": "£", "CNY": "¥", "JPY": "¥", "CHF": "CHF ",
}


class MoneyError(DomainError):
    """An amount or currency that cannot be represented exactly."""


def currency_exponent(currency: str) -> int:
    """Return the number of minor-unit digits of an ISO 4217 currency code."""
    try:
        return CURRENCY_EXPONENTS[currency]
    except KeyError:
        raise MoneyError(_("unknown currency {currency!r}").format(currency=currency)) from None


@dataclass(frozen=True, order=True, slots=True)
class Money:
    """An exact amount: `minor` units (cents, fen) of `currency`."""

    minor: int
    currency: str

    def __post_init__(self) -> None:
        if not isinstance(self.minor, int) or isinstance(self.minor, bool):
            raise MoneyError(_("money must be an integer count of minor units, got {minor!r}").format(minor=self.minor))
        currency_exponent(self.currency)

    @classmethod
    def zero(cls, currency: str) -> Money:
        """Nothing, in `currency`."""
        return cls(0, currency)

    @classmethod
    def parse(cls, text: str, currency: str) -> Money:
        """Parse a decimal amount as typed by a person ("12.5", "12,50", "7").

        Raises MoneyError for text that is not a number or has more decimals than the
        currency allows; never rounds silently.
        """
        exponent = currency_exponent(currency)
        cleaned = text.strip().replace(" ", "").replace(",", ".")
        if not cleaned:
            raise MoneyError(_("no amount given"))
        if cleaned.count(".") > 1:
            raise MoneyError(_("{text!r} is not an amount").format(text=text))
        try:
            value = Decimal(cleaned)
        except InvalidOperation:
            raise MoneyError(_("{text!r} is not an amount").format(text=text)) from None
        if not value.is_finite():
            raise MoneyError(_("{text!r} is not an amount").format(text=text))
        scaled = value.scaleb(exponent)
        if scaled != scaled.to_integral_value():
            raise MoneyError(_("{text!r} has more than {exponent} decimals for {currency}").format(text=text, exponent=exponent, currency=currency))
        return cls(int(scaled), currency)

    def _same(self, other: Money) -> None:
        if other.currency != self.currency:
            raise MoneyError(_("cannot combine {currency} and {currency2}").format(currency=self.currency, currency2=other.currency))

    def __add__(self, other: Money) -> Money:
        self._same(other)
        return Money(self.minor + other.minor, self.currency)

    def __sub__(self, other: Money) -> Money:
        self._same(other)
        return Money(self.minor - other.minor, self.currency)

    def __neg__(self) -> Money:
        return Money(-self.minor, self.currency)

    def times(self, count: int) -> Money:
        """This amount `count` times (count is an integer)."""
        return Money(self.minor * int(count), self.currency)

    def min(self, other: Money) -> Money:
        """The smaller of two amounts of one currency."""
        self._same(other)
        return self if self.minor <= other.minor else other

    def max(self, other: Money) -> Money:
        """The larger of two amounts of one currency."""
        self._same(other)
        return self if self.minor >= other.minor else other

    @property
    def is_zero(self) -> bool:
        return self.minor == 0

    @property
    def is_negative(self) -> bool:
        return self.minor < 0

    def decimal_text(self) -> str:
        """The amount as a plain decimal string ("12.50"), no symbol."""
        exponent = currency_exponent(self.currency)
        sign = "-" if self.minor < 0 else ""
        whole, frac = divmod(abs(self.minor), 10**exponent) if exponent else (abs(self.minor), 0)
        if exponent == 0:
            return f"{sign}{whole}"
        return f"{sign}{whole}.{frac:0{exponent}d}"

    def format(self) -> str:
        """The amount for people: "€12.50", "CNY 3.00" when no symbol is known."""
        symbol = CURRENCY_SYMBOLS.get(self.currency)
        text = self.decimal_text()
        if symbol is None:
            return f"{self.currency} {text}"
        if text.startswith("-"):
            return f"-{symbol}{text[1:]}"
        return f"{symbol}{text}"

    def __str__(self) -> str:
        return self.format()
