"""Assemble a running site from a validated config: store, gates, pricing, clock."""

from __future__ import annotations

from pathlib import Path
from typing import Callable
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from console.domain.clock import Clock, SystemClock
from console.i18n import _
from console.locations import data_dir
from console.site.audit_trail import AuditAnchors, AuditKeyError, SealState, anchor_file, seal_store
from console.site.backup import BackupService
from console.site.board import LaneBoard
from console.site.bus import EventBus
from console.site.charging import ChargingService
from console.site.cloud import CloudLink
from console.site.config import SiteConfig
from console.site.desk import ExitDesk
from console.site.documents import Documents
from console.site.elevator import ElevatorService
from console.site.emergency import EmergencyJournal
from console.site.exits import ExitService
from console.site.lanes import LaneService
from console.site.live import LiveOccupancy
from console.site.pricing import TariffPricing
from console.site.print_queue import PrintQueue
from console.site.site import Site
from console.site.staff import StaffService
from console.store.companions import EMERGENCY_JOURNAL, companion
from console.store.database import Store
from console.store.engine import EngineSettings, StoreError, check_integrity, make_engine, sqlite_url
from console.store.migrate import upgrade
from console.sync.service import SyncTuning
from drivers.camera import Camera, open_camera
from drivers.gate import LaneRole, open_gate
from drivers.gate.base import GateDriver
from drivers.gate.factory import GateURLError, sim_options
from drivers.gate.simulators import LaneSimulator, start_simulated_lane
from drivers.gate.simworld import Dwell, Traffic
from drivers.printer import open_printer


def database_url(config: SiteConfig, folder: Path | None = None) -> str:
    """The configured database URL, or an SQLite file in the data folder."""
    if config.database.url:
        return config.database.url
    return sqlite_url((folder or data_dir()) / "booth.sqlite3")


def emergency_journal_path(config: SiteConfig, store: Store) -> Path:
    """Where manual barrier moves wait while the database cannot be written: beside an
    SQLite file, or in the booth's data folder for a server database."""
    database = store.engine.url.database if store.dialect == "sqlite" else None
    if database and database != ":memory:":
        return companion(Path(database), EMERGENCY_JOURNAL)
    return data_dir() / f"emergency-{config.site.booth_id}.jsonl"


def open_store(
    url: str, *, busy_timeout_ms: int | None = None, settings: EngineSettings | None = None, migrate: bool = True,
    integrity: bool = False,
) -> Store:
    """Open the database and bring its schema up to date.

    An SQLite file that is missing where books were kept is refused, not created
    (`make_engine`). With `integrity` (the console's start), it is checked first
    (`PRAGMA quick_check`): a damaged one is refused before anything writes to it.

    `settings` are the site's connection settings (`SiteConfig.engine_settings`);
    `busy_timeout_ms` overrides theirs. Raises StoreError with a message for people
    (read-only file, locked, damaged, driver missing).
    """
    engine = make_engine(url, settings, busy_timeout_ms=busy_timeout_ms)
    try:
        if integrity:
            check_integrity(engine)
        if migrate:
            upgrade(engine)
    except StoreError:
        engine.dispose()
        raise
    return Store(engine)


def open_seal(config: SiteConfig, store: Store) -> SealState:
    """Write the audit chain with the site's key (created at the first start). Raises
    StoreError when the database is sealed with a key this booth does not hold."""
    try:
        return seal_store(config, store, create=True)
    except AuditKeyError as exc:
        raise StoreError(str(exc)) from None


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


def _wired_simulator(url: str, role: LaneRole, traffic: Traffic) -> tuple[LaneSimulator, str] | None:
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
        raise GateURLError(_("{url}: {exc}").format(url=url, exc=exc)) from None


def build_site(
    config: SiteConfig,
    store: Store,
    *,
    clock: Clock | None = None,
    speed: float = 1.0,
    fast_lanes: bool = False,
    traffic: Traffic | None = None,
    sync_tuning: SyncTuning | None = None,
    cloud_token: Callable[[], str | None] | None = None,
) -> Site:
    """Build (not start) the site: every service, composed once, in dependency order.

    Simulated lanes share one `Traffic`, so cars that enter can later leave. `speed` is
    how much faster than real time the clock runs; the simulation's rates and stays
    (simulated time) are scaled by it. `fast_lanes` makes simulated barriers instant.
    Raises StoreError naming the site-file key of a device that cannot be opened.
    """
    clock = clock or SystemClock()
    seal = open_seal(config, store)
    gates, simulators = _open_gates(config, speed, fast_lanes, traffic)
    try:
        bus = EventBus(clock)
        board = LaneBoard(config, bus)
        pricing = TariffPricing.of(config.active_tariff)
        print_queue = _print_queue(config, store, clock, board, bus)
        documents = Documents(config, store, clock, bus, print_queue)
        emergency = EmergencyJournal(emergency_journal_path(config, store), store, booth_id=config.site.booth_id, report=bus.report, now=clock.now)
        exits = ExitService(config, store, clock, board, gates, pricing, bus, receipts_queued=documents.queued, emergency=emergency)
        cloud = CloudLink(config, store, exits, pricing, bus, sync_tuning, token=cloud_token) if config.cloud.url else None
        anchors = AuditAnchors(store, anchor_file(config, store), config.site.booth_id)
        staff = StaffService(config, store, clock, board, bus, flush=cloud.flush if cloud is not None else None, anchor=anchors.anchor)
        lanes = LaneService(config, store, clock, board, gates, exits, bus, cameras=_lane_cameras(config), emergency=emergency)
        site = Site(
            config=config, clock=clock, store=store, bus=bus, board=board, pricing=pricing, lanes=lanes, exits=exits,
            desk=ExitDesk(exits, staff), staff=staff, documents=documents, print_queue=print_queue, cloud=cloud,
            elevator=_elevator(config, store, clock, bus, speed), charging=_charging(config, store, clock, bus),
            backup=_backup(config, store, board, bus), anchors=anchors, seal=seal,
            live=LiveOccupancy(store, board, bus=bus, booth_id=config.site.booth_id, currency=config.site.currency,
                              display=config.site.plates.display),
            after_stop=[sim_lane.stop for sim_lane in simulators],  # simulated controllers stop after their drivers
        )
    except BaseException:
        for sim_lane in simulators:
            sim_lane.stop()
        raise
    if cloud is not None:
        cloud.adopt_tariff()  # a tariff pulled earlier stays in force across restarts
        if site.charging is not None:
            cloud.on_faults_closed = site.charging.faults_closed_elsewhere
            cloud.sync.on_charging_commands = site.charging.phone_commands
    return site


