"""Signing in, the first manager, and the cash drawer's shift: open with a float, close
with a count (optionally handing over). Each form sends what was typed to the staff
service in a worker, shows a refusal on the form (to be corrected and sent again), and
dismisses itself with the result once the site accepted it."""

from __future__ import annotations

from dataclasses import dataclass
from functools import partial
from typing import TYPE_CHECKING, Callable, ClassVar, Sequence, TypeVar
from zoneinfo import ZoneInfo

from textual import events, on
from textual.app import ComposeResult
from textual.binding import BindingType
from textual.containers import Grid, Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Header, Input, Label

from console.domain.staff import Role, User
from console.i18n import N_, _, ngettext
from console.site.errors import SiteError
from console.site.events import LaneChanged, LaneSnapshot, SiteEvent
from console.ui.actions import bindings_for
from console.ui.widgets.key_hints import KeyHints
from console.ui.widgets.lane_panel import LanePanel

if TYPE_CHECKING:
    from console.site.staff import StaffService
    from console.store.shifts import Shift

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class SignedIn:
    """Who signed in, and the booth's open shift at that moment."""

    user: User
    shift: Shift | None


@dataclass(frozen=True, slots=True)
class ClosedShift:
    shift: Shift
    handed_over_to: str | None


_CSS = """
{name} {{ align: center middle; }}
{name} > Vertical {{ width: 64; height: auto; border: thick $primary; background: $surface; padding: 1 2; }}
{name} Label {{ width: 100%; height: auto; }}
{name} #error {{ color: $error; text-style: bold; height: auto; }}
{name} Label.hint {{ color: $text-muted; }}
"""


class _Form(ModalScreen[T]):
    """Shared by the forms: a worker that calls the staff service, and an error line."""

    def __init__(self, staff: StaffService, *, id: str) -> None:
        super().__init__(id=id)
        self.staff = staff
        self.busy = False

    def show_error(self, text: str) -> None:
        self.busy = False
        self.query_one("#error", Label).update(text)

    def send(self, call: Callable[[], T]) -> None:
        """Run `call` (a staff-service command) in a worker; dismiss with its result, or
        show its refusal here."""
        if self.busy:
            return  # a second Enter while the first is being checked
        self.busy = True
        self.query_one("#error", Label).update("")
        self.run_worker(partial(self._call, call), thread=True, exclusive=True, group="staff-form", exit_on_error=False)

    def _call(self, call: Callable[[], T]) -> None:
        try:
            result = call()
        except SiteError as exc:
            self.app.call_from_thread(self.show_error, str(exc))
            return
        self.app.call_from_thread(self.dismiss, result)


