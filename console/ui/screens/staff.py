"""Signing in, the first manager, and the cash drawer's shift: open with a float, close
with a count (optionally handing over). Each returns what was typed; the app sends it to
the site in a worker and shows the site's answer here."""

from __future__ import annotations

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen, Screen
from textual.widgets import Footer, Input, Label

_CSS = """
{name} {{ align: center middle; }}
{name} > Vertical {{ width: 64; height: auto; border: thick $primary; background: $surface; padding: 1 2; }}
{name} #error {{ color: $error; text-style: bold; height: auto; }}
{name} Label.hint {{ color: $text-muted; }}
"""


class _Form:
    """Shared by the forms: an error line the app fills in after the site refused."""

    def show_error(self, text: str) -> None:
        self.query_one("#error", Label).update(text)  # type: ignore[attr-defined]


class SignInScreen(_Form, Screen[tuple[str, str]]):
    """Covers the console until a user signs in with a PIN (also the idle lock)."""

    DEFAULT_CSS = _CSS.format(name="SignInScreen")
    BINDINGS = [Binding("ctrl+q", "app.quit", "Quit", id="signin.quit")]

    def __init__(self, site_name: str, last_user: str = "") -> None:
        super().__init__(id="sign-in")
        self.site_name = site_name
        self.last_user = last_user
        self.on_submit = None  # set by the app: called with (name, pin)

    def compose(self) -> ComposeResult:
        with Vertical() as box:
            box.border_title = f"{self.site_name}: sign in"
            yield Label("Name")
            yield Input(value=self.last_user, id="name")
            yield Label("PIN, Enter to sign in")
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
        if self.on_submit is not None:
            self.on_submit(name, value)


class FirstManagerScreen(_Form, ModalScreen[tuple[str, str] | None]):
    """A fresh installation: create the first manager."""

    DEFAULT_CSS = _CSS.format(name="FirstManagerScreen")

    def __init__(self) -> None:
        super().__init__(id="first-manager")
        self.on_submit = None

    def compose(self) -> ComposeResult:
        with Vertical() as box:
            box.border_title = "First start: create the manager"
            yield Label("Nobody can sign in yet. The manager creates attendants later (booth user add).", classes="hint")
            yield Label("Name")
            yield Input(id="name")
            yield Label("PIN (4-8 digits)")
            yield Input(password=True, id="pin")
            yield Label("PIN again, Enter to create")
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
            self.show_error("the two PINs differ")
            return
        if self.on_submit is not None:
            self.on_submit(self.query_one("#name", Input).value, pin)


class OpenShiftScreen(_Form, ModalScreen[None]):
    """Count the float into the drawer and open the shift."""

    DEFAULT_CSS = _CSS.format(name="OpenShiftScreen")

    def __init__(self, attendant: str, currency: str) -> None:
        super().__init__(id="open-shift")
        self.attendant = attendant
        self.currency = currency
        self.on_submit = None

    def compose(self) -> ComposeResult:
        with Vertical() as box:
            box.border_title = f"Open the drawer: {self.attendant}"
            yield Label(f"Float counted into the drawer ({self.currency}), Enter to open the shift")
            yield Input(placeholder="e.g. 150.00", id="float")
            yield Label("", id="error")

    def on_mount(self) -> None:
        self.query_one(Input).focus()

    @on(Input.Submitted, "#float")
    def submitted(self, event: Input.Submitted) -> None:
        if self.on_submit is not None:
            self.on_submit(event.value)


class CloseShiftScreen(_Form, ModalScreen[None]):
    """Count the drawer by denomination and close the shift (or hand over)."""

    DEFAULT_CSS = _CSS.format(name="CloseShiftScreen")
    BINDINGS = [Binding("escape", "cancel", "Cancel", id="close.cancel")]

    def __init__(self, attendant: str, currency: str) -> None:
        super().__init__(id="close-shift")
        self.attendant = attendant
        self.currency = currency
        self.on_submit = None

    def compose(self) -> ComposeResult:
        with Vertical() as box:
            box.border_title = f"Close the shift of {self.attendant}"
            yield Label(f"Drawer count: value x pieces ({self.currency}), e.g. 50x2 20x5 2x10 0.50x4")
            yield Input(id="count")
            yield Label("Note (explain a difference)")
            yield Input(id="note")
            yield Label("Hand over to (name of the next attendant; empty: close only), Enter to close")
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
        if self.on_submit is not None:
            self.on_submit(self.query_one("#count", Input).value, self.query_one("#note", Input).value, self.query_one("#next", Input).value.strip())

    def action_cancel(self) -> None:
        self.dismiss(None)
