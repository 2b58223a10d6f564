"""Modals for what the attendant does by hand at the lanes. Each returns the attendant's
choice; the app sends it to the site, which validates and audits it."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, ClassVar

from textual import on
from textual.app import ComposeResult
from textual.binding import BindingType
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Input, Label, OptionList, Select
from textual.widgets.option_list import Option

from console.i18n import N_, _
from console.ui.actions import bindings_for
from console.ui.widgets.key_hints import KeyHints

_MODAL_CSS = """
{name} {{ align: center middle; }}
{name} > Vertical {{ width: 70; height: auto; border: thick $primary; background: $surface; padding: 1 2; }}
{name} Label.hint {{ color: $text-muted; }}
{name} Label.-error {{ color: $error; text-style: bold; }}
"""


@dataclass(frozen=True, slots=True)
class GateRequest:
    lane_id: str
    action: str
    reason: str
    note: str
    taken: str = ""  # cash taken for the fee waiting at that exit (empty: none)


class ManualGateScreen(ModalScreen[GateRequest | None]):
    """Pick lane, open/close, a reason from the site's list, and a note."""

    BINDINGS: ClassVar[list[BindingType]] = bindings_for("manual-gate")
    DEFAULT_CSS = _MODAL_CSS.format(name="ManualGateScreen")

    def __init__(self, lanes: list[tuple[str, str]], reasons: list[str], lane_id: str | None = None) -> None:
        super().__init__(id="manual-gate")
        self.lanes = lanes
        self.reasons = reasons
        self.lane_id = lane_id or lanes[0][1]

    def compose(self) -> ComposeResult:
        with Vertical() as box:
            box.border_title = _("Move a barrier by hand (audited)")
            yield Label(_("Lane"))
            yield Select(self.lanes, value=self.lane_id, allow_blank=False, id="lane")
            yield Label(_("Action"))
            yield Select([(_("Open"), "open"), (_("Close"), "close")], value="open", allow_blank=False, id="action")
            yield Label(_("Reason"))
            yield Select([(r, r) for r in self.reasons], value=self.reasons[0], allow_blank=False, id="reason")
            yield Label(_("Cash taken for the fee waiting at this exit (empty: none)"))
            yield Input(placeholder=_("e.g. 7.50"), id="taken")
            yield Label(_("Note (required for “other”), Enter to confirm"))
            yield Input(placeholder=_("what happened"), id="note")
        yield KeyHints("manual-gate", [(N_("Tab"), N_("next field")), (N_("Enter"), N_("confirm"))])

    def on_mount(self) -> None:
        self.query_one("#reason", Select).focus()

    @on(Input.Submitted, "#taken")
    def next_field(self) -> None:
        self.query_one("#note", Input).focus()

    @on(Input.Submitted, "#note")
    def submitted(self) -> None:
        self.dismiss(
            GateRequest(
                str(self.query_one("#lane", Select).value),
                str(self.query_one("#action", Select).value),
                str(self.query_one("#reason", Select).value),
                self.query_one("#note", Input).value,
                self.query_one("#taken", Input).value.strip(),
            )
        )

    def action_cancel(self) -> None:
        self.dismiss(None)


@dataclass(frozen=True, slots=True)
class OccupancyRequest:
    zone_id: str
    count_text: str
    reason: str
    close_stale: bool


class OccupancyScreen(ModalScreen[OccupancyRequest | None]):
    """Correct a zone's count and, optionally, close visits that went stale."""

    BINDINGS: ClassVar[list[BindingType]] = bindings_for("occupancy")
    DEFAULT_CSS = _MODAL_CSS.format(name="OccupancyScreen")

    def __init__(self, zones: list[tuple[str, str]], current: dict[str, int], stale: dict[str, int]) -> None:
        super().__init__(id="occupancy")
        self.zones = zones
        self.current = current
        self.stale = stale

    def compose(self) -> ComposeResult:
        first = self.zones[0][1]
        with Vertical() as box:
            box.border_title = _("Repair occupancy (audited)")
            yield Label(_("Zone"))
            yield Select(self.zones, value=first, allow_blank=False, id="zone")
            yield Label(self._facts(first), classes="hint", id="facts")
            yield Label(_("Stale visits: close them (y/n)"))
            yield Select([(_("No, keep them"), "n"), (_("Yes, close them without a fee"), "y")], value="n", allow_blank=False, id="stale")
            yield Label(_("Vehicles really in the zone (leave empty to only close stale visits)"))
            yield Input(placeholder=_("count"), id="count")
            yield Label(_("Reason, Enter to confirm"))
            yield Input(placeholder=_("e.g. counted on the deck; lane 2 was down"), id="reason")
        yield KeyHints("occupancy", [(N_("Tab"), N_("next field")), (N_("Enter"), N_("confirm"))])

    def _facts(self, zone_id: str) -> str:
        return _("counted now: {count} · open visits older than the limit: {stale}").format(count=self.current.get(zone_id, 0), stale=self.stale.get(zone_id, 0))

    @on(Select.Changed, "#zone")
    def zone_changed(self, event: Select.Changed) -> None:
        self.query_one("#facts", Label).update(self._facts(str(event.value)))

    def on_mount(self) -> None:
        self.query_one("#count", Input).focus()

    @on(Input.Submitted, "#count")
    def next_field(self) -> None:
        self.query_one("#reason", Input).focus()

    @on(Input.Submitted, "#reason")
    def submitted(self) -> None:
        self.dismiss(
            OccupancyRequest(
                str(self.query_one("#zone", Select).value),
                self.query_one("#count", Input).value.strip(),
                self.query_one("#reason", Input).value,
                self.query_one("#stale", Select).value == "y",
            )
        )

    def action_cancel(self) -> None:
        self.dismiss(None)