class SignInScreen(_Form[SignedIn]):
    """Covers the console until a user signs in with a PIN (also the idle lock).

    The lanes and the exits waiting stay in view, read only: whoever walks up to a locked
    booth sees what is going on before signing in. After a lock (`armed=False`) no field
    has the keys until Enter is pressed, so digits typed just as the screen locked land
    nowhere, not in the name or PIN field."""

    DEFAULT_CSS = """
    SignInScreen { background: $background; layout: vertical; }
    SignInScreen #locked-lanes { grid-size: 4; grid-gutter: 0 1; height: auto; padding: 0 1; }
    SignInScreen #queue { height: auto; margin: 0 1; color: $text; }
    SignInScreen #signin-box { height: auto; border: thick $primary; background: $surface; padding: 0 1; margin: 0 1; }
    SignInScreen #signin-fields { height: auto; }
    SignInScreen #signin-fields > Label { width: auto; padding: 1 1 0 0; }
    SignInScreen #signin-fields > Input { width: 1fr; }
    SignInScreen #error { color: $error; text-style: bold; height: auto; }
    SignInScreen Label.hint { color: $text-muted; }
    """
    BINDINGS: ClassVar[list[BindingType]] = bindings_for("sign-in")
    AUTO_FOCUS = ""  # no automatic focus: the form decides (see `armed`)
    SITE_EVENTS: ClassVar[tuple[type[SiteEvent], ...]] = (LaneChanged,)

    def __init__(self, staff: StaffService, site_name: str, last_user: str = "", *, lanes: Sequence[LaneSnapshot] = (),
                 tz: ZoneInfo | None = None, armed: bool = True, plate_text: Callable[[str], str] = str) -> None:
        super().__init__(staff, id="sign-in")
        self.plate_text = plate_text  # the site's way of writing a plate, as on the dashboard
        self.site_name = site_name
        self.last_user = last_user
        self.lanes = {lane.id: lane for lane in lanes}
        self.tz = tz or ZoneInfo("UTC")
        self.armed = armed

    def compose(self) -> ComposeResult:
        yield Header()
        with Grid(id="locked-lanes"):
            for lane in self.lanes.values():
                yield LanePanel(lane, self.tz, plate_text=self.plate_text)
        yield Label("", id="queue")
        with Vertical(id="signin-box") as box:
            box.border_title = _("{site}: sign in").format(site=self.site_name)
            with Horizontal(id="signin-fields"):
                yield Label(_("Name"), id="name-label")
                yield Input(value=self.last_user, id="name")
                yield Label(_("PIN"), id="pin-label")
                yield Input(password=True, id="pin")
            yield Label(self._hint(), id="hint", classes="hint")
            yield Label("", id="error")
        yield KeyHints("sign-in", [(N_("Enter"), N_("next field / sign in"))])

    def retranslate(self) -> None:
        """Redraw the words in the current language (the language key works while locked);
        what the fields hold stays."""
        self.query_one("#signin-box", Vertical).border_title = _("{site}: sign in").format(site=self.site_name)
        self.query_one("#name-label", Label).update(_("Name"))
        self.query_one("#pin-label", Label).update(_("PIN"))
        self.query_one("#hint", Label).update(self._hint())
        for panel in self.query(LanePanel).results(LanePanel):
            panel.show(panel.lane)
        self._show_queue()

    def _hint(self) -> str:
        if not self.armed:
            return _("Locked. Press Enter to sign in.")
        return _("Name, Enter, then PIN, Enter to sign in")

    def on_mount(self) -> None:
        self._show_queue()
        if self.armed:
            self._arm()
        else:
            self.set_focus(None)

    def _arm(self) -> None:
        self.armed = True
        self.query_one("#hint", Label).update(self._hint())
        self.query_one("#pin" if self.last_user else "#name", Input).focus()

    def on_key(self, event: events.Key) -> None:
        # Until armed, a key only arms the form (Enter) or is dropped: nothing typed
        # around the moment of the lock reaches a field.
        if self.armed:
            return
        if event.key == "enter":
            self._arm()
        if event.key not in ("ctrl+q", "ctrl+o"):  # quitting and the language type into no field
            event.stop()
            event.prevent_default()

    def show_site_event(self, event: SiteEvent) -> None:
        """Lanes update behind the lock, read only."""
        if isinstance(event, LaneChanged):
            self.lanes[event.lane.id] = event.lane
            for panel in self.query(f"#lane-{event.lane.id}").results(LanePanel):
                panel.show(event.lane)
            self._show_queue()

    def _show_queue(self) -> None:
        waiting = [lane.pending for lane in self.lanes.values() if lane.pending is not None]
        if not waiting:
            text = _("No vehicle is waiting at an exit.")
        else:
            waiting.sort(key=lambda t: t.exit_at)
            items = "  ·  ".join(f"{t.lane_id} {self.plate_text(t.visit.plate)} {t.due}" for t in waiting)
            text = ngettext("{n} vehicle waiting: {items}", "{n} vehicles waiting: {items}", len(waiting)).format(n=len(waiting), items=items)
        for label in self.query("#queue").results(Label):
            label.update(text)

    @on(Input.Submitted, "#name")
    def to_pin(self) -> None:
        self.query_one("#pin", Input).focus()

    @on(Input.Submitted, "#pin")
    def submitted(self) -> None:
        pin = self.query_one("#pin", Input)
        name = self.query_one("#name", Input).value
        value = pin.value
        pin.value = ""  # never left on screen
        self.send(partial(self._sign_in, name, value))

    def _sign_in(self, name: str, pin: str) -> SignedIn:
        user = self.staff.sign_in(name, pin)
        return SignedIn(user, self.staff.current_shift())


