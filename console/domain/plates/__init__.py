"""Plates: the one place that knows what a plate is, for every part of the console and
its cloud. A site reads the plates of the regions it names (`[site] plate_regions`):

    rules = PlateRules(["cn", "hk", "mo"], home_province="粤")
    rules.normalize("粤b·d12345")      -> "粤BD12345"   (stored, compared, sent)
    rules.display("粤BD12345")         -> "粤B·D12345"  (written as on the plate)
    rules.parse("沪AD1234O")           -> PlateError(Reason.LETTER_NOT_USED, char="O", ...)
    rules.near_matches("京A1234O", open_plates)  -> plates to offer, never to charge
    rules.province_candidates("yue")   -> [Province 粤]

docs/plates.md describes the regions, the canonical form, the look-alikes and sources.
"""

from console.domain.plates.confusions import (
    LATIN_GROUPS,
    PROVINCE_LOOKALIKES,
    PlateMatch,
    shape_key,
)
from console.domain.plates.errors import MESSAGES, PlateError, Reason
from console.domain.plates.mainland import PROVINCES
from console.domain.plates.model import Plate, PlateKind
from console.domain.plates.pinyin import (
    Province,
    last_character_candidates,
    province,
    province_candidates,
)
from console.domain.plates.rules import REGIONS, PlateRules, plate_rules
from console.domain.plates.text import clean

__all__ = [
    "LATIN_GROUPS",
    "MESSAGES",
    "PROVINCES",
    "PROVINCE_LOOKALIKES",
    "REGIONS",
    "Plate",
    "PlateError",
    "PlateKind",
    "PlateMatch",
    "PlateRules",
    "Province",
    "Reason",
    "clean",
    "last_character_candidates",
    "plate_rules",
    "province",
    "province_candidates",
    "shape_key",
]
