"""Signing in, the first manager, and the cash drawer's shift: open with a float, close
with a count (optionally handing over). Each form sends what was typed to the staff
service in a worker, shows a refusal on the form (to be corrected and sent again), and
dismisses itself with the result once the site accepted it."""

from __future__ import annotations

from dataclasses import dataclass
from functools import partial
from typing import TYPE_CHECKING, Callable, ClassVar, TypeVar

from textual import on
from textual.app import ComposeResult
from textual.binding import BindingType
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Footer, Input, Label

from console.domain.staff import Role, User
from console.i18n import _
from console.site.errors import SiteError
from console.ui.actions import bindings_for

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
    """Covers the console until a user signs in with a PIN (also the idle lock)."""

    DEFAULT_CSS = _CSS.format(name="SignInScreen")
    BINDINGS: ClassVar[list[BindingType]] = bindings_for("sign-in")

    def __init__(self, staff: StaffService, site_name: str, last_user: str = "") -> None:
        super().__init__(staff, id="sign-in")
        self.site_name = site_name
        self.last_user = last_user

    def compose(self) -> ComposeResult:
        with Vertical() as box:
            box.border_title = _("{site}: sign in").format(site=self.site_name)
            yield Label(_("Name"))
            yield Input(value=self.last_user, id="name")
            yield Label(_("PIN, Enter to sign in"))
            yield Input(password=True, id="pin")
            yield Label("", id="error")
        yield Footer()

    def on_mount(self) -> None:
        self.query_one("#pin" if self.last_user else "#name", Input).focus()

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

    def on_mount(self) -> None:
        self.query_one(Input).focus()

    @on(Input.Submitted, "#float")
    def submitted(self, event: Input.Submitted) -> None:
        self.send(partial(self.staff.open_shift, self.attendant, event.value))


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
