"""Assemble a running site from a validated config: store, gates, pricing, clock."""

from __future__ import annotations

from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from console.domain.clock import Clock, SystemClock
from console.locations import data_dir
from console.site.charging import ChargingService
from console.site.cloud import adopt_cloud_tariff, attach_sync
from console.site.config import SiteConfig
from console.site.core import Site
from console.site.elevator import ElevatorService
from console.site.pricing import TariffPricing
from console.site.print_queue import PrintQueue
from console.store.booth_store import BoothStore
from console.store.engine import EngineSettings, StoreError, make_engine, sqlite_url
from console.store.migrate import upgrade
from console.sync.service import SyncTuning
from drivers.camera import open_camera
from drivers.gate import LaneRole, open_gate
from drivers.gate.factory import GateURLError, sim_options
from drivers.gate.simulators import start_simulated_lane
from drivers.gate.simworld import Dwell, Traffic
from drivers.printer import open_printer


def database_url(config: SiteConfig, folder: Path | None = None) -> str:
    """The configured database URL, or an SQLite file in the data folder."""
    if config.database.url:
        return config.database.url
    return sqlite_url((folder or data_dir()) / "booth.sqlite3")


def open_store(
    url: str, *, busy_timeout_ms: int | None = None, settings: EngineSettings | None = None, migrate: bool = True
) -> BoothStore:
    """Open the database and bring its schema up to date.

    `settings` are the site's connection settings (`SiteConfig.engine_settings`);
    `busy_timeout_ms` overrides theirs. Raises StoreError with a message for people
    (read-only file, locked, damaged, driver missing).
    """
    engine = make_engine(url, settings, busy_timeout_ms=busy_timeout_ms)
    try:
        if migrate:
            upgrade(engine)
    except StoreError:
        engine.dispose()
        raise
    return BoothStore(engine)


def simulated_gate_url(url: str, *, rate: float, fast: bool) -> str:
    """Fill in what a `sim://` URL leaves open: the arrival rate, fast mechanics."""
    parts = urlsplit(url)
    if parts.scheme != "sim":
        return url
    query = dict(parse_qsl(parts.query))
    query.setdefault("rate", f"{rate:.6g}")
    if fast:
        query.setdefault("timing", "fast")
    return urlunsplit(parts._replace(query=urlencode(query)))


def _wired_simulator(url: str, role: LaneRole, traffic: Traffic) -> tuple[Any, str] | None:
    """`sim://?wire=serial|tcp|modbus` runs the lane's simulator on a real wire (a
    pseudo-terminal or loopback socket) and returns it with the URL the real driver opens;
    plain `sim://` stays in-process (None)."""
    parts = urlsplit(url)
    query = dict(parse_qsl(parts.query))
    wire = query.get("wire")
    if parts.scheme != "sim" or not wire:
        return None
    rate, timing = sim_options(url)
    try:
        return start_simulated_lane(wire, role, traffic, arrival_rate=rate, timing=timing)
    except ValueError as exc:
        raise GateURLError(f"{url}: {exc}") from None


def build_site(
    config: SiteConfig,
    store: BoothStore,
    *,
    clock: Clock | None = None,
    speed: float = 1.0,
    fast_lanes: bool = False,
    traffic: Traffic | None = None,
    sync_tuning: SyncTuning | None = None,
) -> Site:
    """Build (not start) the site with a driver for every lane.

    Simulated lanes share one `Traffic`, so cars that enter can later leave. `speed` is
    how much faster than real time the clock runs; the simulation's rates and stays
    (simulated time) are scaled by it. `fast_lanes` makes simulated barriers instant.
    """
    sim = config.simulation
    traffic = traffic or Traffic(dwell=Dwell(sim.dwell_min_minutes * 60 / speed, sim.dwell_max_minutes * 60 / speed))
    rate = sim.arrivals_per_hour / 3600 * speed
    gates = {}
    simulators: list[Any] = []
    for index, lane in enumerate(config.lanes):
        role = LaneRole(lane.direction)
        url = simulated_gate_url(lane.gate, rate=rate if role is LaneRole.ENTRY else 0.0, fast=fast_lanes)
        try:
            wired = _wired_simulator(url, role, traffic)
            if wired is not None:
                simulators.append(wired[0])
                url = wired[1]
            gates[lane.id] = open_gate(url, name=f"gate {lane.id}", role=role, traffic=traffic)
        except GateURLError as exc:
            for sim_lane in simulators:
                sim_lane.stop()
            raise StoreError(f"lanes[{index}].gate: {exc}") from None
    clock = clock or SystemClock()
    site = Site(config, store, clock, gates, TariffPricing.of(config.active_tariff))
    # Simulated controllers stop after the drivers that talk to them.
    site.after_stop.extend(sim_lane.stop for sim_lane in simulators)
    if config.printer.url:
        try:
            printer = open_printer(
                printer_url(config.printer.url, data_dir()), name="printer", profile=config.printer.profile,
                width=config.printer.width, listener=site.device_health_changed,
            )
        except ValueError as exc:
            raise StoreError(f"printer.url: {exc}") from None
        site.print_queue = PrintQueue(store, printer, clock, on_log=site._log)
    if config.elevator.url:
        try:
            site.elevator = ElevatorService(
                store, config.elevator, config.site.tz, config.site.currency, clock, report=site.report, publish=site.publish
            )
        except ValueError as exc:  # a fee with more decimals than the currency has
            raise StoreError(f"elevator: {exc}") from None
        site.services.append(site.elevator)
    for lane in config.lanes:
        if lane.camera:
            try:
                site.lane_cameras[lane.id] = open_camera(lane.camera, name=f"camera {lane.id}")
            except ValueError as exc:
                raise StoreError(f"lanes: camera of {lane.id}: {exc}") from None
    charging = config.charging
    if charging.epiles or charging.chargers or charging.ocpp.enabled:
        site.charging = ChargingService(store, charging, config.site.tz, config.site.currency, clock, report=site.report, publish=site.publish)
        site.services.append(site.charging)
    attach_sync(site, config, sync_tuning)
    adopt_cloud_tariff(site)  # a tariff pulled earlier stays in force across restarts
    return site


def printer_url(url: str, folder: Path) -> str:
    """`file://receipts.bin` (no absolute path) means a file in the data folder."""
    parts = urlsplit(url)
    if parts.scheme == "file" and (parts.netloc or not parts.path.startswith("/")):
        name = (parts.netloc + parts.path) or "receipts.bin"
        return f"file://{(folder / name).resolve()}"
    return url
