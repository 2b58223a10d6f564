"""The attendant's main screen: lanes, zones, events, status.

It is drawn from the site file alone, so it appears before the database is open; live
state arrives as site events once the site has started."""

from __future__ import annotations

from typing import TYPE_CHECKING

from textual.app import ComposeResult
from textual.containers import Grid, Vertical
from textual.screen import Screen
from textual.widgets import Header, Static

from console.domain.occupancy import ZoneOccupancy
from console.i18n import _
from console.site.config import SiteConfig
from console.site.events import (
    DeviceHealthChanged,
    LaneChanged,
    LaneSnapshot,
    LinkStatus,
    LogEntry,
    OccupancyChanged,
    SiteEvent,
)
from console.ui.actions import APP, PALETTE_LABEL
from console.ui.widgets.event_log import EventLog
from console.ui.widgets.key_hints import KeyHints
from console.ui.widgets.lane_panel import LanePanel
from console.ui.widgets.status_bar import StatusBar
from console.ui.widgets.zone_gauge import ZoneGauge

if TYPE_CHECKING:
    from console.site.site import Site


class DashboardScreen(Screen[None]):
    """Live view of the site."""

    DEFAULT_CSS = """
    DashboardScreen #lanes { grid-size: 4; grid-gutter: 0 1; height: auto; padding: 0 1; }
    DashboardScreen #queue { height: auto; padding: 0 2; }
    DashboardScreen #queue.-waiting { text-style: bold; color: $warning; }
    DashboardScreen #zones { height: auto; border: round $secondary; padding: 0 1; margin: 0 1; background: $surface; }
    DashboardScreen EventLog { height: 1fr; margin: 0 1; }
    """

    def __init__(self, config: SiteConfig) -> None:
        super().__init__(id="dashboard")
        self.config = config
        self.tz = config.site.tz
        self.site: Site | None = None

    def compose(self) -> ComposeResult:
        yield Header()
        with Grid(id="lanes"):
            for lane in self.config.lanes:
                yield LanePanel(LaneSnapshot(lane.id, lane.name or lane.id, lane.direction, lane.zone, status=_("starting…")), self.tz,
                                plate_text=self.config.site.plates.display)
        yield Static("", id="queue")
        with Vertical(id="zones") as zones:
            zones.border_title = _("Occupancy")
            for zone in self.config.zones:
                yield ZoneGauge(ZoneOccupancy(zone.id, zone.name or zone.id, zone.capacity, 0))
        yield EventLog(self.tz, id="events")
        yield StatusBar(self.tz, id="status")
        # Every key the dashboard takes, wrapped: a footer line cuts the last ones at 80 columns.
        yield KeyHints(APP, trailing=[("ctrl+p", PALETTE_LABEL)], id="hints")

    def on_mount(self) -> None:
        self.set_interval(1.0, self.tick)

    def attach(self, site: Site) -> None:
        """Show the started site's current state; events keep it up to date."""
        self.site = site
        status = self.query_one(StatusBar)
        for health in site.board.device_health().values():
            status.devices[health.device] = health
        for lane in site.board.lanes():
            self.query_one(f"#lane-{lane.id}", LanePanel).show(lane)
        for zone in site.board.occupancy():
            self.query_one(f"#zone-{zone.zone}", ZoneGauge).show(zone)
        self.tick()

    def show_queue(self) -> None:
        """How many vehicles wait to pay, per exit lane and in all, and for how long."""
        if self.site is None:
            return
        lines = list(self.query("#queue").results(Static))
        if not lines:
            return  # the screen is being taken down (the console quits while events arrive)
        line = lines[0]
        board = self.site.board
        waiting = board.queue()
        by_lane = board.waiting_by_lane()
        line.set_class(bool(waiting), "-waiting")
        if not waiting:
            line.update(_("Waiting to pay: none"))
            return
        now = self.site.clock.now()
        longest = max(int((now - t.exit_at).total_seconds() // 60) for t in waiting)
        lanes = " · ".join(f"{lane} {n}" for lane, n in by_lane.items())
        line.update(_("Waiting to pay: {total} ({lanes}) · longest {minutes} min · F3: {lane} {plate} next").format(
            total=len(waiting), lanes=lanes, minutes=max(0, longest), lane=waiting[0].lane_id,
            plate=self.config.site.plates.display(waiting[0].visit.plate)))

    def set_flags(self, flags: list[str]) -> None:
        """Modes the attendant must see (AUTO-PAY...), in the status bar."""
        for bar in self.query(StatusBar).results(StatusBar):
            bar.flags = flags
            bar.refresh_text()

    def retranslate(self) -> None:
        """Redraw every word in the current language, keeping the live state and the log."""
        self.query_one("#zones", Vertical).border_title = _("Occupancy")
        for panel in self.query(LanePanel).results(LanePanel):
            panel.show(panel.lane)
        for gauge in self.query(ZoneGauge).results(ZoneGauge):
            gauge.show(gauge.zone)
        for log in self.query(EventLog).results(EventLog):
            log.border_title = _("Events")
        for bar in self.query(StatusBar).results(StatusBar):
            bar.refresh_text()

    def tick(self) -> None:
        if self.site is None:
            return
        status = self.query_one(StatusBar)
        status.now = self.site.clock.now()
        status.refresh_text()
        self.show_queue()

    def show_event(self, event: SiteEvent) -> None:
        """Render one site event. Events that arrive before the screen is composed are
        dropped: `attach` draws the whole current state once the site is up."""
        if isinstance(event, LaneChanged):
            for panel in self.query(f"#lane-{event.lane.id}").results(LanePanel):
                panel.show(event.lane)
            self.show_queue()
        elif isinstance(event, OccupancyChanged):
            for zone in event.zones:
                for gauge in self.query(f"#zone-{zone.zone}").results(ZoneGauge):
                    gauge.show(zone)
        elif isinstance(event, LogEntry):
            for log in self.query(EventLog).results(EventLog):
                log.add(event)
        elif isinstance(event, DeviceHealthChanged):
            for bar in self.query(StatusBar).results(StatusBar):
                bar.set_device(event.health)
        elif isinstance(event, LinkStatus):
            for bar in self.query(StatusBar).results(StatusBar):
                bar.cloud = event.cloud
                bar.refresh_text()
