"""A yes-or-no question with the consequence of each answer spelled out."""

from __future__ import annotations

from typing import ClassVar

from textual.app import ComposeResult
from textual.binding import BindingType
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Static

from console.ui.actions import bindings_for
from console.ui.widgets.key_hints import KeyHints


class ConfirmScreen(ModalScreen[bool]):
    """Enter answers yes, Escape no; dismisses with the answer."""

    BINDINGS: ClassVar[list[BindingType]] = bindings_for("confirm")
    DEFAULT_CSS = """
    ConfirmScreen { align: center middle; }
    ConfirmScreen > Vertical { width: 70; max-width: 100%; height: auto; border: thick $warning; background: $surface; padding: 1 2; }
    ConfirmScreen #question { height: auto; }
    """

    def __init__(self, title: str, question: str) -> None:
        super().__init__(id="confirm")
        self.title_text = title
        self.question = question

    def compose(self) -> ComposeResult:
        with Vertical() as box:
            box.border_title = self.title_text
            yield Static(self.question, id="question")
        yield KeyHints("confirm")

    def action_yes(self) -> None:
        self.dismiss(True)

    def action_no(self) -> None:
        self.dismiss(False)
