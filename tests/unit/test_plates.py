"""The plate rules: each kind of plate, each reason a text is refused, near matches."""

from __future__ import annotations

import pytest

from console.domain.plates import (
    LATIN_GROUPS,
    MESSAGES,
    PROVINCE_LOOKALIKES,
    PROVINCES,
    REGIONS,
    PlateError,
    PlateKind,
    PlateRules,
    Reason,
    clean,
    shape_key,
)

LATIN = PlateRules()
CN = PlateRules(["cn"])
HK = PlateRules(["hk"])
MO = PlateRules(["mo"])
CHINA = PlateRules(["cn", "hk", "mo"])


def _refused(rules: PlateRules, text: str) -> PlateError:
    with pytest.raises(PlateError) as info:
        rules.parse(text)
    return info.value


# -- letters and digits (region "latin", the default) --------------------------------------
@pytest.mark.parametrize(("raw", "plate"), [("b-ab 123", "BAB123"), (" KA·4521 ", "KA4521"), ("ab_12.c", "AB12C")])
def test_plates_are_normalized(raw: str, plate: str) -> None:
    assert LATIN.normalize(raw) == plate


@pytest.mark.parametrize("raw", ["", "   ", "AB/12", "ÄB12", "A" * 13, "DROP;TABLE"])
def test_bad_plates_are_refused(raw: str) -> None:
    with pytest.raises(PlateError):
        LATIN.normalize(raw)


def test_the_default_rules_are_letters_and_digits() -> None:
    assert PlateRules().regions == ("latin",)
    assert LATIN.parse("A" * 12).kind is PlateKind.LATIN
    assert LATIN.display("BAB123") == "BAB123"


# -- mainland China ---------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("raw", "canonical", "kind", "shown"),
    [
        ("京A12345", "京A12345", PlateKind.CN_REGULAR, "京A·12345"),
        ("京A·DH123", "京ADH123", PlateKind.CN_REGULAR, "京A·DH123"),
        ("粤B·D12345", "粤BD12345", PlateKind.CN_NEW_ENERGY_SMALL, "粤B·D12345"),
        ("沪AD12345", "沪AD12345", PlateKind.CN_NEW_ENERGY_SMALL, "沪A·D12345"),
        ("沪A F1234 5", "沪AF12345", PlateKind.CN_NEW_ENERGY_SMALL, "沪A·F12345"),
        ("粤B·A12345", "粤BA12345", PlateKind.CN_NEW_ENERGY_SMALL, "粤B·A12345"),  # after D ran out
        ("粤B·KX1234", "粤BKX1234", PlateKind.CN_NEW_ENERGY_SMALL, "粤B·KX1234"),
        ("粤B·12345D", "粤B12345D", PlateKind.CN_NEW_ENERGY_LARGE, "粤B·12345D"),
        ("苏E·12345F", "苏E12345F", PlateKind.CN_NEW_ENERGY_LARGE, "苏E·12345F"),
        ("鲁B·1234挂", "鲁B1234挂", PlateKind.CN_TRAILER, "鲁B·1234挂"),
        ("川A·1234学", "川A1234学", PlateKind.CN_COACH, "川A·1234学"),
        ("京A·0123警", "京A0123警", PlateKind.CN_POLICE, "京A·0123警"),
        ("川O·1234警", "川O1234警", PlateKind.CN_POLICE, "川O·1234警"),
        ("粤Z·1234港", "粤Z1234港", PlateKind.CN_HONG_KONG, "粤Z·1234港"),
        ("粤Z·A123澳", "粤ZA123澳", PlateKind.CN_MACAU, "粤Z·A123澳"),
        ("沪A·1234领", "沪A1234领", PlateKind.CN_CONSULATE, "沪A·1234领"),
        ("使224·009", "使224009", PlateKind.CN_EMBASSY, "使224·009"),
        ("京A·1234使", "京A1234使", PlateKind.CN_EMBASSY, "京A·1234使"),
    ],
)
def test_each_kind_of_mainland_plate(raw: str, canonical: str, kind: PlateKind, shown: str) -> None:
    plate = CN.parse(raw)
    assert (plate.text, plate.kind, plate.region, plate.display()) == (canonical, kind, "cn", shown)
    assert CN.display(canonical) == shown
    assert CN.normalize(shown) == canonical


def test_the_31_provinces() -> None:
    assert len(PROVINCES) == len(set(PROVINCES)) == 31
    for province in PROVINCES:
        assert CN.normalize(f"{province}A12345") == f"{province}A12345"


