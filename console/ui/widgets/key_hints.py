"""The keys that work on a screen, from the action registry, wrapped over as many lines
as the width needs (a footer cuts what does not fit on one line)."""

from __future__ import annotations

from typing import Any

from rich.text import Text
from textual.widgets import Static

from console.i18n import _
from console.ui.actions import actions_for


class KeyHints(Static):
    """Hints for the registry actions of `scope` that the screen allows now (its
    `check_action`), after any fixed hints such as "Enter pay"."""

    DEFAULT_CSS = """
    KeyHints { dock: bottom; height: auto; background: $panel; color: $text; padding: 0 1; }
    """

    def __init__(self, scope: str, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.scope = scope
        self.leading: list[tuple[str, str]] = []

    def on_mount(self) -> None:
        self.refresh_hints()

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
            pairs.append((self.app.get_key_display(action.binding()), _(action.label)))
        text = Text()
        for index, (key, label) in enumerate(pairs):
            if index:
                text.append("  ")
            # A pair never breaks inside: key and label are joined by a no-break space.
            text.append(key, style="bold reverse")
            text.append("\u00a0" + label.replace(" ", "\u00a0"))
        self.update(text)
