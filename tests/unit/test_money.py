import pytest

from console.domain.money import Money, MoneyError


@pytest.mark.parametrize(
    ("text", "currency", "minor"),
    [("12.50", "EUR", 1250), ("12,5", "EUR", 1250), ("7", "EUR", 700), (" 0.05 ", "EUR", 5), ("1500", "JPY", 1500), ("1.234", "KWD", 1234)],
)
def test_parse_exact_amounts(text: str, currency: str, minor: int) -> None:
    assert Money.parse(text, currency) == Money(minor, currency)


@pytest.mark.parametrize("text", ["", "abc", "1.2.3", "12.505", "nan", "inf", "1e400x", "--3"])
def test_parse_refuses_what_is_not_an_exact_amount(text: str) -> None:
    with pytest.raises(MoneyError):
        Money.parse(text, "EUR")


def test_negative_amounts_parse_so_callers_can_refuse_them_with_a_reason() -> None:
    assert Money.parse("-5", "EUR").is_negative


def test_unknown_currency_and_float_minor_units_are_refused() -> None:
    with pytest.raises(MoneyError):
        Money(100, "XYZ")
    with pytest.raises(MoneyError):
        Money(1.5, "EUR")  # type: ignore[arg-type]


def test_arithmetic_stays_in_one_currency() -> None:
    assert Money(250, "EUR") + Money(50, "EUR") == Money(300, "EUR")
    assert Money(250, "EUR").times(3) == Money(750, "EUR")
    with pytest.raises(MoneyError):
        Money(1, "EUR") + Money(1, "USD")


def test_formatting() -> None:
    assert Money(1250, "EUR").format() == "€12.50"
    assert Money(-5, "EUR").format() == "-€0.05"
    assert Money(300, "CNY").format() == "¥3.00"
    assert Money(1500, "JPY").format() == "¥1500"
    assert Money(1234, "KWD").decimal_text() == "1.234"
    assert Money(99, "SEK").format() == "SEK 0.99"
