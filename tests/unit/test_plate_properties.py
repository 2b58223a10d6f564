"""Property tests of the plate rules: a generator per region and kind, the ways readers
and people garble plates, and the promise that a garbled plate is either the same plate
or refused, never another one."""

from __future__ import annotations

from dataclasses import dataclass

from hypothesis import given
from hypothesis import strategies as st

from console.domain.plates import PROVINCES, PlateError, PlateKind, PlateRules, clean
from console.domain.plates.confusions import LATIN_GROUPS
from console.domain.plates.text import TRADITIONAL

LETTERS = "ABCDEFGHJKLMNPQRSTUVWXYZ"  # no I, no O
DIGITS = "0123456789"
SERIAL = LETTERS + DIGITS
HK_LETTERS = LETTERS.replace("Q", "")
ALL_LETTERS = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
SIMPLIFIED_TO_TRADITIONAL = {s: t for t, s in TRADITIONAL.items()}


def _chars(alphabet: str, n: int) -> st.SearchStrategy[str]:
    return st.text(alphabet=alphabet, min_size=n, max_size=n)


@dataclass(frozen=True)
class Case:
    """A generated valid plate: its region's code, its canonical text, its kind (None when
    the kind may be either of a region's kinds)."""

    region: str
    text: str
    kind: PlateKind | None


province = st.sampled_from(PROVINCES)
issuer = st.sampled_from(LETTERS)

cn_regular = st.builds(lambda p, i, s: Case("cn", p + i + s, PlateKind.CN_REGULAR), province, issuer, _chars(SERIAL, 5))
cn_new_energy_small = st.builds(
    lambda p, i, e, x, d: Case("cn", p + i + e + x + d, PlateKind.CN_NEW_ENERGY_SMALL),
    province, issuer, st.sampled_from("DABCEFGHJK"), st.sampled_from(SERIAL), _chars(DIGITS, 4),
)  # fmt: skip
cn_new_energy_large = st.builds(
    lambda p, i, d, e: Case("cn", p + i + d + e, PlateKind.CN_NEW_ENERGY_LARGE), province, issuer, _chars(DIGITS, 5), st.sampled_from("DF")
)
_SUFFIX_KINDS = {"挂": PlateKind.CN_TRAILER, "学": PlateKind.CN_COACH, "警": PlateKind.CN_POLICE, "领": PlateKind.CN_CONSULATE, "使": PlateKind.CN_EMBASSY}
cn_suffixed = st.builds(
    lambda p, i, s, x: Case("cn", p + i + s + x, _SUFFIX_KINDS[x]), province, issuer, _chars(SERIAL, 4), st.sampled_from(sorted(_SUFFIX_KINDS))
)
cn_police_o = st.builds(lambda p, s: Case("cn", f"{p}O{s}警", PlateKind.CN_POLICE), province, _chars(SERIAL, 4))
cn_cross_border = st.builds(
    lambda s, x: Case("cn", f"粤Z{s}{x}", PlateKind.CN_HONG_KONG if x == "港" else PlateKind.CN_MACAU), _chars(SERIAL, 4), st.sampled_from("港澳")
)
cn_embassy = st.builds(lambda d: Case("cn", "使" + d, PlateKind.CN_EMBASSY), _chars(DIGITS, 6))
hk_regular = st.builds(
    lambda letters, first, rest: Case("hk", letters + first + rest, PlateKind.HK_REGULAR),
    st.text(alphabet=HK_LETTERS, min_size=1, max_size=2), st.sampled_from("123456789"), st.text(alphabet=DIGITS, max_size=3),
)  # fmt: skip
hk_any = st.builds(lambda t: Case("hk", t, None), st.text(alphabet=HK_LETTERS + DIGITS, min_size=1, max_size=8))
mo_car = st.builds(lambda letters, d: Case("mo", letters + d, PlateKind.MO_CAR), st.text(alphabet=ALL_LETTERS, min_size=1, max_size=2), _chars(DIGITS, 4))
mo_motorcycle = st.builds(lambda d: Case("mo", "CM" + d, PlateKind.MO_MOTORCYCLE), _chars(DIGITS, 5))
latin = st.builds(lambda t: Case("latin", t, PlateKind.LATIN), st.text(alphabet=ALL_LETTERS + DIGITS, min_size=1, max_size=12))

MAINLAND = st.one_of(cn_regular, cn_new_energy_small, cn_new_energy_large, cn_suffixed, cn_police_o, cn_cross_border, cn_embassy)
EVERY_KIND = st.one_of(MAINLAND, hk_regular, hk_any, mo_car, mo_motorcycle, latin)

