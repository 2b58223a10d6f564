"""The scrolling log of what happened on site."""

from __future__ import annotations

from typing import Any
from zoneinfo import ZoneInfo

from rich.text import Text
from textual.widgets import RichLog

from console.i18n import _
from console.site.events import LogEntry

_STYLE = {"info": "", "warning": "yellow", "error": "bold red"}


class EventLog(RichLog):
    """Newest at the bottom; keeps the last 1,000 lines."""

    DEFAULT_CSS = """
    EventLog { border: round $secondary; background: $surface; }
    """

    def __init__(self, tz: ZoneInfo, **kwargs: Any) -> None:
        super().__init__(max_lines=1000, wrap=False, markup=False, **kwargs)
        self.tz = tz
        self.border_title = _("Events")
        self.lines_written = 0

    def add(self, entry: LogEntry) -> None:
        line = Text(f"{entry.at.astimezone(self.tz):%H:%M:%S} ", style="dim")
        line.append(entry.text, style=_STYLE.get(entry.level, ""))
        self.write(line)
        self.lines_written += 1
