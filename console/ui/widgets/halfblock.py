"""A picture drawn with coloured half blocks: two pixel rows per character cell. Works in
any terminal with true colour, needs no graphics protocol."""

from __future__ import annotations

from typing import Any

from PIL import Image as PILImage
from rich.segment import Segment
from rich.style import Style
from textual.strip import Strip
from textual.widget import Widget


class HalfBlockImage(Widget):
    """Shows a Pillow image scaled to the widget's size, keeping its proportions."""

    DEFAULT_CSS = "HalfBlockImage { width: 1fr; height: 1fr; }"

    def __init__(self, image: PILImage.Image | None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.image = image.convert("RGB") if image is not None else None
        self._cache: tuple[tuple[int, int], list[Strip]] | None = None

    def _strips(self, width: int, height: int) -> list[Strip]:
        if self.image is None or width <= 0 or height <= 0:
            return []
        if self._cache and self._cache[0] == (width, height):
            return self._cache[1]
        w, h = self.image.size
        scale = min(width / w, (height * 2) / h)
        size = (max(1, int(w * scale)), max(2, int(h * scale) // 2 * 2))
        pixels = self.image.resize(size).load()
        strips: list[Strip] = []
        if pixels is None:  # an image with no pixel data: nothing to draw
            return strips
        for row in range(0, size[1], 2):
            segments = []
            for col in range(size[0]):
                top, bottom = pixels[col, row], pixels[col, row + 1]
                segments.append(Segment("▀", Style(color=f"rgb{top}", bgcolor=f"rgb{bottom}")))
            strips.append(Strip(segments, size[0]))
        self._cache = ((width, height), strips)
        return strips

    def render_line(self, y: int) -> Strip:
        strips = self._strips(self.size.width, self.size.height)
        return strips[y] if y < len(strips) else Strip.blank(self.size.width)
