"""Finding a visit from a plate read that may be slightly wrong.

Plate readers confuse characters of similar shape (O/0, I/1, B/8...). An exact match is
used as is; a match only through such confusions is offered to the attendant to confirm,
never accepted silently.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable

# Groups of characters a reader mistakes for one another; each maps to one canonical form.
CONFUSION_GROUPS: tuple[str, ...] = ("O0DQ", "I1L", "B8", "S5", "Z2", "G6", "A4", "T7")
_CANONICAL = {ch: group[0] for group in CONFUSION_GROUPS for ch in group}


def shape_key(plate: str) -> str:
    """The plate with every confusable character replaced by its group's canonical one."""
    return "".join(_CANONICAL.get(ch, ch) for ch in plate)


@dataclass(frozen=True, slots=True)
class PlateMatch:
    """A candidate visit plate for a read plate."""

    plate: str
    exact: bool
    differences: int  # characters that differ (all within confusion groups)


def match_plate(read: str, candidates: Iterable[str], limit: int = 5) -> list[PlateMatch]:
    """Plates among `candidates` that equal `read` or differ only by reader confusions.

    Exact matches come first, then the near matches with the fewest differing characters.
    Both `read` and `candidates` are normalized plates.
    """
    key = shape_key(read)
    found: list[PlateMatch] = []
    for plate in candidates:
        if plate == read:
            found.append(PlateMatch(plate, True, 0))
        elif len(plate) == len(read) and shape_key(plate) == key:
            found.append(PlateMatch(plate, False, sum(a != b for a, b in zip(plate, read))))
    found.sort(key=lambda m: (not m.exact, m.differences, m.plate))
    return found[:limit]
