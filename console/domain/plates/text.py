"""Plate text as readers send it and people type it, brought to one canonical form.

The canonical form is the same whatever regions a site reads, so a plate stored by one
booth compares equal to the same plate typed at another booth or sent by the cloud:
Unicode compatibility forms folded (full-width `Ａ１` -> `A1`), traditional forms of the
Chinese characters plates use folded to the simplified ones, separators dropped (spaces,
hyphens, underscores, full stops, middle dots), Latin letters upper-cased. Whether the
result is a plate is for the regions to say (rules.py).
"""

from __future__ import annotations

import unicodedata

# What readers and people put between the parts of a plate: hyphens and dashes, the
# middle dots of mainland plates (·, the katakana ・ some input methods give, •, ∙, ⋅,
# the hyphenation point ‧), underscores and full stops. Whitespace of every kind too.
SEPARATORS = frozenset("-‐‑‒–—―−_.·・•∙⋅‧")

# Traditional forms of the characters mainland plates use (a Hong Kong or Macau
# keyboard, a reader trained on traditional text). The same character, not a guess.
TRADITIONAL = {
    "滬": "沪", "粵": "粤", "遼": "辽", "贛": "赣", "魯": "鲁", "蘇": "苏", "閩": "闽",
    "貴": "贵", "雲": "云", "陝": "陕", "寧": "宁", "瓊": "琼", "晉": "晋",
    "學": "学", "掛": "挂", "領": "领",
}  # fmt: skip
_TRADITIONAL_TABLE = str.maketrans(TRADITIONAL)
_UPPER_TABLE = str.maketrans("abcdefghijklmnopqrstuvwxyz", "ABCDEFGHIJKLMNOPQRSTUVWXYZ")


def _clean_once(text: str) -> str:
    folded = unicodedata.normalize("NFKC", text).translate(_TRADITIONAL_TABLE)
    kept = "".join(ch for ch in folded if ch not in SEPARATORS and not ch.isspace())
    return kept.translate(_UPPER_TABLE)


def clean(text: str) -> str:
    """The canonical form of a plate text, without judging whether it is a plate.

    Idempotent: `clean(clean(t)) == clean(t)`. Dropping a separator can bring a
    combining mark next to a letter, which NFKC then composes; the steps repeat until
    nothing changes (twice in practice).
    """
    current = text
    while True:
        following = _clean_once(current)
        if following == current:
            return current
        current = following


def is_han(ch: str) -> bool:
    """A Chinese character (CJK unified ideograph)."""
    return unicodedata.name(ch, "").startswith("CJK UNIFIED IDEOGRAPH")


def is_plate_ascii(ch: str) -> bool:
    """An upper-case Latin letter A-Z or a digit 0-9 (after clean())."""
    return "A" <= ch <= "Z" or "0" <= ch <= "9"


def script_of(ch: str) -> str:
    """The writing system of a letter: "latin", "han", "cyrillic", "greek", "hangul"...
    (from its Unicode name; "other" when it has none)."""
    if is_han(ch):
        return "han"
    name = unicodedata.name(ch, "")
    return name.split(" ", 1)[0].lower() if name else "other"


def foreign_characters(cleaned: str) -> str:
    """The characters of `cleaned` that are not A-Z or 0-9, each once, in order."""
    return "".join(dict.fromkeys(ch for ch in cleaned if not is_plate_ascii(ch)))
