"""The scrolling log of what happened on site."""

from __future__ import annotations

from collections import deque
from typing import Any
from zoneinfo import ZoneInfo

from textual.content import Content
from textual.theme import Theme
from textual.widgets import RichLog

from console.i18n import _
from console.site.events import LogEntry

# Theme variables, never fixed colours: a warning must read as well as the text around it
# in the daylight theme too.
_STYLE = {"info": "", "warning": "bold $warning", "error": "bold $error"}
MAX_LINES = 1000


class EventLog(RichLog):
    """Newest at the bottom; keeps the last 1,000 lines."""

    DEFAULT_CSS = """
    EventLog { border: round $secondary; background: $surface; }
    """

    def __init__(self, tz: ZoneInfo, **kwargs: Any) -> None:
        super().__init__(max_lines=MAX_LINES, wrap=False, markup=False, **kwargs)
        self.tz = tz
        self.border_title = _("Events")
        self.lines_written = 0
        self._entries: deque[LogEntry] = deque(maxlen=MAX_LINES)

    def on_mount(self) -> None:
        self.app.theme_changed_signal.subscribe(self, self._theme_changed)

    def _line(self, entry: LogEntry) -> Content:
        # Another booth's event carries its booth's name, so the attendant tells "here"
        # from "at the other exit" at a glance.
        booth = (f"[{entry.booth}] ", "bold $accent") if entry.booth else ("", "")
        return Content.assemble((f"{entry.at.astimezone(self.tz):%H:%M:%S} ", "$text-muted"), booth,
                                (entry.text, _STYLE.get(entry.level, "")))

    def add(self, entry: LogEntry) -> None:
        self._entries.append(entry)
        self.write(self._line(entry))
        self.lines_written += 1

    def _theme_changed(self, theme: Theme) -> None:
        # Written lines keep the colours of the theme they were written in: write them again.
        self.clear()
        for entry in self._entries:
            self.write(self._line(entry))
