"""Quote inputs and the rules not covered by the published-tariff table."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from conftest import at, load

from console.domain.money import Money
from console.domain.tariff import PreviousVisit, QuoteError, parse_tariff, quote
from console.domain.tariff.rounding import percent_of, round_to_step

B = "Europe/Berlin"


def _t(body: str, rules: str = "", extra: str = ""):  # type: ignore[no-untyped-def]
    return parse_tariff(f"""
[tariff]
id = "x"
version = 1
currency = "EUR"
timezone = "Europe/Berlin"
[rules]
{rules}
{extra}
[classes.car]
{body}
""")


# -- bad requests ------------------------------------------------------------------------

def test_bad_requests_are_refused_with_clear_messages() -> None:
    t = load("default")
    e, x = at(B, "2026-03-02 10:00"), at(B, "2026-03-02 12:00")
    cases = [
        (dict(entry=datetime(2026, 3, 2, 10), exit=x), "has no time zone offset"),
        (dict(entry=e, exit=datetime(2026, 3, 2, 12)), "has no time zone offset"),
        (dict(entry=x, exit=e), "is before entry"),
        (dict(entry=e, exit=x, vehicle_class="bus"), "unknown vehicle class 'bus'"),
        (dict(entry=e, exit=x, member="gold"), "unknown member plan 'gold'"),
        (dict(entry=e, exit=x, validations=["NOPE"]), "unknown validation code 'NOPE'"),
        (dict(entry=None, exit=x), "entry time is required"),
        (dict(entry=e, exit=x, paid_until=e - timedelta(hours=1)), "paid_until is before the entry"),
    ]
    for kwargs, message in cases:
        with pytest.raises(QuoteError, match=message):
            quote(t, **kwargs)  # type: ignore[arg-type]
    with pytest.raises(QuoteError, match="car, motorcycle"):
        quote(t, e, x, vehicle_class="bus")


def test_validation_codes_once_and_for_their_classes() -> None:
    t = _t('rate = { unit = "1h", price = "2.00" }\n[classes.bike]\nrate = { unit = "1d", price = "1.00" }',
           extra='[validations.A]\namount_off = "1.00"\nclasses = ["car"]')
    e, x = at(B, "2026-03-02 10:00"), at(B, "2026-03-02 12:00")
    with pytest.raises(QuoteError, match="given twice"):
        quote(t, e, x, validations=["A", "A"])
    with pytest.raises(QuoteError, match="not valid for vehicle class 'bike'"):
        quote(t, e, x, vehicle_class="bike", validations=["A"])
    assert quote(t, e, x, validations=["A"]).total.minor == 300


def test_lost_ticket_needs_a_fee() -> None:
    t = _t('rate = { unit = "1h", price = "2.00" }')
    with pytest.raises(QuoteError, match="no lost-ticket fee"):
        quote(t, None, at(B, "2026-03-02 12:00"), lost_ticket=True)


def test_previous_visit_is_checked() -> None:
    t = load("default")
    e, x = at(B, "2026-03-02 10:00"), at(B, "2026-03-02 12:00")
    with pytest.raises(QuoteError, match="in USD"):
        quote(t, e, x, previous_visit=PreviousVisit(e - timedelta(hours=2), e, Money(100, "USD")))
    with pytest.raises(QuoteError, match="left before this entry"):
        quote(t, e, x, previous_visit=PreviousVisit(e, x, Money(100, "EUR")))


def test_exit_after_entry_is_judged_in_real_time_across_dst() -> None:
    # 02:59 CEST, then one minute later the clock shows 02:00 CET
    t = _t('rate = { unit = "15min", price = "0.25" }')
    entry = datetime(2026, 10, 25, 0, 59, tzinfo=UTC).astimezone(at(B, "2026-10-25 12:00").tzinfo)
    exit_ = datetime(2026, 10, 25, 1, 0, tzinfo=UTC).astimezone(entry.tzinfo)
    assert (entry.hour, entry.minute, exit_.hour, exit_.minute) == (2, 59, 2, 0)
    assert quote(t, entry, exit_).total.minor == 25


# -- rules -------------------------------------------------------------------------------

def test_partial_tolerance() -> None:
    t = _t('rate = { unit = "1h", price = "2.00" }', rules="partial_tolerance = 5")
    e = at(B, "2026-03-02 10:00")
    assert quote(t, e, e + timedelta(minutes=65)).total.minor == 200
    assert quote(t, e, e + timedelta(minutes=66)).total.minor == 400
    assert quote(t, e, e + timedelta(minutes=5)).total.minor == 0


def test_per_stay_cap_and_bands_with_then() -> None:
    t = _t('caps.per_stay = "50.00"\n[classes.car.rate]\nbands = [{ up_to = "1h", price = 3 }, '
           '{ up_to = "24h", price = 12 }]\nthen = { unit = "1d", price = 10 }')
    e = at(B, "2026-03-02 10:00")
    assert quote(t, e, e + timedelta(hours=1)).total.minor == 300
    assert quote(t, e, e + timedelta(hours=30)).total.minor == 2200
    q = quote(t, e, e + timedelta(days=10))
    assert q.total.minor == 5000
    assert q.items[-1].label == "Maximum 50.00 per stay"


def test_holiday_windows_of_their_own() -> None:
    t = parse_tariff("""
