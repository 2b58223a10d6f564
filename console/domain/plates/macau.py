"""Macau plates (region "mo").

    MA1234   car: one or two letters, then four digits (written MA-12-34; the oldest
             series M-12-34 has one letter)
    CM12345  motorcycle: CM, then five digits (written CM-12345)
"""

from __future__ import annotations

import re

from console.domain.plates.base import Refusal, letters_and_digits, refuse
from console.domain.plates.errors import Reason
from console.domain.plates.model import Plate, PlateKind

_CAR = re.compile(r"[A-Z]{1,2}[0-9]{4}")
_MOTORCYCLE = re.compile(r"CM[0-9]{5}")


class Macau:
    """The rules of region "mo"."""

    code = "mo"

    def parse(self, cleaned: str, given: str) -> Plate | Refusal:
        refused = letters_and_digits(given, cleaned, self.code, None)
        if refused:
            return refused
        if _CAR.fullmatch(cleaned):
            return Plate(cleaned, PlateKind.MO_CAR)
        if _MOTORCYCLE.fullmatch(cleaned):
            return Plate(cleaned, PlateKind.MO_MOTORCYCLE)
        return refuse(given, cleaned, 1, Reason.SHAPE, region="mo", example="MA-12-34")
