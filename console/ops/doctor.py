"""`booth doctor`: what is wrong with this booth PC, and how to fix it.

Each check is a small function taking the `Checkup` (what is known so far) and returning
findings; `run_checks` runs them in order and tells a progress callback which one is
running. Devices are only opened and closed again (with a timeout), never driven, so the
doctor can run next to a stopped console without moving a barrier. A FAIL is something
that stops the console or makes it bill wrongly; the command exits non-zero on one.
"""

from __future__ import annotations

import email.utils
import os
import shutil
import socket
import stat
import subprocess
from dataclasses import dataclass, field
from datetime import datetime, timezone
from enum import Enum
from pathlib import Path
from typing import TYPE_CHECKING, Callable
from urllib.parse import urlsplit

from console.i18n import N_, _
from console.locations import data_dir, default_site_file
from console.site.config import ConfigError, SiteConfig, default_site, load_site, simulated_devices
from drivers.probe import probe_tcp, probe_url, within

if TYPE_CHECKING:
    from sqlalchemy.engine import Engine


class Level(str, Enum):
    OK = "ok"
    INFO = "info"
    WARN = "warn"
    FAIL = "FAIL"


@dataclass(frozen=True, slots=True)
class Finding:
    """One line of the doctor's table."""

    check: str
    level: Level
    detail: str
    fix: str = ""


@dataclass
class Checkup:
    """What the checks share: the site file, the database, the folders, the clock."""

    site_file: Path | None = None
    database_url: str = ""
    data: Path = field(default_factory=data_dir)
    timeout: float = 2.0
    now: Callable[[], datetime] = lambda: datetime.now(timezone.utc)
    config: SiteConfig | None = None


Check = Callable[[Checkup], list[Finding]]

# Disk space below these: the database cannot grow (fail), or soon will not (warn).
FAIL_FREE_BYTES = 200 * 1024**2
WARN_FREE_BYTES = 2 * 1024**3
# Clock offset from the cloud: bills are wrong (fail), or will be soon (warn).
FAIL_OFFSET_S = 300.0
WARN_OFFSET_S = 30.0


def check_site_file(c: Checkup) -> list[Finding]:
    """The site file parses, with its tariff."""
    path = c.site_file or default_site_file()
    if c.site_file is None and not path.exists():
        c.config = default_site()
        return [Finding(N_("site file"), Level.FAIL, _("no site file at {path}: `booth run` does not start without one").format(path=path),
                        _("booth init {path}, then edit it (or set BOOTH_SITE)").format(path=path))]
    try:
        c.config = load_site(path)
    except ConfigError as exc:
        lines = str(exc).splitlines()
        more = f" (+{len(lines) - 1} more)" if len(lines) > 1 else ""
        return [Finding(N_("site file"), Level.FAIL, lines[0] + more, _("fix {path}; `booth run --site {path}` lists every problem").format(path=path))]
    simulated = simulated_devices(c.config)
    if simulated and not c.config.site.simulated:
        return [Finding(N_("site file"), Level.FAIL, _("{path}: `booth run` refuses its simulated devices: {keys}").format(path=path, keys=", ".join(simulated)),
                        _("give them this site's device URLs, or set simulated = true under [site]"))]
    return [Finding(N_("site file"), Level.OK, _("{path}: {name}, booth {booth_id}").format(path=path, name=c.config.site.name, booth_id=c.config.site.booth_id))]


def _database_url(c: Checkup) -> str:
    if c.database_url:
        return c.database_url
    from console.site.build import database_url

    assert c.config is not None
    return database_url(c.config, c.data)


