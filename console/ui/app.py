"""The booth console's Textual app. It only wires: the site sends events, screens render
them, and user actions become site commands run in worker threads."""

from __future__ import annotations

import logging
import threading
import time
from typing import TYPE_CHECKING, Callable, ClassVar

from textual import work
from textual.app import App
from textual.binding import Binding, BindingType

from console.locations import themes_dir
from console.site.config import SiteConfig
from console.domain.staff import Role, User, may
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
from console.ui.screens.staff import CloseShiftScreen, FirstManagerScreen, OpenShiftScreen, SignInScreen
from console.ui.themes import load_themes

if TYPE_CHECKING:
    from console.site.core import Site
    from console.site.headless import AutoAttendant
    from console.store.shifts import Shift

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
        Binding("f10", "close_shift", "Close shift", id="booth.close_shift", tooltip="Count the drawer, close or hand over, Z report"),
        Binding("f11", "manager_reports", "Reports", id="booth.reports", tooltip="Manager reports (managers only)"),
        Binding("ctrl+l", "lock", "Lock", id="booth.lock", tooltip="Lock the console until someone signs in"),
        Binding("f8", "elevator", "Elevator", id="booth.elevator", tooltip="Exit snapshots and ride log"),
        Binding("f12", "charging", "Charging", id="booth.charging", tooltip="Charging piles, sessions and faults"),
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
        role: Role = Role.ATTENDANT,
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
        # With a given attendant (tests, demo) nobody signs in; otherwise the console
        # stays locked until a user signs in with a PIN.
        self.attendant = attendant or ""
        self.user: User | None = User("", attendant, role) if attendant else None
        self._last_activity = time.monotonic()
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
        # Build the site after the first paint: its imports (database, camera, cloud client)
        # would otherwise compete with drawing the dashboard for the interpreter.
        self.call_after_refresh(self.start_site_worker)

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
        if self.user is None:
            self.check_staff()
        minutes = self.config.ui.idle_lock_minutes
        if minutes > 0:
            self.set_interval(15, lambda: self._maybe_lock(minutes))

    # -- staff: sign-in, first manager, idle lock ----------------------------------------------
    def on_key(self) -> None:
        self._last_activity = time.monotonic()

    def _maybe_lock(self, minutes: float) -> None:
        if self.user is not None and not self.demo and time.monotonic() - self._last_activity > minutes * 60:
            self.action_lock()

    def action_lock(self) -> None:
        if self.site is None or self.screen.id == "sign-in":
            return
        last = self.user.name if self.user else ""
        self.user = None
        self.show_sign_in(last)

    @work(thread=True, exclusive=True, group="staff", exit_on_error=False)
    def check_staff(self) -> None:
        assert self.site is not None
        if self.site.needs_first_manager():
            self.call_from_thread(self.show_first_manager)
        else:
            self.call_from_thread(self.show_sign_in, "")

    def show_first_manager(self) -> None:
        screen = FirstManagerScreen()

        def submit(name: str, pin: str) -> None:
            self.create_first_manager(screen, name, pin)

        screen.on_submit = submit  # type: ignore[assignment]
        self.push_screen(screen)

    @work(thread=True, exclusive=True, group="staff", exit_on_error=False)
    def create_first_manager(self, screen: FirstManagerScreen, name: str, pin: str) -> None:
        assert self.site is not None
        try:
            user = self.site.add_user(name, Role.MANAGER, pin, actor="first start")
        except SiteError as exc:
            self.call_from_thread(screen.show_error, str(exc))
            return
        self.call_from_thread(screen.dismiss, None)
        self.call_from_thread(self.show_sign_in, user.name)

    def show_sign_in(self, last_user: str) -> None:
        screen = SignInScreen(self.config.site.name, last_user)

        def submit(name: str, pin: str) -> None:
            self.sign_in(screen, name, pin)

        screen.on_submit = submit  # type: ignore[assignment]
        self.push_screen(screen)

    @work(thread=True, exclusive=True, group="staff", exit_on_error=False)
    def sign_in(self, screen: SignInScreen, name: str, pin: str) -> None:
        assert self.site is not None
        try:
            user = self.site.sign_in(name, pin)
        except SiteError as exc:
            self.call_from_thread(screen.show_error, str(exc))
            return
        shift = self.site.current_shift()
        self.call_from_thread(self._signed_in, screen, user, shift)

    def _signed_in(self, screen: SignInScreen, user: User, shift: Shift | None) -> None:
        self.user = user
        self.attendant = user.name
        self._last_activity = time.monotonic()
        screen.dismiss(None)
        self.notify(f"signed in: {user.name} ({user.role.value})", timeout=3)
        if shift is None:
            self.show_open_shift()
        elif shift.attendant != user.name:
            self.notify(f"the drawer belongs to the shift of {shift.attendant}: close it or hand over (F10)", severity="warning", timeout=8)

    def show_open_shift(self) -> None:
        screen = OpenShiftScreen(self.attendant, self.config.site.currency)

        def submit(float_text: str) -> None:
            self.open_shift(screen, float_text)

        screen.on_submit = submit  # type: ignore[assignment]
        self.push_screen(screen)

    @work(thread=True, exclusive=True, group="staff", exit_on_error=False)
    def open_shift(self, screen: OpenShiftScreen, float_text: str) -> None:
        assert self.site is not None
        try:
            shift = self.site.open_shift(self.attendant, float_text)
        except SiteError as exc:
            self.call_from_thread(screen.show_error, str(exc))
            return
        self.call_from_thread(screen.dismiss, None)
        self.call_from_thread(self.notify, f"shift open, float {shift.opening_float}", timeout=3)

    # -- shift close, Z report, manager reports --------------------------------------------------
    def action_close_shift(self) -> None:
        if self._site_ready() is None or self.screen is not self.dashboard:
            return
        screen = CloseShiftScreen(self.attendant, self.config.site.currency)

        def submit(count: str, note: str, next_attendant: str) -> None:
            self.close_shift(screen, count, note, next_attendant or None)

        screen.on_submit = submit  # type: ignore[assignment]
        self.push_screen(screen)

    @work(thread=True, exclusive=True, group="staff", exit_on_error=False)
    def close_shift(self, screen: CloseShiftScreen, count: str, note: str, hand_over_to: str | None) -> None:
        site = self.site
        assert site is not None
        try:
            closed = site.close_shift(count, actor=self.attendant, note=note, hand_over_to=hand_over_to)
        except SiteError as exc:
            self.call_from_thread(screen.show_error, str(exc))
            return
        self.call_from_thread(screen.dismiss, None)
        self.call_from_thread(self.show_shift_report, closed.id)
        if hand_over_to:
            self.call_from_thread(self.action_lock)

    def show_shift_report(self, shift_id: str) -> None:
        """The Z report of a shift: on screen, P prints it, E exports CSV and PDF."""
        from console.locations import data_dir
        from console.reports.printout import shift_report_document
        from console.reports.queries import build_shift_report
        from console.ui.screens.shift_report import ShiftReportScreen

        site = self.site
        assert site is not None

        def fetch():  # type: ignore[no-untyped-def]
            return build_shift_report(site.store.engine, shift_id, self.config.site.tz, site_name=self.config.site.name)

        def print_report(report) -> object:  # type: ignore[no-untyped-def]
            return site.print_document(shift_report_document(report), kind="shift_report", actor=self.attendant)

        self.push_screen(ShiftReportScreen(fetch, on_print=print_report, export_dir=data_dir() / "reports"))

    def action_manager_reports(self) -> None:
        site = self._site_ready()
        if site is None or self.screen is not self.dashboard:
            return
        if self.user is None or not may(self.user.role, "report.manager"):
            self.notify("manager reports are for managers: a manager signs in (ctrl+l) to open them", severity="error", timeout=6)
            return
        from console.reports.queries import build_manager_report
        from console.ui.screens.reports import ManagerReportsScreen

        tz = self.config.site.tz
        today = site.clock.now().astimezone(tz).date()
        self.push_screen(ManagerReportsScreen(lambda start, end: build_manager_report(site.store.engine, start, end, tz, currency=self.config.site.currency), today=today))


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
        if type(event).__name__ == "RideRecorded" and self.screen.id == "elevator":
            self.screen.ride_recorded()  # type: ignore[attr-defined]
        if type(event).__name__ == "ChargerFault":
            fault = event.fault  # type: ignore[attr-defined]
            where = f"{fault.pile_id}" + (f" port {fault.port}" if fault.port is not None else "")
            self.notify(f"charging fault {fault.code} at {where}: {fault.detail}", severity="error", timeout=8)
            if self.screen.id == "charging":
                self.screen.fault_arrived()  # type: ignore[attr-defined]
        if isinstance(event, ExitSettled) and isinstance(self.screen, ExitDeskScreen) and self.screen.ticket.id == event.ticket.id and self.screen.settled is None:
            self.screen._paid(event)
        hands_off = bool(self.auto and self.auto.enabled)
        if isinstance(event, ExitPending) and not hands_off:
            if self.screen is self.dashboard and self.user is not None:
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
        if site is None or self.screen is not self.dashboard:
            return
        tickets = sorted(site.pending_tickets(), key=lambda t: t.exit_at)
        if not tickets:
            self.notify("no vehicle is waiting at an exit")
            return
        if self.screen is self.dashboard:
            self.open_exit_desk(tickets[0])

    def action_exit_by_plate(self) -> None:
        if self._site_ready() is None or self.screen is not self.dashboard:
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

    def action_elevator(self) -> None:
        site = self._site_ready()
        if site is None or self.screen is not self.dashboard:
            return
        if site.elevator is None:
            self.notify("this site has no elevator configured ([elevator] url in the site file)", severity="warning")
            return
        # Imported before the app started when the site has an elevator (see console.cli).
        from console.ui.screens.elevator import ElevatorScreen

        self.push_screen(ElevatorScreen(site.elevator, self.attendant))

    def action_charging(self) -> None:
        site = self._site_ready()
        if site is None or self.screen is not self.dashboard:
            return
        service = site.charging
        if service is None:
            self.notify("this site has no charging piles configured ([charging] in the site file)", severity="warning")
            return
        from console.ui.screens.charging import ChargingScreen

        self.push_screen(ChargingScreen(
            ports=service.ports, faults=lambda: service.faults(open_only=False), usage_by_hour=service.usage_by_hour,
            close_maintenance=lambda fault_id, note: service.close_maintenance(fault_id, note, self.attendant),
            start_session=lambda pile, port, card: service.start_session(pile_id=pile, port=port, card_id=card),
            scan_qr=service.scan_qr,
            stop_session=service.stop_session,
        ))

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