def site_traffic(config: SiteConfig, speed: float = 1.0) -> Traffic:
    """The simulated cars of a site: `[simulation]` stays scaled to a clock `speed` times
    faster than real time, carrying the site's own kind of plate (mainland ones where the
    site reads them)."""
    sim = config.simulation
    plates = "cn" if "cn" in config.site.plate_regions else "latin"
    return Traffic(dwell=Dwell(sim.dwell_min_minutes * 60 / speed, sim.dwell_max_minutes * 60 / speed),
                   plates=plates, province=config.site.plate_province)


def _open_gates(
    config: SiteConfig, speed: float, fast_lanes: bool, traffic: Traffic | None
) -> tuple[dict[str, GateDriver], list[LaneSimulator]]:
    """A driver for every lane (and the simulators of simulated lanes on real wires)."""
    sim = config.simulation
    traffic = traffic or site_traffic(config, speed)
    rate = sim.arrivals_per_hour / 3600 * speed
    gates: dict[str, GateDriver] = {}
    simulators: list[LaneSimulator] = []
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
            raise StoreError(_("lanes[{index}].gate: {exc}").format(index=index, exc=exc)) from None
    return gates, simulators


def _print_queue(config: SiteConfig, store: Store, clock: Clock, board: LaneBoard, bus: EventBus) -> PrintQueue | None:
    if not config.printer.url:
        return None
    try:
        printer = open_printer(
            printer_url(config.printer.url, data_dir()), name="printer", profile=config.printer.profile,
            width=config.printer.width, listener=board.set_health,
        )
    except ValueError as exc:
        raise StoreError(_("printer.url: {exc}").format(exc=exc)) from None
    return PrintQueue(store, printer, clock, on_log=bus.report)


def _lane_cameras(config: SiteConfig) -> dict[str, Camera]:
    cameras: dict[str, Camera] = {}
    for lane in config.lanes:
        if lane.camera:
            try:
                cameras[lane.id] = open_camera(lane.camera, name=f"camera {lane.id}")
            except ValueError as exc:
                raise StoreError(_("lanes: camera of {id}: {exc}").format(id=lane.id, exc=exc)) from None
    return cameras


def _elevator(config: SiteConfig, store: Store, clock: Clock, bus: EventBus, speed: float) -> ElevatorService | None:
    if not config.elevator.url:
        return None
    section = config.elevator
    if section.url.startswith("sim:") and speed != 1.0:
        # The simulated building runs in real time while the clock runs `speed` times
        # faster: the swipe timeout (clock time) stretches to match, or most rides would
        # count as doors that never opened.
        section = section.model_copy(update={"swipe_timeout_s": section.swipe_timeout_s * speed})
    try:
        return ElevatorService(store, section, config.site.tz, config.site.currency, clock, report=bus.report, publish=bus.publish)
    except ValueError as exc:  # a fee with more decimals than the currency has
        raise StoreError(_("elevator: {exc}").format(exc=exc)) from None


def _charging(config: SiteConfig, store: Store, clock: Clock, bus: EventBus) -> ChargingService | None:
    charging = config.charging
    if not (charging.epiles or charging.chargers or charging.ocpp.enabled):
        return None
    return ChargingService(store, charging, config.site.tz, config.site.currency, clock, report=bus.report, publish=bus.publish)


def _backup(config: SiteConfig, store: Store, board: LaneBoard, bus: EventBus) -> BackupService | None:
    if not config.backup.folder:
        return None
    url = store.engine.url.render_as_string(hide_password=False)
    return BackupService(config, url, report=bus.report, health=board.set_health)


def printer_url(url: str, folder: Path) -> str:
    """`file://receipts.bin` (no absolute path) means a file in the data folder."""
    parts = urlsplit(url)
    if parts.scheme == "file" and (parts.netloc or not parts.path.startswith("/")):
        name = (parts.netloc + parts.path) or "receipts.bin"
        return f"file://{(folder / name).resolve()}"
    return url