[tariff]
id = "h"
version = 1
currency = "EUR"
timezone = "Europe/Berlin"
[calendar]
holidays = [2026-12-25]
holidays_as = "holiday"
[windows.normal]
days = ["all"]
[windows.feast]
days = ["holiday"]
""".replace('days = ["all"]', 'days = ["mon","tue","wed","thu","fri","sat","sun"]') + """
[classes.car.rates.normal]
unit = "1h"
price = "2.00"
[classes.car.rates.feast]
unit = "1h"
price = "0.00"
""")
    assert quote(t, at(B, "2026-12-25 10:00"), at(B, "2026-12-25 14:00")).total.minor == 0
    assert quote(t, at(B, "2026-12-24 22:00"), at(B, "2026-12-25 02:00")).total.minor == 400
    assert quote(t, at(B, "2026-12-26 10:00"), at(B, "2026-12-26 14:00")).total.minor == 800


def test_member_limits_are_explained() -> None:
    t = load("hospital")
    q = quote(t, at("Europe/London", "2026-04-07 09:00"), at("Europe/London", "2026-04-07 14:00"),
              member="staff")
    assert q.total.minor == 700
    assert q.notes == ("Staff permit is valid only in zone(s) staff, not in an unknown zone; no benefit.",)
    t = load("airport")
    q = quote(t, at("Europe/London", "2026-04-07 09:00"), at("Europe/London", "2026-04-07 10:00"),
              member="blue-badge", vehicle_class="premium")
    assert q.total.minor == 1030
    assert "not valid for premium short stays" in q.notes[0]


def test_member_windows_and_items() -> None:
    t = load("residential")
    q = quote(t, at(B, "2026-03-03 08:00"), at(B, "2026-03-03 16:00"), member="group3")
    assert [(i.label, i.amount.minor) for i in q.items] == [
        ("Morning 07:00-13:00: 10 x 30 min @ 0.50", 500),
        ("Afternoon 13:00-19:30: 6 x 30 min @ 0.50", 300),
        ("Morning 07:00-13:00: maximum 3.00 each (Tue 2026-03-03)", -200),
        ("Monthly pass group 3 (working days until 13:00): free in Morning", -300),
    ]


def test_class_inheritance_keeps_parent_rules() -> None:
    t = load("city_garage")
    truck = t.classes["truck"]
    assert truck.caps.per_calendar_day == 2800
    assert truck.offers == ()
    assert truck.rules == t.classes["car"].rules


def test_exit_grace_and_pay_station() -> None:
    t = load("default")
    e = at(B, "2026-03-02 09:00")
    paid = at(B, "2026-03-02 11:55")
    q = quote(t, e, at(B, "2026-03-02 12:05"), paid_until=paid)
    assert [i.amount.minor for i in q.items] == [1000, -750, -250]
    assert q.items[-1].label == "Exit grace: left within 15 min of paying"
    assert quote(t, e, at(B, "2026-03-02 12:11"), paid_until=paid).total.minor == 250
    # paying after leaving (paid_until later than the exit) leaves nothing due
    assert quote(t, e, at(B, "2026-03-02 10:00"), paid_until=paid).total.minor == 0


def test_reentry_after_the_window_is_a_new_visit() -> None:
    t = load("default")
    prev = PreviousVisit(at(B, "2026-03-02 09:00"), at(B, "2026-03-02 10:30"), Money(500, "EUR"))
    q = quote(t, at(B, "2026-03-02 10:41"), at(B, "2026-03-02 11:20"), previous_visit=prev)
    assert q.total.minor == 250 and q.notes == ()
    q = quote(t, at(B, "2026-03-02 10:40"), at(B, "2026-03-02 10:50"), previous_visit=prev)
    # continued: one stay 09:00-10:50 = 2 hours 5.00, less 5.00 paid; no new grace
    assert q.total.minor == 0
    assert "Re-entry 10 min after leaving at 10:30" in q.notes[0]


def test_pay_station_payment_of_a_continued_visit_is_not_deducted_twice() -> None:
    t = load("default")
    prev = PreviousVisit(at(B, "2026-03-02 09:00"), at(B, "2026-03-02 10:30"), Money(500, "EUR"))
    # back at 10:35; paid 2.50 more at 11:10 (stay 09:00-11:10 = 7.50, less 5.00 paid then)
    q = quote(t, at(B, "2026-03-02 10:35"), at(B, "2026-03-02 12:30"), previous_visit=prev,
              paid_until=at(B, "2026-03-02 11:10"))
    # 09:00-12:30 = 4 hours = 10.00; everything paid up to 11:10 is 7.50
    assert q.total.minor == 250
    assert [i.amount.minor for i in q.items] == [1000, -750]


def test_rounding_helpers() -> None:
    assert [round_to_step(a, 5, "half-up") for a in (0, 2, 3, 7, 10)] == [0, 0, 5, 5, 10]
    assert round_to_step(75, 10, "half-up") == 80
    assert round_to_step(75, 10, "half-even") == 80 and round_to_step(65, 10, "half-even") == 60
    assert round_to_step(75, 10, "half-down") == 70
    assert round_to_step(71, 10, "up") == 80 and round_to_step(79, 10, "down") == 70
    assert round_to_step(123, 1, "up") == 123
    assert percent_of(225, 50) == 113 and percent_of(3, 50) == 2 and percent_of(1000, 30) == 300


def test_quote_json_shape() -> None:
    q = quote(load("default"), at(B, "2026-03-02 18:30"), at(B, "2026-03-03 09:00"))
    data = q.to_json()
    assert data["total_minor"] == 1500 and data["currency"] == "EUR"
    assert data["tariff_id"] == "default@1"
    assert all(set(i) == {"label", "amount_minor"} for i in data["items"])  # type: ignore[union-attr]
