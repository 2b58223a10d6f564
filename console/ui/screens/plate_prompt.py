"""Ask for a plate and an exit lane, for an exit the camera did not read.

At a mainland site the booth keyboard usually has no input method, so the province comes
from its own field: nothing typed is the site's province; pinyin (`yue`, `y`, `jing`,
`gd`) narrows a one-line picker, digits 1-9 pick from it, Up/Down walk it. The plate's
other characters go in the plate field, and the normalized plate shows below before
Enter uses it. Where a text reads as two plates (粤A·B1234 or Hong Kong AB 1234),
Up/Down in the plate field choose.
"""

from __future__ import annotations

from typing import ClassVar

from rich.text import Text
from textual import events, on
from textual.actions import SkipAction
from textual.app import ComposeResult
from textual.binding import BindingType
from textual.containers import Horizontal, Vertical
from textual.content import Content
from textual.message import Message
from textual.screen import ModalScreen
from textual.widgets import Input, Label, Select, Static

from console.domain.plates import Plate, PlateRules, Province
from console.i18n import N_, _
from console.ui.actions import bindings_for
from console.ui.plate_words import kind_text, refusal_text
from console.ui.widgets.key_hints import KeyHints

# How many provinces the picker line shows at once (digits 1-9 pick among them).
PICKER_SIZE = 9


class ProvinceInput(Input):
    """The province field: letters narrow the picker, a digit picks from it."""

    class Picked(Message):
        """Digit `number` (1-9) was typed: the picker's entry with that number."""

        def __init__(self, number: int) -> None:
            super().__init__()
            self.number = number

    async def _on_key(self, event: events.Key) -> None:
        if event.character is not None and event.character in "123456789":
            event.stop()
            event.prevent_default()
            self.post_message(self.Picked(int(event.character)))
            return
        await super()._on_key(event)


