"""One lane's live state: direction, barrier, vehicle, last plate, what happened last."""

from __future__ import annotations

from typing import Any
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


class LanePanel(Static):
    """Renders a `LaneSnapshot`; the dashboard calls `show()` on every change."""

    DEFAULT_CSS = """
    LanePanel {
        height: 7;
        border: round $secondary;
        padding: 0 1;
        background: $surface;
    }
    LanePanel.-pending { border: heavy $accent; }
    LanePanel.-fault { border: heavy $error; }
    LanePanel.-offline { border: dashed $error; }
    """

    def __init__(self, lane: LaneSnapshot, tz: ZoneInfo, **kwargs: Any) -> None:
        super().__init__(id=f"lane-{lane.id}", **kwargs)
        self.tz = tz
        self.lane = lane

    def on_mount(self) -> None:
        self.show(self.lane)

    def on_resize(self) -> None:
        self.show(self.lane)  # the waiting line's form depends on the width

    def show(self, lane: LaneSnapshot) -> None:
        """Redraw with a new snapshot."""
        self.lane = lane
        arrow = "▼ " + _("ENTRY") if lane.direction == "entry" else "▲ " + _("EXIT")
        self.border_title = f"{lane.id} · {lane.name}"
        self.border_subtitle = f"{arrow} → {lane.zone}"
        gate = _(GATE_STATES[lane.gate]) if lane.gate in GATE_STATES else lane.gate.upper()
        # Colours are the theme's ($success, $warning, $error): readable in every theme.
        gate_style = "bold $success" if lane.gate == "open" else ("bold $error" if lane.gate == "fault" else "bold")
        parts: list[str | tuple[str, str]] = [
            _("Gate") + "  ", (gate, gate_style), "   " + _("Loop") + "  ",
            (_("VEHICLE"), "bold $warning") if lane.vehicle_present else (_("free"), "$text-muted"),
            "\n" + _("Plate") + " ", (lane.last_plate or "—", "bold"),
        ]
        if lane.last_event_at is not None:
            parts.append((f"   {lane.last_event_at.astimezone(self.tz):%H:%M:%S}", "$text-muted"))
        parts.append("\n")
        if lane.pending is not None:
            waiting = _("WAITING: {plate} owes {due}").format(plate=lane.pending.visit.plate, due=lane.pending.due)
            if 0 < self.size.width < cell_len(waiting) and lane.pending.visit.plate == lane.last_plate:
                # A narrow panel (four lanes at 80 columns): the plate is on the line above,
                # and the whole sentence would be cut off at its last line.
                waiting = _("DUE {due}").format(due=lane.pending.due)
            parts.append((waiting, "bold reverse"))
        else:
            parts.append((lane.status or "", "italic"))
        if lane.health not in ("ok",):
            health = _(HEALTH[lane.health]) if lane.health in HEALTH else lane.health
            parts.append(("\n" + _("device: {health}").format(health=health), "$error"))
        text = Content.assemble(*parts)
        self.update(text)
        self.set_class(lane.pending is not None, "-pending")
        self.set_class(lane.gate == "fault", "-fault")
        self.set_class(lane.health == "offline", "-offline")
