"""Pure rules of elevator rides: pairing, prices in local time, statements, search text."""

from __future__ import annotations

from datetime import datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest

from console.domain.money import Money
from console.domain.rides import (
    Card,
    PriceRule,
    RideKind,
    RideMatch,
    RidePairing,
    RidePricing,
    RideQueryError,
    SwipeTimedOut,
    TimeWindow,
    UnclaimedStop,
    build_statement,
    card_problem,
    floor_label,
    month_period,
    parse_ride_query,
    price_ride,
)
from console.i18n import language
from console.site.elevator_config import ElevatorSection

BERLIN = ZoneInfo("Europe/Berlin")
T0 = datetime(2026, 3, 2, 8, 0, tzinfo=timezone.utc)


def at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


def test_swipe_arrival_doors_make_a_ride() -> None:
    p = RidePairing(timedelta(minutes=3))
    p.doors_opened(1, 1, at(0))  # the car stands at the lobby (an unclaimed opening)
    p.swiped(1, "04a1b2c3", -2, at(1))
    p.arrived(1, -2, at(10))
    (ride,) = p.doors_opened(1, -2, at(11))
    assert isinstance(ride, RideMatch)
    assert (ride.swipe.card, ride.swipe.floor, ride.swipe.from_floor) == ("04A1B2C3", -2, 1)
    assert ride.arrived_at == at(10) and ride.doors_open_at == at(11)
    assert p.pending() == []


def test_doors_at_another_floor_are_unclaimed_and_the_swipe_waits() -> None:
    p = RidePairing(timedelta(minutes=3))
    p.swiped(1, "AA", 5, at(0))
    assert p.doors_opened(1, 3, at(5)) == [UnclaimedStop(1, 3, at(5))]
    assert [s.floor for s in p.pending()] == [5]
    assert isinstance(p.doors_opened(1, 5, at(9))[0], RideMatch)


def test_two_riders_one_car_and_other_cars_do_not_mix() -> None:
    p = RidePairing(timedelta(minutes=3))
    p.swiped(1, "AA", 5, at(0))
    p.swiped(1, "BB", 8, at(1))
    p.swiped(2, "CC", 5, at(2))
    (first,) = p.doors_opened(1, 5, at(5))
    assert isinstance(first, RideMatch) and first.swipe.card == "AA"
    (second,) = p.doors_opened(1, 8, at(8))
    assert isinstance(second, RideMatch) and second.swipe.card == "BB"
    assert [s.card for s in p.pending()] == ["CC"]


def test_a_card_swiped_again_rides_once_to_its_last_choice() -> None:
    p = RidePairing(timedelta(minutes=3))
    p.swiped(1, "AA", 5, at(0))
    p.swiped(1, "AA", 6, at(1))
    assert p.doors_opened(1, 5, at(3)) == [UnclaimedStop(1, 5, at(3))]
    (ride,) = p.doors_opened(1, 6, at(4))
    assert isinstance(ride, RideMatch) and ride.swipe.floor == 6


def test_swipes_time_out_once() -> None:
    p = RidePairing(timedelta(seconds=60))
    p.swiped(1, "AA", 5, at(0))
    p.swiped(2, "BB", 5, at(30))
    assert p.expire(at(59)) == []
    (gone,) = p.expire(at(60))
    assert isinstance(gone, SwipeTimedOut) and gone.swipe.card == "AA"
    assert p.expire(at(61)) == []
    assert [s.card for s in p.pending()] == ["BB"]
    with pytest.raises(ValueError):
        RidePairing(timedelta(0))


def test_controller_restart_forgets_positions_not_swipes() -> None:
    p = RidePairing(timedelta(minutes=3))
    p.doors_opened(1, 4, at(0))
    p.swiped(1, "AA", 5, at(1))
    p.controller_restarted()
    (ride,) = p.doors_opened(1, 5, at(9))
    assert isinstance(ride, RideMatch) and ride.swipe.from_floor == 4  # known when swiped


