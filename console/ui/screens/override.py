"""Changing a waiting exit's fee: new amount, waive, or a merchant validation, with a
reason, and a manager's name and PIN when the site's limit asks for one."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from textual import on
from textual.app import ComposeResult
from textual.binding import BindingType
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Input, Label

from console.i18n import N_, _
from console.ui.actions import bindings_for
from console.ui.widgets.key_hints import KeyHints


@dataclass(frozen=True, slots=True)
class OverrideRequest:
    kind: str
    value: str  # new amount (fee_change) or validation code
    reason: str
    manager: str
    manager_pin: str


_TITLES = {"fee_change": N_("Change the fee"), "waive": N_("Waive the fee"), "validation": N_("Apply a validation")}


class OverrideScreen(ModalScreen[OverrideRequest | None]):
    """Enter moves to the next field; Enter on the PIN, or on an empty manager name (no
    approval asked), confirms."""

    BINDINGS: ClassVar[list[BindingType]] = bindings_for("override")
    DEFAULT_CSS = """
    OverrideScreen { align: center middle; }
    OverrideScreen > Vertical { width: 64; max-width: 100%; height: auto; max-height: 100%; border: thick $warning; background: $surface; padding: 0 2; }
    OverrideScreen Label { width: 100%; }  /* long hints wrap instead of being cut */
    OverrideScreen Label.hint { color: $text-muted; }
    """

    def __init__(self, kind: str, limit_text: str) -> None:
        super().__init__(id="override")
        self.kind = kind
        self.limit_text = limit_text

    def compose(self) -> ComposeResult:
        with Vertical() as box:
            box.border_title = _("{action} (audited)").format(action=_(_TITLES[self.kind]))
            if self.kind == "fee_change":
                yield Label(_("New fee"))
                yield Input(id="value")
            elif self.kind == "validation":
                yield Label(_("Validation code"))
                yield Input(id="value")
            yield Label(_("Reason"))
            yield Input(id="reason")
            yield Label(_("Manager name and PIN (needed when the visit's fee drops by more than {limit} in all)").format(limit=self.limit_text), classes="hint")
            yield Input(placeholder=_("manager name"), id="manager")
            yield Input(placeholder=_("PIN"), password=True, id="pin")
        yield KeyHints("override")

    def on_mount(self) -> None:
        self.query_one(KeyHints).refresh_hints([(N_("Enter"), N_("next field (on the PIN, or an empty manager name: confirm)"))])
        self.query_one("#value" if self.kind != "waive" else "#reason", Input).focus()

    @on(Input.Submitted)
    def next_or_done(self, event: Input.Submitted) -> None:
        order = [w for w in ("value", "reason", "manager", "pin") if self.query(f"#{w}")]
        current = event.input.id or ""
        manager = self.query_one("#manager", Input).value.strip()
        if current == "pin" or (current == "manager" and not manager):
            self.dismiss(
                OverrideRequest(
                    self.kind,
                    self.query_one("#value", Input).value if self.query("#value") else "",
                    self.query_one("#reason", Input).value,
                    manager,
                    self.query_one("#pin", Input).value,
                )
            )
            return
        self.query_one(f"#{order[order.index(current) + 1]}", Input).focus()

    def action_cancel(self) -> None:
        self.dismiss(None)
