"""Vehicles at the exits: the desk for a waiting vehicle, a plate typed by hand,
doubtful plate reads and vehicles with no visit."""

from __future__ import annotations

from functools import partial

from console.domain.timeparse import TimeInputError, parse_local_time
from console.i18n import _
from console.site.errors import PlateNotFound, SiteError
from console.site.events import (
    ExitPending,
    ExitSettled,
    ExitTicket,
    PlateNeedsConfirmation,
    UnknownAtExit,
)
from console.ui.flows.base import Flow
from console.ui.screens.exit_desk import ExitDeskScreen
from console.ui.screens.lane_operations import (
    NONE_OF_THESE,
    PlateChoiceScreen,
    UnknownEntryRequest,
    UnknownEntryScreen,
)
from console.ui.screens.plate_prompt import PlatePromptScreen


class ExitFlow(Flow):
    """From a plate at an exit to the exit desk."""

    # -- what the lanes report ------------------------------------------------------------------
    def vehicle_waiting(self, event: ExitPending) -> None:
        if self.app.hands_off:
            return
        if self.app.screen is self.app.dashboard and self.app.user is not None:
            self.open_desk(event.ticket)
        else:
            self.app.notify(_("{plate} waiting at {lane}: {due}").format(plate=event.ticket.visit.plate, lane=event.ticket.lane_id, due=event.ticket.due), timeout=4)

    def plate_doubtful(self, event: PlateNeedsConfirmation) -> None:
        if self.app.hands_off:
            return
        if self.app.screen is self.app.dashboard:
            self.choose_plate(event.lane_id, event.read_plate, event.candidates)
        else:
            self.app.notify(_("{lane}: plate {plate} needs checking (F2)").format(lane=event.lane_id, plate=event.read_plate), severity="warning")

    def no_visit(self, event: UnknownAtExit) -> None:
        if self.app.hands_off:
            return
        if self.app.screen is self.app.dashboard:
            self.ask_unknown_entry(event.lane_id, event.plate)
        else:
            self.app.notify(_("{lane}: no visit for {plate} (F2)").format(lane=event.lane_id, plate=event.plate), severity="warning")

    # -- the desk ------------------------------------------------------------------------------
    def open_desk(self, ticket: ExitTicket) -> None:
        """Show the exit desk for a waiting vehicle."""
        site = self.site

        def closed(result: ExitSettled | None) -> None:
            if result is not None:
                self.app.notify(_("{plate} paid, change {change}").format(plate=ticket.visit.plate, change=result.change), timeout=3)

        self.app.push_screen(ExitDeskScreen(site.desk, ticket, self.attendant, cloud=site.cloud), closed)

    def pay_next(self) -> None:
        """The desk for the vehicle waiting longest."""
        tickets = sorted(self.site.board.pending_tickets(), key=lambda t: t.exit_at)
        if not tickets:
            self.app.notify(_("no vehicle is waiting at an exit"))
            return
        self.open_desk(tickets[0])

    # -- a plate typed by hand -----------------------------------------------------------------
    def exit_by_plate(self) -> None:
        lanes = [(f"{lane.id} · {lane.name or lane.id}", lane.id) for lane in self.app.config.lanes if lane.direction == "exit"]
        if not lanes:
            self.app.notify(_("this site has no exit lane"), severity="error")
            return

        def chosen(result: tuple[str, str] | None) -> None:
            if result is not None:
                self.look_up(*result)

        self.app.push_screen(PlatePromptScreen(lanes, self.app.config.site.plates), chosen)

    def look_up(self, lane_id: str, plate: str) -> None:
        """Find the plate's visit at `lane_id` (worker), then the desk or the next question."""
        self.in_thread(partial(self._look_up, lane_id, plate), group="exit-lookup")

    def _look_up(self, lane_id: str, plate: str) -> None:
        try:
            ticket = self.site.exits.open_exit(lane_id, plate)
        except PlateNotFound as exc:
            self.notify(str(exc), severity="warning", timeout=6)
            if exc.candidates:
                self.later(self.choose_plate, lane_id, exc.plate, exc.candidates)
            else:
                self.later(self.ask_unknown_entry, lane_id, exc.plate)
            return
        except SiteError as exc:
            self.notify(str(exc), severity="error", timeout=6)
            return
        if ticket is None:
            self.notify(_("{plate}: within the free period, gate opening").format(plate=plate))
            return
        self.later(self.open_desk, ticket)

    # -- doubtful plates and unknown entries ---------------------------------------------------
    def choose_plate(self, lane_id: str, read_plate: str, candidates: tuple[str, ...]) -> None:
        """Let the attendant pick which visit a doubtful plate read belongs to."""

        def chosen(result: str | None) -> None:
            if result == NONE_OF_THESE:
                self.ask_unknown_entry(lane_id, read_plate)
            elif result is not None:
                self.look_up(lane_id, result)

        self.app.push_screen(PlateChoiceScreen(lane_id, read_plate, candidates), chosen)

    def ask_unknown_entry(self, lane_id: str, plate: str) -> None:
        """Lost ticket, or an entry time the driver states."""

        def chosen(result: UnknownEntryRequest | None) -> None:
            if result is not None:
                self.in_thread(partial(self._record_unknown_entry, result), group="unknown-entry")

        self.app.push_screen(UnknownEntryScreen(lane_id, plate), chosen)

    def _record_unknown_entry(self, request: UnknownEntryRequest) -> None:
        site = self.site
        try:
            entry_at = None
            if not request.lost_ticket:
                entry_at = parse_local_time(request.entry_text, now=site.clock.now(), tz=self.app.config.site.tz)
            ticket = site.exits.exit_with_unknown_entry(
                request.lane_id, request.plate, actor=self.attendant, reason=request.reason,
                entry_at=entry_at, lost_ticket=request.lost_ticket,
            )
        except (SiteError, TimeInputError) as exc:
            self.notify(_("nothing recorded: {error}").format(error=exc), severity="error", timeout=8)
            return
        if ticket is not None:
            self.later(self.open_desk, ticket)
