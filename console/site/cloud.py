"""Connecting a running site to the operator's cloud.

The cloud owns configuration (tariffs, members, accounts) and sends it down; the site owns
its transactions and sends them up through the outbox. Nothing here blocks a lane: the
sync service has its own thread, and the site only wakes it."""

from __future__ import annotations

import logging

from console.domain.tariff import TariffError, parse_tariff
from console.site.config import SiteConfig
from console.site.core import Site
from console.site.events import (
    ExitSettled,
    LinkStatus,
    LogEntry,
    OccupancyChanged,
    SiteEvent,
)
from console.sync import lookup
from console.sync.credentials import keyring_token_provider, site_secret_store
from console.sync.service import SyncService, SyncStatus, SyncTuning

log = logging.getLogger(__name__)


def _validate_tariff(text: str) -> None:
    parse_tariff(text, "tariff from the cloud")


def adopt_cloud_tariff(site: Site) -> str | None:
    """Add the cloud's active tariff to the site's tariff book as a new version.

    A tariff that does not parse or conflicts with a known version is refused and the
    current one stays in force. Returns the adopted tariff id, or None."""
    cloud = lookup.active_tariff(site.store)
    if cloud is None:
        return None
    try:
        tariff = parse_tariff(cloud.text, f"cloud tariff {cloud.version}")
        if tariff.currency != site.currency:
            raise TariffError([])  # reported below with the reason
        added = site.pricing.book.add(tariff)  # type: ignore[attr-defined]
    except TariffError as exc:
        reason = str(exc) or f"the tariff is not in {site.currency}"
        site.report("error", f"cloud tariff {cloud.version} refused, the current tariff stays: {reason}")
        return None
    if added:
        site.report("info", f"cloud tariff {tariff.tariff_id} active from {tariff.effective_from or 'now'}")
    return tariff.tariff_id


def attach_sync(site: Site, config: SiteConfig, tuning: SyncTuning | None = None) -> SyncService | None:
    """Create the sync service for a site whose file names a cloud; None otherwise."""
    if not config.cloud.url:
        return None
    service = SyncService(
        site.store,
        config.cloud,
        config.cloud.site_id,
        site.clock,
        _validate_tariff,
        keyring_token_provider(config.cloud.url, site_secret_store(config.cloud)),
        booth_id=config.site.booth_id,
        tuning=tuning,
    )
    seen_tariff: list[str | None] = [None]

    def on_site_event(event: SiteEvent) -> None:
        if isinstance(event, OccupancyChanged):
            service.push_occupancy(event.zones)
            service.wake()
        elif isinstance(event, (ExitSettled, LogEntry)):
            service.wake()  # something was committed: send it now, not at the next poll

    def on_status(status: SyncStatus) -> None:
        site.publish(LinkStatus(cloud=f"cloud {status.summary()}", backlog=status.backlog))
        if status.online and site.pending_tickets():
            # A driver waiting at the desk may have just paid by phone.
            site.settle_remote_payments()
        if status.tariff_version and status.tariff_version != seen_tariff[0]:
            seen_tariff[0] = status.tariff_version
            adopt_cloud_tariff(site)

    site.subscribe(on_site_event)
    service.subscribe(on_status)
    site.services.append(service)
    site.sync = service
    return service
