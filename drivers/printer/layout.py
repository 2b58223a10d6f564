"""How each character reaches the paper, how wide it is there, and line wrapping.

A character is printed one of four ways:

- CODEPAGE: ASCII, or a character one of the profile's code pages holds (é, €, Ж...); python-
  escpos picks the page and sends ESC t. One column wide.
- GB: GB18030 double-byte text in the printer's Chinese mode (FS & ... FS .), for CJK and other
  characters the printer's Chinese font has, when `cjk="gb18030"`. Two columns wide.
- IMAGE: the line is drawn with a font and sent as a picture (see `fonts`).
- MISSING: nothing can print it; it becomes "?" and the caller reports it.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Callable, Iterable
from enum import Enum

CJK_MODES: tuple[str, ...] = ("gb18030", "image", "none")


class Route(str, Enum):
    CODEPAGE = "codepage"
    GB = "gb"
    IMAGE = "image"
    MISSING = "missing"


def clean_text(text: str) -> str:
    """Tabs become spaces; other control characters become U+FFFD so they print as "?"
    instead of reaching the printer as commands."""
    out = []
    for ch in text:
        if ch == "\t":
            out.append(" ")
        elif ch == "\r":
            continue
        elif ch != "\n" and unicodedata.category(ch) in ("Cc", "Cs", "Co", "Cn") and ch != "\ufffd":
            out.append("\ufffd")
        else:
            out.append(ch)
    return "".join(out)


def natural_columns(ch: str) -> int:
    """Columns a character takes when drawn from a font: wide CJK 2, combining marks 0."""
    if unicodedata.combining(ch) or unicodedata.category(ch) in ("Mn", "Me", "Cf"):
        return 0
    return 2 if unicodedata.east_asian_width(ch) in ("W", "F") else 1


def is_gb_double_byte(ch: str) -> bool:
    """Whether GB18030 encodes `ch` in two bytes (the GBK range Chinese printer fonts carry)."""
    try:
        return len(ch.encode("gb18030")) == 2
    except UnicodeEncodeError:
        return False


class TextRouter:
    """Decides, per character, how a printer with a given profile and CJK mode prints it."""

    def __init__(self, codepage_chars: Iterable[str], cjk: str, image_ok: Callable[[str], bool] | None = None) -> None:
        if cjk not in CJK_MODES:
            raise ValueError(f"cjk must be one of {', '.join(CJK_MODES)}, not {cjk!r}")
        self.cjk = cjk
        self._codepage = frozenset(codepage_chars)
        self._image_ok = image_ok or (lambda ch: False)
        self._cache: dict[str, Route] = {}

    def route(self, ch: str) -> Route:
        """How `ch` is printed (before any image font is chosen)."""
        cached = self._cache.get(ch)
        if cached is not None:
            return cached
        if ch == "\ufffd":
            result = Route.MISSING
        elif " " <= ch <= "~" or ch in self._codepage:
            result = Route.CODEPAGE
        elif self.cjk == "gb18030" and is_gb_double_byte(ch):
            result = Route.GB
        else:
            result = Route.IMAGE
        self._cache[ch] = result
        return result

    def columns(self, ch: str) -> int:
        """Columns `ch` takes on paper."""
        route = self.route(ch)
        if route is Route.GB:
            return 2
        if route is Route.IMAGE:
            return natural_columns(ch)
        return 1

    def measure(self, text: str) -> int:
        """Columns `text` takes on paper."""
        return sum(self.columns(ch) for ch in text)


def wrap(text: str, width: int, columns: Callable[[str], int]) -> list[str]:
    """Greedy word wrap by printed columns. Lines break at spaces and next to wide (CJK)
    characters; a word longer than the line is split. An empty text is one empty line."""
    width = max(width, 1)
    lines: list[str] = []
    for paragraph in text.split("\n"):
        line, used = "", 0
        break_at: int | None = None  # index in `line` where it may be broken
        wrapped = False  # the current line continues a wrapped one: drop its leading spaces
        for ch in paragraph:
            cw = columns(ch)
            wide = cw >= 2
            if wide and line:
                break_at = len(line)
            if used + cw > width and line:
                cut = break_at if break_at else len(line)
                head, tail = line[:cut], line[cut:].lstrip(" ")
                if head.strip():
                    lines.append(head.rstrip(" "))
                line, used, wrapped = tail, sum(columns(c) for c in tail), True
                break_at = _last_break(line, columns)
            if ch == " " and wrapped and not line:
                continue
            line += ch
            used += cw
            if ch == " " or wide:
                break_at = len(line)
        lines.append(line.rstrip(" ") if wrapped else line)
    return lines


def _last_break(line: str, columns: Callable[[str], int]) -> int | None:
    for index in range(len(line) - 1, 0, -1):
        if line[index - 1] == " " or columns(line[index - 1]) >= 2:
            return index
    return None


def filler(gap: int, fill: str, fill_columns: int = 1) -> str:
    """The text between a label and its value: spaces, or a leader like " ....... " that
    takes exactly `gap` columns (`fill_columns` is how wide one fill character prints)."""
    fill_columns = max(fill_columns, 1)
    if fill == " " or gap < 2 + fill_columns:
        return " " * gap
    count = (gap - 2) // fill_columns
    return " " * (gap - 1 - count * fill_columns) + fill * count + " "


def column_lines(left: str, right: str, width: int, fill: str, measure: Callable[[str], int],
                 columns: Callable[[str], int]) -> list[tuple[str, str]]:
    """Lay out a label/value pair. Returns (label part, value part) per printed line; the value
    part is empty on all but the last line."""
    lw, rw = measure(left), measure(right)
    if lw + rw + 1 <= width or not right or not left:
        return [(left, right)]
    lines = wrap(left, width, columns)
    last = lines[-1]
    out = [(line, "") for line in lines[:-1]]
    if measure(last) + 1 + rw <= width:
        out.append((last, right))
    else:
        out.append((last, ""))
        right_lines = wrap(right, width, columns)
        out += [("", r) for r in right_lines]
    return out


def pad_columns(left: str, right: str, width: int, fill: str, measure: Callable[[str], int]) -> str:
    """`left` and `right` on one line of `width` columns."""
    if not right:
        return left
    gap = max(width - measure(left) - measure(right), 1 if left else 0)
    if not left:
        return " " * gap + right
    return left + filler(gap, fill, measure(fill)) + right
