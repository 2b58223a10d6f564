"""Money, dates and durations as the current language writes them.

One place decides how an amount or a moment looks to people, so receipts, reports and the
`booth` command agree: an English site keeps "€12.50" and "02.03.2026 09:00"; a Chinese one
writes "¥12.50" (or "12.50 元" where a receipt spells the unit out) and "2026-03-02 09:00".
The language is `console.i18n.current_language()`; numbers go through Babel (CLDR).

Stored facts (JSON, CSV, the database) never use these: they keep ISO 8601 and minor units.
"""

from __future__ import annotations

import unicodedata
from datetime import date, datetime, timedelta, tzinfo
from decimal import Decimal

from babel.numbers import format_currency, format_decimal

from console.domain.money import Money, currency_exponent
from console.i18n import N_, _, current_language

# Payment methods by their stored key.
METHOD_LABELS: dict[str, str] = {"cash": N_("Cash"), "card": N_("Card"), "mobile": N_("Mobile"), "account": N_("Account")}

# Date and time patterns per language (strftime). English keeps the console's day.month.year.
_DATE_TIME = {"en": "%d.%m.%Y %H:%M", "zh_CN": "%Y-%m-%d %H:%M"}
_DATE = {"en": "%d.%m.%Y", "zh_CN": "%Y-%m-%d"}
_DAY_MONTH = {"en": "%d.%m.", "zh_CN": "%m-%d"}


def _language(lang: str | None) -> str:
    return lang or current_language()


def _decimal(amount: Money) -> Decimal:
    return Decimal(amount.minor).scaleb(-currency_exponent(amount.currency))


def money(amount: Money, *, unit: bool = False, lang: str | None = None) -> str:
    """An amount for people: "¥12.50" in Chinese, `Money.format()` ("€12.50") in English.

    `unit=True` writes the currency's word after the number where the language has one
    ("12.50 元" for CNY in Chinese); elsewhere it is the same as the symbol form."""
    code = _language(lang)
    if code != "zh_CN":
        return amount.format()
    value = _decimal(amount)
    digits = currency_exponent(amount.currency)
    pattern = "#,##0" + ("." + "0" * digits if digits else "")
    if unit and amount.currency == "CNY":
        return f"{format_decimal(value, format=pattern, locale='zh_CN')} 元"
    return format_currency(value, amount.currency, format="¤" + pattern, locale="zh_CN", currency_digits=False)


def signed_money(amount: Money, *, lang: str | None = None) -> str:
    """An amount with a "+" in front when positive (cash movements, differences)."""
    text = money(amount, lang=lang)
    return f"+{text}" if amount.minor > 0 else text


def date_time(moment: datetime, tz: tzinfo | None = None, *, lang: str | None = None) -> str:
    """A moment as local date and minute ("2026-03-02 09:00"); `tz` converts it first."""
    local = moment.astimezone(tz) if tz is not None else moment
    return local.strftime(_DATE_TIME.get(_language(lang), _DATE_TIME["en"]))


def day(value: date | datetime, tz: tzinfo | None = None, *, lang: str | None = None) -> str:
    """A calendar day ("2026-03-02")."""
    if isinstance(value, datetime) and tz is not None:
        value = value.astimezone(tz)
    return value.strftime(_DATE.get(_language(lang), _DATE["en"]))


def day_month(value: date | datetime, tz: tzinfo | None = None, *, lang: str | None = None) -> str:
    """Day and month without the year ("02.03." / "03-02")."""
    if isinstance(value, datetime) and tz is not None:
        value = value.astimezone(tz)
    return value.strftime(_DAY_MONTH.get(_language(lang), _DAY_MONTH["en"]))


def clock(moment: datetime, tz: tzinfo | None = None, *, seconds: bool = False) -> str:
    """The time of day to the minute ("09:00"), or the second ("09:00:05"); the same in
    every language."""
    local = moment.astimezone(tz) if tz is not None else moment
    return local.strftime("%H:%M:%S" if seconds else "%H:%M")


def short_date_time(moment: datetime, tz: tzinfo | None = None, *, seconds: bool = False, lang: str | None = None) -> str:
    """A recent moment without its year, for lists: "02.03. 09:00" / "03-02 09:00"."""
    local = moment.astimezone(tz) if tz is not None else moment
    return f"{day_month(local, lang=lang)} {clock(local, seconds=seconds)}"


def duration(delta: timedelta, *, lang: str | None = None) -> str:
    """A stay's length: "3:05" and "2 d 03:05" in English, "3:05" and "2天 03:05" in Chinese."""
    total_minutes = max(0, int(delta.total_seconds() // 60))
    days, rest = divmod(total_minutes, 24 * 60)
    hours, minutes = divmod(rest, 60)
    if not days:
        return f"{hours}:{minutes:02d}"
    if _language(lang) == "zh_CN":
        return f"{days}天 {hours:02d}:{minutes:02d}"
    return f"{days} d {hours:02d}:{minutes:02d}"


def payment_method(method: str) -> str:
    """The name of a payment method in the current language ("cash" -> "Cash" / "现金")."""
    label = METHOD_LABELS.get(method)
    return _(label) if label is not None else method


__all__ = ["METHOD_LABELS", "clock", "date_time", "day", "day_month", "duration", "money", "payment_method", "short_date_time",
           "signed_money", "text_width"]


def text_width(text: str) -> int:
    """Terminal columns of `text`: CJK characters take two."""
    return sum(2 if unicodedata.east_asian_width(ch) in ("W", "F") else 1 for ch in text)
