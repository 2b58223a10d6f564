"""Fixtures for the cloud sync tests: a real reference cloud on 127.0.0.1 (port 0) in a
thread, on a real SQLite file, and an in-memory keyring."""

from __future__ import annotations

import os
import time
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any, Callable, Iterator

import keyring
import pytest
from keyring.backend import KeyringBackend
from sqlalchemy.engine import Engine

from console.domain.clock import Clock
from console.site.config import CloudSection
from console.store.database import Store
from console.store.engine import make_engine, sqlite_url
from console.sync.server import admin
from console.sync.server import db as cloud_tables
from console.sync.server.app import create_app
from console.sync.server.db import open_cloud_db
from console.sync.server.ratelimit import RateLimiter
from console.sync.server.run import ServerThread
from console.sync.service import SyncService, SyncTuning
from tests.sync.netfaults import Faults

SITE = "garage-1"


class MemoryKeyring(KeyringBackend):
    """A keyring that lives in this process only (tests never touch the OS keyring)."""

    priority = 1  # type: ignore[assignment]

    def __init__(self) -> None:
        super().__init__()
        self.entries: dict[tuple[str, str], str] = {}

    def get_password(self, service: str, username: str) -> str | None:
        return self.entries.get((service, username))

    def set_password(self, service: str, username: str, password: str) -> None:
        self.entries[(service, username)] = password

    def delete_password(self, service: str, username: str) -> None:
        from keyring.errors import PasswordDeleteError

        if (service, username) not in self.entries:
            raise PasswordDeleteError("not found")
        del self.entries[(service, username)]


@pytest.fixture
def memory_keyring() -> Iterator[MemoryKeyring]:
    previous = keyring.get_keyring()
    backend = MemoryKeyring()
    keyring.set_keyring(backend)
    yield backend
    keyring.set_keyring(previous)


@dataclass
class Cloud:
    """A running reference cloud with one registered site."""

    engine: Engine
    faults: Faults
    server: ServerThread
    token: str
    site_id: str = SITE
    provider: Any = None  # the cloud's SimulatedProvider

    @property
    def url(self) -> str:
        return self.server.url

    def books(self) -> dict[str, Any]:
        return admin.site_books(self.engine, self.site_id)


class ServerClock:
    """The cloud's own clock; tests can move it (payment links expiring)."""

    def __init__(self) -> None:
        self.offset = timedelta(0)
        self.follow: Callable[[], datetime] | None = None  # e.g. a booth's test clock

    def __call__(self) -> datetime:
        return (self.follow() if self.follow is not None else datetime.now(timezone.utc)) + self.offset


@pytest.fixture
def server_clock() -> ServerClock:
    return ServerClock()


@pytest.fixture
def cloud_engine(tmp_path: Path) -> Iterator[Engine]:
    """The cloud's database: an SQLite file, or the PostgreSQL database named by
    BOOTH_TEST_CLOUD_DB (emptied first), to run the same tests against PostgreSQL."""
    url = os.environ.get("BOOTH_TEST_CLOUD_DB")
    if url:
        scratch = make_engine(url)
        cloud_tables.metadata.drop_all(scratch)
        scratch.dispose()
    engine = open_cloud_db(url or sqlite_url(tmp_path / "cloud.sqlite3"))
    yield engine
    engine.dispose()


@pytest.fixture
def cloud(cloud_engine: Engine, server_clock: ServerClock) -> Iterator[Cloud]:
    token = admin.register_site(cloud_engine, SITE, name="Riverside Garage", lat=52.52, lon=13.405)
    # Tests poll the driver endpoints faster than a phone would; the limit itself is
    # tested on its own (test_phone_payments).
    app = create_app(cloud_engine, now=server_clock, limiter=RateLimiter(rate=1000, burst=1000))
    faults = Faults(app)
    server = ServerThread(faults).start()
    yield Cloud(cloud_engine, faults, server, token, provider=app.state.provider)
    server.stop()


FAST = SyncTuning(
    batch_size=50,
    poll_interval=0.5,
    config_interval=0.5,
    remote_payment_interval=0.3,
    occupancy_interval=0.2,
    backoff_base=0.2,
    backoff_cap=2.0,
    connect_timeout=1.0,
    read_timeout=5.0,
    backlog_refresh=0.1,
)


def no_validation(text: str) -> None:
    """Accept any tariff text (tests of other things)."""


@pytest.fixture
def make_sync(store: Store) -> Iterator[Callable[..., SyncService]]:
    started: list[SyncService] = []

    def _make(
        url: str,
        token: str | None,
        clock: Clock,
        *,
        validate: Callable[[str], None] = no_validation,
        tuning: SyncTuning = FAST,
        site_id: str = SITE,
        token_provider: Callable[[], str | None] | None = None,
        start: bool = True,
        ca_bundle: str | None = None,
        target: Store | None = None,
        tariff_versions: Callable[[], list[tuple[str, str]]] | None = None,
    ) -> SyncService:
        service = SyncService(
            target or store,
            CloudSection(url=url, ca_bundle=ca_bundle),
            site_id,
            clock,
            validate,
            token_provider or (lambda: token),
            booth_id="booth-1",
            tuning=tuning,
            tariff_versions=tariff_versions,
        )
        if start:
            service.start()
        started.append(service)
        return service

    yield _make
    for service in started:
        service.stop()


def wait_until(predicate: Callable[[], bool], timeout: float = 10.0, interval: float = 0.02) -> None:
    """Poll until `predicate()` holds; fail the test with a clear message if it never does."""
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError("condition not reached in time")
        time.sleep(interval)
