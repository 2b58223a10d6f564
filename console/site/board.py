"""What the attendant's board shows right now: each lane, the exits waiting to be paid,
each device's health and each zone's count.

This is the site's only shared memory. It is a read model: the database decides (visits,
payments, counts); the board keeps the latest picture so screens can draw without a
query, and publishes every change on the bus. All methods are thread-safe.
"""

from __future__ import annotations

import threading
from dataclasses import replace
from datetime import datetime
from typing import Mapping, TypedDict, Unpack

from console.domain.occupancy import ZoneOccupancy
from console.site.bus import EventBus
from console.site.config import SiteConfig
from console.site.events import (
    DeviceHealthChanged,
    ExitTicket,
    LaneChanged,
    LaneSnapshot,
    OccupancyChanged,
)
from drivers.health import DeviceHealth


class LaneUpdate(TypedDict, total=False):
    """The fields of a lane snapshot that change while the site runs."""

    gate: str
    vehicle_present: bool
    last_plate: str | None
    last_event_at: datetime | None
    status: str
    health: str
    pending: ExitTicket | None


class LaneBoard:
    """Lanes, waiting exits, device health and zone counts, as last known."""

    def __init__(self, config: SiteConfig, bus: EventBus) -> None:
        self._config = config
        self._bus = bus
        self._lock = threading.Lock()
        self._lanes: dict[str, LaneSnapshot] = {
            lane.id: LaneSnapshot(lane.id, lane.name or lane.id, lane.direction, lane.zone) for lane in config.lanes
        }
        self._tickets: dict[str, ExitTicket] = {}  # in the order the vehicles arrived
        self._aside: list[str] = []  # tickets the attendant stepped back from, in that order
        self._health: dict[str, DeviceHealth] = {}
        self._counts: dict[str, int] = {}
        self._counts_version = 0
        self._opening: dict[str, tuple[str, str]] = {}  # lane -> (visit, "entry"|"exit") awaiting its open barrier

    # -- barriers commanded open, awaiting the controller's confirmation -----------------------
    def expect_open(self, lane_id: str, visit_id: str, which: str) -> None:
        """The barrier of `lane_id` was commanded open for `visit_id`'s entry or exit."""
        with self._lock:
            self._opening[lane_id] = (visit_id, which)

    def opened(self, lane_id: str) -> tuple[str, str] | None:
        """The barrier of `lane_id` is open: the visit it was opened for, if one waited."""
        with self._lock:
            return self._opening.pop(lane_id, None)

    # -- lanes -------------------------------------------------------------------------------
    def lanes(self) -> list[LaneSnapshot]:
        with self._lock:
            return list(self._lanes.values())

    def lane(self, lane_id: str) -> LaneSnapshot:
        """The lane's snapshot (KeyError for a lane the site does not have)."""
        with self._lock:
            return self._lanes[lane_id]

    def has_lane(self, lane_id: str, direction: str | None = None) -> bool:
        with self._lock:
            lane = self._lanes.get(lane_id)
        return lane is not None and (direction is None or lane.direction == direction)

    def update_lane(self, lane_id: str, **changes: Unpack[LaneUpdate]) -> LaneSnapshot:
        """Change a lane's snapshot and tell the listeners."""
        with self._lock:
            lane = replace(self._lanes[lane_id], **changes)
            self._lanes[lane_id] = lane
        self._bus.publish(LaneChanged(lane))
        return lane

    # -- waiting exits ------------------------------------------------------------------------
    def pending_tickets(self) -> list[ExitTicket]:
        """Exits waiting to be settled, in the order they arrived."""
        with self._lock:
            return list(self._tickets.values())

    def queue(self) -> list[ExitTicket]:
        """Waiting exits in the order the desk serves them: first come, first served;
        an exit the attendant stepped back from (Escape) goes behind the others."""
        with self._lock:
            aside = [t for t in self._aside if t in self._tickets]
            first = [t for tid, t in self._tickets.items() if tid not in aside]
            return first + [self._tickets[tid] for tid in aside]

    def next_waiting(self, *, after: str | None = None) -> ExitTicket | None:
        """The exit to serve next (the queue's head), skipping the ticket `after`."""
        return next((t for t in self.queue() if t.id != after), None)

    def set_aside(self, ticket_id: str) -> None:
        """The attendant left this exit's desk: it still waits, behind the others."""
        with self._lock:
            if ticket_id in self._aside:
                self._aside.remove(ticket_id)
            if ticket_id in self._tickets:
                self._aside.append(ticket_id)

    def is_aside(self, ticket_id: str) -> bool:
        with self._lock:
            return ticket_id in self._aside

    def waiting_by_lane(self) -> dict[str, int]:
        """How many exits wait at each exit lane (every exit lane named, 0 included)."""
        with self._lock:
            counts = {lane.id: 0 for lane in self._lanes.values() if lane.direction == "exit"}
            for ticket in self._tickets.values():
                counts[ticket.lane_id] = counts.get(ticket.lane_id, 0) + 1
            return counts

    def ticket_at_lane(self, lane_id: str) -> ExitTicket | None:
        """The ticket waiting at `lane_id`, if any (one per lane)."""
        with self._lock:
            return next((t for t in self._tickets.values() if t.lane_id == lane_id), None)

    def ticket(self, ticket_id: str) -> ExitTicket | None:
        with self._lock:
            return self._tickets.get(ticket_id)

    def ticket_for_visit(self, visit_id: str) -> ExitTicket | None:
        with self._lock:
            return next((t for t in self._tickets.values() if t.visit.id == visit_id), None)

    def hold(self, ticket: ExitTicket, status: str | None = None, *, replacing: bool = False) -> list[ExitTicket]:
        """Keep `ticket` waiting at its lane (a new ticket, or a changed fee). With
        `replacing`, any other ticket at that lane goes (one ticket per lane); returns the
        tickets that went."""
        with self._lock:
            dropped = [t for t in self._tickets.values() if replacing and t.lane_id == ticket.lane_id and t.id != ticket.id]
            for old in dropped:
                del self._tickets[old.id]
                if old.id in self._aside:
                    self._aside.remove(old.id)
            self._tickets[ticket.id] = ticket
        if status is None:
            self.update_lane(ticket.lane_id, pending=ticket)
        else:
            self.update_lane(ticket.lane_id, pending=ticket, status=status)
        return dropped

    def release(self, ticket_id: str) -> ExitTicket | None:
        """The exit no longer waits (settled or gone). Returns the ticket if it was waiting."""
        with self._lock:
            ticket = self._tickets.pop(ticket_id, None)
            if ticket_id in self._aside:
                self._aside.remove(ticket_id)
            lane = self._lanes[ticket.lane_id] if ticket is not None else None
        if ticket is not None and lane is not None and lane.pending is not None and lane.pending.id == ticket_id:
            self.update_lane(ticket.lane_id, pending=None)
        elif ticket is not None:
            self.update_lane(ticket.lane_id)  # the queue changed: the boards redraw it
        return ticket

    # -- devices ------------------------------------------------------------------------------
    def device_health(self) -> dict[str, DeviceHealth]:
        with self._lock:
            return dict(self._health)

    def set_health(self, health: DeviceHealth) -> None:
        """A device (lane, printer, camera...) reports its health (any thread)."""
        with self._lock:
            self._health[health.device] = health
        self._bus.publish(DeviceHealthChanged(health))

    # -- zones --------------------------------------------------------------------------------
    def occupied(self, zone_id: str) -> int:
        with self._lock:
            return self._counts.get(zone_id, 0)

    def occupancy(self) -> tuple[ZoneOccupancy, ...]:
        with self._lock:
            counts = dict(self._counts)
        return tuple(ZoneOccupancy(z.id, z.name or z.id, z.capacity, counts.get(z.id, 0)) for z in self._config.zones)

    def set_counts(self, counts: Mapping[str, int]) -> None:
        """The zones' counts as the database has them now."""
        with self._lock:
            self._counts = dict(counts)
            self._counts_version += 1
        self._bus.publish(OccupancyChanged(self.occupancy()))

    def counts_version(self) -> int:
        """How many times the counts were set: taken before reading the database, it lets
        `set_counts_if_unchanged` tell whether a fresher count arrived meanwhile."""
        with self._lock:
            return self._counts_version

    def set_counts_if_unchanged(self, counts: Mapping[str, int], version: int) -> bool:
        """Set the counts read after `counts_version()` returned `version`, unless they
        were set since (by this booth's own write, which is at least as fresh) or are
        what the board shows already. Returns whether the board changed."""
        with self._lock:
            if self._counts_version != version or self._counts == dict(counts):
                return False
            self._counts = dict(counts)
            self._counts_version += 1
        self._bus.publish(OccupancyChanged(self.occupancy()))
        return True

    def count_entry(self, zone_id: str) -> None:
        """One more vehicle in `zone_id` (its entry just committed)."""
        with self._lock:
            self._counts[zone_id] = self._counts.get(zone_id, 0) + 1
            self._counts_version += 1
        self._bus.publish(OccupancyChanged(self.occupancy()))