class PlatePromptScreen(ModalScreen[tuple[str, str] | None]):
    """Dismisses with (lane id, normalized plate), or None when cancelled."""

    BINDINGS: ClassVar[list[BindingType]] = bindings_for("plate-prompt")

    DEFAULT_CSS = """
    PlatePromptScreen { align: center middle; }
    PlatePromptScreen > Vertical { width: 64; max-width: 100%; height: auto; border: thick $primary; background: $surface; padding: 0 1; }
    PlatePromptScreen Horizontal { height: auto; }
    PlatePromptScreen #province { width: 12; }
    PlatePromptScreen #picker { width: 1fr; height: 2; padding: 0 0 0 1; }
    PlatePromptScreen #preview { height: 2; }
    PlatePromptScreen #preview.-error { color: $error; }
    """

    def __init__(self, exit_lanes: list[tuple[str, str]], rules: PlateRules) -> None:
        super().__init__(id="plate-prompt")
        self.exit_lanes = exit_lanes
        self.rules = rules
        self.mainland = "cn" in rules.regions
        self.candidates: list[Province] = rules.province_candidates("") if self.mainland else []
        self.chosen_index = 0
        self.readings: list[Plate] = []
        self.reading_index = 0

    # -- layout --------------------------------------------------------------------------------
    def compose(self) -> ComposeResult:
        with Vertical() as box:
            box.border_title = _("Exit by plate")
            yield Label(_("Exit lane"))
            yield Select(self.exit_lanes, value=self.exit_lanes[0][1], allow_blank=False, id="lane")
            if self.mainland:
                yield Label(_("Province: pinyin (yue, jing, gd), digit picks, ↑↓ more"), id="province-label")
                with Horizontal():
                    yield ProvinceInput(placeholder=self._home_hint(), id="province")
                    yield Static(id="picker")
            yield Label(_("Plate"), id="plate-label")
            yield Input(placeholder=self._plate_hint(), id="plate")
            yield Static(id="preview")
        yield KeyHints("plate-prompt", [(N_("Enter"), N_("look up")), ("↑↓", N_("other readings"))])

    def _home_hint(self) -> str:
        home = self.rules.home_province
        return f"{home} …" if home else "…"

    def _plate_hint(self) -> str:
        if self.mainland:
            return _("e.g. B·D12345 (without the province), Enter uses it")
        return _("e.g. AB1234C, Enter to look up")

    def on_mount(self) -> None:
        self.query_one("#plate", Input).focus()
        self._draw()

    # -- the province --------------------------------------------------------------------------
    @property
    def province(self) -> Province | None:
        """The province the plate gets in front (None: not a mainland site, or no province
        matches what was typed)."""
        if not self.candidates:
            return None
        return self.candidates[self.chosen_index]

    @on(Input.Changed, "#province")
    def province_typed(self, event: Input.Changed) -> None:
        self.candidates = self.rules.province_candidates(event.value)
        self.chosen_index = 0
        self._draw()

    @on(ProvinceInput.Picked)
    def province_picked(self, event: ProvinceInput.Picked) -> None:
        start = self.chosen_index - self.chosen_index % PICKER_SIZE
        index = start + event.number - 1
        if index < len(self.candidates):
            self._take(index)

    @on(Input.Submitted, "#province")
    def province_done(self) -> None:
        if self.province is not None:
            self._take(self.chosen_index)

    def _take(self, index: int) -> None:
        """Take the picker's entry `index`: the field shows its character, focus goes on."""
        chosen = self.candidates[index]
        field = self.query_one("#province", Input)
        with self.prevent(Input.Changed):
            field.value = chosen.abbreviation
        self.candidates = self.rules.province_candidates(chosen.abbreviation)
        self.chosen_index = 0
        self.query_one("#plate", Input).focus()
        self._draw()

    def action_walk(self, step: int) -> None:
        """Up/Down: the next or previous province in the picker, or the next reading of
        the plate when the plate field has two."""
        focused = self.focused
        if focused is not None and focused.id == "province" and self.candidates:
            if len(self.candidates) == 1:  # a chosen province: walk every province from it
                self.candidates = self.rules.province_candidates("")
                self.chosen_index = next((i for i, p in enumerate(self.candidates) if p == self.province), 0)
            self.chosen_index = (self.chosen_index + step) % len(self.candidates)
            self._draw()
            return
        if focused is not None and focused.id == "plate" and len(self.readings) > 1:
            self.reading_index = (self.reading_index + step) % len(self.readings)
            self._draw_preview()
            return
        raise SkipAction()

    # -- the plate -----------------------------------------------------------------------------
    @on(Input.Changed, "#plate")
    def plate_typed(self) -> None:
        self.reading_index = 0
        self._draw_preview()

    @on(Input.Submitted, "#plate")
    def submitted(self) -> None:
        if not self.readings:
            self._draw_preview(insist=True)
            return
        lane = self.query_one("#lane", Select).value
        self.dismiss((str(lane), self.readings[self.reading_index].text))

    def _province_abbreviation(self) -> str | None:
        return self.province.abbreviation if self.province is not None else None

    # -- drawing -------------------------------------------------------------------------------
    def _draw(self) -> None:
        if self.mainland:
            self._draw_picker()
        self._draw_preview()

    def _draw_picker(self) -> None:
        picker = self.query_one("#picker", Static)
        if not self.candidates:
            typed = self.query_one("#province", Input).value
            picker.update(Content.styled(_("no province reads {typed!r}").format(typed=typed), "bold $error"))
            return
        start = self.chosen_index - self.chosen_index % PICKER_SIZE
        shown = self.candidates[start:start + PICKER_SIZE]
        line = Text()
        for number, p in enumerate(shown, start=1):
            chosen = start + number - 1 == self.chosen_index
            line.append(f"{number}", style="dim")
            line.append(p.abbreviation, style="bold reverse" if chosen else "bold")
            line.append(f"{p.pinyin} ", style="dim")
        rest = len(self.candidates) - start - len(shown)
        if start or rest:
            line.append(f"{start // PICKER_SIZE + 1}/{(len(self.candidates) - 1) // PICKER_SIZE + 1}", style="dim")
        picker.update(line)

    def _draw_preview(self, *, insist: bool = False) -> None:
        text = self.query_one("#plate", Input).value
        province = self._province_abbreviation()
        self.readings = self.rules.typed_candidates(text, province) if text.strip() else []
        preview = self.query_one("#preview", Static)
        if self.readings:
            plate = self.readings[self.reading_index]
            line = Text("→ ").append(plate.display(), style="bold").append(f"  {kind_text(plate.kind)}", style="dim")
            if len(self.readings) > 1:
                line.append("  " + _("↑↓ {n} readings").format(n=len(self.readings)), style="dim")
            preview.update(line)
            preview.set_class(False, "-error")
            return
        if not text.strip():
            preview.update(_("type the plate") if insist else "")
            preview.set_class(insist, "-error")
            return
        refusal = self.rules.typed_refusal(text, province)
        preview.update(refusal_text(refusal) if refusal is not None else _("not a plate"))
        preview.set_class(True, "-error")

    def retranslate(self) -> None:
        """Redraw the words in the current language (after a language switch)."""
        self.query_one(Vertical).border_title = _("Exit by plate")
        self.query_one(Vertical).query(Label).first().update(_("Exit lane"))
        if self.mainland:
            self.query_one("#province-label", Label).update(_("Province: pinyin (yue, jing, gd), digit picks, ↑↓ more"))
        self.query_one("#plate-label", Label).update(_("Plate"))
        self.query_one("#plate", Input).placeholder = self._plate_hint()
        self._draw()

    def action_cancel(self) -> None:
        self.dismiss(None)