class FirstManagerScreen(_Form[User]):
    """A fresh installation: create the first manager."""

    DEFAULT_CSS = _CSS.format(name="FirstManagerScreen")

    def __init__(self, staff: StaffService) -> None:
        super().__init__(staff, id="first-manager")

    def compose(self) -> ComposeResult:
        with Vertical() as box:
            box.border_title = _("First start: create the manager")
            yield Label(_("Nobody can sign in yet. The manager creates attendants later (booth user add)."), classes="hint")
            yield Label(_("Name"))
            yield Input(id="name")
            yield Label(_("PIN (4-8 digits)"))
            yield Input(password=True, id="pin")
            yield Label(_("PIN again, Enter to create"))
            yield Input(password=True, id="pin2")
            yield Label("", id="error")
        yield KeyHints("first-manager", [(N_("Enter"), N_("next field / create"))])

    def on_mount(self) -> None:
        self.query_one("#name", Input).focus()

    @on(Input.Submitted, "#name")
    def to_pin(self) -> None:
        self.query_one("#pin", Input).focus()

    @on(Input.Submitted, "#pin")
    def to_pin2(self) -> None:
        self.query_one("#pin2", Input).focus()

    @on(Input.Submitted, "#pin2")
    def submitted(self) -> None:
        pin, pin2 = self.query_one("#pin", Input).value, self.query_one("#pin2", Input).value
        if pin != pin2:
            self.show_error(_("the two PINs differ"))
            return
        self.send(partial(self.staff.add_user, self.query_one("#name", Input).value, Role.MANAGER, pin, actor="first start"))


class OpenShiftScreen(_Form["Shift"]):
    """Count the float into the drawer and open the shift."""

    DEFAULT_CSS = _CSS.format(name="OpenShiftScreen")
    BINDINGS: ClassVar[list[BindingType]] = bindings_for("open-shift")

    def __init__(self, staff: StaffService, attendant: str) -> None:
        super().__init__(staff, id="open-shift")
        self.attendant = attendant
        self.currency = staff.currency

    def compose(self) -> ComposeResult:
        with Vertical() as box:
            box.border_title = _("Open the drawer: {name}").format(name=self.attendant)
            yield Label(_("Float counted into the drawer ({currency}), Enter to open the shift").format(currency=self.currency))
            yield Input(placeholder=_("e.g. 150.00"), id="float")
            yield Label("", id="error")
        yield KeyHints("open-shift", [(N_("Enter"), N_("open the shift"))])

    def on_mount(self) -> None:
        self.query_one(Input).focus()

    @on(Input.Submitted, "#float")
    def submitted(self, event: Input.Submitted) -> None:
        self.send(partial(self.staff.open_shift, self.attendant, event.value))

    def action_cancel(self) -> None:
        """Leave without opening the drawer (no cash can be taken until it is open)."""
        self.dismiss(None)


class CloseShiftScreen(_Form[ClosedShift | None]):
    """Count the drawer by denomination and close the shift (or hand over)."""

    DEFAULT_CSS = _CSS.format(name="CloseShiftScreen")
    BINDINGS: ClassVar[list[BindingType]] = bindings_for("close-shift")

    def __init__(self, staff: StaffService, attendant: str) -> None:
        super().__init__(staff, id="close-shift")
        self.attendant = attendant
        self.currency = staff.currency

    def compose(self) -> ComposeResult:
        with Vertical() as box:
            box.border_title = _("Close the shift of {name}").format(name=self.attendant)
            yield Label(_("Drawer count: value x pieces ({currency}), e.g. 50x2 20x5 2x10 0.50x4").format(currency=self.currency))
            yield Input(id="count")
            yield Label(_("Note (explain a difference)"))
            yield Input(id="note")
            yield Label(_("Hand over to (name of the next attendant; empty: close only), Enter to close"))
            yield Input(id="next")
            yield Label("", id="error")
        yield KeyHints("close-shift", [(N_("Enter"), N_("next field / close"))])

    def on_mount(self) -> None:
        self.query_one("#count", Input).focus()

    @on(Input.Submitted, "#count")
    def to_note(self) -> None:
        self.query_one("#note", Input).focus()

    @on(Input.Submitted, "#note")
    def to_next(self) -> None:
        self.query_one("#next", Input).focus()

    @on(Input.Submitted, "#next")
    def submitted(self) -> None:
        count, note = self.query_one("#count", Input).value, self.query_one("#note", Input).value
        self.send(partial(self._close, count, note, self.query_one("#next", Input).value.strip() or None))

    def _close(self, count: str, note: str, hand_over_to: str | None) -> ClosedShift:
        shift = self.staff.close_shift(count, actor=self.attendant, note=note, hand_over_to=hand_over_to)
        return ClosedShift(shift, hand_over_to)

    def action_cancel(self) -> None:
        self.dismiss(None)
