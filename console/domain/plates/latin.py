"""Plates of other countries (region "latin"): letters A-Z and digits, 1 to 12 of them,
whatever their arrangement. The rule the console has always applied."""

from __future__ import annotations

from console.domain.plates.base import Refusal, letters_and_digits
from console.domain.plates.model import Plate, PlateKind

MAX_LENGTH = 12


class Latin:
    """The rules of region "latin"."""

    code = "latin"

    def parse(self, cleaned: str, given: str) -> Plate | Refusal:
        return letters_and_digits(given, cleaned, self.code, MAX_LENGTH) or Plate(cleaned, PlateKind.LATIN)