PRICES = RidePricing(
    "EUR",
    (
        PriceRule("night", Money(50, "EUR"), window=TimeWindow(time(22), time(6))),
        PriceRule("weekend", Money(60, "EUR"), window=TimeWindow(time(0), time(23, 59), frozenset({"sat", "sun"}))),
        PriceRule("basement", Money(100, "EUR"), floors=(-3, -1)),
        PriceRule("visitor", Money(150, "EUR"), classes=frozenset({"visitor"})),
        PriceRule("flat", Money(80, "EUR")),
    ),
    frozenset({"staff"}),
)


@pytest.mark.parametrize(
    ("local", "floor", "card_class", "rule", "minor"),
    [
        (datetime(2026, 3, 2, 12, 0), 5, "resident", "flat", 80),  # Monday noon
        (datetime(2026, 3, 2, 12, 0), -2, "resident", "basement", 100),
        (datetime(2026, 3, 2, 12, 0), 5, "visitor", "visitor", 150),
        (datetime(2026, 3, 2, 12, 0), 5, "staff", "free class staff", 0),
        (datetime(2026, 3, 2, 22, 0), -2, "resident", "night", 50),  # window start inclusive
        (datetime(2026, 3, 3, 5, 59), 5, "resident", "night", 50),  # after midnight
        (datetime(2026, 3, 3, 6, 0), 5, "resident", "flat", 80),  # window end exclusive
        (datetime(2026, 3, 7, 12, 0), 5, "resident", "weekend", 60),  # Saturday
        (datetime(2026, 3, 29, 2, 30), 5, None, "night", 50),  # DST night (Berlin skips 02:00-03:00)
    ],
)
def test_price_rules_in_local_time(local: datetime, floor: int, card_class: str | None, rule: str, minor: int) -> None:
    moment = local.replace(tzinfo=BERLIN).astimezone(timezone.utc)
    price = price_ride(PRICES, floor=floor, at=moment, tz=BERLIN, card_class=card_class)
    assert (price.rule, price.fee) == (rule, Money(minor, "EUR"))


def test_night_window_by_start_day() -> None:
    fri_night = TimeWindow(time(22), time(6), frozenset({"fri"}))
    assert fri_night.contains(datetime(2026, 3, 6, 23, 0))  # Friday 23:00
    assert fri_night.contains(datetime(2026, 3, 7, 5, 0))  # Saturday 05:00 belongs to Friday night
    assert not fri_night.contains(datetime(2026, 3, 7, 23, 0))


def test_no_matching_rule_is_free_but_flagged_and_bad_lists_are_refused() -> None:
    price = price_ride(RidePricing("EUR"), floor=1, at=T0, tz=BERLIN, card_class=None)
    assert price.fee == Money(0, "EUR") and not price.matched
    with pytest.raises(ValueError):
        RidePricing("EUR", (PriceRule("x", Money(1, "USD")),))
    with pytest.raises(ValueError):
        RidePricing("EUR", (PriceRule("x", Money(-1, "EUR")),))
    with pytest.raises(ValueError):
        price_ride(PRICES, floor=1, at=datetime(2026, 1, 1), tz=BERLIN, card_class=None)


def test_card_problems() -> None:
    assert card_problem(None) and "account" in card_problem(None)  # type: ignore[operator]
    assert card_problem(Card("AA", "resident", None)) == "card has no account"
    assert card_problem(Card("AA", "resident", "A1", active=False)) == "card is inactive"
    assert card_problem(Card("AA", "resident", "A1")) is None


def test_month_period_and_statement() -> None:
    start, end = month_period(2026, 3, BERLIN)  # DST starts in March: 743 hours
    assert start == datetime(2026, 2, 28, 23, 0, tzinfo=timezone.utc)
    assert end - start == timedelta(hours=743)
    s = build_statement("AA", "A1", start, end, "EUR", [(5, 2, 160), (-2, 1, 100)], flagged=1)
    assert s.rides == 3 and s.total == Money(260, "EUR") and [line.floor for line in s.lines] == [-2, 5]
    assert month_period(2026, 12, BERLIN)[1] == datetime(2026, 12, 31, 23, 0, tzinfo=timezone.utc)


