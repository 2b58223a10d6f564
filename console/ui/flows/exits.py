"""Vehicles at the exits: the desk for a waiting vehicle, a plate typed by hand,
doubtful plate reads and vehicles with no visit."""

from __future__ import annotations

from functools import partial
from typing import Callable

from console.domain.timeparse import TimeInputError, parse_local_time
from console.i18n import _
from console.site.errors import LaneBusy, PlateNotFound, SiteError
from console.site.events import (
    ExitPending,
    ExitSettled,
    ExitTicket,
    PlateNeedsConfirmation,
    UnknownAtExit,
)
from console.ui.flows.base import Flow
from console.ui.screens.confirm import ConfirmScreen
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

    def shown(self, plate: str) -> str:
        """A stored plate as it is written (粤BD12345 -> 粤B·D12345), for what people read."""
        return self.app.config.site.plates.display(plate)

    # -- what the lanes report ------------------------------------------------------------------
    def vehicle_waiting(self, event: ExitPending) -> None:
        """A vehicle came to an exit: the desk opens for the exit waiting longest (first
        come, first served), or the attendant is told it waits."""
        if self.app.hands_off:
            return
        if self.app.screen is self.app.dashboard and self.app.user is not None:
            self.offer_next()
        else:
            self.app.notify(_("{plate} waiting at {lane}: {due}").format(plate=self.shown(event.ticket.visit.plate), lane=event.ticket.lane_id, due=event.ticket.due), timeout=4)

    def offer_next(self, *, after: str | None = None) -> None:
        """Open the desk by itself for the next waiting exit, unless every one waiting
        was stepped back from (those wait for F3)."""
        if self.app.hands_off or self.app.screen is not self.app.dashboard or self.app.user is None:
            return
        board = self.site.board
        ticket = board.next_waiting(after=after)
        if ticket is not None and not board.is_aside(ticket.id):
            self.open_desk(ticket, by_itself=True)

    def plate_doubtful(self, event: PlateNeedsConfirmation) -> None:
        if self.app.hands_off:
            return
        if self.app.screen is self.app.dashboard:
            self.choose_plate(event.lane_id, event.read_plate, event.candidates)
        else:
            self.app.notify(_("{lane}: plate {plate} needs checking (F2)").format(lane=event.lane_id, plate=self.shown(event.read_plate)), severity="warning")

    def no_visit(self, event: UnknownAtExit) -> None:
        if self.app.hands_off:
            return
        if self.app.screen is self.app.dashboard:
            self.ask_unknown_entry(event.lane_id, event.plate)
        else:
            self.app.notify(_("{lane}: no visit for {plate} (F2)").format(lane=event.lane_id, plate=self.shown(event.plate)), severity="warning")

    # -- the desk ------------------------------------------------------------------------------
    def open_desk(self, ticket: ExitTicket, *, by_itself: bool = False) -> None:
        """Show the exit desk for a waiting vehicle. A desk that opens by itself ignores
        keys for a moment (a key meant for the dashboard must not pay). When it closes,
        the next waiting exit is offered; one left with Escape goes behind the others."""
        site = self.site
        # `[ui] desk_key_guard_seconds`: a key already on its way to the dashboard (F7 for
        # receipts, a held Enter) never fills the cash field or pays at a desk it did not open.
        guard = site.config.ui.desk_key_guard_seconds if by_itself else 0.0
        desk = ExitDeskScreen(site.desk, ticket, self.attendant, cloud=site.cloud, guard=guard)

        def closed(result: ExitSettled | None) -> None:
            if desk.closed_for_sign_in:
                return  # the new attendant starts from the dashboard and the queue
            if result is not None:
                self.app.notify(_("{plate} paid, change {change}").format(plate=self.shown(ticket.visit.plate), change=result.change), timeout=3)
            else:
                site.board.set_aside(ticket.id)
            # Once this desk is off the screen stack, the next desk may take its place.
            self.app.call_after_refresh(self.offer_next, after=ticket.id)

        self.app.push_screen(desk, closed)

    def pay_next(self) -> None:
        """The desk for the next exit in the queue (first come, first served)."""
        ticket = self.site.board.next_waiting()
        if ticket is None:
            self.app.notify(_("no vehicle is waiting at an exit"))
            return
        self.open_desk(ticket)

    def close_desks_for(self, user: str) -> int:
        """Another attendant signed in: close every exit desk that was open (the vehicles
        keep waiting with their tickets), so nothing is taken under the previous name."""
        closed = 0
        for _screen in list(self.app.screen_stack):  # at most one pop per screen
            if not any(isinstance(s, ExitDeskScreen) for s in self.app.screen_stack):
                break
            top = self.app.screen
            if isinstance(top, ExitDeskScreen):
                top.closed_for_sign_in = True
                closed += 1
                top.dismiss(None)
            else:
                self.app.pop_screen()
        if closed:
            self.app.notify(_("the open exit desk was closed for {name}: the vehicle still waits (F3)").format(name=user), severity="warning", timeout=6)
        return closed

    # -- a plate typed by hand -----------------------------------------------------------------
    def exit_by_plate(self) -> None:
        """Type a plate the camera missed, at an exit lane chosen from a list."""
        lanes = [(f"{lane.id} · {lane.name or lane.id}", lane.id) for lane in self.app.config.lanes if lane.direction == "exit"]
        if not lanes:
            self.app.notify(_("this site has no exit lane"), severity="error")
            return

        def chosen(result: tuple[str, str] | None) -> None:
            if result is not None:
                self.look_up(*result)

        self.app.push_screen(PlatePromptScreen(lanes, self.app.config.site.plates), chosen)

    def look_up(self, lane_id: str, plate: str, *, replace_waiting: bool = False) -> None:
        """Find the plate's visit at `lane_id` (worker), then the desk or the next question."""
        self.in_thread(partial(self._look_up, lane_id, plate, replace_waiting), group="exit-lookup")

    def _look_up(self, lane_id: str, plate: str, replace_waiting: bool) -> None:
        try:
            ticket = self.site.exits.open_exit(lane_id, plate, replace_waiting=replace_waiting)
        except LaneBusy as exc:
            self.later(self.ask_replace, exc, partial(self.look_up, lane_id, plate, replace_waiting=True))
            return
        except PlateNotFound as exc:
            self.notify(str(exc), severity="warning", timeout=6)
            if exc.candidates:
                self.later(self.choose_plate, lane_id, exc.plate, exc.candidates, replace_waiting=replace_waiting)
            else:
                self.later(self.ask_unknown_entry, lane_id, exc.plate, replace_waiting=replace_waiting)
            return
        except SiteError as exc:
            self.notify(str(exc), severity="error", timeout=6)
            return
        if ticket is None:
            self.notify(_("{plate}: within the free period, gate opening").format(plate=self.shown(plate)))
            return
        self.later(self.open_desk, ticket)

    # -- doubtful plates and unknown entries ---------------------------------------------------
    def ask_replace(self, busy: LaneBusy, replace: Callable[[], None]) -> None:
        """A typed plate at a lane whose ticket is another vehicle's: replace it, or keep it."""

        def answered(yes: bool | None) -> None:
            if yes:
                replace()

        question = _("{lane} already has {waiting} waiting. Enter: {plate} replaces that ticket ({waiting} stays inside, unpaid). "
                     "Escape: keep the ticket of {waiting}.").format(lane=busy.lane_id, waiting=self.shown(busy.waiting_plate), plate=self.shown(busy.plate))
        self.app.push_screen(ConfirmScreen(_("One ticket per lane"), question), answered)

    def choose_plate(self, lane_id: str, read_plate: str, candidates: tuple[str, ...], *, replace_waiting: bool = True) -> None:
        """Let the attendant pick which visit a doubtful plate read belongs to. A read at
        the lane replaces the lane's waiting ticket (the reader sees the vehicle there)."""

        def chosen(result: str | None) -> None:
            if result == NONE_OF_THESE:
                self.ask_unknown_entry(lane_id, read_plate, replace_waiting=replace_waiting)
            elif result is not None:
                self.look_up(lane_id, result, replace_waiting=replace_waiting)

        self.app.push_screen(PlateChoiceScreen(lane_id, read_plate, candidates, shown=self.shown), chosen)

    def ask_unknown_entry(self, lane_id: str, plate: str, *, replace_waiting: bool = True) -> None:
        """Lost ticket, or an entry time the driver states."""

        def chosen(result: UnknownEntryRequest | None) -> None:
            if result is not None:
                self.in_thread(partial(self._record_unknown_entry, result, replace_waiting), group="unknown-entry")

        self.app.push_screen(UnknownEntryScreen(lane_id, plate, shown=self.shown), chosen)

    def _record_unknown_entry(self, request: UnknownEntryRequest, replace_waiting: bool = True) -> None:
        site = self.site
        try:
            entry_at = None
            if not request.lost_ticket:
                entry_at = parse_local_time(request.entry_text, now=site.clock.now(), tz=self.app.config.site.tz)
            ticket = site.exits.exit_with_unknown_entry(
                request.lane_id, request.plate, actor=self.attendant, reason=request.reason,
                entry_at=entry_at, lost_ticket=request.lost_ticket, replace_waiting=replace_waiting,
            )
        except LaneBusy as exc:
            self.later(self.ask_replace, exc, partial(self.in_thread, partial(self._record_unknown_entry, request, True), group="unknown-entry"))
            return
        except (SiteError, TimeInputError) as exc:
            self.notify(_("nothing recorded: {error}").format(error=exc), severity="error", timeout=8)
            return
        if ticket is not None:
            self.later(self.open_desk, ticket)
