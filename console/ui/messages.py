"""App-wide messages."""

from __future__ import annotations

from textual.message import Message

from console.site.events import (
    DeviceHealthChanged,
    LaneChanged,
    LinkStatus,
    OccupancyChanged,
    SessionChanged,
    SiteEvent,
)


class SiteUpdate(Message):
    """A site event, carried from a device thread to the UI thread."""

    def __init__(self, event: SiteEvent) -> None:
        super().__init__()
        self.event = event

    def can_replace(self, message: Message) -> bool:
        """A newer snapshot of the same lane, of the zones, of a device's health or of a
        charging port makes
        an older one still waiting in the queue redundant: under bursts the screen shows
        the latest state and the UI thread does less work (the lanes' own threads need
        the interpreter more than a repaint does)."""
        if not isinstance(message, SiteUpdate):
            return False
        new, old = self.event, message.event
        if isinstance(new, LaneChanged) and isinstance(old, LaneChanged):
            return new.lane.id == old.lane.id and new.lane.pending == old.lane.pending
        if isinstance(new, OccupancyChanged) and isinstance(old, OccupancyChanged):
            return True
        if isinstance(new, LinkStatus) and isinstance(old, LinkStatus):
            return True
        if isinstance(new, DeviceHealthChanged) and isinstance(old, DeviceHealthChanged):
            return new.health.device == old.health.device
        if isinstance(new, SessionChanged) and isinstance(old, SessionChanged):
            return (new.port.pile_id, new.port.port) == (old.port.pile_id, old.port.port)
        return False