@pytest.mark.parametrize(
    ("typed", "canonical"),
    [
        ("粤b·d12345", "粤BD12345"),  # lower case
        ("粤Ｂ・Ｄ１２３４５", "粤BD12345"),  # full-width, katakana middle dot
        ("粤B•D12345", "粤BD12345"),  # bullet
        ("粤 B - D 1 2 3 4 5", "粤BD12345"),  # spaces, hyphen
        ("粤B\u3000D12345", "粤BD12345"),  # ideographic space
        ("粵B·D12345", "粤BD12345"),  # traditional 粵
        ("滬A·12345", "沪A12345"),
        ("魯B·1234掛", "鲁B1234挂"),
    ],
)
def test_what_readers_and_people_type(typed: str, canonical: str) -> None:
    assert CN.normalize(typed) == canonical
    assert CN.normalize(canonical) == canonical


# -- every reason, with its code and parameters ------------------------------------------------
@pytest.mark.parametrize(
    ("rules", "text", "reason", "params"),
    [
        (CN, " · ", Reason.EMPTY, {}),
        (CN, "京A12/45", Reason.CHARACTERS, {"chars": "/"}),
        (LATIN, "ÄB12", Reason.CHARACTERS, {"chars": "Ä"}),
        (CN, "京А12345", Reason.MIXED_SCRIPTS, {"scripts": "cyrillic,han"}),  # Cyrillic А
        (LATIN, "AB12ВС", Reason.MIXED_SCRIPTS, {"scripts": "cyrillic,latin"}),
        (CN, "京A1234", Reason.LENGTH, {"kind": "cn", "expected": "7 or 8", "actual": 6}),
        (CN, "京A1234567", Reason.LENGTH, {"kind": "cn", "expected": "7 or 8", "actual": 9}),
        (CN, "京A123挂", Reason.LENGTH, {"kind": "cn_trailer", "expected": "7", "actual": 6}),
        (CN, "使22400", Reason.LENGTH, {"kind": "cn_embassy", "expected": "7", "actual": 6}),
        (LATIN, "A" * 13, Reason.LENGTH, {"kind": "latin", "expected": "1 to 12", "actual": 13}),
        (HK, "AB12345678", Reason.LENGTH, {"kind": "hk", "expected": "1 to 8", "actual": 10}),
        (CN, "泸A12345", Reason.UNKNOWN_PROVINCE, {"char": "泸"}),
        (CN, "A12345", Reason.NO_PROVINCE, {"char": "A"}),
        (CN, "京112345", Reason.ISSUER, {"char": "1"}),
        (CN, "京I12345", Reason.ISSUER, {"char": "I"}),
        (CN, "京O12345", Reason.ISSUER, {"char": "O"}),  # O only for police cars
        (CN, "京A1234O", Reason.LETTER_NOT_USED, {"char": "O", "region": "cn", "position": 7}),
        (CN, "京AI2345", Reason.LETTER_NOT_USED, {"char": "I", "region": "cn", "position": 3}),
        (CN, "粤BD1O345", Reason.LETTER_NOT_USED, {"char": "O", "region": "cn", "position": 5}),
        (HK, "AQ1234", Reason.LETTER_NOT_USED, {"char": "Q", "region": "hk", "position": 2}),
        (CN, "粤BD1234X", Reason.NEW_ENERGY, {}),
        (CN, "粤BX12345", Reason.NEW_ENERGY, {}),  # X is no new-energy letter
        (CN, "粤B1234AD", Reason.NEW_ENERGY, {}),
        (CN, "粤B12345A", Reason.NEW_ENERGY, {}),  # large vehicles: D or F only
        (CN, "京A挂1234", Reason.MISPLACED, {"char": "挂", "position": 3}),
        (CN, "京A1234京", Reason.MISPLACED, {"char": "京", "position": 7}),
        (CN, "湘Z1234港", Reason.CROSS_BORDER, {"char": "港"}),
        (CN, "粤B1234澳", Reason.CROSS_BORDER, {"char": "澳"}),
        (CN, "使22A009", Reason.SHAPE, {"region": "cn", "example": "使224·009"}),
        (MO, "MAB1234", Reason.SHAPE, {"region": "mo", "example": "MA-12-34"}),
        (LATIN, "京A12345", Reason.OTHER_REGION, {"region": "cn", "regions": "latin"}),
        (PlateRules(["hk", "mo"]), "粤B·D12345", Reason.OTHER_REGION, {"region": "cn", "regions": "hk,mo"}),
    ],
)
def test_every_refusal_has_its_reason(rules: PlateRules, text: str, reason: Reason, params: dict[str, object]) -> None:
    error = _refused(rules, text)
    assert error.reason is reason
    assert dict(error.params) == params
    assert error.text == text and error.cleaned == clean(text)
    assert isinstance(error, ValueError)


