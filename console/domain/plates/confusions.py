"""Characters a plate reader mistakes for one another, and the near matches they give.

An exact match is used as is; a match only through such confusions is offered to the
attendant to confirm, never charged on a guess. docs/plates.md explains the choices.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

# Latin letters and digits of similar shape, for every region. Each group maps to one
# canonical character (shape_key); two characters are confusable when in one group.
# On mainland, Hong Kong and Macau plates I and O (and Q in Hong Kong) never occur, so
# a read I or O is always one of these confusions.
LATIN_GROUPS: tuple[str, ...] = ("O0DQ", "I1L", "B8", "S5", "Z2", "G6", "A4", "T7")
_CANONICAL = {ch: group[0] for group in LATIN_GROUPS for ch in group}

# Province abbreviations of similar shape at a reader's resolution (about 20 pixels
# high). Pairs, not classes: 京 and 津 are look-alikes, and 津 and 沪, but not 京 and 沪.
PROVINCE_LOOKALIKES: tuple[str, ...] = (
    "京津",  # a lid, a box, a long vertical stroke
    "京宁",  # a lid over a hooked vertical
    "津沪浙湘渝",  # the water radical 氵 on the left; only the right part differs
    "晋鲁",  # a wide top over 日
    "冀黑",  # a boxed middle (田/里) over four feet or dots
    "鄂粤",  # the same lower part 亏 under a boxed top
    "新浙",  # 斤 on the right
)


def shape_key(plate: str) -> str:
    """The plate with every Latin look-alike replaced by its group's canonical one."""
    return "".join(_CANONICAL.get(ch, ch) for ch in plate)


@dataclass(frozen=True, slots=True)
class PlateMatch:
    """A candidate plate for a read plate."""

    plate: str
    exact: bool
    differences: int  # characters that differ (all look-alikes), or are missing


class Confusions:
    """The look-alikes of a set of regions."""

    def __init__(self, han_groups: Iterable[str] = (), *, provinces: str = "") -> None:
        groups = tuple(han_groups)
        self._han = {ch: tuple(g for g in groups if ch in g) for group in groups for ch in group}
        # Leading characters a reader may lose (the mainland provinces), if any.
        self._provinces = frozenset(provinces)

    def confusable(self, a: str, b: str) -> bool:
        """`a` and `b` are the same character or look alike."""
        if a == b:
            return True
        if a in _CANONICAL and b in _CANONICAL:
            return _CANONICAL[a] == _CANONICAL[b]
        groups = self._han.get(a)
        return groups is not None and any(b in g for g in groups)

    def _differences(self, read: str, plate: str) -> int | None:
        """How many characters differ, all look-alikes; None when another differs."""
        if len(read) != len(plate):
            return None
        count = 0
        for r, p in zip(read, plate):
            if r != p:
                if not self.confusable(r, p):
                    return None
                count += 1
        return count

    def compare(self, read: str, plate: str) -> PlateMatch | None:
        """`plate` as a match for `read`, or None when it is not one.

        Where mainland plates are read, a read that lost its province character (the
        hardest one for a reader) matches a plate that has one, as one difference.
        """
        if read == plate:
            return PlateMatch(plate, True, 0)
        found = self._differences(read, plate)
        lost_province = plate[:1] in self._provinces and read[:1] not in self._provinces
        if found is None and lost_province and len(plate) == len(read) + 1:
            rest = self._differences(read, plate[1:])
            found = None if rest is None else rest + 1
        return None if found is None else PlateMatch(plate, False, found)

    def near_matches(self, read: str, candidates: Iterable[str], limit: int = 5) -> list[PlateMatch]:
        """Plates among `candidates` that equal `read` or differ only by look-alikes.

        Exact matches first, then the fewest differences, then in text order. `read`
        and `candidates` are canonical texts (`read` need not be a valid plate).
        """
        found = [m for m in (self.compare(read, plate) for plate in candidates) if m is not None]
        found.sort(key=lambda m: (not m.exact, m.differences, m.plate))
        return found[:limit]
