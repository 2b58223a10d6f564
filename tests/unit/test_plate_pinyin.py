"""Typing a mainland plate's Chinese characters by pinyin, on a keyboard with no input method."""

from __future__ import annotations

import pytest

from console.domain.plates import (
    PROVINCES,
    PlateRules,
    last_character_candidates,
    province,
    province_candidates,
)
from console.domain.plates.pinyin import PROVINCES as PINYIN_TABLE


def _abbreviations(typed: str, default: str | None = None) -> str:
    return "".join(p.abbreviation for p in province_candidates(typed, default))


def test_the_table_covers_exactly_the_plate_provinces_in_their_order() -> None:
    assert "".join(p.abbreviation for p in PINYIN_TABLE) == PROVINCES
    assert len({p.initials for p in PINYIN_TABLE}) < 31  # initials collide (hb: 河北 湖北): candidates, not answers


@pytest.mark.parametrize(
    ("typed", "best"),
    [
        ("jing", "京"),
        ("yue", "粤"),
        ("hu", "沪"),
        ("chuan", "川"),
        ("e", "鄂"),
        ("gd", "粤"),  # 广东
        ("guangdong", "粤"),
        ("bj", "京"),
        ("shanghai", "沪"),
        ("shaanxi", "陕"),
        ("shanxi", "晋"),
        ("nmg", "蒙"),
        ("hlj", "黑"),
        ("Jing", "京"),
        ("YUE ", "粤"),
        ("ｙｕｅ", "粤"),  # full-width
        ("粤", "粤"),
        ("粵", "粤"),  # traditional
        ("广东", "粤"),
    ],
)
def test_a_province_by_pinyin_initials_or_name(typed: str, best: str) -> None:
    assert province_candidates(typed)[0].abbreviation == best


def test_candidates_come_in_a_stable_order() -> None:
    # Exact readings first, then prefixes of the reading, the name, the initials.
    assert _abbreviations("j") == "京津冀晋吉苏赣"
    assert _abbreviations("jin") == "津晋京"
    assert _abbreviations("ji") == "冀吉京津晋苏赣"  # 江苏, 江西 by their names
    assert _abbreviations("yu") == "豫渝粤云"
    assert _abbreviations("gui") == "桂贵"
    assert _abbreviations("sh") == "沪陕晋鲁"
    assert _abbreviations("hb") == "冀鄂"
    assert _abbreviations("xyz") == ""
    assert _abbreviations("") == PROVINCES
    assert province_candidates("j") == province_candidates("j")


def test_the_sites_own_province_comes_first_among_equals() -> None:
    assert _abbreviations("", default="粤")[0] == "粤"
    assert sorted(_abbreviations("", default="粤")) == sorted(PROVINCES)
    assert _abbreviations("yu", default="渝") == "渝豫粤云"
    assert _abbreviations("g", default="贵") == "贵赣桂甘粤"
    # It never outranks a better match, and never appears when it does not match.
    assert _abbreviations("jing", default="津")[0] == "京"
    assert "粤" not in _abbreviations("j", default="粤")
    rules = PlateRules(["cn"], home_province="渝")
    assert [p.abbreviation for p in rules.province_candidates("yu")] == ["渝", "豫", "粤", "云"]


def test_a_province_by_its_abbreviation() -> None:
    found = province("粵")
    assert found is not None and (found.abbreviation, found.name, found.pinyin) == ("粤", "广东", "yue")
    assert province("泸") is None


def test_the_special_last_characters() -> None:
    assert last_character_candidates("jing") == ["警"]
    assert last_character_candidates("g") == ["挂", "港"]
    assert last_character_candidates("xue") == ["学"]
    assert last_character_candidates("ao") == ["澳"]
    assert last_character_candidates("l") == ["领"]
    assert last_character_candidates("shi") == ["使"]
    assert last_character_candidates("q") == []
