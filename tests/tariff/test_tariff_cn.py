"""Chinese tariffs shipped in tariffs/cn_*.toml, each case worked out by hand from the
published notice named in the file. Times are Beijing time (Asia/Shanghai); 2026-03-03
is a Tuesday."""

from __future__ import annotations

import pytest
from conftest import TARIFFS, at, load
from naive_reference import naive_total

from console.domain.money import Money
from console.domain.tariff import quote

SH = "Asia/Shanghai"

# (tariff, class, entry, exit, expected CNY, the rule and the arithmetic)
CASES: list[tuple[str, str, str, str, str, str]] = [
    # --- Anshan, Qianshan Jicuimen: day 07-19 per half hour, night 19-07 per hour ---
    ("cn_anshan_qianshan", "small_car", "2026-03-03 10:00", "2026-03-03 10:30", "0.00",
     "no more than half an hour is free"),
    ("cn_anshan_qianshan", "small_car", "2026-03-03 10:00", "2026-03-03 10:31", "2.00",
     "31 min pays from the start: 10:00 and 10:30 half hours x 1.00"),
    ("cn_anshan_qianshan", "small_car", "2026-03-03 10:00", "2026-03-03 13:00", "6.00",
     "6 day half hours x 1.00"),
    ("cn_anshan_qianshan", "small_car", "2026-03-03 18:00", "2026-03-03 21:00", "3.00",
     "day 18:00, 18:30 = 2.00; night hours 19:00, 20:00 x 0.50 = 1.00"),
    ("cn_anshan_qianshan", "small_car", "2026-03-03 19:30", "2026-03-04 07:10", "6.00",
     "night hours 19:30 ... 06:30 = 12 x 0.50 (the 06:30 hour is a night unit); the "
     "next unit would start at 07:30, after the exit"),
    ("cn_anshan_qianshan", "small_car", "2026-03-03 08:00", "2026-03-04 08:00", "20.00",
     "24 h: day 22 x 1.00 + night 12 x 0.50 + day 2 x 1.00 = 30.00; a full 24 hours "
     "is 10 day hours = 20.00"),
    ("cn_anshan_qianshan", "small_car", "2026-03-03 08:00", "2026-03-04 14:00", "32.00",
     "first 24 h 20.00; then 08:00-14:00 = 12 day half hours = 12.00"),
    ("cn_anshan_qianshan", "car", "2026-03-03 08:00", "2026-03-05 08:00", "40.00",
     "a car of unknown class pays as a small car: 2 x 20.00"),
    ("cn_anshan_qianshan", "large_car", "2026-03-03 10:00", "2026-03-03 13:00", "9.00",
     "6 day half hours x 1.50"),
    ("cn_anshan_qianshan", "large_car", "2026-03-03 18:00", "2026-03-03 21:00", "5.00",
     "day 2 x 1.50 = 3.00; night 2 x 1.00 = 2.00"),
    ("cn_anshan_qianshan", "large_car", "2026-03-03 08:00", "2026-03-04 08:00", "30.00",
     "24 h: 33.00 + 12.00 + 3.00 = 48.00; a full 24 hours is 10 day hours = 30.00"),
    # --- Zhongxiang, Ming Xianling: first 2 h, then per hour; same-day maximum ---
    ("cn_zhongxiang_mingxianling", "small_car", "2026-03-03 10:00", "2026-03-03 10:29",
     "0.00", "less than 30 minutes is free"),
    ("cn_zhongxiang_mingxianling", "small_car", "2026-03-03 10:00", "2026-03-03 10:30",
     "5.00", "from 30 minutes: the first 2 hours"),
    ("cn_zhongxiang_mingxianling", "small_car", "2026-03-03 10:00", "2026-03-03 12:00",
     "5.00", "exactly 2 hours"),
    ("cn_zhongxiang_mingxianling", "small_car", "2026-03-03 10:00", "2026-03-03 12:01",
     "7.00", "a part of the third hour counts as an hour: 5.00 + 2.00"),
    ("cn_zhongxiang_mingxianling", "small_car", "2026-03-03 10:00", "2026-03-03 15:30",
     "13.00", "5.00 + 4 started hours (12, 13, 14, 15) x 2.00"),
    ("cn_zhongxiang_mingxianling", "small_car", "2026-03-03 08:00", "2026-03-03 20:00",
     "20.00", "5.00 + 10 x 2.00 = 25.00, at most 20.00 the same day"),
    ("cn_zhongxiang_mingxianling", "small_car", "2026-03-03 18:00", "2026-03-04 09:00",
     "31.00", "Tuesday 18-20 5.00 + 20-24 4 x 2.00 = 13.00; Wednesday 00-09 9 x 2.00 = "
     "18.00, under that day's 20.00"),
    ("cn_zhongxiang_mingxianling", "large_car", "2026-03-03 08:00", "2026-03-03 18:00",
     "30.00", "8.00 + 8 x 3.00 = 32.00, at most 30.00 the same day"),
    ("cn_zhongxiang_mingxianling", "large_car", "2026-03-03 10:00", "2026-03-03 13:10",
     "14.00", "8.00 + 2 started hours x 3.00"),
    ("cn_zhongxiang_mingxianling", "motorcycle", "2026-03-03 10:00", "2026-03-03 14:00",
     "2.00", "1.00 + 2 x 0.50"),
    ("cn_zhongxiang_mingxianling", "motorcycle", "2026-03-03 07:00", "2026-03-03 23:00",
     "5.00", "1.00 + 14 x 0.50 = 8.00, at most 5.00 the same day"),
    # --- Guangzhou central districts on-street: per half hour, night cap, 24 h cap ---
    ("cn_guangzhou_onstreet", "small_car", "2026-03-03 10:00", "2026-03-03 11:00",
     "10.00", "2 day half hours x 5.00"),
    ("cn_guangzhou_onstreet", "small_car", "2026-03-03 10:00", "2026-03-03 10:05",
     "5.00", "a started half hour is charged"),
    ("cn_guangzhou_onstreet", "small_car", "2026-03-03 21:00", "2026-03-03 23:00",
     "8.00", "day 21:00 half hour 5.00; night 21:30, 22:00, 22:30 x 1.00"),
    ("cn_guangzhou_onstreet", "small_car", "2026-03-03 21:30", "2026-03-04 07:30",
     "10.00", "20 night half hours = 20.00, at most 10.00 a night"),
    ("cn_guangzhou_onstreet", "small_car", "2026-03-03 08:00", "2026-03-04 08:00",
     "45.00", "27 day half hours alone are 135.00; at most 45.00 per 24 hours"),
    ("cn_guangzhou_onstreet", "car", "2026-03-03 20:00", "2026-03-04 09:00", "40.00",
     "day 20:00-21:30 3 x 5.00 = 15.00; night 20 half hours capped 10.00; day "
     "07:30-09:00 3 x 5.00 = 15.00; 40.00 is under the 45.00 of the first 24 h"),
    ("cn_guangzhou_onstreet", "small_car", "2026-03-03 12:00", "2026-03-04 13:00", "55.00",
     "first 24 h: 19 day half hours 95.00 -> 45.00; then 12:00-13:00 2 x 5.00"),
]


