"""What every region's rules look like to PlateRules."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from console.domain.plates.errors import PlateError, Reason
from console.domain.plates.model import Plate
from console.domain.plates.text import foreign_characters


@dataclass(frozen=True, slots=True)
class Refusal:
    """A region's "no", with how much of the text it recognized as its own: 0 not its
    script or shape at all, 1 its script but not its shape, 2 its shape with a wrong
    part. PlateRules reports the refusal of the region that recognized the most."""

    error: PlateError
    affinity: int


class Region(Protocol):
    """One region's plate rules, over text already brought to canonical form."""

    @property
    def code(self) -> str: ...

    def parse(self, cleaned: str, given: str) -> Plate | Refusal:
        """The plate `cleaned` is in this region, or why it is none. `given` is the
        text as received, for the message."""
        ...


def refuse(given: str, cleaned: str, affinity: int, reason: Reason, **params: str | int) -> Refusal:
    """A refusal with its error built from `reason` and `params`."""
    return Refusal(PlateError(reason, given, cleaned, **params), affinity)


def letters_and_digits(given: str, cleaned: str, region: str, max_length: int | None) -> Refusal | None:
    """The refusal of a text for a region written in A-Z and 0-9 only: another character
    (not this region's script at all), or more than `max_length` of them."""
    foreign = foreign_characters(cleaned)
    if foreign:
        return refuse(given, cleaned, 0, Reason.CHARACTERS, chars=foreign)
    if max_length is not None and len(cleaned) > max_length:
        return refuse(given, cleaned, 1, Reason.LENGTH, kind=region, expected=f"1 to {max_length}", actual=len(cleaned))
    return None
