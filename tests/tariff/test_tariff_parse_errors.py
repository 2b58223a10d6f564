"""Bad tariff documents: one clear problem per mistake, each naming its key."""

from __future__ import annotations

import pytest
from conftest import TARIFFS

from console.domain.tariff import TariffError, parse_tariff

GOOD = """
[tariff]
id = "t"
version = 1
currency = "EUR"
timezone = "Europe/Berlin"

[windows.day]
from = "08:00"
to = "20:00"

[windows.night]
from = "20:00"
to = "08:00"

[classes.car]
caps.per_calendar_day = "20.00"

[classes.car.rates.day]
unit = "1h"
price = "2.50"

[classes.car.rates.night]
unit = "1h"
price = "1.00"
max_per_occurrence = "5.00"
"""


def problems(text: str) -> list[tuple[str, str]]:
    with pytest.raises(TariffError) as caught:
        parse_tariff(text, source="bad.toml")
    err = caught.value
    text_lines = str(err).splitlines()
    assert len(text_lines) == len(err.problems)
    assert all(line.startswith("bad.toml: ") for line in text_lines)
    return [(p.key, p.message) for p in err.problems]


def keys(text: str) -> list[str]:
    return [k for k, _ in problems(text)]


def test_the_good_document_parses() -> None:
    t = parse_tariff(GOOD)
    assert t.tariff_id == "t@1"
    assert [w.name for w in t.windows] == ["day", "night"]


@pytest.mark.parametrize("path", sorted(TARIFFS.glob("*.toml")), ids=lambda p: p.name)
def test_every_shipped_tariff_is_valid(path) -> None:  # type: ignore[no-untyped-def]
    parse_tariff(path.read_text(encoding="utf-8"), str(path))


def test_bad_toml() -> None:
    found = problems(GOOD.replace('to = "20:00"', 'to = "20:00'))
    assert len(found) == 1
    assert found[0][0] == ""
    assert "not valid TOML" in found[0][1] and "line" in found[0][1]


def test_overlapping_windows() -> None:
    found = problems(GOOD.replace('from = "20:00"', 'from = "19:00"'))
    assert found == [("windows.night", "overlaps windows.day at 19:00-20:00 on Mondays, "
                                       "Tuesdays, Wednesdays and 4 more kinds of day")]


def test_missing_window_time() -> None:
    found = problems(GOOD.replace('to = "08:00"', 'to = "07:00"'))
    assert found == [("windows", "no window covers 07:00-08:00 on Mondays, Tuesdays, "
                                 "Wednesdays and 4 more kinds of day")]


def test_missing_window_on_some_days() -> None:
    text = GOOD.replace('[windows.day]\nfrom = "08:00"', '[windows.day]\ndays = ["weekdays"]\nfrom = "08:00"')
    assert problems(text) == [("windows", "no window covers 08:00-20:00 on Saturdays, Sundays")]


def test_window_gap_only_on_holidays() -> None:
    text = GOOD.replace('[windows.day]\nfrom = "08:00"',
                        '[calendar]\nholidays = [2026-12-25]\nholidays_as = "holiday"\n\n'
                        '[windows.day]\ndays = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]\n'
                        'from = "08:00"')
    found = problems(text)
    assert len(found) == 1
    assert found[0][1].startswith("no window covers 08:00-20:00 on a holiday on a Monday, ")


def test_negative_price() -> None:
    assert problems(GOOD.replace('price = "2.50"', 'price = "-2.50"')) == [
        ("classes.car.rates.day.price", "must not be negative (got -2.50)")]


def test_unknown_currency() -> None:
    found = problems(GOOD.replace('"EUR"', '"EURO"'))
    assert found[0][0] == "tariff.currency"
    assert "unknown currency 'EURO'" in found[0][1]


def test_unit_of_zero_minutes() -> None:
    assert problems(GOOD.replace('unit = "1h"\nprice = "1.00"', 'unit = 0\nprice = "1.00"')) == [
        ("classes.car.rates.night.unit", "must be longer than 0 minutes")]


def test_cap_lower_than_a_unit_price() -> None:
    found = problems(GOOD.replace('max_per_occurrence = "5.00"', 'max_per_occurrence = "0.50"'))
    assert found[0][0] == "classes.car.rates.night.max_per_occurrence"
    assert "less than one unit" in found[0][1]
    found = problems(GOOD.replace('per_calendar_day = "20.00"', 'per_calendar_day = "2.00"'))
    assert found[0][0] == "classes.car.caps.per_calendar_day"
    assert "2.00 is less than one unit of rate 'day' (2.50)" in found[0][1]


def test_too_many_decimals_and_not_an_amount() -> None:
    found = problems(GOOD.replace('price = "2.50"', 'price = "2.505"').replace(
        'price = "1.00"', 'price = "one"'))
    assert ("classes.car.rates.day.price", "2.505 has more than 2 decimals for EUR") in found
    assert ("classes.car.rates.night.price", "'one' is not an amount") in found


