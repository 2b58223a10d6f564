"""Backups as the site runs them: the schedule in `[backup]`, retention, `pg_dump` for
PostgreSQL, the "last good backup" the status bar and `booth doctor` report, and the
background service that takes them while the console runs.

SQLite copies are made and verified by `console.store.backup`; PostgreSQL dumps by
`pg_dump --format=custom`, checked with `pg_restore --list`.
"""

from __future__ import annotations

import logging
import os
import re
import shutil
import subprocess
import threading
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Callable

from sqlalchemy.engine import URL, make_url

from console.domain.clock import Clock, SystemClock
from console.i18n import _
from console.locations import data_dir
from console.site.bus import Level
from console.site.config import SiteConfig
from console.store.backup import (
    BackupError,
    BackupFile,
    list_backups,
    prune,
    sqlite_file,
    take_backup,
)
from drivers.health import DeviceHealth, HealthState

log = logging.getLogger(__name__)

DEVICE = "backup"
_DUMP = re.compile(r"^booth-(\d{8}T\d{6}Z)\.dump$")
_STAMP = "%Y%m%dT%H%M%SZ"


@dataclass(frozen=True, slots=True)
class BackupStatus:
    """Whether the site has a recent good backup."""

    configured: bool
    folder: Path | None
    every: timedelta
    last_good_at: datetime | None = None
    reachable: bool = True

    def age(self, now: datetime) -> timedelta | None:
        return None if self.last_good_at is None else now - self.last_good_at

    def overdue(self, now: datetime) -> bool:
        """No good backup within the schedule (with a tenth of it to spare)."""
        age = self.age(now)
        return self.configured and (age is None or age > self.every * 1.1)

    def describe(self, now: datetime) -> str:
        if not self.configured:
            return "no backup folder in the site file"
        if not self.reachable:
            return f"backup folder {self.folder} cannot be reached (disk unplugged?)"
        age = self.age(now)
        if age is None:
            return f"no good backup in {self.folder} yet"
        hours = age.total_seconds() / 3600
        schedule = f"every {self.every.total_seconds() / 3600:g} h"
        return f"last good backup {hours:.1f} h ago ({schedule}) in {self.folder}"


def backup_folder(config: SiteConfig, data: Path | None = None) -> Path | None:
    """The configured backup folder (relative: inside the data folder), or None."""
    if not config.backup.folder:
        return None
    folder = Path(config.backup.folder).expanduser()
    return folder if folder.is_absolute() else (data or data_dir()) / folder


def _dumps(folder: Path) -> list[tuple[datetime, Path]]:
    found = []
    for path in folder.iterdir():
        match = _DUMP.match(path.name)
        if match:
            found.append((datetime.strptime(match.group(1), _STAMP).replace(tzinfo=timezone.utc), path))
    return sorted(found)


def backup_status(config: SiteConfig, database_url: str, data: Path | None = None) -> BackupStatus:
    """Where the last good backup is and when it was taken (SQLite copies or pg dumps)."""
    folder = backup_folder(config, data)
    every = timedelta(hours=config.backup.every_hours)
    if folder is None:
        return BackupStatus(False, None, every)
    if not folder.is_dir():
        return BackupStatus(True, folder, every, reachable=False)
    try:
        if sqlite_file(database_url) is not None:
            backups = list_backups(folder)
            last = backups[-1].taken_at if backups else None
        else:
            dumps = _dumps(folder)
            last = dumps[-1][0] if dumps else None
    except OSError:
        return BackupStatus(True, folder, every, reachable=False)
    return BackupStatus(True, folder, every, last)


def run_backup(config: SiteConfig, database_url: str, now: datetime, *, folder: Path | None = None) -> Path:
    """Take one backup now into `folder` (default: the configured one), apply retention,
    and return the new file. Raises BackupError with a message for people."""
    target = folder or backup_folder(config)
    if target is None:
        raise BackupError(_("no backup folder: set [backup] folder in the site file or give --to"))
    database = sqlite_file(database_url)
    if database is not None:
        made = take_backup(database, target, now)
        removed = prune(target, config.backup.keep)
    else:
        made = BackupFile(pg_dump(make_url(database_url), target, now), now)
        removed = _prune_dumps(target, config.backup.keep)
    for path in removed:
        log.info("backup %s deleted (keeping the newest %d)", path.name, config.backup.keep)
    return made.path


