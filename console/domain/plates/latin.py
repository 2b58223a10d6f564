"""Plates of other countries (region "latin"): letters A-Z and digits, 1 to 12 of them,
whatever their arrangement. The rule the console has always applied."""

from __future__ import annotations

from console.domain.plates.base import Refusal, refuse
from console.domain.plates.errors import Reason
from console.domain.plates.model import Plate, PlateKind
from console.domain.plates.text import foreign_characters

MAX_LENGTH = 12


class Latin:
    """The rules of region "latin"."""

    code = "latin"

    def parse(self, cleaned: str, given: str) -> Plate | Refusal:
        foreign = foreign_characters(cleaned)
        if foreign:
            return refuse(given, cleaned, 0, Reason.CHARACTERS, chars=foreign)
        if len(cleaned) > MAX_LENGTH:
            return refuse(given, cleaned, 1, Reason.LENGTH, kind="latin", expected=f"1 to {MAX_LENGTH}", actual=len(cleaned))
        return Plate(cleaned, PlateKind.LATIN)
