"""One lane's live state: direction, barrier, vehicle, last plate, what happened last."""

from __future__ import annotations

from typing import Any, Callable
from zoneinfo import ZoneInfo

from rich.cells import cell_len
from textual.content import Content
from textual.widgets import Static

from console.i18n import N_, _
from console.site.events import LaneSnapshot

# Barrier states as the lanes report them, in capitals as the panel shows them.
GATE_STATES = {"open": N_("OPEN"), "closed": N_("CLOSED"), "opening": N_("OPENING"), "closing": N_("CLOSING"),
               "fault": N_("FAULT"), "unknown": N_("UNKNOWN")}
HEALTH = {"connecting": N_("connecting"), "degraded": N_("degraded"), "fault": N_("fault"), "offline": N_("offline")}


# Content lines of a panel: the most that must show whole is six (the barrier and the loop
# on two lines in a narrow panel, the plate, a waiting vehicle's plate and its fee, the
# device's health). One fixed height for every panel and width keeps the rows of panels
# even and the grid's height known before the first frame.
LINES = 6


class LanePanel(Static):
    """Renders a `LaneSnapshot`; the dashboard calls `show()` on every change.

    Every line is fitted to the panel's width before it is drawn (nothing wraps by
    itself), in order of what the attendant must see: the barrier and the loop, the
    plate, what the waiting vehicle owes and the device's health first; the time of
    the last event and the status text fill what is left."""

    DEFAULT_CSS = """
    LanePanel {
        height: 8;
        border: round $secondary;
        padding: 0 1;
        background: $surface;
    }
    LanePanel.-pending { border: heavy $accent; }
    LanePanel.-fault { border: heavy $error; }
    LanePanel.-offline { border: dashed $error; }
    """

    def __init__(self, lane: LaneSnapshot, tz: ZoneInfo, *, plate_text: Callable[[str], str] = str, **kwargs: Any) -> None:
        super().__init__(id=f"lane-{lane.id}", **kwargs)
        self.tz = tz
        self.lane = lane
        self.plate_text = plate_text  # the site's way of writing a plate (粤B·D12345)

    def on_mount(self) -> None:
        self.show(self.lane)

    def on_resize(self) -> None:
        self.show(self.lane)  # the lines' form depends on the width

    def _width(self) -> int:
        """Cells a line may take; before the first layout, as at 80 columns."""
        width = self.content_size.width
        return width if width > 0 else 14

    def _narrowest(self) -> int:
        """The content width of the narrowest panel beside this one: panels in a row
        differ by a cell, and they take one form so that the row reads alike."""
        widths = [p.content_size.width for p in (self.parent.children if self.parent else ()) if isinstance(p, LanePanel)]
        return min((w for w in widths if w > 0), default=self._width())

    def lines(self, lane: LaneSnapshot, width: int, row_width: int | None = None) -> tuple[list[Content], bool]:
        """The panel's lines for `lane` at `width` cells, and whether it is narrow (by
        `row_width`, the narrowest panel of its row, when given)."""
        gate = _(GATE_STATES[lane.gate]) if lane.gate in GATE_STATES else lane.gate.upper()
        # Colours are the theme's ($success, $warning, $error): readable in every theme.
        gate_style = "bold $success" if lane.gate == "open" else ("bold $error" if lane.gate == "fault" else "bold")
        loop = (_("VEHICLE"), "bold $warning") if lane.vehicle_present else (_("free"), "$text-muted")
        gate_part = Content.assemble(_("Gate") + "  ", (gate, gate_style))
        loop_part = Content.assemble(_("Loop") + "  ", loop)
        both = Content.assemble(gate_part, "   ", loop_part)
        # Narrow or not by the longest words, not the present ones: a panel keeps its form
        # whatever its lane does, so the lines do not jump about as the barrier moves.
        longest = (cell_len(_("Gate")) + 2 + max(cell_len(_(word)) for word in GATE_STATES.values()) + 3
                   + cell_len(_("Loop")) + 2 + max(cell_len(_("VEHICLE")), cell_len(_("free"))))
        narrow = longest > min(width, row_width or width)
        budget = LINES
        first: list[Content] = [gate_part, loop_part] if narrow else [both]

        plate = self.plate_text(lane.last_plate) if lane.last_plate else "—"
        plate_line = Content.assemble(_("Plate") + " ", (plate, "bold"))
        if plate_line.cell_length > width:  # the plate says what it is; the label goes first
            plate_line = Content.assemble((plate, "bold"))
        when = Content.styled(f"{lane.last_event_at.astimezone(self.tz):%H:%M:%S}", "$text-muted") if lane.last_event_at else None
        if when is not None and plate_line.cell_length + 3 + when.cell_length <= width:
            plate_line, when = Content.assemble(plate_line, "   ", when), None

        owed: list[Content] = []
        if lane.pending is not None:
            ticket_plate = self.plate_text(lane.pending.visit.plate)
            sentence = Content.styled(_("WAITING: {plate} owes {due}").format(plate=ticket_plate, due=lane.pending.due), "bold reverse")
            due = Content.styled(_("DUE {due}").format(due=lane.pending.due), "bold reverse")
            if sentence.cell_length <= width:
                owed = [sentence]
            elif lane.pending.visit.plate == lane.last_plate:
                owed = [due]  # the plate is on the line above
            else:  # another plate was read since: say whose fee it is
                owed = [Content.styled(ticket_plate, "bold reverse"), due]
        health: list[Content] = []
        if lane.health not in ("ok",):
            word = _(HEALTH[lane.health]) if lane.health in HEALTH else lane.health
            line = Content.styled(_("device: {health}").format(health=word), "$error")
            health = [line if line.cell_length <= width else Content.styled(word, "$error")]

        must = [*first, plate_line, *owed, *health]
        spare = max(0, budget - len(must))
        extra: list[Content] = []
        if when is not None and spare:
            extra.append(when)
            spare -= 1
        if lane.pending is None and lane.status and spare:
            wrapped = list(Content.styled(lane.status, "italic").wrap(width))
            if len(wrapped) > spare:
                wrapped = wrapped[:spare]
                wrapped[-1] = Content.assemble(wrapped[-1], " …").truncate(width, ellipsis=True)
            extra.extend(wrapped)
        shown = [*first, plate_line, *extra, *owed, *health]
        return [line.truncate(width, ellipsis=True) for line in shown[:budget]], narrow

    def show(self, lane: LaneSnapshot) -> None:
        """Redraw with a new snapshot."""
        self.lane = lane
        arrow = "▼ " + _("ENTRY") if lane.direction == "entry" else "▲ " + _("EXIT")
        self.border_title = f"{lane.id} · {lane.name}"
        self.border_subtitle = f"{arrow} → {lane.zone}"
        lines, _narrow = self.lines(lane, self._width(), self._narrowest())
        self.update(Content("\n").join(lines))
        self.set_class(lane.pending is not None, "-pending")
        self.set_class(lane.gate == "fault", "-fault")
        self.set_class(lane.health == "offline", "-offline")