def test_messages_come_from_the_code_and_its_parameters() -> None:
    assert set(MESSAGES) == set(Reason)
    assert str(_refused(CN, "泸A12345")) == "'泸A12345' is not a plate: '泸' is not a province abbreviation"
    assert str(_refused(CN, "京A1234")) == "'京A1234' is not a plate: mainland plates have 7 or 8 characters, not 6"
    assert str(_refused(CN, "京A1234O")) == "'京A1234O' is not a plate: the letter O is not used on mainland Chinese plates (character 7)"
    assert str(_refused(CN, "京А12345")) == "'京А12345' is not a plate: it mixes Cyrillic and Chinese letters"
    assert str(_refused(LATIN, "京A12345")) == (
        "'京A12345' is not a plate this site reads: it is a mainland Chinese plate (the site reads letters-and-digits plates)"
    )
    assert str(_refused(CN, "")) == "no plate given"
    # Existing messages keep saying "not a plate" (the attendant's cue).
    assert "not a plate" in str(_refused(LATIN, "AB/12"))


def test_the_best_explanation_wins_among_several_regions() -> None:
    # A mainland text at a mainland + letters site: the mainland rules explain.
    assert _refused(PlateRules(["latin", "cn"]), "京A1234").reason is Reason.LENGTH
    # Letters only: the letters rule explains a length, not a missing province.
    assert _refused(PlateRules(["cn", "latin"]), "A" * 13).reason is Reason.LENGTH
    # A mainland-only site explains what is missing.
    assert _refused(CN, "AB1234").reason is Reason.NO_PROVINCE


# -- Hong Kong and Macau ----------------------------------------------------------------------
@pytest.mark.parametrize(
    ("rules", "raw", "canonical", "kind", "shown"),
    [
        (HK, "AB 1234", "AB1234", PlateKind.HK_REGULAR, "AB 1234"),
        (HK, "hk 1", "HK1", PlateKind.HK_REGULAR, "HK 1"),
        (HK, "W 28", "W28", PlateKind.HK_REGULAR, "W 28"),
        (HK, "LUCKY 8", "LUCKY8", PlateKind.HK_PERSONALISED, "LUCKY8"),
        (HK, "18", "18", PlateKind.HK_PERSONALISED, "18"),
        (MO, "MA-12-34", "MA1234", PlateKind.MO_CAR, "MA-12-34"),
        (MO, "M-12-34", "M1234", PlateKind.MO_CAR, "M-12-34"),
        (MO, "AA-12-34", "AA1234", PlateKind.MO_CAR, "AA-12-34"),
        (MO, "CM-12345", "CM12345", PlateKind.MO_MOTORCYCLE, "CM-12345"),
    ],
)
def test_hong_kong_and_macau_plates(rules: PlateRules, raw: str, canonical: str, kind: PlateKind, shown: str) -> None:
    plate = rules.parse(raw)
    assert (plate.text, plate.kind, plate.display()) == (canonical, kind, shown)


def test_several_regions_at_once_in_the_sites_order() -> None:
    assert CHINA.parse("粤B·D12345").kind is PlateKind.CN_NEW_ENERGY_SMALL
    assert CHINA.parse("AB 1234").kind is PlateKind.HK_REGULAR  # hk before mo
    assert PlateRules(["mo", "hk"]).parse("AB 1234").kind is PlateKind.MO_CAR
    assert CHINA.parse("CM-12345").kind is PlateKind.HK_PERSONALISED
    assert PlateRules(["mo", "hk"]).parse("CM-12345").kind is PlateKind.MO_MOTORCYCLE
    # The canonical text is the same whatever the rules.
    assert {r.normalize("ma-12-34") for r in (HK, MO, CHINA, LATIN)} == {"MA1234"}
    assert PlateRules.every_region().regions == REGIONS


def test_unknown_regions_and_provinces_are_named() -> None:
    with pytest.raises(ValueError, match=r"unknown plate region 'tw' \(allowed: cn, hk, mo, latin\)"):
        PlateRules(["cn", "tw"])
    with pytest.raises(ValueError, match="at least one plate region"):
        PlateRules([])
    with pytest.raises(ValueError, match="unknown province '泸'"):
        PlateRules(["cn"], home_province="泸")
    with pytest.raises(ValueError, match='needs "cn"'):
        PlateRules(["latin"], home_province="粤")