def check_database(c: Checkup) -> list[Finding]:
    """The database opens, its integrity, its schema against this build's migrations."""
    if c.config is None:
        return []
    from console.store.backup import sqlite_file
    from console.store.engine import StoreError, make_engine
    from console.store.migrate import (
        SchemaTooNew,
        check_known,
        current_revision,
        head_revision,
    )

    url = c.database_url = _database_url(c)
    file = sqlite_file(url)
    if file is not None and not file.exists():
        return [Finding(N_("database"), Level.INFO, _("{file} does not exist yet; the console creates it on start").format(file=file))]
    try:
        engine = make_engine(url, busy_timeout_ms=int(c.timeout * 1000))
    except StoreError as exc:
        return [Finding(N_("database"), Level.FAIL, str(exc), _("check the folder and [database] url"))]
    try:
        revision = current_revision(engine)
        check_known(revision)
        findings = []
        if file is not None:
            with engine.connect() as conn:
                quick = conn.exec_driver_sql("PRAGMA quick_check").scalar()
            if quick != "ok":
                findings.append(Finding(N_("database"), Level.FAIL, _("{file} is damaged: {quick}").format(file=file, quick=quick), _("booth restore FILE (a verified backup)")))
        head = head_revision()
        if revision == head:
            findings.append(Finding(N_("migrations"), Level.OK, _("schema at {head}, the newest this build knows").format(head=head)))
        else:
            findings.append(Finding(N_("migrations"), Level.WARN, _("schema at {value}, this build has {head}").format(value=revision or 'empty', head=head),
                                    _("`booth migrate` (the console also does it on start, after a backup)")))
        if revision == head:
            from sqlmodel import Session

            from console.store import outbox

            with Session(engine) as session:
                parked = outbox.refused_count(session)
            if parked:
                findings.append(Finding(N_("cloud refusals"), Level.WARN,
                                        _("{count} event(s) refused by the cloud are kept here, not sent").format(count=parked),
                                        _("`booth cloud refused` lists them; fix the cause, then --requeue")))
            findings.append(_audit_key_finding(c.config, engine))
            findings += _emergency_findings(c.config, engine)
        return findings
    except SchemaTooNew as exc:
        return [Finding(N_("migrations"), Level.FAIL, str(exc).split(". Nothing")[0], _("install the newer booth, or `booth restore` a backup"))]
    except Exception as exc:  # noqa: BLE001 - whatever stops the database is the finding
        from console.store.engine import explain

        return [Finding(N_("database"), Level.FAIL, _("cannot open {split}: {value}").format(split=url.split('@')[-1], value=explain(exc)), _("see booth.log; `booth restore` a backup if it is damaged"))]
    finally:
        engine.dispose()


def _emergency_findings(config: SiteConfig, engine: Engine) -> list[Finding]:
    """Decisions still waiting in this booth's emergency journal, and conflicts its merges
    (or another booth's) left for the manager."""
    from console.site.build import emergency_journal_path
    from console.site.emergency import pending_in
    from console.store import emergency_records
    from console.store.database import Store

    store = Store(engine)
    findings: list[Finding] = []
    path = emergency_journal_path(config, store)
    waiting = pending_in(path)
    if waiting:
        findings.append(Finding(N_("emergency journal"), Level.WARN, _("{n} decisions taken while the database was down wait in {path}").format(n=waiting, path=path),
                                _("the console merges them on start and every 5 s; `booth emergency merge` does it now")))
    conflicts = store.query(emergency_records.open_conflict_count)
    if conflicts:
        findings.append(Finding(N_("emergency conflicts"), Level.WARN, _("{n} emergency decisions conflict with the database (settled elsewhere, entered twice)").format(n=conflicts),
                                _("`booth emergency conflicts` lists them; `booth emergency resolve ID --note` closes one")))
    return findings


def _audit_key_finding(config: SiteConfig, engine: Engine) -> Finding:
    """Whether this booth holds the key that seals the database's audit chain."""
    from console.site.audit_trail import held_seal
    from console.store.database import Store

    state = held_seal(config, Store(engine))
    if state.seal is not None:
        return Finding(N_("audit key"), Level.OK, _("held here; it seals entries from {since} on (fingerprint {fingerprint})").format(
            since=state.seal.since, fingerprint=state.seal.fingerprint))
    if state.recorded_fingerprint is not None:
        return Finding(N_("audit key"), Level.FAIL, state.problem,
                       _("on a booth that has it: `booth audit key export > key.txt`; here: `booth audit key import < key.txt`"))
    if state.secret_store_failed:
        return Finding(N_("audit key"), Level.WARN, state.problem, _("check [cloud] secrets in the site file (the key is kept in the secret store)"))
    return Finding(N_("audit key"), Level.INFO, state.problem)


def _device_finding(name: str, url: str, c: Checkup, probe: Callable[[], str] | None = None) -> Finding:
    if url.startswith("sim://"):
        return Finding(name, Level.INFO, _("{url}: simulated").format(url=url))
    problem = within(c.timeout + 1, probe or (lambda: probe_url(url, c.timeout)))
    if not problem:
        return Finding(name, Level.OK, _("{url}: answers").format(url=url))
    if "in use" in problem:
        return Finding(name, Level.INFO, problem)
    return Finding(name, Level.FAIL, problem, _("check the cable, power and the URL in the site file"))


def _lane_target(url: str) -> str:
    """The line a lane URL opens (device path or pyserial URL), via the drivers' parsers."""
    from drivers.gate.urls import (
        MODBUS_SCHEMES,
        parse_modbus_url,
        parse_serial_lane_url,
    )

    if urlsplit(url).scheme in MODBUS_SCHEMES:
        return parse_modbus_url(url).port.url
    return parse_serial_lane_url(url).port.url


