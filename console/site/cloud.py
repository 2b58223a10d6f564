"""Connecting a running site to the operator's cloud.

The cloud owns configuration (tariffs, members, accounts) and sends it down; the site owns
its transactions and sends them up through the outbox. Nothing here blocks a lane: the
sync service has its own thread, and the site only wakes it."""

from __future__ import annotations

import logging
from typing import Callable

from console.domain.tariff import TariffError, parse_tariff
from console.i18n import _
from console.site.bus import EventBus
from console.site.config import SiteConfig
from console.site.events import (
    ExitPending,
    ExitSettled,
    LinkStatus,
    LogEntry,
    OccupancyChanged,
    SiteEvent,
)
from console.site.exits import ExitService
from console.site.pricing import TariffPricing
from console.store import cloud_copies
from console.store.database import Store
from console.store.engine import StoreError
from console.sync.credentials import keyring_token_provider, site_secret_store
from console.sync.service import SyncService, SyncStatus, SyncTuning

log = logging.getLogger(__name__)


def _validate_tariff(text: str) -> None:
    parse_tariff(text, "tariff from the cloud")


def adopt_cloud_tariff(store: Store, pricing: TariffPricing, currency: str, bus: EventBus) -> str | None:
    """Add the cloud's active tariff to the site's tariff book as a new version.

    A tariff that does not parse or conflicts with a known version is refused and the
    current one stays in force. Returns the adopted tariff id, or None."""
    try:
        cloud = store.query(cloud_copies.active_tariff)
    except StoreError as exc:
        bus.report("error", _("cloud tariff not read: {exc}").format(exc=exc))
        return None
    if cloud is None:
        return None
    try:
        tariff = parse_tariff(cloud.text, f"cloud tariff {cloud.version}")
        if tariff.currency != currency:
            raise TariffError([])  # reported below with the reason
        added = pricing.book.add(tariff)
    except TariffError as exc:
        reason = str(exc) or f"the tariff is not in {currency}"
        bus.report("error", _("cloud tariff {version} refused, the current tariff stays: {reason}").format(version=cloud.version, reason=reason))
        return None
    if added:
        bus.report("info", _("cloud tariff {tariff_id} active from {value}").format(tariff_id=tariff.tariff_id, value=tariff.effective_from or 'now'))
    return tariff.tariff_id


class CloudLink:
    """The site's side of the sync: wakes the pump when something was committed, pushes
    occupancy, lets phone-paid exits leave, adopts new cloud tariffs, and tells the
    status bar how the link is."""

    def __init__(self, config: SiteConfig, store: Store, exits: ExitService, pricing: TariffPricing, bus: EventBus,
                 tuning: SyncTuning | None = None, token: Callable[[], str | None] | None = None) -> None:
        """`token` gives the site token (default: the store `[cloud] secrets` names; the
        demo's own cloud hands its token over directly)."""
        self.store = store
        self.exits = exits
        self.pricing = pricing
        self.bus = bus
        self.currency = config.site.currency
        # Every tariff version the site prices with, by id, with its text: sent to the
        # cloud so that it quotes drivers exactly as this booth does.
        self._tariff_texts: dict[str, str] = {config.active_tariff.tariff_id: config.active_tariff_text} if config.active_tariff_text else {}
        self.sync = SyncService(
            store,
            config.cloud,
            config.cloud.site_id,
            exits.clock,
            _validate_tariff,
            token or keyring_token_provider(config.cloud.url, site_secret_store(config.cloud)),
            booth_id=config.site.booth_id,
            tuning=tuning,
            tariff_versions=self.tariff_versions,
            on_commands=self._faults_closed,
        )
        # The charging service's hook for maintenance records the cloud closed.
        self.on_faults_closed: Callable[[list[str]], None] | None = None
        self._seen_tariff: str | None = None
        # Listening from the start: the first occupancy, published before the sync
        # thread runs, is kept and sent as soon as it does.
        bus.subscribe(self._on_site_event)
        self.sync.subscribe(self._on_status)

    def start(self) -> None:
        """Start the sync thread."""
        self.sync.start()

    def stop(self) -> None:
        """Stop the sync thread; unsent events stay in the outbox."""
        self.sync.stop()

    def status(self) -> SyncStatus:
        """The link's status, from memory."""
        return self.sync.status()

    def flush(self, timeout: float = 5.0) -> int:
        """Send what the cloud has not got yet (a few seconds at most); returns how many
        events are still unsent. Blocks: call it from a worker."""
        self.sync.flush(timeout)
        return self.sync.status().backlog

    def adopt_tariff(self) -> str | None:
        """Put the cloud's active tariff into the book (at start and after each pull)."""
        adopted = adopt_cloud_tariff(self.store, self.pricing, self.currency, self.bus)
        if adopted is not None:
            try:
                cloud = self.store.query(cloud_copies.active_tariff)
            except StoreError:
                cloud = None
            if cloud is not None:
                self._tariff_texts[adopted] = cloud.text
                self.sync.wake()
        return adopted

    def _faults_closed(self, fault_ids: list[str]) -> None:
        """Maintenance records closed by the cloud's command (sync thread)."""
        if self.on_faults_closed is not None:
            self.on_faults_closed(fault_ids)

    def tariff_versions(self) -> list[tuple[str, str]]:
        """(tariff id, text) of every version the site prices with (sync thread)."""
        return list(dict(self._tariff_texts).items())

    def _on_site_event(self, event: SiteEvent) -> None:
        if isinstance(event, OccupancyChanged):
            self.sync.push_occupancy(event.zones)
            self.sync.wake()
        elif isinstance(event, ExitPending):
            self.sync.set_exit_waiting(True)  # the driver may be paying by phone right now
        elif isinstance(event, (ExitSettled, LogEntry)):
            if isinstance(event, ExitSettled):
                self.sync.set_exit_waiting(bool(self.exits.board.pending_tickets()))
            self.sync.wake()  # something was committed: send it now, not at the next poll

    def _on_status(self, status: SyncStatus) -> None:
        self.bus.publish(LinkStatus(cloud=_("cloud {summary}").format(summary=status.summary()), backlog=status.backlog))
        if status.online and self.exits.board.pending_tickets():
            # A driver waiting at the desk may have just paid by phone.
            self.exits.settle_remote_payments()
        if status.tariff_version and status.tariff_version != self._seen_tariff:
            self._seen_tariff = status.tariff_version
            self.adopt_tariff()
