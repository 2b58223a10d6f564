"""The keys that work on a screen, from the action registry, wrapped over as many lines
as the width needs (a footer cuts what does not fit on one line)."""

from __future__ import annotations

import re
from typing import Any

from rich.cells import cell_len
from rich.text import Text
from textual.widgets import Static

from console.i18n import _
from console.ui.actions import actions_for

_FUNCTION_KEY = re.compile(r"f\d{1,2}")


class KeyHints(Static):
    """Hints for the registry actions of `scope` that the screen allows now (its
    `check_action`), after any fixed hints such as "Enter pay". A key and its label
    never break apart across lines."""

    DEFAULT_CSS = """
    KeyHints { dock: bottom; height: auto; background: $panel; color: $text; padding: 0 1; }
    """

    def __init__(self, scope: str, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.scope = scope
        self.leading: list[tuple[str, str]] = []
        self.pairs: list[tuple[str, str]] = []

    def on_mount(self) -> None:
        self.refresh_hints()

    def on_resize(self) -> None:
        self._draw()

    def refresh_hints(self, leading: list[tuple[str, str]] | None = None) -> None:
        """Redraw; `leading` (key, label) pairs come first (keys that are no binding)."""
        if leading is not None:
            self.leading = leading
        screen = self.screen
        pairs = list(self.leading)
        for action in actions_for(self.scope):
            if not action.show:
                continue
            name, _sep, rest = action.action.partition("(")
            params: tuple[object, ...] = ()
            if rest:
                params = tuple(p.strip().strip("'\"") for p in rest.rstrip(")").split(","))
            if screen.check_action(name, params) is not True:
                continue
            key = self.app.get_key_display(action.binding())
            pairs.append((key.upper() if _FUNCTION_KEY.fullmatch(key) else key, _(action.label)))
        self.pairs = pairs
        self._draw()

    def _draw(self) -> None:
        width = max(20, self.content_region.width or self.app.size.width - 2)
        text = Text()
        used = 0
        for key, label in self.pairs:
            size = cell_len(key) + 1 + cell_len(label)
            if used and used + 2 + size > width:
                text.append("\n")
                used = 0
            elif used:
                text.append("  ")
                used += 2
            text.append(key, style="bold reverse")
            text.append(" " + label)
            used += size
        self.update(text)