def _probe_of(target: str, timeout: float) -> Callable[[], str]:
    return lambda: probe_url(target, timeout)


def check_lanes(c: Checkup) -> list[Finding]:
    """Every lane controller (and lane camera) opens."""
    if c.config is None:
        return []
    findings = []
    for lane in c.config.lanes:
        if lane.gate.startswith("sim://"):
            findings.append(Finding(f"lane {lane.id}", Level.INFO, _("{gate}: simulated").format(gate=lane.gate)))
        else:
            try:
                target = _lane_target(lane.gate)
            except ValueError as exc:
                findings.append(Finding(f"lane {lane.id}", Level.FAIL, str(exc), _("fix the lane's gate URL")))
                continue
            findings.append(_device_finding(f"lane {lane.id}", lane.gate, c, _probe_of(target, c.timeout)))
        if lane.camera:
            findings.append(_device_finding(f"camera {lane.id}", lane.camera, c))
    return findings


def check_printer(c: Checkup) -> list[Finding]:
    """The receipt printer answers, and its paper sensor where it reports one."""
    if c.config is None:
        return []
    url = c.config.printer.url
    if not url:
        return [Finding(N_("printer"), Level.INFO, _("no printer configured (receipts are not printed)"))]
    if url.startswith("sim://"):
        return [Finding(N_("printer"), Level.INFO, _("{url}: simulated").format(url=url))]
    from console.site.build import printer_url
    from drivers.health import DeviceHealth, HealthState
    from drivers.printer import PrinterConfigError, open_printer

    try:
        printer = open_printer(printer_url(url, c.data), name="printer", profile=c.config.printer.profile,
                               width=c.config.printer.width, timeout=c.timeout, status_timeout=c.timeout)
    except PrinterConfigError as exc:
        return [Finding(N_("printer"), Level.FAIL, str(exc), _("fix [printer] url"))]
    result: list[DeviceHealth] = []

    def ask() -> str:
        result.append(printer.status())
        return ""

    try:
        within(c.timeout * 2 + 1, ask)
    finally:
        printer.close()
    if not result:
        return [Finding(N_("printer"), Level.FAIL, _("{url}: no answer").format(url=url), _("check power, cable and the URL"))]
    state, detail = result[0].state, result[0].detail
    if state is HealthState.OK:
        return [Finding(N_("printer"), Level.OK, f"{url}: {detail or 'ready'}")]
    if state is HealthState.DEGRADED:
        return [Finding(N_("printer"), Level.WARN, f"{url}: {detail}", _("load a new paper roll soon"))]
    return [Finding(N_("printer"), Level.FAIL, f"{url}: {detail or state.value}", _("paper, cover, power and cable; receipts wait in the print queue"))]


def check_elevator_and_charging(c: Checkup) -> list[Finding]:
    """The elevator controller and its camera, e-bike piles, the OCPP port."""
    if c.config is None:
        return []
    findings = []
    elevator = c.config.elevator
    if elevator.url:
        findings.append(_device_finding(N_("elevator"), elevator.url, c))
        if elevator.camera_url:
            findings.append(_device_finding(N_("elevator camera"), elevator.camera_url, c))
    if c.config.camera.url:
        findings.append(_device_finding(N_("camera"), c.config.camera.url, c))
    for pile in c.config.charging.epiles:
        findings.append(_device_finding(f"pile {pile.id}", pile.url, c))
    ocpp = c.config.charging.ocpp
    if ocpp.enabled:
        findings.append(_ocpp_port(ocpp.host, ocpp.port))
    return findings


def _ocpp_port(host: str, port: int) -> Finding:
    try:
        with socket.create_server((host, port)):
            return Finding(N_("OCPP server"), Level.OK, _("{host}:{port} is free for the chargers").format(host=host, port=port))
    except OSError:
        if not probe_tcp(host, port, 1.0):
            return Finding(N_("OCPP server"), Level.INFO, _("{host}:{port} is taken (by the running console, if it is up)").format(host=host, port=port))
        return Finding(N_("OCPP server"), Level.FAIL, _("cannot listen on {host}:{port}").format(host=host, port=port), _("choose a free [charging.ocpp] port"))


