"""App-wide messages."""

from __future__ import annotations

from textual.message import Message

from console.site.events import SiteEvent


class SiteUpdate(Message):
    """A site event, carried from a device thread to the UI thread."""

    def __init__(self, event: SiteEvent) -> None:
        super().__init__()
        self.event = event
