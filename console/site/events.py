"""Every event the site publishes, as typed dataclasses (the UI, the headless runner,
the cloud link and tests subscribe to the types they need through `EventBus`).

Listeners are called from device and service threads: they must return quickly and must
not call back into the site while holding their own locks. The UI forwards them to its
own thread and routes each type to the screens that show it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING

from console.domain.charging import Preset
from console.domain.money import Money
from console.domain.occupancy import ZoneOccupancy
from console.domain.payments import ClosedVisit
from console.domain.quote import Quote
from console.domain.visits import Visit
from console.site.pricing import StayFacts
from drivers.health import DeviceHealth

if TYPE_CHECKING:  # records of the store; the UI must start without the database stack
    from console.store.charging import FaultRecord
    from console.store.rides import RideSummary


@dataclass(frozen=True, slots=True)
class ExitTicket:
    """A vehicle waiting at an exit with its fee quoted. Its id is the idempotency key
    of the payment, so paying twice for one ticket records one payment."""

    id: str
    lane_id: str
    visit: Visit
    exit_at: datetime
    quote: Quote
    debt_ids: tuple[str, ...] = ()  # earlier unpaid exits of this plate, included in the quote
    overrides: tuple[dict[str, object], ...] = ()  # fee changes made at the desk, recorded on settling
    facts: StayFacts = StayFacts()  # what the fee depends on beyond the visit (plan, re-entry, lost ticket)
    # Phone payments made during this stay that did not cover it (the exit grace ran out):
    # (payment id, amount in minor units). They count against the fee and are recorded
    # with whatever the desk takes, so the driver pays only the difference.
    prepaid: tuple[tuple[str, int], ...] = ()

    @property
    def prepaid_minor(self) -> int:
        """What the phone payments of `prepaid` bring, at most the fee still open."""
        return min(sum(amount for _id, amount in self.prepaid), max(0, self.quote.total.minor - self.visit.paid_minor))

    @property
    def quoted_total(self) -> Money:
        """The fee as first quoted for this exit, before any change at the desk: the
        override limit is measured against it."""
        if self.overrides:
            first = self.overrides[0].get("quoted_minor")
            if isinstance(first, int):
                return Money(first, self.quote.total.currency)
        return self.quote.total

    @property
    def due(self) -> Money:
        """What is still to pay after earlier payments (pay station, phone)."""
        return Money(max(0, self.quote.total.minor - self.visit.paid_minor - self.prepaid_minor), self.quote.total.currency)


@dataclass(frozen=True, slots=True)
class LaneSnapshot:
    """One lane as the attendant sees it."""

    id: str
    name: str
    direction: str
    zone: str
    gate: str = "unknown"  # open / closed / fault / unknown
    vehicle_present: bool = False
    last_plate: str | None = None
    last_event_at: datetime | None = None
    status: str = ""
    health: str = "connecting"
    pending: ExitTicket | None = None


@dataclass(frozen=True, slots=True)
class LaneChanged:
    lane: LaneSnapshot


@dataclass(frozen=True, slots=True)
class OccupancyChanged:
    zones: tuple[ZoneOccupancy, ...]


@dataclass(frozen=True, slots=True)
class LogEntry:
    at: datetime
    level: str  # info / warning / error
    text: str
    booth: str = ""  # another booth of the site that did it ("": this booth)


@dataclass(frozen=True, slots=True)
class ExitPending:
    ticket: ExitTicket


@dataclass(frozen=True, slots=True)
class ExitSettled:
    ticket: ExitTicket
    closed: ClosedVisit
    change: Money
    journaled: bool = False  # kept in the emergency journal: the database books it later


@dataclass(frozen=True, slots=True)
class PlateNeedsConfirmation:
    """The exit read a plate with no visit, but visits exist for plates that differ
    only by reader confusions: the attendant picks one (or none)."""

    lane_id: str
    read_plate: str
    candidates: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class UnknownAtExit:
    """No visit for this plate at all: lost ticket, or an entry time stated by the driver."""

    lane_id: str
    plate: str


@dataclass(frozen=True, slots=True)
class DeviceHealthChanged:
    health: DeviceHealth


@dataclass(frozen=True, slots=True)
class LinkStatus:
    """The cloud link and database as the status bar shows them."""

    cloud: str = "not configured"
    database: str = "ok"
    backlog: int = 0
    details: dict[str, str] = field(default_factory=dict)


# -- elevator ------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class RideRecorded:
    """A ride, unclaimed stop or timed-out swipe was stored. `latency_s` is the time
    from the doors-open event reaching the console to the commit (rides only)."""

    ride: RideSummary
    latency_s: float | None = None


@dataclass(frozen=True, slots=True)
class SnapshotsPurged:
    """The retention job deleted `count` snapshots of rides before `older_than`."""

    count: int
    older_than: datetime


# -- charging ------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class PortView:
    """One charging port as the attendant sees it, with its running figures."""

    pile_id: str
    port: int
    kind: str  # epile / ocpp
    region: str
    franchise: str
    online: bool
    plugged: bool
    powered: bool
    current_ma: int
    session_id: str | None = None
    account_id: str | None = None
    energy_wh: int = 0
    elapsed_s: int = 0
    fee: Money | None = None
    preset: Preset | None = None
    fault: str = ""


@dataclass(frozen=True, slots=True)
class SessionChanged:
    """A port's state or running figures changed."""

    port: PortView


@dataclass(frozen=True, slots=True)
class SessionClosed:
    session_id: str
    pile_id: str
    port: int
    reason: str
    energy_wh: int
    bill: Money
    refund: Money


@dataclass(frozen=True, slots=True)
class ChargerFault:
    fault: FaultRecord
    detected_at: float = 0.0  # time.perf_counter() when the reading arrived (latency figures)


@dataclass(frozen=True, slots=True)
class MaintenanceClosed:
    """A fault's maintenance record was closed (with its note)."""

    fault_id: str
    actor: str


SiteEvent = (
    LaneChanged | OccupancyChanged | LogEntry | ExitPending | ExitSettled | DeviceHealthChanged | LinkStatus
    | PlateNeedsConfirmation | UnknownAtExit | RideRecorded | SnapshotsPurged | SessionChanged | SessionClosed
    | ChargerFault | MaintenanceClosed
)