NONE_OF_THESE = "\x00none"


class PlateChoiceScreen(ModalScreen[str | None]):
    """The reader's plate has no visit, but similar plates do: pick one, or none.

    Dismisses with the chosen plate, NONE_OF_THESE, or None (decide later)."""

    BINDINGS: ClassVar[list[BindingType]] = bindings_for("plate-choice")
    DEFAULT_CSS = _MODAL_CSS.format(name="PlateChoiceScreen")

    def __init__(self, lane_id: str, read_plate: str, candidates: tuple[str, ...], *, shown: Callable[[str], str] = str) -> None:
        super().__init__(id="plate-choice")
        self.lane_id = lane_id
        self.read_plate = read_plate
        self.candidates = candidates
        # Plates are kept canonical (粤BD12345) and shown as written (粤B·D12345).
        self.shown = shown

    def compose(self) -> ComposeResult:
        with Vertical() as box:
            box.border_title = _("{lane}: plate read {plate}").format(lane=self.lane_id, plate=self.shown(self.read_plate))
            yield Label(_("No visit has that plate. Compare with the vehicle and pick the right one:"))
            yield OptionList(
                *[Option(self.shown(plate), id=plate) for plate in self.candidates],
                Option(_("None of these (unknown entry)"), id=NONE_OF_THESE),
                id="choices",
            )
        yield KeyHints("plate-choice", [(N_("Enter"), N_("pick"))])

    def on_mount(self) -> None:
        self.query_one(OptionList).focus()

    @on(OptionList.OptionSelected)
    def chosen(self, event: OptionList.OptionSelected) -> None:
        self.dismiss(event.option.id)

    def action_cancel(self) -> None:
        self.dismiss(None)


@dataclass(frozen=True, slots=True)
class UnknownEntryRequest:
    lane_id: str
    plate: str
    lost_ticket: bool
    entry_text: str
    reason: str


class UnknownEntryScreen(ModalScreen[UnknownEntryRequest | None]):
    """No visit for the plate: lost-ticket fee, or the entry time the driver states."""

    BINDINGS: ClassVar[list[BindingType]] = bindings_for("unknown-entry")
    DEFAULT_CSS = _MODAL_CSS.format(name="UnknownEntryScreen")

    def __init__(self, lane_id: str, plate: str, *, shown: Callable[[str], str] = str) -> None:
        super().__init__(id="unknown-entry")
        self.lane_id = lane_id
        self.plate = plate
        self.shown = shown  # the plate as written, for the title

    def compose(self) -> ComposeResult:
        with Vertical() as box:
            box.border_title = _("{lane}: no visit for {plate}").format(lane=self.lane_id, plate=self.shown(self.plate))
            yield Label(_("Charge"))
            yield Select(
                [(_("Lost-ticket fee"), "lost"), (_("From an entry time the driver states"), "time")],
                value="lost", allow_blank=False, id="mode",
            )
            yield Label(_('Entry time (for the second choice): "14:30", "21.11. 14:30"'))
            yield Input(placeholder=_("entry time"), id="entry")
            yield Label(_("Reason, Enter to confirm"))
            yield Input(placeholder=_("e.g. ticket lost; parking receipt shown"), id="reason")
        yield KeyHints("unknown-entry", [(N_("Tab"), N_("next field")), (N_("Enter"), N_("confirm"))])

    def on_mount(self) -> None:
        self.query_one("#mode", Select).focus()

    @on(Input.Submitted, "#entry")
    def next_field(self) -> None:
        self.query_one("#reason", Input).focus()

    @on(Input.Submitted, "#reason")
    def submitted(self) -> None:
        self.dismiss(
            UnknownEntryRequest(
                self.lane_id,
                self.plate,
                self.query_one("#mode", Select).value == "lost",
                self.query_one("#entry", Input).value,
                self.query_one("#reason", Input).value,
            )
        )

    def action_cancel(self) -> None:
        self.dismiss(None)
