"""The booth console's Textual app. It only wires: the site sends events, screens render
them, and user actions become site commands run in worker threads."""

from __future__ import annotations

import getpass
import logging
import threading
from typing import TYPE_CHECKING, Callable, ClassVar

from textual import work
from textual.app import App
from textual.binding import Binding, BindingType

from console.locations import themes_dir
from console.site.config import SiteConfig
from console.domain.timeparse import TimeInputError, parse_local_time
from console.site.errors import PlateNotFound, SiteError
from console.site.events import ExitPending, ExitSettled, ExitTicket, PlateNeedsConfirmation, SiteEvent, UnknownAtExit
from console.ui.commands import BoothCommands
from console.ui.messages import SiteUpdate
from console.ui.screens.dashboard import DashboardScreen
from console.ui.screens.exit_desk import ExitDeskScreen
from console.ui.screens.lane_operations import (
    NONE_OF_THESE,
    GateRequest,
    ManualGateScreen,
    OccupancyRequest,
    OccupancyScreen,
    PlateChoiceScreen,
    UnknownEntryRequest,
    UnknownEntryScreen,
)
from console.ui.screens.plate_prompt import PlatePromptScreen
from console.ui.screens.receipts import ReceiptsScreen
from console.ui.themes import load_themes

if TYPE_CHECKING:
    from console.site.core import Site
    from console.site.headless import AutoAttendant

log = logging.getLogger(__name__)

EXIT_STORE = 3

FALLBACK_THEME = "booth-dark"


