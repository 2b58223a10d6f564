"""The shapes added for real rate sheets: caps counted from entry, free windows and
charged-time ladders, per-occurrence ladders, tax; their bad inputs and their limits."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from conftest import at, load
from hypothesis import given, settings
from hypothesis import strategies as st
from test_tariff_parse_errors import GOOD, problems

from console.domain.money import Money
from console.domain.quote import Quote, QuoteItem
from console.domain.tariff import QuoteError, TariffBook, parse_tariff, quote
from console.domain.tax import TaxLine, TaxRate, add_up, split_gross

B = "Europe/Berlin"


# -- bad documents: each mistake named with its key -------------------------------------

@pytest.mark.parametrize(("change", "key", "message"), [
    (('max_per_occurrence = "5.00"', 'max_per_occurrence = "5.00"\n[classes.car.rules]\n'
      'ladder_time = "sometimes"'), "classes.car.rules.ladder_time", "must be one of all, charged"),
    (('caps.per_calendar_day = "20.00"', 'caps.per_calendar_day = "20.00"\n'
      'rules.ladder_time = "charged"'), "classes.car.rules.ladder_time", "no window of this class is free"),
    (('caps.per_calendar_day = "20.00"',
      'caps.periods = [{ every = "12h", max = "1.00" }]'), "classes.car.caps.periods[0].max",
     "less than one unit"),
    (('caps.per_calendar_day = "20.00"',
      'caps.periods = [{ every = "36h", max = "30.00", clock = "wall" }]'),
     "classes.car.caps.periods[0].every", "whole number of days"),
    (('caps.per_calendar_day = "20.00"',
      'caps.periods = [{ every = "1d", max = "30.00", clock = "sundial" }]'),
     "classes.car.caps.periods[0].clock", "must be one of elapsed, wall"),
    (('caps.per_calendar_day = "20.00"', 'caps.periods = [{ max = "30.00" }]'),
     "classes.car.caps.periods[0].every", "is required"),
    (('caps.per_calendar_day = "20.00"', 'caps.periods = "12h"'),
     "classes.car.caps.periods", "must be a list"),
    (('unit = "1h"\nprice = "1.00"', 'free = true\nunit = "1h"'),
     "classes.car.rates.night.unit", "a free window has no units"),
    (('unit = "1h"\nprice = "1.00"', 'free = "yes"'), "classes.car.rates.night.free", "must be true"),
    (('caps.per_calendar_day = "20.00"', 'caps.per_calendar_day = "20.00"\ntax = "vat"'),
     "classes.car.tax", "no tax rate named 'vat'"),
    (('[classes.car]', '[tax]\nrates.vat = { percent = "119" }\n[classes.car]'),
     "tax.rates.vat.percent", "below 100"),
    (('[classes.car]', '[tax]\nrates.vat = { percent = "19.12345" }\n[classes.car]'),
     "tax.rates.vat.percent", "more than 4 decimals"),
    (('[classes.car]', '[tax]\nincluded = "yes"\nrates.vat = { percent = "19" }\n[classes.car]'),
     "tax.included", "must be true"),
    (('[classes.car]', '[tax]\nrates.a = { percent = "19" }\nrates.b = { percent = "7" }\n'
      '[classes.car]'), "tax.default", "several rates"),
    (('[classes.car]', '[tax]\nincluded = true\n[classes.car]'), "tax.rates", "at least one rate"),
])
def test_new_keys_are_checked(change: tuple[str, str], key: str, message: str) -> None:
    found = problems(GOOD.replace(*change, 1))
    assert any(k == key and message in m for k, m in found), found


# -- caps from entry --------------------------------------------------------------------

def _t(body: str, extra: str = "") -> object:
    return parse_tariff(f"""