@pytest.mark.parametrize(("name", "vclass", "entry", "exit_", "expected", "why"), CASES,
                         ids=[f"{c[0]}-{i}" for i, c in enumerate(CASES)])
def test_chinese_tariff(name: str, vclass: str, entry: str, exit_: str, expected: str,
                        why: str) -> None:
    t = load(name)
    q = quote(t, at(SH, entry), at(SH, exit_), vehicle_class=vclass)
    assert q.total == Money.parse(expected, "CNY"), (why, [(i.label, str(i.amount)) for i in q.items])
    assert sum(i.amount.minor for i in q.items) == q.total.minor
    assert q.total.minor == naive_total(t, at(SH, entry), at(SH, exit_), vclass)


def test_every_chinese_tariff_names_its_source_and_classes() -> None:
    for name in ("cn_anshan_qianshan", "cn_zhongxiang_mingxianling", "cn_guangzhou_onstreet"):
        t = load(name)
        assert t.currency == "CNY" and t.timezone.key == SH
        assert "small_car" in t.classes and "car" in t.classes
        text = (TARIFFS / f"{name}.toml").read_text(encoding="utf-8")
        assert "http" in text.split("[tariff]")[0]  # the source, in the opening comment
    assert "large_car" in load("cn_anshan_qianshan").classes
    assert "large_car" in load("cn_zhongxiang_mingxianling").classes


def test_a_chinese_quote_explains_itself() -> None:
    q = quote(load("cn_anshan_qianshan"), at(SH, "2026-03-03 18:00"), at(SH, "2026-03-04 19:00"))
    # 25 h from Tuesday 18:00: the first 24 h hold 2 + 22 day half hours and 12 night
    # hours = 30.00, capped at 20.00; the last hour (Wednesday 18:00-19:00) pays 2.00.
    assert [(i.label, i.amount.decimal_text()) for i in q.items] == [
        ("日间 07:00-19:00: 26 x 30 min @ 1.00", "26.00"),
        ("夜间 19:00-07:00: 12 x 1 h @ 0.50", "6.00"),
        ("Maximum 20.00 per 24 h from entry (period 1)", "-10.00"),
    ]
    assert q.total.minor == 2200