def check_cloud(c: Checkup) -> list[Finding]:
    """A token in the secret store, accepted by the cloud; this PC's clock against the cloud's."""
    if c.config is None or not c.config.cloud.url:
        return [Finding(N_("cloud"), Level.INFO, _("no cloud configured; the booth works on its own"))]
    from console.sync.credentials import CredentialError, load_token, site_secret_store

    cloud = c.config.cloud
    store = site_secret_store(cloud, c.data)
    try:
        token = load_token(cloud.url, store)
    except CredentialError as exc:
        return [Finding(N_("secrets"), Level.WARN, str(exc), _("see packaging/INSTALL.md, step 3"))]
    except ValueError as exc:  # a cloud URL the client refuses
        return [Finding(N_("cloud"), Level.FAIL, str(exc), _("fix [cloud] url"))]
    if not token:
        return [Finding(N_("secrets"), Level.WARN, _("no token for {url} in {describe}").format(url=cloud.url, describe=store.describe()), _("booth cloud login (reads the token from stdin)"))]
    findings = [Finding(N_("secrets"), Level.OK, _("token for {url} in {describe}").format(url=cloud.url, describe=store.describe()))]
    return findings + _cloud_link(cloud.url, cloud.ca_bundle, token, c)


def _cloud_link(url: str, ca_bundle: str | None, token: str, c: Checkup) -> list[Finding]:
    import httpx

    from console.sync import protocol
    from console.sync.client import tls_verify

    try:
        with httpx.Client(base_url=url.rstrip("/"), verify=tls_verify(ca_bundle), timeout=c.timeout + 3) as client:
            sent = c.now()
            response = client.get(f"{protocol.API}/whoami", headers={"Authorization": f"Bearer {token}"})
            received = c.now()
    except httpx.HTTPError as exc:
        return [Finding(N_("cloud link"), Level.WARN, _("{url} cannot be reached: {name}").format(url=url, name=type(exc).__name__),
                        _("network, firewall, [cloud] ca_bundle; the booth keeps working offline"))]
    findings = []
    if response.status_code in (401, 403):
        findings.append(Finding(N_("cloud link"), Level.WARN, _("{url} refuses the token (HTTP {status_code})").format(url=url, status_code=response.status_code), _("booth cloud login with a new token")))
    elif response.status_code != 200:
        findings.append(Finding(N_("cloud link"), Level.WARN, _("{url} answered HTTP {status_code}").format(url=url, status_code=response.status_code)))
    else:
        findings.append(Finding(N_("cloud link"), Level.OK, _("{url} accepts the token (site {get!r})").format(url=url, get=response.json().get('site_id'))))
    date = response.headers.get("date")
    if date:
        server = email.utils.parsedate_to_datetime(date)
        midpoint = sent + (received - sent) / 2
        offset = (midpoint - server).total_seconds()
        # The Date header has whole seconds: an offset under 2 s is no offset.
        level = Level.FAIL if abs(offset) > FAIL_OFFSET_S else Level.WARN if abs(offset) > WARN_OFFSET_S else Level.OK
        fix = "" if level is Level.OK else _("enable time sync (timedatectl set-ntp true); fees depend on the clock")
        findings.append(Finding(N_("clock"), level, _("{offset:+.0f} s from the cloud's clock").format(offset=offset), fix))
    return findings


def check_disk(c: Checkup) -> list[Finding]:
    """Free space where the database and the snapshots grow."""
    folder = c.data
    while not folder.exists() and folder != folder.parent:
        folder = folder.parent
    usage = shutil.disk_usage(folder)
    free = _("{free:.1f} GiB free of {total:.0f} GiB at {folder}").format(free=usage.free / 1024**3, total=usage.total / 1024**3, folder=folder)
    if usage.free < FAIL_FREE_BYTES:
        return [Finding(N_("disk"), Level.FAIL, free, _("free space now: the database cannot record payments on a full disk"))]
    if usage.free < WARN_FREE_BYTES:
        return [Finding(N_("disk"), Level.WARN, free, _("free some space (old snapshots, logs, backups)"))]
    return [Finding(N_("disk"), Level.OK, free)]


def _system_zone() -> str:
    zone = os.environ.get("TZ", "").lstrip(":")
    if zone:
        return zone
    try:
        target = os.readlink("/etc/localtime")
        return target.split("zoneinfo/", 1)[1] if "zoneinfo/" in target else target
    except OSError:
        return "UTC"