[tariff]
id = "x"
version = 1
currency = "EUR"
timezone = "Europe/Berlin"
{extra}
[classes.car]
{body}
[classes.car.rate]
unit = "1h"
price = "1.00"
""")


def test_a_weekly_maximum_counts_seven_days_from_entry() -> None:
    t = _t('caps.periods = [{ every = "7d", max = "50.00" }]')
    e = at(B, "2026-03-02 10:00")  # Monday
    assert quote(t, e, e + timedelta(days=7)).total.minor == 5000  # 168 h capped
    q = quote(t, e, e + timedelta(days=7, hours=3))
    assert q.total.minor == 5300  # a new week begins: 3 h
    assert q.items[-1].label == "Maximum 50.00 per 7 d from entry (period 1)"


def test_two_caps_from_entry_side_by_side() -> None:
    t = _t('caps.periods = [{ every = "12h", max = "8.00" }, { every = "7d", max = "50.00" }]')
    e = at(B, "2026-03-02 10:00")
    # 12 h periods pay 8.00 each: 14 periods in 7 days would be 112.00, the week caps 50.00
    assert quote(t, e, e + timedelta(hours=12)).total.minor == 800
    assert quote(t, e, e + timedelta(days=3)).total.minor == 4800
    q = quote(t, e, e + timedelta(days=7))
    assert q.total.minor == 5000
    labels = [i.label for i in q.items]
    assert labels[1].startswith("Maximum 8.00 per 12 h from entry (period 1 to period ")
    assert labels[2] == "Maximum 50.00 per 7 d from entry (period 1)"
    assert sum(i.amount.minor for i in q.items) == 5000


def test_a_wall_clock_day_across_the_spring_change() -> None:
    t = _t('caps.periods = [{ every = "1d", max = "30.00", clock = "wall" }]')
    # 10:00 Saturday to 10:00 Sunday is 23 real hours: one wall-clock day
    q = quote(t, at(B, "2026-03-28 10:00"), at(B, "2026-03-29 10:00"))
    assert q.total.minor == 2300
    q = quote(t, at(B, "2026-03-28 10:00"), at(B, "2026-03-29 11:00"))
    assert q.total.minor == 2400  # the 11th hour on Sunday begins the next day


def test_a_wall_clock_day_when_the_entry_time_does_not_exist_later() -> None:
    # entry 02:30 on Saturday; on Sunday 02:30 is skipped: the day ends at the jump (03:00)
    t = _t('caps.periods = [{ every = "1d", max = "5.00", clock = "wall" }]')
    q = quote(t, at(B, "2026-03-28 02:30"), at(B, "2026-03-29 04:00"))
    # Hours start at 01:30 UTC and every hour after. Day 1 runs to the jump, Sunday 03:00
    # CEST (01:00 UTC): 23.5 real hours holding 24 hour starts (the last at 00:30 UTC),
    # capped 5.00. Day 2 holds the hour starting at 01:30 UTC (03:30 CEST), cut short by
    # the exit at 04:00 CEST and charged as started: 1.00.
    assert q.total.minor == 500 + 100


# -- tax ---------------------------------------------------------------------------------

def test_tax_rule_examples() -> None:
    vat = TaxRate("vat", "VAT", 190_000)
    assert vat.percent_text == "19 %"
    assert TaxRate("ny", "Tax", 183_750).percent_text == "18.375 %"
    line = split_gross(Money(1500, "EUR"), vat)
    assert (line.net.minor, line.tax.minor, line.gross.minor) == (1261, 239, 1500)
    assert vat.tax_in_gross(119) == 19 and vat.tax_on_net(100) == 19
    # half up at the minor unit: 0.5 cent rounds up (gross 1.05 at 5 %: 0.05 exactly)
    assert TaxRate("r", "R", 50_000).tax_in_gross(105) == 5
    assert TaxRate("r", "R", 50_000).tax_on_net(10) == 1  # 0.5 -> 1
    assert split_gross(Money(0, "EUR"), vat).tax.minor == 0


@settings(max_examples=300, deadline=None)
@given(net=st.integers(0, 10_000_000), ppm=st.integers(1, 999_999))
def test_tax_added_on_net_is_found_again_in_the_gross(net: int, ppm: int) -> None:
    rate = TaxRate("r", "R", ppm)
    tax = rate.tax_on_net(net)
    assert rate.tax_in_gross(net + tax) == tax


def test_tax_lines_add_up_per_rate_without_rounding_again() -> None:
    vat = TaxRate("vat", "VAT", 190_000)
    low = TaxRate("low", "VAT", 70_000)
    lines = [split_gross(Money(g, "EUR"), vat) for g in (1500, 250, 5)]
    lines.append(split_gross(Money(300, "EUR"), low))
    total = add_up(lines)
    assert [(t.rate.id, t.net.minor, t.tax.minor, t.gross.minor) for t in total] == [
        ("vat", 1261 + 210 + 4, 239 + 40 + 1, 1755), ("low", 280, 20, 300)]
    assert all(t.net.minor + t.tax.minor == t.gross.minor for t in total)
    assert isinstance(total[0], TaxLine)


def test_a_quote_carries_its_class_rate() -> None:
    t = parse_tariff(GOOD.replace("[classes.car]", """[tax]