# -- near matches ------------------------------------------------------------------------------
def test_exact_match_wins() -> None:
    found = LATIN.near_matches("AB1234C", ["AB1234C", "A81234C"])
    assert found[0].plate == "AB1234C" and found[0].exact


def test_reader_confusions_give_near_matches() -> None:
    assert [m.plate for m in LATIN.near_matches("AB1234C", ["A81234C"])] == ["A81234C"]
    assert [m.plate for m in LATIN.near_matches("KO5512", ["K05512", "KOS512", "XX0000"])] == ["K05512", "KOS512"]
    assert LATIN.near_matches("K05512", ["KO5512"])[0].differences == 1


def test_other_differences_never_match() -> None:
    assert LATIN.near_matches("AB1234C", ["AB1234D", "AB12345", "AB123C"]) == []


def test_near_matches_order_by_fewest_differences() -> None:
    found = LATIN.near_matches("B0B1", ["808I", "B0BI"])
    assert [m.plate for m in found] == ["B0BI", "808I"]
    assert shape_key("B0B1") == shape_key("808I")


def test_latin_groups_are_as_before() -> None:
    assert LATIN_GROUPS == ("O0DQ", "I1L", "B8", "S5", "Z2", "G6", "A4", "T7")


def test_mainland_reads_with_i_or_o_are_offered_the_plates_they_resemble() -> None:
    open_plates = ["京A12340", "京A12345", "粤BD12345", "京A1234D"]
    assert [(m.plate, m.differences) for m in CN.near_matches("京A1234O", open_plates)] == [("京A12340", 1), ("京A1234D", 1)]
    assert [m.plate for m in CN.near_matches("粤B D1Z345", open_plates)] == ["粤BD12345"]  # 2/Z
    assert [m.plate for m in CN.near_matches("粤B·0I2345", open_plates)] == ["粤BD12345"]  # 0/D, I/1
    assert [m.plate for m in CN.near_matches("粤8D12345", open_plates)] == ["粤BD12345"]  # 8/B


def test_look_alike_provinces_are_offered_pairwise() -> None:
    assert [m.plate for m in CN.near_matches("津A12345", ["京A12345"])] == ["京A12345"]
    assert [m.plate for m in CN.near_matches("沪A12345", ["津A12345", "浙A12345", "京A12345"])] == ["津A12345", "浙A12345"]
    assert CN.near_matches("京A12345", ["沪A12345"]) == []  # 京~津 and 津~沪, but not 京~沪
    assert CN.near_matches("京A12345", ["粤A12345"]) == []
    # Letters-only rules know no provinces.
    assert LATIN.near_matches("津A12345", ["京A12345"]) == []
    for group in PROVINCE_LOOKALIKES:
        assert set(group) <= set(PROVINCES)


def test_a_read_that_lost_its_province_is_offered_the_plate() -> None:
    found = CN.near_matches("A12345", ["京A12345", "京B12345", "A12345X"])
    assert [(m.plate, m.differences) for m in found] == [("京A12345", 1)]
    assert [m.plate for m in CN.near_matches("BD1Z345", ["粤BD12345"])] == ["粤BD12345"]
    assert LATIN.near_matches("A12345", ["京A12345"]) == []


# -- typing at the booth -----------------------------------------------------------------------
def test_typed_plates_offer_the_home_province() -> None:
    home = PlateRules(["cn"], home_province="粤")
    assert [p.text for p in home.typed_candidates("b d12345")] == ["粤BD12345"]
    assert [p.text for p in home.typed_candidates("京A12345")] == ["京A12345"]
    assert home.typed_candidates("b") == []
    both = PlateRules(["cn", "hk"], home_province="粤")
    # Both readings are plates: the attendant picks one, nothing is assumed.
    assert [(p.text, p.kind) for p in both.typed_candidates("AB1234")] == [("AB1234", PlateKind.HK_REGULAR), ("粤AB1234", PlateKind.CN_REGULAR)]
    assert [p.text for p in both.typed_candidates("粤AB1234")] == ["粤AB1234"]
    assert CN.typed_candidates("A12345") == []


def test_docs_name_every_reason_and_region() -> None:
    from pathlib import Path

    text = (Path(__file__).resolve().parents[2] / "docs" / "plates.md").read_text(encoding="utf-8")
    for reason in Reason:
        assert f"| `{reason.value}` |" in text, reason
    for region in REGIONS:
        assert f"| `{region}` |" in text, region
