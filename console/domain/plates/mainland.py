"""Mainland Chinese plates (region "cn"), after GA 36-2018 and the Ministry of Public
Security's rules for new-energy plates. docs/plates.md gives the forms and sources.

    京A12345     province, issuing office's letter, 5 letters or digits (no I, no O)
    粤BD12345    small new-energy car: D/A/B/C/E (electric) or F/G/H/J/K (other), a letter
                 or digit, then 4 digits
    粤B12345D    large new-energy vehicle: 5 digits, then D (electric) or F (other)
    粤B1234挂    trailer 挂, driving school 学, police 警 (issuing letter O allowed),
                 consulate 领, embassy 使; Hong Kong 港 and Macau 澳 cross-border (粤Z only)
    使224009     embassy: 使, the mission's 3-digit code, a 3-digit serial
"""

from __future__ import annotations

from console.domain.plates.base import Refusal, refuse
from console.domain.plates.errors import Reason
from console.domain.plates.model import Plate, PlateKind
from console.domain.plates.text import is_han

# The 31 provinces, autonomous regions and municipalities, in the order of GB/T 2260.
PROVINCES = "京津冀晋蒙辽吉黑沪苏浙皖闽赣鲁豫鄂湘粤桂琼渝川贵云藏陕甘青宁新"
LETTERS = "ABCDEFGHJKLMNPQRSTUVWXYZ"  # A-Z without I and O (they read as 1 and 0)
DIGITS = "0123456789"
SERIAL = frozenset(LETTERS + DIGITS)
# Small new-energy cars: D (pure electric) and F (other) first; where a city has used
# up D and F, A B C E follow D and G H J K follow F.
NEW_ENERGY_SMALL = frozenset("DABCEFGHJK")
NEW_ENERGY_LARGE = frozenset("DF")
SUFFIXES: dict[str, PlateKind] = {
    "挂": PlateKind.CN_TRAILER,
    "学": PlateKind.CN_COACH,
    "警": PlateKind.CN_POLICE,
    "港": PlateKind.CN_HONG_KONG,
    "澳": PlateKind.CN_MACAU,
    "领": PlateKind.CN_CONSULATE,
    "使": PlateKind.CN_EMBASSY,
}
EMBASSY_PREFIX = "使"
HAN_CHARACTERS = frozenset(PROVINCES) | frozenset(SUFFIXES)


def _digits(text: str) -> bool:
    return all(ch in DIGITS for ch in text)


class Mainland:
    """The rules of region "cn"."""

    code = "cn"

    def parse(self, cleaned: str, given: str) -> Plate | Refusal:
        first = cleaned[0]
        if first == EMBASSY_PREFIX:
            return self._embassy(cleaned, given)
        if first not in PROVINCES:
            if is_han(first):
                return refuse(given, cleaned, 2, Reason.UNKNOWN_PROVINCE, char=first)
            own_script = any(is_han(ch) for ch in cleaned)
            return refuse(given, cleaned, 1 if own_script else 0, Reason.NO_PROVINCE, char=first)
        for position, ch in enumerate(cleaned[1:-1], start=2):
            if is_han(ch):
                return refuse(given, cleaned, 2, Reason.MISPLACED, char=ch, position=position)
        if len(cleaned) == 1:
            return refuse(given, cleaned, 2, Reason.LENGTH, kind="cn", expected="7 or 8", actual=1)
        last = cleaned[-1]
        suffix = SUFFIXES.get(last)
        if is_han(last) and suffix is None:
            return refuse(given, cleaned, 2, Reason.MISPLACED, char=last, position=len(cleaned))
        issuer = cleaned[1]
        # Provincial police departments issue their cars with the letter O.
        if issuer not in LETTERS and not (issuer == "O" and suffix is PlateKind.CN_POLICE):
            return refuse(given, cleaned, 2, Reason.ISSUER, char=issuer)
        serial = cleaned[2:-1] if suffix else cleaned[2:]
        for position, ch in enumerate(serial, start=3):
            if ch in "IO":
                return refuse(given, cleaned, 2, Reason.LETTER_NOT_USED, char=ch, region="cn", position=position)
        if suffix is not None:
            if len(cleaned) != 7:
                return refuse(given, cleaned, 2, Reason.LENGTH, kind=suffix.value, expected="7", actual=len(cleaned))
            if suffix in (PlateKind.CN_HONG_KONG, PlateKind.CN_MACAU) and cleaned[:2] != "粤Z":
                return refuse(given, cleaned, 2, Reason.CROSS_BORDER, char=last)
            return Plate(cleaned, suffix)
        if len(serial) == 5:
            return Plate(cleaned, PlateKind.CN_REGULAR)
        if len(serial) == 6:
            if serial[0] in NEW_ENERGY_SMALL and _digits(serial[2:]):
                return Plate(cleaned, PlateKind.CN_NEW_ENERGY_SMALL)
            if _digits(serial[:5]) and serial[5] in NEW_ENERGY_LARGE:
                return Plate(cleaned, PlateKind.CN_NEW_ENERGY_LARGE)
            return refuse(given, cleaned, 2, Reason.NEW_ENERGY)
        return refuse(given, cleaned, 2, Reason.LENGTH, kind="cn", expected="7 or 8", actual=len(cleaned))

    def _embassy(self, cleaned: str, given: str) -> Plate | Refusal:
        if len(cleaned) != 7:
            return refuse(given, cleaned, 2, Reason.LENGTH, kind="cn_embassy", expected="7", actual=len(cleaned))
        if not _digits(cleaned[1:]):
            return refuse(given, cleaned, 2, Reason.SHAPE, region="cn", example="使224·009")
        return Plate(cleaned, PlateKind.CN_EMBASSY)
