"""Fonts for printing text the printer cannot print by itself, as an image.

A line goes out as an image only when it holds characters that neither the printer's code
pages nor (when enabled) its GB18030 Chinese mode can print. The font for it is, in order:
the font the site configured (`font=` in the printer URL), a CJK font found in the usual
system places, then DejaVu Sans Mono (from the system, or the copy python-barcode ships, so
Cyrillic, Greek and most European text always has a fallback). A font is used for a line
only if its character map really covers every character of that line; if none does, the
caller prints "?" and reports it, rather than printing empty boxes.
"""

from __future__ import annotations

import functools
import glob
import os
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Iterable, Sequence

if TYPE_CHECKING:
    from PIL import Image as PILImage

# Where common CJK fonts live on Linux, Windows and macOS. Patterns are globbed.
CJK_FONT_PATTERNS: tuple[str, ...] = (
    "/usr/share/fonts/opentype/noto/NotoSansCJK*-Regular.ttc",
    "/usr/share/fonts/noto-cjk/NotoSansCJK*-Regular.ttc",
    "/usr/share/fonts/google-noto-cjk/NotoSansCJK*-Regular.ttc",
    "/usr/share/fonts/truetype/noto/NotoSansSC-Regular.*",
    "/usr/share/fonts/truetype/wqy/wqy-microhei.ttc",
    "/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc",
    "/usr/share/fonts/wenquanyi/*/*.ttc",
    "/usr/share/fonts/truetype/arphic/uming.ttc",
    "/usr/share/fonts/truetype/droid/DroidSansFallbackFull.ttf",
    "/usr/share/fonts/google-droid*/DroidSansFallback*.ttf",
    "C:/Windows/Fonts/msyh.ttc",
    "C:/Windows/Fonts/simhei.ttf",
    "C:/Windows/Fonts/simsun.ttc",
    "/System/Library/Fonts/PingFang.ttc",
    "/System/Library/Fonts/STHeiti Medium.ttc",
    "/Library/Fonts/Arial Unicode.ttf",
)
MONO_FONT_PATTERNS: tuple[str, ...] = (
    "/usr/share/fonts/truetype/dejavu/DejaVuSansMono.ttf",
    "/usr/share/fonts/dejavu/DejaVuSansMono.ttf",
    "/usr/share/fonts/TTF/DejaVuSansMono.ttf",
)

#: Dots of one character cell in the printer's font A (12 x 24 on nearly every 80 mm printer).
CELL_WIDTH = 12
CELL_HEIGHT = 24
LINE_GAP = 6  # extra dots under an image line, close to the printer's own line spacing


def _bundled_mono() -> list[str]:
    try:
        import barcode  # python-barcode, a dependency of python-escpos

        path = Path(barcode.__file__).parent / "fonts" / "DejaVuSansMono.ttf"
        return [str(path)] if path.is_file() else []
    except Exception:  # noqa: BLE001 - only a fallback
        return []


def _glob_all(patterns: Iterable[str]) -> list[str]:
    found: list[str] = []
    for pattern in patterns:
        for path in sorted(glob.glob(pattern)):
            if os.path.isfile(path) and path not in found:
                found.append(path)
    return found


@functools.lru_cache(maxsize=64)
def _cmap(path: str) -> frozenset[int]:
    """Code points the font's first face maps to a glyph (empty if it cannot be read)."""
    try:
        from fontTools.ttLib import TTFont

        font = TTFont(path, fontNumber=0, lazy=True)
        try:
            cmap = font.getBestCmap() or {}
            return frozenset(cmap)
        finally:
            font.close()
    except Exception:  # noqa: BLE001 - an unreadable font simply covers nothing
        return frozenset()


def font_covers(path: str, text: str) -> bool:
    """Whether the font at `path` has a glyph for every non-space character of `text`."""
    cmap = _cmap(path)
    return bool(cmap) and all(ord(ch) in cmap for ch in text if not ch.isspace())


@dataclass(frozen=True, slots=True)
class ImagePiece:
    """Text drawn at the left, centre or right of an image line."""

    text: str
    align: str


class FallbackFonts:
    """Finds a font for a line and draws the line as a 1-bit image."""

    def __init__(self, preferred: str | None = None, *, search_system: bool = True) -> None:
        self.preferred = preferred
        self._search_system = search_system
        self._candidates: list[str] | None = None
        self._lock = threading.Lock()

    def candidates(self) -> list[str]:
        """Font files in the order they are tried."""
        with self._lock:
            if self._candidates is None:
                found: list[str] = []
                if self.preferred:
                    found.append(self.preferred)
                if self._search_system:
                    found += _glob_all(CJK_FONT_PATTERNS)
                    found += _glob_all(MONO_FONT_PATTERNS)
                found += _bundled_mono()
                self._candidates = list(dict.fromkeys(found))
            return list(self._candidates)

    def font_for(self, text: str) -> str | None:
        """The first font that covers all of `text`, or None."""
        for path in self.candidates():
            if font_covers(path, text):
                return path
        return None

    def best_for(self, text: str) -> tuple[str | None, set[str]]:
        """The font covering the most distinct characters of `text`, and those characters."""
        wanted = {ch for ch in text if not ch.isspace()}
        best: tuple[str | None, set[str]] = (None, set())
        for path in self.candidates():
            cmap = _cmap(path)
            covered = {ch for ch in wanted if ord(ch) in cmap}
            if len(covered) > len(best[1]):
                best = (path, covered)
        return best

    def render_line(self, pieces: Sequence[ImagePiece], *, font_path: str, width_px: int,
                    size: int = 1, bold: bool = False, fill: str = "") -> PILImage.Image:
        """Draw one printed line `width_px` dots wide; black text on white.

        With two pieces (left and right) and a `fill` character the gap between them is
        filled with that character, like a dotted price leader.
        """
        from PIL import Image, ImageDraw, ImageFont

        cell_h = CELL_HEIGHT * size
        height = cell_h + LINE_GAP
        image = Image.new("L", (width_px, height), 255)
        draw = ImageDraw.Draw(image)
        font_px = cell_h
        font = ImageFont.truetype(font_path, font_px)
        stroke = 1 if bold else 0
        gap = CELL_WIDTH * size

        def length(text: str) -> float:
            return font.getlength(text) + 2 * stroke

        total = sum(length(p.text) for p in pieces) + gap * (len(pieces) - 1)
        while total > width_px and font_px > 8:  # shrink rather than cut a line that is too long
            font_px -= 2
            font = ImageFont.truetype(font_path, font_px)
            total = sum(length(p.text) for p in pieces) + gap * (len(pieces) - 1)
        top = cell_h - font_px  # keep the baseline where the printer's own text would be
        spans: list[tuple[float, float]] = []
        for piece in pieces:
            w = length(piece.text)
            x = {"left": 0.0, "center": (width_px - w) / 2, "right": width_px - w}[piece.align]
            draw.text((x, top), piece.text, font=font, fill=0, stroke_width=stroke, stroke_fill=0)
            spans.append((x, x + w))
        if fill.strip() and len(spans) == 2:
            start, end = spans[0][1] + gap / 2, spans[1][0] - gap / 2
            step = max(length(fill), 1.0)
            count = int((end - start) // step)
            if count > 0:
                draw.text((start, top), fill * count, font=font, fill=0)
        return image
