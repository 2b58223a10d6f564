"""A plate: its canonical text, the region and kind it was recognized as, and how it
is written on the plate itself."""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum


class PlateKind(str, Enum):
    """What kind of plate a canonical text is (the value names the region first)."""

    CN_REGULAR = "cn_regular"  # 京A12345
    CN_NEW_ENERGY_SMALL = "cn_new_energy_small"  # 粤BD12345
    CN_NEW_ENERGY_LARGE = "cn_new_energy_large"  # 粤B12345D
    CN_TRAILER = "cn_trailer"  # 粤B1234挂
    CN_COACH = "cn_coach"  # 粤B1234学
    CN_POLICE = "cn_police"  # 粤B1234警
    CN_HONG_KONG = "cn_hong_kong"  # 粤Z1234港
    CN_MACAU = "cn_macau"  # 粤Z1234澳
    CN_CONSULATE = "cn_consulate"  # 沪A1234领
    CN_EMBASSY = "cn_embassy"  # 使224009, 京A1234使
    HK_REGULAR = "hk_regular"  # AB1234
    HK_PERSONALISED = "hk_personalised"  # LUCKY8
    MO_CAR = "mo_car"  # MA1234
    MO_MOTORCYCLE = "mo_motorcycle"  # CM12345
    LATIN = "latin"  # B-AB 123 -> BAB123

    @property
    def region(self) -> str:
        """The region code: "cn", "hk", "mo" or "latin"."""
        return self.value.split("_", 1)[0]


@dataclass(frozen=True, slots=True)
class Plate:
    """A plate the site's rules accepted. `text` is the canonical form: stored,
    compared, sent to the cloud. `display()` is the form written on the plate."""

    text: str
    kind: PlateKind

    @property
    def region(self) -> str:
        return self.kind.region

    def __str__(self) -> str:
        return self.text

    def display(self) -> str:
        """The plate as it is written: 粤B·D12345, 使224·009, AB 1234, MA-12-34, BAB123."""
        t = self.text
        if self.kind is PlateKind.CN_EMBASSY and t.startswith("使"):
            return f"{t[:4]}·{t[4:]}"
        if self.region == "cn":
            return f"{t[:2]}·{t[2:]}"
        if self.kind is PlateKind.HK_REGULAR:
            split = 2 if t[1].isalpha() else 1
            return f"{t[:split]} {t[split:]}"
        if self.kind is PlateKind.MO_CAR:
            return f"{t[:-4]}-{t[-4:-2]}-{t[-2:]}"
        if self.kind is PlateKind.MO_MOTORCYCLE:
            return f"{t[:2]}-{t[2:]}"
        return t