def test_search_text() -> None:
    now = datetime(2026, 3, 2, 15, 0, tzinfo=timezone.utc)
    q = parse_ride_query("04a1 floor:B2 flagged", now=now, tz=BERLIN)
    assert (q.card, q.floor, q.flagged_only) == ("04A1", -2, True)
    q = parse_ride_query("-1 2026-03-01", now=now, tz=BERLIN)
    assert q.floor == -1 and q.since == datetime(2026, 2, 28, 23, tzinfo=timezone.utc)
    q = parse_ride_query("08:00-09:30 unclaimed", now=now, tz=BERLIN)
    assert (q.since, q.until) == (datetime(2026, 3, 2, 7, tzinfo=timezone.utc), datetime(2026, 3, 2, 8, 30, tzinfo=timezone.utc))
    assert q.kinds == (RideKind.UNCLAIMED,)
    assert parse_ride_query("", now=now, tz=BERLIN).card is None
    for bad in ("lift", "25:00-26:00", "2026-13-01", "card:xyz"):
        with pytest.raises(RideQueryError):
            parse_ride_query(bad, now=now, tz=BERLIN)
    assert (floor_label(-2), floor_label(7), floor_label(None)) == ("B2", "7", "?")


def test_search_words_in_the_attendants_language() -> None:
    """A Chinese attendant types the words as the screen shows them (待复核, 无人认领,
    超时); the English words still work, and a Chinese word the search does not know is
    refused in Chinese."""
    now = datetime(2026, 3, 2, 15, 0, tzinfo=timezone.utc)
    with language("zh-CN"):
        q = parse_ride_query("04a1 待复核", now=now, tz=BERLIN)
        assert (q.card, q.flagged_only) == ("04A1", True)
        assert parse_ride_query("无人认领 超时", now=now, tz=BERLIN).kinds == (RideKind.UNCLAIMED, RideKind.TIMEOUT)
        assert parse_ride_query("flagged", now=now, tz=BERLIN).flagged_only
        with pytest.raises(RideQueryError, match="无法识别"):
            parse_ride_query("电梯", now=now, tz=BERLIN)
    with pytest.raises(RideQueryError):
        parse_ride_query("待复核", now=now, tz=BERLIN)  # in English the Chinese word is not one


def test_section_validates_and_builds_prices() -> None:
    section = ElevatorSection.model_validate({
        "free_classes": ["staff"],
        "price_rules": [{"name": "night", "fee": "0.50", "from": "22:00", "until": "06:00", "days": ["Fri"]},
                        {"name": "flat", "fee": "0.80"}],
        "cards": [{"id": "04:a1:b2:c3", "class": "resident", "account": "F1"}],
    })
    assert section.snapshot_retention_days == 30  # documented default
    assert section.pricing("EUR").rules[0].fee == Money(50, "EUR")
    assert section.card_list() == [Card("04A1B2C3", "resident", "F1")]
    for bad in (
        {"price_rules": [{"name": "x", "fee": "abc"}]},
        {"price_rules": [{"name": "x", "fee": "1", "from": "22:00"}]},
        {"price_rules": [{"name": "x", "fee": "1", "from": "25:00", "until": "06:00"}]},
        {"price_rules": [{"name": "x", "fee": "1", "floors": [5, 1]}]},
        {"cards": [{"id": "zz"}]},
        {"cards": [{"id": "AA"}, {"id": "aa"}]},
        {"colour": "red"},
        {"snapshot_retention_days": 0},
    ):
        with pytest.raises(ValueError):
            ElevatorSection.model_validate(bad)
    with pytest.raises(ValueError, match="price_rules\\[0\\].fee"):
        ElevatorSection.model_validate({"price_rules": [{"name": "x", "fee": "0.505"}]}).pricing("EUR")
    with pytest.raises(Exception):
        section.url = "x"  # type: ignore[misc]  (frozen)
