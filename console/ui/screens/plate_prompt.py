"""Ask for a plate and an exit lane, for an exit the camera did not read."""

from __future__ import annotations

from typing import ClassVar

from textual import on
from textual.app import ComposeResult
from textual.binding import BindingType
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Input, Label, Select

from console.ui.actions import bindings_for


class PlatePromptScreen(ModalScreen[tuple[str, str] | None]):
    """Dismisses with (lane id, plate text), or None when cancelled."""

    BINDINGS: ClassVar[list[BindingType]] = bindings_for("plate-prompt")

    DEFAULT_CSS = """
    PlatePromptScreen { align: center middle; }
    PlatePromptScreen > Vertical { width: 60; height: auto; border: thick $primary; background: $surface; padding: 1 2; }
    """

    def __init__(self, exit_lanes: list[tuple[str, str]]) -> None:
        super().__init__(id="plate-prompt")
        self.exit_lanes = exit_lanes

    def compose(self) -> ComposeResult:
        with Vertical() as box:
            box.border_title = "Exit by plate"
            yield Label("Exit lane")
            yield Select(self.exit_lanes, value=self.exit_lanes[0][1], allow_blank=False, id="lane")
            yield Label("Plate")
            yield Input(placeholder="e.g. AB1234C, Enter to look up", id="plate")

    def on_mount(self) -> None:
        self.query_one("#plate", Input).focus()

    @on(Input.Submitted, "#plate")
    def submitted(self, event: Input.Submitted) -> None:
        lane = self.query_one("#lane", Select).value
        self.dismiss((str(lane), event.value))

    def action_cancel(self) -> None:
        self.dismiss(None)