def _prune_dumps(folder: Path, keep: int) -> list[Path]:
    dumps = _dumps(folder)
    doomed = [path for _, path in dumps[: max(0, len(dumps) - keep)]]
    for path in doomed:
        path.unlink(missing_ok=True)
    return doomed


def pg_dump(url: URL, folder: Path, now: datetime) -> Path:
    """Dump a PostgreSQL database with `pg_dump --format=custom` and check the dump with
    `pg_restore --list`. The password goes through the environment, never the command line."""
    exe, lister = shutil.which("pg_dump"), shutil.which("pg_restore")
    if exe is None or lister is None:
        raise BackupError(_("pg_dump / pg_restore are not installed (Debian: apt-get install postgresql-client)"))
    try:
        folder.mkdir(parents=True, exist_ok=True, mode=0o700)
    except OSError as exc:
        raise BackupError(_("cannot create the backup folder {folder}: {value}").format(folder=folder, value=exc.strerror or exc)) from None
    final = folder / f"booth-{now.astimezone(timezone.utc):{_STAMP}}.dump"
    partial = folder / f".{final.name}.partial"
    env = dict(os.environ)
    if url.password:
        env["PGPASSWORD"] = str(url.password)
    command = [exe, "--format=custom", "--no-password", "--file", str(partial), "--dbname", url.database or ""]
    if url.host:
        command += ["--host", url.host]
    if url.port:
        command += ["--port", str(url.port)]
    if url.username:
        command += ["--username", url.username]
    try:
        done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=3600)
        if done.returncode != 0:
            raise BackupError(_("pg_dump failed: {value}").format(value=done.stderr.strip().splitlines()[-1] if done.stderr.strip() else done.returncode))
        listed = subprocess.run([lister, "--list", str(partial)], capture_output=True, text=True, timeout=600)
        if listed.returncode != 0 or "TABLE DATA" not in listed.stdout:
            raise BackupError(_("the dump does not read back (pg_restore --list failed)"))
        os.chmod(partial, 0o600)
        os.replace(partial, final)
    except subprocess.TimeoutExpired:
        raise BackupError(_("pg_dump took longer than an hour; stopped")) from None
    finally:
        partial.unlink(missing_ok=True)
    return final


class BackupService:
    """Takes the scheduled backup while the site runs, on its own thread.

    It looks every `check_every` seconds; when the last good backup is older than the
    schedule it takes one (SQLite) or warns (PostgreSQL: dumps come from a timer). Its
    health, as device "backup", is what the status bar shows: degraded when overdue."""

    def __init__(
        self,
        config: SiteConfig,
        database_url: str,
        *,
        report: Callable[[Level, str], None],
        health: Callable[[DeviceHealth], None],
        clock: Clock | None = None,
        check_every: float = 60.0,
    ) -> None:
        self.config = config
        self.database_url = database_url
        self._report = report
        self._health = health
        # Real time, also in the demo: a backup's age is a fact about the wall clock.
        self.clock = clock or SystemClock()
        self.check_every = check_every
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._failing = ""
        self.takes_backups = sqlite_file(database_url) is not None

    def start(self) -> None:
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name="backup", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=30)

    def status(self) -> BackupStatus:
        return backup_status(self.config, self.database_url)

    def check_once(self) -> None:
        """Take the backup if it is due, then publish the backup's health."""
        now = self.clock.now()
        status = self.status()
        if self.takes_backups and status.overdue(now) and status.reachable:
            try:
                path = run_backup(self.config, self.database_url, now)
                self._failing = ""
                log.info("backup taken: %s", path)
                status = self.status()
            except BackupError as exc:
                if str(exc) != self._failing:
                    self._report("error", _("backup failed: {exc}").format(exc=exc))
                self._failing = str(exc)
        if self._failing:
            self._health(DeviceHealth(DEVICE, HealthState.FAULT, self._failing))
        elif not status.reachable:
            self._health(DeviceHealth(DEVICE, HealthState.OFFLINE, status.describe(now)))
        elif status.overdue(now):
            self._health(DeviceHealth(DEVICE, HealthState.DEGRADED, status.describe(now)))
        else:
            self._health(DeviceHealth(DEVICE, HealthState.OK, status.describe(now)))

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                self.check_once()
            except Exception:  # a backup problem must never stop the console
                log.exception("backup check failed")
            self._stop.wait(self.check_every)
