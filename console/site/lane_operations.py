"""What attendants do by hand at the lanes: unknown entries at an exit, barriers moved
with a reason (and the lane camera's frame), occupancy corrections, stale visits."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta

from console.domain.payments import PaymentError
from console.domain.plates import PlateError, PlateRules
from console.domain.visits import Visit, VisitError
from console.site.errors import SiteError
from console.site.events import (
    ExitTicket,
)
from console.store.booth_store import AlreadyInside
from console.store.engine import StoreError
from drivers.camera.still import frame_jpeg


class LaneOperationsMixin:
    """Audited manual operations on lanes and zones. Mixed into `Site`."""

    plates: PlateRules  # the site's plate rules (Site.__init__)

    def exit_with_unknown_entry(
        self,
        lane_id: str,
        raw_plate: str,
        *,
        actor: str,
        reason: str,
        entry_at: datetime | None = None,
        lost_ticket: bool = False,
    ) -> ExitTicket | None:
        """A vehicle at the exit with no visit: record its entry by hand, then quote.

        Either the driver states an entry time (`entry_at`, not in the future) or the
        lost-ticket fee applies. The manual entry is audited with `reason`.
        """
        now = self.clock.now()
        if lane_id not in self._lanes or self.lane(lane_id).direction != "exit":
            raise SiteError(f"{lane_id} is not an exit lane")
        if not reason.strip():
            raise SiteError("give a reason for the manual entry")
        if (entry_at is None) == (not lost_ticket):
            raise SiteError("choose either the lost-ticket fee or an entry time")
        try:
            plate = self.plates.normalize(raw_plate)
        except PlateError as exc:
            raise SiteError(str(exc)) from None
        if entry_at is not None:
            if entry_at.tzinfo is None:
                raise SiteError("entry time needs a time zone")
            if entry_at > now:
                raise SiteError("the entry time is in the future")
        at = entry_at or now
        note = f"{'lost ticket' if lost_ticket else 'entry time stated at exit'}: {reason.strip()}"
        try:
            self.store.record_entry(plate=plate, zone=self.lane(lane_id).zone, lane=lane_id, at=at, currency=self.currency, actor=actor, note=note)
        except AlreadyInside:
            pass  # a visit turned up meanwhile: price that one
        except StoreError as exc:
            raise SiteError(f"entry NOT recorded: {exc}") from None
        self._log("warning", f"{lane_id}: {plate} entry recorded by {actor} ({note})")
        ticket = self.open_exit(lane_id, plate, now=now, lost_ticket=lost_ticket)
        if ticket is None:
            return None
        # Recorded with the exit as an override, so the shift report counts lost tickets
        # and entry times typed by hand.
        record = {
            "kind": "lost_ticket" if lost_ticket else "entry_time",
            "quoted_minor": ticket.quote.total.minor,
            "new_minor": ticket.quote.total.minor,
            "reason": reason.strip(),
            "approved_by": None,
        }
        ticket = replace(ticket, overrides=ticket.overrides + (record,))
        with self._state_lock:
            self._tickets[ticket.id] = ticket
        self._update_lane(lane_id, pending=ticket)
        return ticket

    def manual_gate(self, lane_id: str, action: str, *, reason: str, note: str = "", actor: str, snapshot: bytes | None = None) -> str:
        """Open or close a barrier by hand. The reason must come from the configured list
        ("other" needs a note). Recorded (and audited) before the barrier moves.

        Opening an exit where a vehicle waits with a fee lets it leave owing that fee.
        """
        if lane_id not in self.gates:
            raise SiteError(f"no lane {lane_id}")
        if action not in ("open", "close"):
            raise SiteError("action must be open or close")
        reasons = self.config.operations.manual_gate_reasons
        if reason not in reasons:
            raise SiteError(f"pick a reason from the list: {', '.join(reasons)}")
        if reason == "other" and not note.strip():
            raise SiteError('reason "other" needs a note')
        lane = self.lane(lane_id)
        now = self.clock.now()
        plate = lane.pending.visit.plate if lane.pending else (lane.last_plate if lane.vehicle_present else None)
        if snapshot is None and lane_id in self.lane_cameras:
            snapshot = self._lane_snapshot(lane_id)
        try:
            record = self.store.record_gate_action(
                lane=lane_id, action=action, reason=reason, note=note.strip(), actor=actor, at=now, plate=plate, snapshot=snapshot
            )
        except StoreError as exc:
            raise SiteError(f"not recorded, barrier not moved: {exc}") from None
        ticket = lane.pending
        if action == "open" and ticket is not None:
            try:
                self.store.close_visit(
                    visit_id=ticket.visit.id, exit_lane=lane_id, exit_at=ticket.exit_at, quote=ticket.quote, payments=[],
                    attendant=actor, idempotency_key=ticket.id, reason=f"manual open: {reason}", allow_unpaid=True,
                )
            except (VisitError, PaymentError, StoreError) as exc:
                self._log("error", f"{lane_id}: visit of {ticket.visit.plate} not closed: {exc}")
            else:
                with self._state_lock:
                    self._tickets.pop(ticket.id, None)
                self._update_lane(lane_id, pending=None)
                self._refresh_occupancy()
        gate = self.gates[lane_id]
        gate.open_barrier() if action == "open" else gate.close_barrier()
        self._update_lane(lane_id, status=f"manual {action}: {reason}")
        self._log("warning", f"{lane_id}: barrier {action}ed by {actor}: {reason}{' - ' + note if note else ''}")
        return record

    def _lane_snapshot(self, lane_id: str) -> bytes | None:
        """The lane camera's latest frame as a small JPEG; None when the camera has none
        (the barrier still moves: a missing picture must not block safety or emergencies)."""
        frame = self.lane_cameras[lane_id].latest()
        if frame is None:
            self._log("warning", f"{lane_id}: the lane camera has no picture; the manual move is recorded without one")
            return None
        try:
            return frame_jpeg(frame)
        except ValueError as exc:
            self._log("warning", f"{lane_id}: lane camera picture not kept: {exc}")
            return None

    def correct_occupancy(self, zone_id: str, count: int, *, reason: str, actor: str) -> None:
        """Set a zone's count to what the attendant sees, with a reason (audited)."""
        if zone_id not in {z.id for z in self.config.zones}:
            raise SiteError(f"no zone {zone_id}")
        capacity = self.config.zone(zone_id).capacity
        if count < 0 or count > capacity * 2:
            raise SiteError(f"a count of {count} is impossible for {capacity} spaces")
        if not reason.strip():
            raise SiteError("give a reason for the correction")
        current = self.store.occupancy_counts().get(zone_id, 0)
        try:
            self.store.adjust_occupancy(zone=zone_id, delta=count - current, reason=reason.strip(), actor=actor, at=self.clock.now())
        except VisitError as exc:
            raise SiteError(str(exc)) from None
        except StoreError as exc:
            raise SiteError(f"correction NOT recorded: {exc}") from None
        self._refresh_occupancy()
        self._log("warning", f"{zone_id}: count set from {current} to {count} by {actor}: {reason.strip()}")

    def stale_visits(self, zone_id: str) -> list[Visit]:
        """Open visits older than the configured limit, oldest first."""
        limit = self.clock.now() - timedelta(hours=self.config.operations.stale_visit_hours)
        return self.store.stale_visits(zone_id, limit)

    def close_stale(self, visit_ids: list[str], *, reason: str, actor: str) -> int:
        """Close visits of cars that left unseen, without a fee (audited)."""
        if not reason.strip():
            raise SiteError("give a reason for closing these visits")
        try:
            closed = self.store.close_stale(visit_ids=visit_ids, reason=reason.strip(), actor=actor, at=self.clock.now())
        except StoreError as exc:
            raise SiteError(f"NOT closed: {exc}") from None
        self._refresh_occupancy()
        self._log("warning", f"{closed} stale visits closed by {actor}: {reason.strip()}")
        return closed