def check_time(c: Checkup) -> list[Finding]:
    """The site's time zone, the PC's, and whether the PC's clock is synchronised."""
    findings = []
    if c.config is not None:
        site, system = c.config.site.timezone, _system_zone()
        if site == system:
            findings.append(Finding(N_("time zone"), Level.OK, _("{site} (site and PC agree)").format(site=site)))
        else:
            findings.append(Finding(N_("time zone"), Level.INFO, _("site {site}, PC {system}: the console shows the site's time").format(site=site, system=system),
                                    _("optional: timedatectl set-timezone {site}").format(site=site)))
    timedatectl = shutil.which("timedatectl")
    if timedatectl:
        try:
            done = subprocess.run([timedatectl, "show", "--property=NTPSynchronized", "--value"], capture_output=True, text=True, timeout=3)
            if done.returncode == 0 and done.stdout.strip() == "no":
                findings.append(Finding(N_("time sync"), Level.WARN, _("the clock is not synchronised (NTP)"), _("timedatectl set-ntp true")))
            elif done.returncode == 0 and done.stdout.strip() == "yes":
                findings.append(Finding(N_("time sync"), Level.OK, _("synchronised (NTP)")))
        except (OSError, subprocess.TimeoutExpired):
            pass
    return findings


def check_backups(c: Checkup) -> list[Finding]:
    """The newest good backup against the schedule."""
    if c.config is None:
        return []
    from console.site.backup import backup_status

    url = c.database_url or _database_url(c)
    status = backup_status(c.config, url, c.data)
    now = c.now()
    if not status.configured:
        return [Finding(N_("backups"), Level.WARN, status.describe(now), _("set [backup] folder (a second disk), then `booth backup`"))]
    if not status.reachable or status.overdue(now):
        from console.store.backup import sqlite_file

        fix = _("plug the backup disk in; `booth backup`") if sqlite_file(url) else _("check the pg_dump timer (packaging/INSTALL.md)")
        return [Finding(N_("backups"), Level.WARN, status.describe(now), fix)]
    return [Finding(N_("backups"), Level.OK, status.describe(now))]


def check_permissions(c: Checkup) -> list[Finding]:
    """The data folder only the booth's user can enter (0700), the database only it reads (0600)."""
    findings = []
    folder = c.data
    if not folder.exists():
        return [Finding(N_("data folder"), Level.INFO, _("{folder} does not exist yet; the console creates it (0700)").format(folder=folder))]
    mode = stat.S_IMODE(folder.stat().st_mode)
    if not os.access(folder, os.W_OK):
        findings.append(Finding(N_("data folder"), Level.FAIL, _("{folder} is not writable by this user").format(folder=folder), _("chown the folder to the booth's user: chown -R booth {folder}").format(folder=folder)))
    elif mode & 0o077:
        findings.append(Finding(N_("data folder"), Level.WARN, _("{folder} is {mode:04o}: other users can look inside").format(folder=folder, mode=mode), _("chmod 700 {folder}").format(folder=folder)))
    else:
        findings.append(Finding(N_("data folder"), Level.OK, f"{folder} ({mode:04o})"))
    from console.store.backup import sqlite_file

    database = sqlite_file(c.database_url) if c.database_url else None
    if database is not None and database.exists():
        mode = stat.S_IMODE(database.stat().st_mode)
        if mode & 0o077:
            findings.append(Finding(N_("database file"), Level.WARN, _("{database} is {mode:04o}: others can read takings and PIN hashes").format(database=database, mode=mode), _("chmod 600 {database}*").format(database=database)))
        else:
            findings.append(Finding(N_("database file"), Level.OK, f"{database} ({mode:04o})"))
    return findings


CHECKS: tuple[tuple[str, Check], ...] = (
    (N_("site file"), check_site_file),
    (N_("database"), check_database),
    (N_("lanes"), check_lanes),
    (N_("printer"), check_printer),
    (N_("elevator and charging"), check_elevator_and_charging),
    (N_("cloud"), check_cloud),
    (N_("disk"), check_disk),
    (N_("time"), check_time),
    (N_("backups"), check_backups),
    (N_("permissions"), check_permissions),
)


def run_checks(checkup: Checkup, progress: Callable[[str], None] = lambda name: None) -> list[Finding]:
    """Run every check in order; `progress` hears the name of each before it runs. A check
    that crashes becomes a FAIL line of its own (the doctor itself never crashes)."""
    findings: list[Finding] = []
    for name, check in CHECKS:
        progress(name)
        try:
            findings.extend(check(checkup))
        except Exception as exc:  # noqa: BLE001 - report, go on with the next check
            findings.append(Finding(name, Level.FAIL, _("the check itself failed: {name}: {exc}").format(name=type(exc).__name__, exc=exc)))
    return findings


def blocking(findings: list[Finding]) -> bool:
    """Whether something stops the console (a FAIL)."""
    return any(f.level is Level.FAIL for f in findings)
