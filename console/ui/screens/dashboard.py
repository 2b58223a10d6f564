"""The attendant's main screen: lanes, zones, events, status."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.containers import Grid, Vertical
from textual.screen import Screen
from textual.widgets import Footer, Header

from console.site.core import Site
from console.site.events import DeviceHealthChanged, LaneChanged, LogEntry, OccupancyChanged, SiteEvent
from console.ui.widgets.event_log import EventLog
from console.ui.widgets.lane_panel import LanePanel
from console.ui.widgets.status_bar import StatusBar
from console.ui.widgets.zone_gauge import ZoneGauge


class DashboardScreen(Screen[None]):
    """Live view of the site."""

    DEFAULT_CSS = """
    DashboardScreen #lanes { grid-size: 4; grid-gutter: 0 1; height: auto; padding: 0 1; }
    DashboardScreen #zones { height: auto; border: round $secondary; padding: 0 1; margin: 0 1; background: $surface; }
    DashboardScreen EventLog { height: 1fr; margin: 0 1; }
    """

    def __init__(self, site: Site) -> None:
        super().__init__(id="dashboard")
        self.site = site
        self.tz = site.config.site.tz

    def compose(self) -> ComposeResult:
        yield Header()
        with Grid(id="lanes"):
            for lane in self.site.lanes():
                yield LanePanel(lane, self.tz)
        with Vertical(id="zones") as zones:
            zones.border_title = "Occupancy"
            for zone in self.site.occupancy():
                yield ZoneGauge(zone)
        yield EventLog(self.tz, id="events")
        yield StatusBar(self.tz, id="status")
        yield Footer()

    def on_mount(self) -> None:
        status = self.query_one(StatusBar)
        for health in self.site.device_health().values():
            status.devices[health.device] = health
        self.tick()
        self.set_interval(1.0, self.tick)

    def tick(self) -> None:
        status = self.query_one(StatusBar)
        status.now = self.site.clock.now()
        status.refresh_text()

    def show_event(self, event: SiteEvent) -> None:
        """Render one site event."""
        if isinstance(event, LaneChanged):
            self.query_one(f"#lane-{event.lane.id}", LanePanel).show(event.lane)
        elif isinstance(event, OccupancyChanged):
            for zone in event.zones:
                self.query_one(f"#zone-{zone.zone}", ZoneGauge).show(zone)
        elif isinstance(event, LogEntry):
            self.query_one(EventLog).add(event)
        elif isinstance(event, DeviceHealthChanged):
            self.query_one(StatusBar).set_device(event.health)
