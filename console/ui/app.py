"""The booth console's Textual app. It wires: the site's events reach the screens that
show them, keys become actions, and the flows (`console.ui.flows`) run the site
commands. Blocking work never runs on this thread."""

from __future__ import annotations

import logging
import threading
import time
from typing import TYPE_CHECKING, Any, Callable, ClassVar, Iterable, Protocol, runtime_checkable

from textual import work
from textual.app import App, ScreenStackError, SystemCommand
from textual.binding import BindingType
from textual.command import CommandPalette
from textual.notifications import SeverityLevel
from textual.screen import Screen
from textual.worker import Worker, WorkerState

from console.domain.staff import Role, User
from console.i18n import LANGUAGES, _, current_language, ngettext, set_language
from console.locations import themes_dir
from console.site.config import SiteConfig
from console.site.events import (
    ChargerFault,
    ExitPending,
    PlateNeedsConfirmation,
    SiteEvent,
    UnknownAtExit,
)
from console.site.heap import settle_heap
from console.ui.actions import APP, bindings_for, retranslate_bindings
from console.ui.commands import BoothCommands
from console.ui.flows.exits import ExitFlow
from console.ui.flows.lanes import LaneFlow
from console.ui.flows.staff import StaffFlow
from console.ui.messages import SiteUpdate
from console.ui.screens.dashboard import DashboardScreen
from console.ui.screens.receipts import ReceiptsScreen
from console.ui.themes import load_themes
from console.ui.widgets.key_hints import KeyHints

if TYPE_CHECKING:
    from console.site.headless import AutoAttendant
    from console.site.site import Site

log = logging.getLogger(__name__)

EXIT_STORE = 3

# App actions that do something only while the dashboard shows.
DASHBOARD_ACTIONS = frozenset({"exit_by_plate", "pay_next", "manual_gate", "occupancy", "receipts", "elevator",
                               "close_shift", "manager_reports", "charging"})

FALLBACK_THEME = "booth-dark"


@runtime_checkable
class SiteEventView(Protocol):
    """A screen that shows site events: it names the event types it shows, and the app
    hands it each one of those (on the UI thread)."""

    SITE_EVENTS: ClassVar[tuple[type[SiteEvent], ...]]

    def show_site_event(self, event: SiteEvent) -> None: ...


@runtime_checkable
class Retranslatable(Protocol):
    """A screen that redraws its words after the language was switched."""

    def retranslate(self) -> None: ...


