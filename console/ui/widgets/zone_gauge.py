"""A zone's occupancy as a bar with the free spaces, and a clear FULL state."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.containers import Horizontal
from textual.widgets import Label, ProgressBar

from console.domain.occupancy import ZoneOccupancy
from console.i18n import _


class ZoneGauge(Horizontal):
    """Occupancy of one zone."""

    DEFAULT_CSS = """
    ZoneGauge { height: 1; }
    ZoneGauge > .zone-name { width: 18; text-style: bold; }
    ZoneGauge > ProgressBar { width: 1fr; }
    ZoneGauge > .zone-count { width: 30; padding-left: 1; }
    ZoneGauge.-full > .zone-count { color: $error; text-style: bold reverse; }
    ZoneGauge.-full Bar > .bar--bar, ZoneGauge.-full Bar > .bar--complete { color: $error; }
    """

    def __init__(self, zone: ZoneOccupancy) -> None:
        super().__init__(id=f"zone-{zone.zone}")
        self.zone = zone

    def compose(self) -> ComposeResult:
        yield Label(self.zone.name, classes="zone-name")
        yield ProgressBar(total=max(1, self.zone.capacity), show_eta=False, show_percentage=True)
        yield Label("", classes="zone-count")

    def on_mount(self) -> None:
        self.show(self.zone)

    def show(self, zone: ZoneOccupancy) -> None:
        """Redraw with new figures."""
        self.zone = zone
        self.query_one(ProgressBar).update(total=max(1, zone.capacity), progress=min(zone.occupied, zone.capacity))
        label = self.query_one(".zone-count", Label)
        if zone.full:
            label.update(" " + _("FULL") + f"  {zone.occupied}/{zone.capacity}")
        else:
            label.update(_("{occupied}/{capacity}  {remaining} free").format(occupied=zone.occupied, capacity=zone.capacity, remaining=zone.remaining))
        self.set_class(zone.full, "-full")
