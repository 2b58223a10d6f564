"""The keys that work on a screen, from the action registry, wrapped over as many lines
as the width needs (a footer cuts what does not fit on one line)."""

from __future__ import annotations

import re
from typing import Any

from rich.cells import cell_len
from rich.text import Text
from textual.binding import Binding
from textual.widgets import Static

from console.domain.staff import Role, may
from console.i18n import _
from console.ui.actions import APP, actions_for, works_now

_FUNCTION_KEY = re.compile(r"f\d{1,2}")


class KeyHints(Static):
    """Hints for the registry actions of `scope` that the screen allows now (its
    `check_action`; the app's for the "app" scope), after any fixed hints such as
    "Enter pay". A key and its label never break apart across lines. Fixed hints may be
    given as msgids (`N_`): they are translated when drawn, so they follow a language
    switch (`refresh_hints()` again after it)."""

    DEFAULT_CSS = """
    KeyHints { dock: bottom; height: auto; background: $panel; color: $text; padding: 0 1; }
    """

    def __init__(self, scope: str, leading: list[tuple[str, str]] | None = None,
                 trailing: list[tuple[str, str]] | None = None, app_keys: tuple[str, ...] = (), **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.scope = scope
        self.leading: list[tuple[str, str]] = list(leading or [])
        self.trailing: list[tuple[str, str]] = list(trailing or [])  # after the registry's keys
        self.app_keys = app_keys  # ids of the console's own actions also worth showing here
        self.pairs: list[tuple[str, str]] = []

    def on_mount(self) -> None:
        # Keys come and go with the screen's state (its refresh_bindings): follow them.
        self.screen.bindings_updated_signal.subscribe(self, lambda _screen: self.refresh_hints())
        self.refresh_hints()

    def on_resize(self) -> None:
        self._draw()

    def refresh_hints(self, leading: list[tuple[str, str]] | None = None) -> None:
        """Redraw; `leading` (key, label) pairs come first (keys that are no binding)."""
        if leading is not None:
            self.leading = leading
        if not self.is_attached:
            return
        # The app's keys are allowed by the app, a screen's by the screen.
        judge = self.app if self.scope == APP else self.screen
        pairs = [(self._key(key), _(label)) for key, label in self.leading]
        wanted = [(action, judge) for action in actions_for(self.scope)]
        wanted += [(action, self.app) for action in actions_for(APP) if action.id in self.app_keys]
        role = self._role()
        for action, owner in wanted:
            if not action.show or not works_now(owner, action):
                continue
            if action.permission is not None and (role is None or not may(role, action.permission)):
                continue  # a manager's key is not offered to an attendant (it only says no)
            key = self.app.get_key_display(action.binding())
            pairs.append((key.upper() if _FUNCTION_KEY.fullmatch(key) else key, _(action.label)))
        pairs.extend((self._key(key), _(label)) for key, label in self.trailing)
        self.pairs = pairs
        self._draw()

    def _role(self) -> Role | None:
        """The signed-in user's role, when the app knows one."""
        signed_in_role = getattr(self.app, "signed_in_role", None)
        role = signed_in_role() if callable(signed_in_role) else None
        return role if isinstance(role, Role) else None

    def _key(self, key: str) -> str:
        """A fixed hint's key as the footer would show it ("ctrl+p" as "^p"); a word such
        as "Enter" in the current language."""
        if "+" in key:
            return self.app.get_key_display(Binding(key, ""))
        return _(key)

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
