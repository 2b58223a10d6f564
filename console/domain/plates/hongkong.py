"""Hong Kong plates (region "hk"), as the Transport Department issues them.

    AB1234   ordinary mark: one or two letters, then 1 to 9999 (no leading zero)
    LUCKY8   personalised mark: up to 8 letters and digits

I, O and Q are never used (they read as 1 and 0). Spaces are not part of the mark.
"""

from __future__ import annotations

import re

from console.domain.plates.base import Refusal, letters_and_digits, refuse
from console.domain.plates.errors import Reason
from console.domain.plates.model import Plate, PlateKind

NOT_USED = "IOQ"
MAX_LENGTH = 8
_ORDINARY = re.compile(r"[A-Z]{1,2}[1-9][0-9]{0,3}")


class HongKong:
    """The rules of region "hk"."""

    code = "hk"

    def parse(self, cleaned: str, given: str) -> Plate | Refusal:
        refused = letters_and_digits(given, cleaned, self.code, MAX_LENGTH)
        if refused:
            return refused
        for position, ch in enumerate(cleaned, start=1):
            if ch in NOT_USED:
                return refuse(given, cleaned, 1, Reason.LETTER_NOT_USED, char=ch, region="hk", position=position)
        kind = PlateKind.HK_REGULAR if _ORDINARY.fullmatch(cleaned) else PlateKind.HK_PERSONALISED
        return Plate(cleaned, kind)