# Characters no plate of the region can hold, whatever else is done to the text.
POISON_EVERYWHERE = "/;#@!?*+&%$§Ä" + "АВСЕНКМОРТХ" + "ΑΒΕΖΗΙΚΜΝΟΡΤΥΧ"  # Cyrillic and Greek look-alikes of Latin letters
POISON = {"cn": POISON_EVERYWHERE + "IO", "hk": POISON_EVERYWHERE + "IOQ", "mo": POISON_EVERYWHERE, "latin": POISON_EVERYWHERE}
SEPARATORS = [" ", "  ", "·", "・", "•", "-", "–", "_", ".", "\u3000", "\t"]


def _full_width(ch: str) -> str:
    return chr(ord(ch) + 0xFEE0) if "!" <= ch <= "~" else ch


@st.composite
def cosmetic(draw: st.DrawFn, text: str) -> str:
    """`text` as a reader or an attendant may give it: separators, lower case, full-width
    forms, traditional characters. Still the same plate."""
    out = []
    for ch in text:
        form = draw(st.sampled_from(["same", "lower", "wide", "traditional"]))
        if form == "lower":
            ch = ch.lower()
        elif form == "wide":
            ch = _full_width(ch)
        elif form == "traditional":
            ch = SIMPLIFIED_TO_TRADITIONAL.get(ch, ch)
        out.append(ch)
        if draw(st.booleans()):
            out.append(draw(st.sampled_from(SEPARATORS)))
    return draw(st.sampled_from(["", " "])) + "".join(out) + draw(st.sampled_from(["", " ", "\n"]))


@given(EVERY_KIND)
def test_every_generated_plate_is_accepted_as_itself(case: Case) -> None:
    plate = PlateRules([case.region]).parse(case.text)
    assert plate.text == case.text
    assert plate.region == case.region
    if case.kind is not None:
        assert plate.kind is case.kind
    # The cloud, reading every region, sees the same canonical text.
    assert PlateRules.every_region().normalize(case.text) == case.text
    # What is written on the plate reads back as the plate.
    assert PlateRules([case.region]).normalize(plate.display()) == case.text


@given(st.data(), EVERY_KIND)
def test_cosmetic_changes_give_the_same_plate(data: st.DataObject, case: Case) -> None:
    typed = data.draw(cosmetic(case.text))
    assert PlateRules([case.region]).normalize(typed) == case.text


@given(st.data(), EVERY_KIND)
def test_a_mutated_plate_is_the_same_plate_or_refused(data: st.DataObject, case: Case) -> None:
    rules = PlateRules([case.region])
    text = data.draw(cosmetic(case.text))
    for _ in range(data.draw(st.integers(0, 2))):
        at = data.draw(st.integers(0, len(text)))
        text = text[:at] + data.draw(st.sampled_from(POISON[case.region])) + text[at:]
    try:
        assert rules.normalize(text) == case.text
    except PlateError:
        pass


@given(st.data(), EVERY_KIND)
def test_poison_is_always_refused(data: st.DataObject, case: Case) -> None:
    text = data.draw(cosmetic(case.text))
    at = data.draw(st.integers(0, len(text)))
    poisoned = text[:at] + data.draw(st.sampled_from(POISON[case.region])) + text[at:]
    try:
        PlateRules([case.region]).parse(poisoned)
    except PlateError as exc:
        assert str(exc) and exc.reason.value
    else:
        raise AssertionError(f"{poisoned!r} was accepted")


@given(st.text())
def test_cleaning_is_idempotent(text: str) -> None:
    assert clean(clean(text)) == clean(text)


@given(st.text(max_size=30))
def test_any_text_is_a_plate_or_a_plate_error_and_normalizing_is_idempotent(text: str) -> None:
    rules = PlateRules.every_region()
    try:
        once = rules.normalize(text)
    except PlateError as exc:
        assert exc.cleaned == clean(text)
        return
    assert rules.normalize(once) == once


@given(st.data(), MAINLAND)
def test_a_reader_confusion_is_offered_never_taken_as_exact(data: st.DataObject, case: Case) -> None:
    rules = PlateRules(["cn"])
    at = data.draw(st.integers(0, len(case.text) - 1))
    group = next((g for g in LATIN_GROUPS if case.text[at] in g), None)
    if group is None:
        return
    misread = case.text[:at] + data.draw(st.sampled_from(group.replace(case.text[at], ""))) + case.text[at + 1 :]
    found = rules.near_matches(misread, [case.text, "京A00000"])
    assert [(m.plate, m.exact) for m in found if m.plate == case.text] == [(case.text, False)]