class BoothApp(App[None]):
    """The console on the booth PC."""

    TITLE = "Booth"
    CSS_PATH = ["app.tcss"]
    COMMANDS = App.COMMANDS | {BoothCommands}
    BINDINGS: ClassVar[list[BindingType]] = bindings_for(APP)

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
        simulated: bool | None = None,
    ) -> None:
        """Give a built site (tests), or the config and a factory that builds the site.

        With a factory the dashboard is drawn first and the database is opened, migrated
        and the lanes started in a worker, so the screen is up at once and a database
        problem is shown, not a blank terminal."""
        super().__init__()
        if site is not None:
            config = site.config
        elif config is None or site_factory is None:
            raise ValueError("BoothApp needs a site, or a config and a site factory")
        self.config: SiteConfig = config
        self.site: Site | None = None
        self._given_site = site
        self._site_factory = site_factory
        self.demo = demo
        # Simulated devices (the demo, or a site file with `simulated = true`): the title
        # bar says so, so nobody takes simulated traffic for the site's own.
        self.simulated = (demo or config.site.simulated) if simulated is None else simulated
        # With a given attendant (tests, demo) nobody signs in; otherwise the console
        # stays locked until a user signs in with a PIN.
        self.attendant = attendant or ""
        self.user: User | None = User("", attendant, role) if attendant else None
        self.last_activity = time.monotonic()
        self.wanted_theme = theme_name
        self.auto_pay_wanted = demo if auto_pay is None else auto_pay
        self.auto: AutoAttendant | None = None
        self.session_language = current_language()
        self.dashboard = DashboardScreen(config)
        self.exits = ExitFlow(self)
        self.lanes = LaneFlow(self)
        self.staff = StaffFlow(self)
        self._unsubscribe: Callable[[], None] | None = None
        # Starting (worker thread) and stopping (unmount) must not interleave.
        self._life_lock = threading.Lock()
        self._shutting_down = False
        self._flags_shown: list[str] | None = None
        self._set_title()

    def _set_title(self) -> None:
        config = self.config
        marks = [_("DEMO")] if self.demo else []
        if self.simulated:
            marks.append(_("simulated"))
        self.title = " · ".join([config.site.name, config.site.booth_id, *marks])

    def get_system_commands(self, screen: Screen[Any]) -> Iterable[SystemCommand]:
        """Textual's own palette entries, less its theme picker (it lists every built-in
        theme; the booth's two are F9's) and the screenshot (a file nobody at the booth reads)."""
        for command in super().get_system_commands(screen):
            if command.title not in ("Theme", "Screenshot"):
                yield command

    # -- life cycle -----------------------------------------------------------------------
    def on_mount(self) -> None:
        for theme in load_themes(themes_dir()):
            self.register_theme(theme)
        if self.wanted_theme in self.available_themes:
            self.theme = self.wanted_theme
        else:
            self.theme = FALLBACK_THEME if FALLBACK_THEME in self.available_themes else "textual-dark"
            self.notify(_("theme {wanted!r} not found; using {theme}").format(wanted=self.wanted_theme, theme=self.theme), severity="warning")
        # Bindings are built when their class is made, in the language of that moment: give
        # the app's and every screen's shown ones their labels in the current language.
        retranslate_bindings(self)
        self.screen_change_signal.subscribe(self, self._screen_shown)
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
                self.call_from_thread(self.exit, None, EXIT_STORE, _("booth: cannot start the site: {error}").format(error=exc))
                return
        with self._life_lock:
            if self._shutting_down:
                return
            if self.demo:
                from console.site.headless import AutoAttendant

                # The drawer is the signed-in user's: what auto-pay takes and what the
                # desk takes after ctrl+a go into the same shift.
                self.auto = AutoAttendant(site, name=self.attendant or "auto-attendant")
                self.auto.enabled = self.auto_pay_wanted
            self.site = site
            self._unsubscribe = site.bus.subscribe(self._on_site_event)
            if self.auto is not None:
                self.auto.start()
            site.start()
        try:
            self.call_from_thread(self._site_started, site)
        except RuntimeError:
            pass  # the app closed meanwhile; unmount stops the site

    def _site_started(self, site: Site) -> None:
        self.dashboard.attach(site)
        self._update_flags()
        # The site froze what it keeps when it started; the screens attached since (about
        # 5,800 widget style caches among them) join it (docs/architecture.md, "Pauses").
        settle_heap()
        if self.user is None:
            self.staff.check()
        self.set_interval(1, self._update_flags)  # emergency mode shows within a second
        minutes = self.config.ui.idle_lock_minutes
        if minutes > 0:
            self.set_interval(15, lambda: self.staff.lock_when_idle(minutes))

    def on_unmount(self) -> None:
        with self._life_lock:
            self._shutting_down = True
            if self._unsubscribe:
                self._unsubscribe()
            if self.site is not None:
                self.site.stop()
            if self.auto is not None:
                self.auto.stop()

    # -- failures are never silent ---------------------------------------------------------
    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        """Any worker that failed: a notification for the attendant and the traceback in
        the log file (workers run with exit_on_error=False, so the console stays up)."""
        if event.state is not WorkerState.ERROR:
            return
        error = event.worker.error
        log.error("worker %r failed", event.worker.name, exc_info=error)
        task = event.worker.name or _("a task")
        self.notify(_("internal error in {task}: {error}; see the log file").format(task=task, error=error), severity="error", timeout=10)

    def notify_anywhere(self, message: str, *, severity: SeverityLevel = "information", timeout: float = 4) -> None:
        """`notify` from any thread (workers included)."""
        try:
            self.call_from_thread(self.notify, message, severity=severity, timeout=timeout)
        except RuntimeError:  # called on the UI thread itself
            self.notify(message, severity=severity, timeout=timeout)

    # -- who is at the keyboard --------------------------------------------------------------
    def on_key(self) -> None:
        self.last_activity = time.monotonic()

    def signed_in(self, user: User) -> None:
        """`user` signed in at the console."""
        self.user = user
        self.attendant = user.name
        self.last_activity = time.monotonic()

    def sign_out(self) -> None:
        self.user = None

    def signed_in_role(self) -> Role | None:
        """The role of whoever is signed in (the command palette offers what it may do)."""
        return self.user.role if self.user is not None else None

    @property
    def hands_off(self) -> bool:
        """The demo's auto-attendant is taking the exits."""
        return bool(self.auto and self.auto.enabled)

    # -- site events ---------------------------------------------------------------------------
    def _on_site_event(self, event: SiteEvent) -> None:
        # Called from device threads; post_message is thread-safe.
        self.post_message(SiteUpdate(event))

    def on_site_update(self, message: SiteUpdate) -> None:
        event = message.event
        self.dashboard.show_event(event)
        for screen in self.screen_stack:
            if screen is not self.dashboard and isinstance(screen, SiteEventView) and isinstance(event, screen.SITE_EVENTS):
                screen.show_site_event(event)
        self._react(event)

    def _react(self, event: SiteEvent) -> None:
        """The app's own reactions (screens show theirs through SiteEventView)."""
        if isinstance(event, ExitPending):
            self.exits.vehicle_waiting(event)
        elif isinstance(event, PlateNeedsConfirmation):
            self.exits.plate_doubtful(event)
        elif isinstance(event, UnknownAtExit):
            self.exits.no_visit(event)
        elif isinstance(event, ChargerFault):
            self._charger_fault(event)

    def _charger_fault(self, event: ChargerFault) -> None:
        fault = event.fault
        where = fault.pile_id if fault.port is None else _("{pile} port {port}").format(pile=fault.pile_id, port=fault.port)
        self.notify(_("charging fault {code} at {where}: {detail}").format(code=fault.code, where=where, detail=fault.detail),
                    severity="error", timeout=8)

    def _update_flags(self) -> None:
        flags = [_("AUTO-PAY")] if self.hands_off else []
        journal = self.site.lanes.emergency if self.site is not None else None
        if journal is not None and journal.pending_count:
            flags.append(ngettext("EMERGENCY MODE: {n} decision waits for the database",
                                  "EMERGENCY MODE: {n} decisions wait for the database", journal.pending_count).format(n=journal.pending_count))
        elif journal is not None and journal.offline:
            flags.append(_("EMERGENCY MODE: the database cannot be written"))
        if journal is not None and journal.conflict_count:
            flags.append(ngettext("{n} emergency conflict for the manager (booth emergency conflicts)",
                                  "{n} emergency conflicts for the manager (booth emergency conflicts)", journal.conflict_count).format(n=journal.conflict_count))
        if flags != self._flags_shown:
            self._flags_shown = flags
            self.dashboard.set_flags(flags)

    # -- actions (the registry in console.ui.actions names them) --------------------------------
    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """The dashboard's keys work (and show) only on the dashboard: on a screen above
        it, such as the exit desk, they are neither run nor offered. Demo-only keys are
        neither shown nor run outside the demo."""
        if action == "toggle_autopay" and not self.demo:
            return False
        if action not in DASHBOARD_ACTIONS:
            return True
        try:
            screen = self.screen
        except ScreenStackError:  # before the first screen: nothing to run yet
            return False
        if isinstance(screen, CommandPalette) and len(self.screen_stack) > 1:
            # The palette asks for the screen it was opened over (its choice runs there).
            screen = self.screen_stack[-2]
        return screen is self.dashboard

    def _site_on_dashboard(self) -> Site | None:
        """The site, when the dashboard is showing and the site has started."""
        if self.site is None:
            self.notify(_("the site is still starting"), severity="warning")
            return None
        return self.site if self.screen is self.dashboard else None

    def action_pay_next(self) -> None:
        if self._site_on_dashboard() is not None:
            self.exits.pay_next()

    def action_exit_by_plate(self) -> None:
        if self._site_on_dashboard() is not None:
            self.exits.exit_by_plate()

    def action_manual_gate(self) -> None:
        if self._site_on_dashboard() is not None:
            self.lanes.manual_gate()

    def action_occupancy(self) -> None:
        if self._site_on_dashboard() is not None:
            self.lanes.occupancy()

    def action_close_shift(self) -> None:
        if self._site_on_dashboard() is not None:
            self.staff.close_shift()

    def action_manager_reports(self) -> None:
        if self._site_on_dashboard() is not None:
            self.staff.manager_reports()

    def action_lock(self) -> None:
        self.staff.lock()

    def action_receipts(self) -> None:
        site = self._site_on_dashboard()
        if site is not None:
            self.push_screen(ReceiptsScreen(site.documents, self.attendant))

    def action_elevator(self) -> None:
        site = self._site_on_dashboard()
        if site is None:
            return
        if site.elevator is None:
            self.notify(_("this site has no elevator configured ([elevator] url in the site file)"), severity="warning")
            return
        # Imported before the app started when the site has an elevator (see console.cli).
        from console.ui.screens.elevator import ElevatorScreen

        self.push_screen(ElevatorScreen(site.elevator, self.attendant))

    def action_charging(self) -> None:
        site = self._site_on_dashboard()
        if site is None:
            return
        if site.charging is None:
            self.notify(_("this site has no charging piles configured ([charging] in the site file)"), severity="warning")
            return
        from console.ui.screens.charging import ChargingScreen

        self.push_screen(ChargingScreen(site.charging, attendant=self.attendant, tz=self.config.site.tz))

    def action_next_theme(self) -> None:
        ours = [name for name in ("booth-dark", "booth-daylight") if name in self.available_themes]
        if not ours:
            return
        index = ours.index(self.theme) + 1 if self.theme in ours else 0
        self.theme = ours[index % len(ours)]
        self.notify(_("theme: {theme}").format(theme=self.theme), timeout=2)

    def action_toggle_autopay(self) -> None:
        if self.auto is None:
            if self.demo:
                self.notify(_("the site is still starting"), severity="warning")
                return
            self.notify(_("auto-pay exists only in the demo"), severity="warning")
            return
        self.auto.enabled = not self.auto.enabled  # turned on, it also pays what already waits
        self._update_flags()
        self.notify(_("demo auto-pay on") if self.auto.enabled else _("demo auto-pay off: exits come to the desk"), timeout=3)
        if not self.auto.enabled and self.site is not None:
            self.exits.offer_next()

    # -- the interface language -------------------------------------------------------------------
    def _screen_shown(self, screen: Screen[Any]) -> None:
        retranslate_bindings(screen)
        screen.refresh_bindings()

    def action_switch_language(self) -> None:
        """The next shipped language, for this session (the site file keeps its own)."""
        codes = list(LANGUAGES)
        current = current_language()
        following = codes[(codes.index(current) + 1) % len(codes)] if current in codes else codes[0]
        self.switch_language(following)

    def switch_language(self, code: str) -> None:
        """Speak `code` from now on and redraw every screen on the stack in it; the site's
        event log records the switch."""
        code = set_language(code)
        self.session_language = code
        self._set_title()
        self._update_flags()
        for screen in self.screen_stack:
            for node in (screen, *screen.walk_children()):
                retranslate_bindings(node)
            if isinstance(screen, Retranslatable):
                screen.retranslate()
            for hints in screen.query(KeyHints).results(KeyHints):
                hints.refresh_hints()
            screen.refresh_bindings()
        retranslate_bindings(self)
        self.refresh_bindings()
        if self.site is not None:
            self.site.bus.report("info", _("interface language: {language}").format(language=LANGUAGES[code]))
        self.notify(_("interface language: {language}").format(language=LANGUAGES[code]), timeout=3)