def test_unknown_time_zone_and_missing_keys() -> None:
    found = dict(problems('[tariff]\nid = "x"\ntimezone = "Mars/Olympus"\n'))
    assert "unknown time zone 'Mars/Olympus'" in found["tariff.timezone"]
    assert found["tariff.version"].startswith("is required")
    assert found["tariff.currency"] == "is required"
    assert "declare at least one vehicle class" in found["classes"]


def test_unknown_keys_are_named() -> None:
    found = dict(problems(GOOD.replace('unit = "1h"\nprice = "2.50"',
                                       'unit = "1h"\nprice = "2.50"\nprise = "3.00"')))
    assert "unknown key" in found["classes.car.rates.day.prise"]


def test_rates_must_match_windows() -> None:
    text = GOOD.replace("[classes.car.rates.night]", "[classes.car.rates.nite]")
    found = dict(problems(text))
    assert found["classes.car.rates.night"] == "window 'night' has no rate for this class"
    assert "no window named 'nite'" in found["classes.car.rates.nite"]


def test_bad_times_days_and_durations() -> None:
    text = GOOD.replace('from = "08:00"', 'from = "25:00"', 1).replace(
        '[windows.night]', '[windows.night]\ndays = ["funday"]')
    text = text.replace('unit = "1h"\nprice = "2.50"', 'unit = "an hour"\nprice = "2.50"')
    found = dict(problems(text))
    assert "not a time of day" in found["windows.day.from"]
    assert "'funday' is not a day" in found["windows.night.days[0]"]
    assert "'an hour' is not a duration" in found["classes.car.rates.day.unit"]


def test_every_problem_is_reported_at_once() -> None:
    text = GOOD.replace('"EUR"', '"XXX"').replace('price = "2.50"', 'price = "-1"').replace(
        'unit = "1h"\nprice = "1.00"', 'unit = 0\nprice = "1.00"')
    found = keys(text)
    assert "tariff.currency" in found
    assert "classes.car.rates.night.unit" in found
    assert len(found) >= 2


def test_offer_without_an_end() -> None:
    text = GOOD + '\n[[classes.car.offers]]\nid = "evening"\nprice = "10.00"\nenter_from = "17:00"\n'
    assert problems(text) == [("classes.car.offers[0]", "an offer needs leave_by or max_duration: "
                                                        "without an end it would price a stay "
                                                        "of any length")]


def test_bands_must_grow() -> None:
    text = GOOD.replace('unit = "1h"\nprice = "2.50"',
                        'bands = [{ up_to = "2h", price = "5.00" }, { up_to = "1h", price = "6.00" }]')
    assert problems(text) == [("classes.car.rates.day.bands[1].up_to",
                               "bands must grow longer one after another")]
    text = GOOD.replace('unit = "1h"\nprice = "2.50"',
                        'bands = [{ up_to = "1h", price = "5.00" }, { up_to = "2h", price = "4.00" }]')
    assert problems(text)[0][0] == "classes.car.rates.day.bands[1].price"


def test_members_and_validations_are_checked() -> None:
    text = GOOD + """
[members.night-pass]
windows = ["nightly"]
percent_off = 120
[validations.X]
minutes_off = 30
amount_off = "1.00"
[validations.Y]
percent_off = 0
"""
    found = dict(problems(text))
    assert found["members.night-pass.percent_off"] == "must be a whole percentage from 1 to 100"
    assert found["members.night-pass.windows"] == "no window named 'nightly'"
    assert "exactly one of" in found["validations.X"]
    assert found["validations.Y.percent_off"] == "must be a whole percentage from 1 to 100"


def test_holiday_day_type_needs_the_calendar_setting() -> None:
    text = GOOD.replace('[windows.day]\nfrom', '[windows.day]\ndays = ["all"]\nfrom').replace(
        '[windows.night]\n', '[windows.night]\ndays = ["mon", "holiday"]\n')
    found = dict(problems(text))
    assert "needs calendar.holidays_as" in found["windows.night.days[1]"]


def test_inheritance_cycle() -> None:
    text = GOOD + '\n[classes.a]\ninherits = "b"\n[classes.b]\ninherits = "a"\n'
    found = dict(problems(text))
    assert "circle" in found.get("classes.a.inherits", found.get("classes.b.inherits", ""))


def test_wrong_types_do_not_crash() -> None:
    for bad in ("windows = 5", "classes = []", "[rounding]\nstep = true", "[calendar]\nholidays = 3",
                "[rules]\ngrace = -5", "[rules]\nunit_boundary = \"sideways\""):
        text = bad + "\n" + GOOD if not bad.startswith("[") else GOOD + "\n" + bad
        assert problems(text)
