"""The plate rules of a site: the regions it reads, in its order, as one object that
normalizes, validates, formats and finds near matches."""

from __future__ import annotations

from collections.abc import Iterable
from functools import lru_cache

from console.domain.plates.base import Refusal, Region
from console.domain.plates.confusions import PROVINCE_LOOKALIKES, Confusions, PlateMatch
from console.domain.plates.errors import PlateError, Reason
from console.domain.plates.hongkong import HongKong
from console.domain.plates.latin import Latin
from console.domain.plates.macau import Macau
from console.domain.plates.mainland import PROVINCES, Mainland
from console.domain.plates.model import Plate
from console.domain.plates.pinyin import Province, province_candidates
from console.domain.plates.text import clean, is_han, is_plate_ascii, script_of
from console.i18n import _

_REGIONS: dict[str, Region] = {r.code: r for r in (Mainland(), HongKong(), Macau(), Latin())}
# Every region code, in the order docs and messages list them.
REGIONS: tuple[str, ...] = tuple(_REGIONS)
# The regions whose plates carry Chinese characters.
_HAN_REGIONS = frozenset({"cn"})


def _check_characters(given: str, cleaned: str) -> None:
    """Refuse what no region's plate can hold: punctuation, symbols, letters of other
    scripts. Chinese characters are left to the regions (an unknown province is theirs
    to name)."""
    bad = "".join(dict.fromkeys(ch for ch in cleaned if not is_plate_ascii(ch) and not is_han(ch)))
    if not bad:
        return
    scripts = sorted({script_of(ch) for ch in cleaned if ch.isalpha()})
    foreign_letters = any(ch.isalpha() and script_of(ch) != "latin" for ch in bad)
    if foreign_letters and len(scripts) > 1:
        raise PlateError(Reason.MIXED_SCRIPTS, given, cleaned, scripts=",".join(scripts))
    raise PlateError(Reason.CHARACTERS, given, cleaned, chars=bad)


class PlateRules:
    """How a site reads plates: the regions in `regions` (codes from REGIONS), tried in
    that order, and the site's own province (for typing mainland plates).

    A text is a plate when any of the regions accepts it; the first that does names its
    kind. The canonical text does not depend on the regions, so plates stored under one
    set of rules compare equal under another.
    """

    def __init__(self, regions: Iterable[str] = ("latin",), *, home_province: str | None = None) -> None:
        chosen = tuple(dict.fromkeys(regions))
        if not chosen:
            raise ValueError(_("name at least one plate region ({value})").format(value=', '.join(REGIONS)))
        for code in chosen:
            if code not in _REGIONS:
                raise ValueError(_("unknown plate region {code!r} (allowed: {value})").format(code=code, value=', '.join(REGIONS)))
        if home_province is not None:
            if home_province not in PROVINCES:
                raise ValueError(_("unknown province {home_province!r} (a province abbreviation: {PROVINCES})").format(home_province=home_province, PROVINCES=PROVINCES))
            if "cn" not in chosen:
                raise ValueError('a home province needs "cn" among the plate regions')
        self.regions = chosen
        self.home_province = home_province
        self._confusions = Confusions(PROVINCE_LOOKALIKES, provinces=PROVINCES) if "cn" in chosen else Confusions()

    @classmethod
    def every_region(cls) -> PlateRules:
        """Rules that accept a plate of any region (the cloud's default)."""
        return plate_rules(REGIONS)

    def __repr__(self) -> str:
        return f"PlateRules({list(self.regions)!r}, home_province={self.home_province!r})"

    def parse(self, text: str) -> Plate:
        """The plate `text` is, in canonical form with its kind; PlateError says why not."""
        cleaned = clean(text)
        if not cleaned:
            raise PlateError(Reason.EMPTY, text, cleaned)
        _check_characters(text, cleaned)
        refusals: list[Refusal] = []
        for code in self.regions:
            result = _REGIONS[code].parse(cleaned, text)
            if isinstance(result, Plate):
                return result
            refusals.append(result)
        if not _HAN_REGIONS & set(self.regions) and any(is_han(ch) for ch in cleaned):
            for code in sorted(_HAN_REGIONS):
                if isinstance(_REGIONS[code].parse(cleaned, text), Plate):
                    raise PlateError(Reason.OTHER_REGION, text, cleaned, region=code, regions=",".join(self.regions))
        # The region that recognized the most explains; on a tie, the site's first.
        raise max(refusals, key=lambda r: r.affinity).error

    def normalize(self, text: str) -> str:
        """The canonical text of the plate `text` is (stored and compared in this form)."""
        return self.parse(text).text

    def is_plate(self, text: str) -> bool:
        """Whether `text` is a plate under these rules."""
        try:
            self.parse(text)
        except PlateError:
            return False
        return True

    def display(self, plate: str) -> str:
        """A stored plate as it is written (粤BD12345 -> 粤B·D12345). Text these rules
        do not accept (stored under other rules) is shown in its canonical form."""
        try:
            return self.parse(plate).display()
        except PlateError:
            return clean(plate)

    def near_matches(self, read: str, candidates: Iterable[str], limit: int = 5) -> list[PlateMatch]:
        """Plates among `candidates` (canonical texts) that `read` equals or may be a
        misreading of: exact first, then the fewest differences. `read` need not be a
        plate (an O where mainland plates only have 0): it is cleaned and compared."""
        return self._confusions.near_matches(clean(read), candidates, limit)

    def province_candidates(self, typed: str) -> list[Province]:
        """Provinces for pinyin typed at a keyboard (`jing`, `j`, `gd`), the site's own
        province first among equals (pinyin.province_candidates)."""
        return province_candidates(typed, self.home_province)

    def typed_candidates(self, text: str, province: str | None = None) -> list[Plate]:
        """What a plate typed at the booth can mean, to show before it is used.

        With no `province`: the text as typed, and, at a mainland site, with the home
        province in front when the attendant left it out (A12345 -> 粤A12345). With a
        `province` the attendant chose (an abbreviation, 京): that province in front
        first, then the text as typed (a Hong Kong plate at a mixed site). A text that
        starts with a Chinese character is taken as typed. Empty when nothing is a plate.
        """
        cleaned = clean(text)
        prefixed = province if province is not None else self.home_province
        tries = [cleaned]
        if prefixed is not None and "cn" in self.regions and cleaned and not is_han(cleaned[0]):
            if province is not None:
                tries.insert(0, province + cleaned)
            else:
                tries.append(prefixed + cleaned)
        found: list[Plate] = []
        for attempt in tries:
            try:
                plate = self.parse(attempt)
            except PlateError:
                continue
            if plate not in found:
                found.append(plate)
        return found

    def typed_refusal(self, text: str, province: str | None = None) -> PlateError | None:
        """Why `text` (with `province` in front, as typed_candidates puts it) is not a
        plate: the refusal to show the attendant; None when it is one."""
        if self.typed_candidates(text, province):
            return None
        cleaned = clean(text)
        prefixed = province if province is not None else self.home_province
        attempt = cleaned
        if prefixed is not None and "cn" in self.regions and cleaned and not is_han(cleaned[0]):
            attempt = prefixed + cleaned
        try:
            self.parse(attempt)
        except PlateError as exc:
            return exc
        return None


@lru_cache(maxsize=64)
def plate_rules(regions: tuple[str, ...], home_province: str | None = None) -> PlateRules:
    """Shared PlateRules for a tuple of regions (they hold no state that changes)."""
    return PlateRules(regions, home_province=home_province)
