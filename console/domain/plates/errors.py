"""Why a text is not a plate: a reason code with its parameters, and the English
message made from them. A translated interface looks the message up by its code."""

from __future__ import annotations

from collections.abc import Mapping
from enum import Enum

from console.domain.errors import DomainError


def N_(message: str) -> str:
    """Mark `message` for the translation catalog (the domain translates nothing itself:
    the interface shows these texts translated, by their reason code)."""
    return message


class Reason(str, Enum):
    """Machine-readable reasons a plate is refused (stable: the UI translates by them)."""

    EMPTY = "empty"
    CHARACTERS = "characters"
    MIXED_SCRIPTS = "mixed_scripts"
    LENGTH = "length"
    UNKNOWN_PROVINCE = "unknown_province"
    NO_PROVINCE = "no_province"
    ISSUER = "issuer"
    LETTER_NOT_USED = "letter_not_used"
    NEW_ENERGY = "new_energy"
    MISPLACED = "misplaced"
    CROSS_BORDER = "cross_border"
    SHAPE = "shape"
    OTHER_REGION = "other_region"


# English text of each reason. `{plate}` is the text as given (quoted); the other
# fields are the error's parameters, with `*_name` fields spelled out (see _spelled).
MESSAGES: Mapping[Reason, str] = {
    Reason.EMPTY: N_("no plate given"),
    Reason.CHARACTERS: N_("{plate} is not a plate: {chars!r} cannot be on a plate"),
    Reason.MIXED_SCRIPTS: N_("{plate} is not a plate: it mixes {scripts_name} letters"),
    Reason.LENGTH: N_("{plate} is not a plate: {kind_name} plates have {expected} characters, not {actual}"),
    Reason.UNKNOWN_PROVINCE: N_("{plate} is not a plate: {char!r} is not a province abbreviation"),
    Reason.NO_PROVINCE: N_("{plate} is not a plate: a mainland plate starts with a province abbreviation (京, 沪, 粤 ...), not {char!r}"),
    Reason.ISSUER: N_("{plate} is not a plate: after the province comes the issuing office's letter (A-Z without I and O), not {char!r}"),
    Reason.LETTER_NOT_USED: N_("{plate} is not a plate: the letter {char} is not used on {region_name} plates (character {position})"),
    Reason.NEW_ENERGY: N_("{plate} is not a plate: new-energy plates have D, F or another letter of A-K, a letter or digit and four digits (small cars), or five digits then D or F (large vehicles)"),
    Reason.MISPLACED: N_("{plate} is not a plate: {char!r} cannot stand at character {position}"),
    Reason.CROSS_BORDER: N_("{plate} is not a plate: {char} plates are issued as 粤Z"),
    Reason.SHAPE: N_("{plate} is not a plate: {region_name} plates look like {example}"),
    Reason.OTHER_REGION: N_("{plate} is not a plate this site reads: it is a {region_name} plate (the site reads {regions_name} plates)"),
}

# English names of the codes that appear in parameters.
REGION_NAMES: Mapping[str, str] = {
    "cn": N_("mainland Chinese"),
    "hk": N_("Hong Kong"),
    "mo": N_("Macau"),
    "latin": N_("letters-and-digits"),
}
KIND_NAMES: Mapping[str, str] = {
    "cn_regular": N_("mainland"),
    "cn_new_energy_small": N_("small new-energy"),
    "cn_new_energy_large": N_("large new-energy"),
    "cn_trailer": N_("trailer (挂)"),
    "cn_coach": N_("driving-school (学)"),
    "cn_police": N_("police (警)"),
    "cn_hong_kong": N_("Hong Kong cross-border (港)"),
    "cn_macau": N_("Macau cross-border (澳)"),
    "cn_consulate": N_("consulate (领)"),
    "cn_embassy": N_("embassy (使)"),
    "cn": N_("mainland"),
    "hk": N_("Hong Kong"),
    "mo": N_("Macau"),
    "latin": N_("letters-and-digits"),
}
SCRIPT_NAMES: Mapping[str, str] = {"han": N_("Chinese"), "latin": N_("Latin")}


def _names(codes: str, names: Mapping[str, str]) -> str:
    spelled = [names.get(code, code.capitalize()) for code in codes.split(",") if code]
    return spelled[0] if len(spelled) == 1 else ", ".join(spelled[:-1]) + " and " + spelled[-1]


def _spelled(params: Mapping[str, str | int]) -> dict[str, str | int]:
    out = dict(params)
    for key, names in (("kind", KIND_NAMES), ("region", REGION_NAMES), ("regions", REGION_NAMES), ("scripts", SCRIPT_NAMES)):
        if key in params:
            out[f"{key}_name"] = _names(str(params[key]), names)
    return out


class PlateError(DomainError):
    """A text that is not a plate the rules accept. Nothing should change because of it.

    `reason` is the machine-readable code, `params` its parameters (codes, characters,
    numbers: no English), `text` the text as given and `cleaned` its canonical form.
    `str(error)` is the English message.
    """

    def __init__(self, reason: Reason, text: str, cleaned: str, **params: str | int) -> None:
        self.reason = reason
        self.text = text
        self.cleaned = cleaned
        self.params: Mapping[str, str | int] = params
        super().__init__(MESSAGES[reason].format(plate=repr(text), **_spelled(params)))
