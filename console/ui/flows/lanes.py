"""What the attendant does by hand at the lanes: barriers and zone counts."""

from __future__ import annotations

from functools import partial

from console.i18n import N_, _, ngettext
from console.site.errors import SiteError
from console.site.tender import Tender
from console.ui.flows.base import Flow
from console.ui.screens.lane_operations import (
    GateRequest,
    ManualGateScreen,
    OccupancyRequest,
    OccupancyScreen,
)

DIRECTIONS = {"entry": N_("entry"), "exit": N_("exit")}


class LaneFlow(Flow):
    """Barriers moved by hand and occupancy repaired, each audited by the site."""

    def manual_gate(self) -> None:
        lanes = [(f"{lane.id} · {lane.name or lane.id} ({_(DIRECTIONS[lane.direction])})", lane.id) for lane in self.app.config.lanes]

        def chosen(result: GateRequest | None) -> None:
            if result is not None:
                # Not exclusive: two barriers may be moved one after the other at once.
                self.in_thread(partial(self._move_gate, result), group="manual-gate", exclusive=False)

        self.app.push_screen(ManualGateScreen(lanes, self.app.config.operations.manual_gate_reasons), chosen)

    def _move_gate(self, request: GateRequest) -> None:
        try:
            taken = Tender("cash", request.taken) if request.taken else None
            self.site.lanes.manual_gate(request.lane_id, request.action, reason=request.reason, note=request.note, actor=self.attendant, taken=taken)
        except SiteError as exc:
            self.notify(_("barrier not moved: {error}").format(error=exc), severity="error", timeout=8)
            return
        done = _("barrier opened") if request.action == "open" else _("barrier closed")
        self.notify(_("{lane}: {done} ({reason}) recorded").format(lane=request.lane_id, done=done, reason=request.reason), timeout=4)

    def occupancy(self) -> None:
        """The zones' counts and stale visits (worker), then the repair form."""
        self.in_thread(self._load_occupancy, group="occupancy")

    def _load_occupancy(self) -> None:
        site = self.site
        try:
            current = {z.zone: z.occupied for z in site.board.occupancy()}
            stale = {z.id: len(site.lanes.stale_visits(z.id)) for z in self.app.config.zones}
        except SiteError as exc:
            self.notify(_("cannot read the zones: {error}").format(error=exc), severity="error")
            return
        zones = [(z.name or z.id, z.id) for z in self.app.config.zones]

        def chosen(result: OccupancyRequest | None) -> None:
            if result is not None:
                self.in_thread(partial(self._repair, result), group="occupancy-repair")

        self.later(self.app.push_screen, OccupancyScreen(zones, current, stale), chosen)

    def _repair(self, request: OccupancyRequest) -> None:
        site = self.site
        try:
            count = int(request.count_text) if request.count_text else None
        except ValueError:
            self.notify(_("{text!r} is not a whole number; nothing changed").format(text=request.count_text), severity="error")
            return
        if count is None and not request.close_stale:
            self.notify(_("nothing to do: give a count or choose to close stale visits"), severity="warning")
            return
        try:
            if request.close_stale:
                stale = site.lanes.stale_visits(request.zone_id)
                closed = site.lanes.close_stale([v.id for v in stale], reason=request.reason, actor=self.attendant)
                self.notify(ngettext("{count} stale visit closed", "{count} stale visits closed", closed).format(count=closed), timeout=4)
            if count is not None:
                site.lanes.correct_occupancy(request.zone_id, count, reason=request.reason, actor=self.attendant)
                self.notify(_("{zone}: count set to {count}").format(zone=request.zone_id, count=count), timeout=4)
        except SiteError as exc:
            self.notify(_("not changed: {error}").format(error=exc), severity="error", timeout=8)
