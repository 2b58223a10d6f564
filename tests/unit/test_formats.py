"""Dates, times and money as each language writes them (console/formats.py): an English
site keeps day.month.year, a Chinese one writes 2026-03-02 09:00 and ¥ with fen."""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest

from console import formats
from console.domain.money import Money
from console.i18n import language

MOMENT = datetime(2026, 3, 2, 1, 5, 9, tzinfo=timezone.utc)  # 09:05:09 in Shanghai, 02:05:09 in Berlin
SHANGHAI = ZoneInfo("Asia/Shanghai")
BERLIN = ZoneInfo("Europe/Berlin")


@pytest.mark.parametrize(("lang", "want"), [("en", "02.03.2026 09:05"), ("zh_CN", "2026-03-02 09:05")])
def test_a_moment_in_the_sites_zone(lang: str, want: str) -> None:
    with language(lang):
        assert formats.date_time(MOMENT, SHANGHAI) == want
    assert formats.date_time(MOMENT, SHANGHAI, lang=lang) == want


@pytest.mark.parametrize(("lang", "day", "short", "short_seconds", "day_month"), [
    ("en", "02.03.2026", "02.03. 09:05", "02.03. 09:05:09", "02.03."),
    ("zh_CN", "2026-03-02", "03-02 09:05", "03-02 09:05:09", "03-02"),
])
def test_days_and_short_moments(lang: str, day: str, short: str, short_seconds: str, day_month: str) -> None:
    with language(lang):
        assert formats.day(MOMENT, SHANGHAI) == day
        assert formats.day(date(2026, 3, 2)) == day  # a calendar day needs no zone
        assert formats.short_date_time(MOMENT, SHANGHAI) == short
        assert formats.short_date_time(MOMENT, SHANGHAI, seconds=True) == short_seconds
        assert formats.day_month(date(2026, 3, 2)) == formats.day_month(MOMENT, SHANGHAI) == day_month


def test_the_zone_decides_the_day() -> None:
    late = datetime(2026, 3, 1, 22, 30, tzinfo=timezone.utc)  # 23:30 on the 1st in Berlin, 06:30 on the 2nd in Shanghai
    assert formats.day(late, BERLIN, lang="zh_CN") == "2026-03-01"
    assert formats.day(late, SHANGHAI, lang="zh_CN") == "2026-03-02"


def test_the_time_of_day_is_the_same_in_every_language() -> None:
    for lang in ("en", "zh_CN"):
        with language(lang):
            assert formats.clock(MOMENT, SHANGHAI) == "09:05"
            assert formats.clock(MOMENT, SHANGHAI, seconds=True) == "09:05:09"


def test_money_and_durations() -> None:
    fee = Money(1250, "CNY")
    assert formats.money(fee, lang="zh_CN") == "¥12.50" and formats.money(fee, unit=True, lang="zh_CN") == "12.50 元"
    assert formats.money(Money(1250, "EUR"), lang="en") == "€12.50"
    stay = timedelta(days=2, hours=3, minutes=5)
    assert formats.duration(stay, lang="zh_CN") == "2天 03:05" and formats.duration(stay, lang="en") == "2 d 03:05"