default = "std"
rates.std = { label = "VAT", percent = "19" }
rates.low = { label = "VAT", percent = "7" }
[classes.bike]
tax = "low"
rate = { unit = "1h", price = "0.50" }
[classes.car]""", 1))
    e, x = at(B, "2026-03-02 10:00"), at(B, "2026-03-02 12:00")
    assert quote(t, e, x).tax == TaxRate("std", "VAT", 190_000)
    q = quote(t, e, x, vehicle_class="bike")
    assert q.tax is not None and q.tax.id == "low"
    assert q.taxes()[0].tax.minor == 7  # 1.00 at 7 %: 0.0654 -> 0.07
    assert q.to_json()["taxes"] == [{"rate": "low", "label": "VAT", "percent": "7 %",
                                     "net_minor": 93, "tax_minor": 7, "gross_minor": 100}]
    assert quote(load("default"), e, x).taxes() == ()
    assert "taxes" not in quote(load("default"), e, x).to_json()


def test_quote_item_and_quote_keep_their_old_constructors() -> None:
    item = QuoteItem("Fee changed", Money(-100, "EUR"))
    assert item.quantity == 1
    q = Quote(Money(100, "EUR"), "x@1", (item,), ())
    assert q.tax is None and q.taxes() == ()
    assert q.to_json()["items"] == [{"label": "Fee changed", "amount_minor": -100}]


# -- limits ------------------------------------------------------------------------------

def test_out_of_range_times_and_stays_are_refused() -> None:
    t = load("default")
    e = at(B, "2026-03-02 10:00")
    with pytest.raises(QuoteError, match="outside the years this booth prices"):
        quote(t, e, datetime(9999, 12, 31, 23, 59, tzinfo=UTC))
    with pytest.raises(QuoteError, match="outside the years this booth prices"):
        quote(t, datetime(1, 1, 1, tzinfo=UTC), e)
    with pytest.raises(QuoteError, match="longer than the ten years"):
        quote(t, e, e + timedelta(days=3654))
    assert quote(t, e, e + timedelta(days=3653)).total.minor > 0
    with pytest.raises(QuoteError, match="outside the years"):
        TariffBook([t]).quote(e, datetime(9999, 1, 1, tzinfo=UTC))


def test_ten_years_print_a_handful_of_lines() -> None:
    for name, tz in (("default", B), ("hospital", "Europe/London"), ("residential", B),
                     ("cn_anshan_qianshan", "Asia/Shanghai")):
        t = load(name)
        e = at(tz, "2026-04-07 10:17")
        q = quote(t, e, e + timedelta(days=3650))
        assert len(q.items) <= 8, (name, [i.label for i in q.items])
        assert sum(i.amount.minor for i in q.items) == q.total.minor
