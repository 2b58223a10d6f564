"""One running site: its services, composed by `console.site.build.build_site`.

The site itself holds no business logic: it names its services, starts them in order and
stops them in reverse. Commands go to the service that owns them:

| service | what it does |
|---|---|
| `lanes` | lane controller events, entries, barriers and counts by hand |
| `exits` | a plate at an exit: lookup, quote, free/pass/phone exits, settling |
| `desk` | taking the fee: cash, card, account, split, overrides, unpaid exits |
| `staff` | users, PINs, shifts |
| `documents` | receipts, reprints, printed reports |
| `cloud` | the link to the operator's cloud (None without one) |
| `elevator`, `charging` | the elevator exit camera and the charging piles (None when absent) |
| `backup` | the scheduled database backup (None without a backup folder) |
| `live` | the whole site's occupancy on the board, live (other booths' changes too) |

`board` is the read model every screen draws from; `bus` delivers the typed events.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Callable, Protocol

from console.domain.clock import Clock
from console.domain.plates import PlateRules
from console.i18n import _
from console.site.audit_trail import AuditAnchors, SealState
from console.site.backup import BackupService
from console.site.board import LaneBoard
from console.site.bus import EventBus
from console.site.charging import ChargingService
from console.site.cloud import CloudLink
from console.site.config import SiteConfig
from console.site.desk import ExitDesk
from console.site.documents import Documents
from console.site.elevator import ElevatorService
from console.site.exits import ExitService
from console.site.heap import settle_heap
from console.site.lanes import LaneService
from console.site.live import LiveOccupancy
from console.site.pricing import TariffPricing
from console.site.print_queue import PrintQueue
from console.site.staff import StaffService
from console.store.database import Store

log = logging.getLogger(__name__)


class Service(Protocol):
    """Something with its own threads, started and stopped with the site."""

    def start(self) -> None: ...

    def stop(self) -> None: ...


@dataclass(eq=False)
class Site:
    """The booth's site, composed of its services."""

    config: SiteConfig
    clock: Clock
    store: Store
    bus: EventBus
    board: LaneBoard
    pricing: TariffPricing
    lanes: LaneService
    exits: ExitService
    desk: ExitDesk
    staff: StaffService
    documents: Documents
    print_queue: PrintQueue | None = None
    cloud: CloudLink | None = None
    elevator: ElevatorService | None = None
    charging: ChargingService | None = None
    backup: BackupService | None = None
    live: LiveOccupancy | None = None  # every booth's entries and exits on this board
    anchors: AuditAnchors | None = None  # the audit chain's head copied out of the booth
    seal: SealState | None = None  # the key the audit chain is sealed with, if any
    # Simulated controllers and other things that stop after the drivers that use them.
    after_stop: list[Callable[[], None]] = field(default_factory=list)
    _started: bool = field(default=False, init=False)

    @property
    def currency(self) -> str:
        return self.config.site.currency

    @property
    def plates(self) -> PlateRules:
        """The site's plate rules (normalize, display, near matches)."""
        return self.config.site.plates

    def _services(self) -> list[Service]:
        """Background services in start order (the lanes start last, once everything
        they may call is running)."""
        found: list[Service | None] = [self.live, self.print_queue, self.cloud, self.anchors, self.elevator, self.charging, self.backup]
        return [s for s in found if s is not None]

    def start(self) -> None:
        """Read the current occupancy, then start every service and lane."""
        if self._started:
            return
        self._started = True
        self.exits.refresh_occupancy()
        for service in self._services():
            service.start()
        settle_heap()  # before the lanes run: the one long collection is now, not at a gate
        self.lanes.start()
        self.bus.report("info", _("{name}: {gates} lanes started").format(name=self.config.site.name, gates=len(self.lanes.gates)))
        if self.seal is not None and self.seal.problem:
            self.bus.report("warning", self.seal.problem)

    def stop(self) -> None:
        """Stop every lane and service. Idempotent."""
        if not self._started:
            return
        self._started = False
        for service in reversed(self._services()):
            try:
                service.stop()
            except Exception:
                log.exception("a service did not stop cleanly")
        self.lanes.stop()
        if self.anchors is not None:
            self.anchors.anchor_safely()  # the head once the lanes are quiet
        for hook in self.after_stop:
            try:
                hook()
            except Exception:
                log.exception("a stop hook failed")
        try:
            self.store.close_cleanly()  # last: nothing of this run writes after it
        except Exception:
            log.exception("the database was not closed cleanly")