class BoothApp(App[None]):
    """The console on the booth PC."""

    TITLE = "Booth"
    CSS_PATH = ["app.tcss"]
    COMMANDS = App.COMMANDS | {BoothCommands}
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("f2", "exit_by_plate", "Exit by plate", id="booth.exit_by_plate", tooltip="Type a plate the camera missed"),
        Binding("f3", "pay_next", "Pay next", id="booth.pay_next", tooltip="Open the exit desk for the next waiting vehicle"),
        Binding("f4", "manual_gate", "Gate by hand", id="booth.manual_gate", tooltip="Open or close a barrier, with a reason"),
        Binding("f6", "occupancy", "Occupancy", id="booth.occupancy", tooltip="Correct a zone's count, close stale visits"),
        Binding("f7", "receipts", "Receipts", id="booth.receipts", tooltip="Last receipts; Enter reprints"),
        Binding("f9", "next_theme", "Theme", id="booth.theme", tooltip="Dark / high-contrast daylight"),
        Binding("ctrl+a", "toggle_autopay", "Auto-pay", id="booth.autopay", tooltip="Demo only: pay exits automatically"),
        Binding("ctrl+q", "quit", "Quit", id="booth.quit", priority=True),
    ]

    def __init__(
        self,
        site: Site | None = None,
        *,
        config: SiteConfig | None = None,
        site_factory: Callable[[], Site] | None = None,
        theme_name: str = FALLBACK_THEME,
        demo: bool = False,
        attendant: str | None = None,
        auto_pay: bool | None = None,
    ) -> None:
        """Give a built site (tests), or the config and a factory that builds the site.

        With a factory the dashboard is drawn first and the database is opened, migrated
        and the lanes started in a worker, so the screen is up at once and a database
        problem is shown, not a blank terminal."""
        super().__init__()
        if site is None and (config is None or site_factory is None):
            raise ValueError("BoothApp needs a site, or a config and a site factory")
        self.config: SiteConfig = config or site.config  # type: ignore[union-attr]
        self.site: Site | None = None
        self._given_site = site
        self._site_factory = site_factory
        self.demo = demo
        self.attendant = attendant or getpass.getuser()
        self.wanted_theme = theme_name
        self.auto_pay_wanted = demo if auto_pay is None else auto_pay
        self.auto: AutoAttendant | None = None
        self.dashboard = DashboardScreen(self.config)
        self._unsubscribe: Callable[[], None] | None = None
        # Starting (worker thread) and stopping (unmount) must not interleave.
        self._life_lock = threading.Lock()
        self._closing = False
        self.title = f"{self.config.site.name} · {self.config.site.booth_id}" + (" · DEMO" if demo else "")

    # -- life cycle -----------------------------------------------------------------------
    def on_mount(self) -> None:
        for theme in load_themes(themes_dir()):
            self.register_theme(theme)
        if self.wanted_theme in self.available_themes:
            self.theme = self.wanted_theme
        else:
            self.theme = FALLBACK_THEME if FALLBACK_THEME in self.available_themes else "textual-dark"
            self.notify(f"theme {self.wanted_theme!r} not found; using {self.theme}", severity="warning")
        self.push_screen(self.dashboard)
        self.start_site_worker()

    @work(thread=True, exclusive=True, group="site-start", exit_on_error=False)
    def start_site_worker(self) -> None:
        """Opening the database and the devices is blocking I/O: never on the UI thread."""
        site = self._given_site
        if site is None:
            assert self._site_factory is not None
            try:
                site = self._site_factory()
            except Exception as exc:  # StoreError and friends: say it, then stop cleanly
                log.exception("site did not start")
                self.call_from_thread(self.exit, None, EXIT_STORE, f"booth: cannot start the site: {exc}")
                return
        with self._life_lock:
            if self._closing:
                return
            if self.demo:
                from console.site.headless import AutoAttendant

                self.auto = AutoAttendant(site)
                self.auto.enabled = self.auto_pay_wanted
            self.site = site
            self._unsubscribe = site.subscribe(self._on_site_event)
            if self.auto is not None:
                self.auto.start()
            site.start()
        try:
            self.call_from_thread(self._attach, site)
        except RuntimeError:
            pass  # the app closed meanwhile; unmount stops the site

    def _attach(self, site: Site) -> None:
        self.dashboard.attach(site)
        self._update_flags()

    def on_unmount(self) -> None:
        with self._life_lock:
            self._closing = True
            if self._unsubscribe:
                self._unsubscribe()
            if self.site is not None:
                self.site.stop()
            if self.auto is not None:
                self.auto.stop()

    def _on_site_event(self, event: SiteEvent) -> None:
        # Called from device threads; post_message is thread-safe.
        self.post_message(SiteUpdate(event))

    # -- rendering ------------------------------------------------------------------------
    def on_site_update(self, message: SiteUpdate) -> None:
        event = message.event
        self.dashboard.show_event(event)
        hands_off = bool(self.auto and self.auto.enabled)
        if isinstance(event, ExitPending) and not hands_off:
            if self.screen is self.dashboard:
                self.open_exit_desk(event.ticket)
            else:
                self.notify(f"{event.ticket.visit.plate} waiting at {event.ticket.lane_id}: {event.ticket.due}", timeout=4)
        elif isinstance(event, PlateNeedsConfirmation) and not hands_off:
            if self.screen is self.dashboard:
                self.choose_plate(event.lane_id, event.read_plate, event.candidates)
            else:
                self.notify(f"{event.lane_id}: plate {event.read_plate} needs checking (F2)", severity="warning")
        elif isinstance(event, UnknownAtExit) and not hands_off:
            if self.screen is self.dashboard:
                self.ask_unknown_entry(event.lane_id, event.plate)
            else:
                self.notify(f"{event.lane_id}: no visit for {event.plate} (F2)", severity="warning")

    def _update_flags(self) -> None:
        status = self.dashboard.query("#status")
        if not status:
            return
        bar = status.first()
        bar.flags = ["AUTO-PAY"] if (self.auto and self.auto.enabled) else []  # type: ignore[attr-defined]
        bar.refresh_text()  # type: ignore[attr-defined]

    # -- actions --------------------------------------------------------------------------
    def _site_ready(self) -> Site | None:
        if self.site is None:
            self.notify("the site is still starting", severity="warning")
        return self.site

    def open_exit_desk(self, ticket: ExitTicket) -> None:
        """Show the exit desk for a waiting vehicle."""
        assert self.site is not None

        def closed(result: ExitSettled | None) -> None:
            if result is not None:
                self.notify(f"{ticket.visit.plate} paid, change {result.change}", timeout=3)

        self.push_screen(ExitDeskScreen(self.site, ticket, self.attendant), closed)

    def action_pay_next(self) -> None:
        site = self._site_ready()
        if site is None:
            return
        tickets = sorted(site.pending_tickets(), key=lambda t: t.exit_at)
        if not tickets:
            self.notify("no vehicle is waiting at an exit")
            return
        if self.screen is self.dashboard:
            self.open_exit_desk(tickets[0])

    def action_exit_by_plate(self) -> None:
        if self._site_ready() is None:
            return
        lanes = [(f"{lane.id} · {lane.name or lane.id}", lane.id) for lane in self.config.lanes if lane.direction == "exit"]
        if not lanes:
            self.notify("this site has no exit lane", severity="error")
            return

        def chosen(result: tuple[str, str] | None) -> None:
            if result is not None:
                self.look_up_exit(*result)

        self.push_screen(PlatePromptScreen(lanes), chosen)

    @work(thread=True, exclusive=True, group="exit-lookup", exit_on_error=False)
    def look_up_exit(self, lane_id: str, plate: str) -> None:
        assert self.site is not None
        try:
            ticket = self.site.open_exit(lane_id, plate)
        except PlateNotFound as exc:
            self.call_from_thread(self.notify, str(exc), severity="warning", timeout=6)
            if exc.candidates:
                self.call_from_thread(self.choose_plate, lane_id, exc.plate, exc.candidates)
            else:
                self.call_from_thread(self.ask_unknown_entry, lane_id, exc.plate)
            return
        except SiteError as exc:
            self.call_from_thread(self.notify, str(exc), severity="error", timeout=6)
            return
        if ticket is None:
            self.call_from_thread(self.notify, f"{plate}: within the free period, gate opening")
            return
        self.call_from_thread(self.open_exit_desk, ticket)

    # -- doubtful plates and unknown entries ------------------------------------------------
    def choose_plate(self, lane_id: str, read_plate: str, candidates: tuple[str, ...]) -> None:
        """Let the attendant pick which visit a doubtful plate read belongs to."""

        def chosen(result: str | None) -> None:
            if result == NONE_OF_THESE:
                self.ask_unknown_entry(lane_id, read_plate)
            elif result is not None:
                self.look_up_exit(lane_id, result)

        self.push_screen(PlateChoiceScreen(lane_id, read_plate, candidates), chosen)

    def ask_unknown_entry(self, lane_id: str, plate: str) -> None:
        """Lost ticket, or an entry time the driver states."""

        def chosen(result: UnknownEntryRequest | None) -> None:
            if result is not None:
                self.record_unknown_entry(result)

        self.push_screen(UnknownEntryScreen(lane_id, plate), chosen)

    @work(thread=True, exclusive=True, group="unknown-entry", exit_on_error=False)
    def record_unknown_entry(self, request: UnknownEntryRequest) -> None:
        site = self.site
        assert site is not None
        try:
            entry_at = None
            if not request.lost_ticket:
                entry_at = parse_local_time(request.entry_text, now=site.clock.now(), tz=self.config.site.tz)
            ticket = site.exit_with_unknown_entry(
                request.lane_id, request.plate, actor=self.attendant, reason=request.reason,
                entry_at=entry_at, lost_ticket=request.lost_ticket,
            )
        except (SiteError, TimeInputError) as exc:
            self.call_from_thread(self.notify, f"nothing recorded: {exc}", severity="error", timeout=8)
            return
        if ticket is not None:
            self.call_from_thread(self.open_exit_desk, ticket)

    # -- barriers and occupancy by hand ---------------------------------------------------------
    def action_manual_gate(self) -> None:
        if self._site_ready() is None or self.screen is not self.dashboard:
            return
        lanes = [(f"{lane.id} · {lane.name or lane.id} ({lane.direction})", lane.id) for lane in self.config.lanes]

        def chosen(result: GateRequest | None) -> None:
            if result is not None:
                self.move_gate(result)

        self.push_screen(ManualGateScreen(lanes, self.config.operations.manual_gate_reasons), chosen)

    @work(thread=True, exclusive=False, group="manual-gate", exit_on_error=False)
    def move_gate(self, request: GateRequest) -> None:
        assert self.site is not None
        try:
            self.site.manual_gate(request.lane_id, request.action, reason=request.reason, note=request.note, actor=self.attendant)
        except SiteError as exc:
            self.call_from_thread(self.notify, f"barrier not moved: {exc}", severity="error", timeout=8)
            return
        self.call_from_thread(self.notify, f"{request.lane_id}: barrier {request.action} ({request.reason}) recorded", timeout=4)

    def action_occupancy(self) -> None:
        site = self._site_ready()
        if site is None or self.screen is not self.dashboard:
            return
        self.load_occupancy_facts()

    @work(thread=True, exclusive=True, group="occupancy", exit_on_error=False)
    def load_occupancy_facts(self) -> None:
        site = self.site
        assert site is not None
        try:
            current = {z.zone: z.occupied for z in site.occupancy()}
            stale = {z.id: len(site.stale_visits(z.id)) for z in self.config.zones}
        except Exception as exc:
            self.call_from_thread(self.notify, f"cannot read the zones: {exc}", severity="error")
            return
        zones = [(z.name or z.id, z.id) for z in self.config.zones]

        def chosen(result: OccupancyRequest | None) -> None:
            if result is not None:
                self.repair_occupancy(result)

        self.call_from_thread(self.push_screen, OccupancyScreen(zones, current, stale), chosen)

    @work(thread=True, exclusive=True, group="occupancy-repair", exit_on_error=False)
    def repair_occupancy(self, request: OccupancyRequest) -> None:
        site = self.site
        assert site is not None
        try:
            count = int(request.count_text) if request.count_text else None
        except ValueError:
            self.call_from_thread(self.notify, f"{request.count_text!r} is not a whole number; nothing changed", severity="error")
            return
        if count is None and not request.close_stale:
            self.call_from_thread(self.notify, "nothing to do: give a count or choose to close stale visits", severity="warning")
            return
        try:
            if request.close_stale:
                stale = site.stale_visits(request.zone_id)
                closed = site.close_stale([v.id for v in stale], reason=request.reason, actor=self.attendant)
                self.call_from_thread(self.notify, f"{closed} stale visits closed", timeout=4)
            if count is not None:
                site.correct_occupancy(request.zone_id, count, reason=request.reason, actor=self.attendant)
                self.call_from_thread(self.notify, f"{request.zone_id}: count set to {count}", timeout=4)
        except SiteError as exc:
            self.call_from_thread(self.notify, f"not changed: {exc}", severity="error", timeout=8)

    def action_receipts(self) -> None:
        site = self._site_ready()
        if site is None or self.screen is not self.dashboard:
            return
        self.push_screen(ReceiptsScreen(site, self.attendant))

    def action_next_theme(self) -> None:
        ours = [name for name in ("booth-dark", "booth-daylight") if name in self.available_themes]
        if not ours:
            return
        index = ours.index(self.theme) + 1 if self.theme in ours else 0
        self.theme = ours[index % len(ours)]
        self.notify(f"theme: {self.theme}", timeout=2)

    def action_toggle_autopay(self) -> None:
        if self.auto is None:
            if self.demo:
                self.notify("the site is still starting", severity="warning")
                return
            self.notify("auto-pay exists only in the demo", severity="warning")
            return
        self.auto.enabled = not self.auto.enabled
        self._update_flags()
        self.notify("demo auto-pay " + ("on" if self.auto.enabled else "off: exits come to the desk"), timeout=3)
