"""Fixtures shared by the console's tests: real SQLite files, a real PostgreSQL server, fast
simulated lanes.

Databases: `db_url` is a fresh SQLite file, or with BOOTH_TEST_DB=postgresql a fresh database
on the session's PostgreSQL server; `any_db_url` (empty) runs a test once on each; `pg_url`
(empty) and `pg_migrated_url` (at the newest schema) are always PostgreSQL. Without a server
here the PostgreSQL cases skip, saying why; under CI they fail.
"""

from __future__ import annotations

import os
import threading
import time
from datetime import datetime, timezone
from pathlib import Path
from typing import Callable, Iterator

import pytest

from tests.support.postgres import (
    PostgresServer,
    PostgresUnavailable,
    running_in_ci,
    start_postgres,
)

# The console's data folder and logs go to a temporary place in every test run.
os.environ.setdefault("BOOTH_DATA_DIR", str(Path(os.environ.get("TMPDIR", "/tmp")) / f"booth-test-{os.getpid()}"))
# And its config folder (the audit keys live there when the machine has no keyring).
os.environ.setdefault("BOOTH_CONFIG_DIR", str(Path(os.environ.get("TMPDIR", "/tmp")) / f"booth-test-config-{os.getpid()}"))

from console.domain.clock import FixedClock  # noqa: E402
from console.site.build import build_site, open_store  # noqa: E402
from console.site.config import SiteConfig, parse_site  # noqa: E402
from console.site.events import SiteEvent  # noqa: E402
from console.site.site import Site  # noqa: E402
from console.store.database import Store  # noqa: E402
from console.store.engine import sqlite_url  # noqa: E402
from drivers.gate.simworld import Traffic  # noqa: E402

T0 = datetime(2026, 3, 2, 8, 0, tzinfo=timezone.utc)
# 15 min free, 2.50 per started hour, at most 20.00 per 24 h, lost ticket 20.00.
HOURLY_TARIFF = Path(__file__).resolve().parent / "fixtures" / "hourly.toml"

SMALL_SITE = """
[site]
name = "Test Garage"
timezone = "Europe/Berlin"
currency = "EUR"

[tariff]
file = "{tariff}"

[[zones]]
id = "P1"
name = "Deck"
capacity = {capacity}

[[lanes]]
id = "IN1"
direction = "entry"
zone = "P1"
gate = "sim://?timing=fast&rate=0"

[[lanes]]
id = "OUT1"
direction = "exit"
zone = "P1"
gate = "sim://?timing=fast"
"""


def small_site(capacity: int = 200) -> SiteConfig:
    """A site with one entry, one exit and one zone, on instant simulated lanes."""
    return parse_site(site_text(capacity), "test-site.toml")


def site_text(capacity: int = 200, extra: str = "") -> str:
    """The small test site's TOML, with `extra` appended."""
    return SMALL_SITE.format(capacity=capacity, tariff=HOURLY_TARIFF) + extra


BACKENDS = ("sqlite", "postgresql")
_servers: list[PostgresServer] = []


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    """The session's PostgreSQL server on loopback (started on first use, stopped at the end)."""
    try:
        server = start_postgres()
    except PostgresUnavailable as exc:
        if running_in_ci():
            pytest.fail(f"PostgreSQL is required in CI and could not be started: {exc}", pytrace=False)
        pytest.skip(f"no PostgreSQL server for the tests: {exc}")
    _servers.append(server)
    yield server
    server.stop()


def _own_data_folder(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    # A booth on a server database keeps its audit anchors in its data folder, by booth id
    # (a SQLite file keeps them beside itself): without a folder of its own, a test would
    # meet the anchors of every earlier test's database, as a booth switched to another
    # database rightly would.
    monkeypatch.setenv("BOOTH_DATA_DIR", str(tmp_path / "booth-data"))


@pytest.fixture
def pg_url(postgres_server: PostgresServer, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[str]:
    """A fresh, empty PostgreSQL database of its own for the test; dropped afterwards."""
    _own_data_folder(monkeypatch, tmp_path)
    name = postgres_server.create_database()
    yield postgres_server.url(name)
    postgres_server.drop_database(name)


@pytest.fixture
def pg_migrated_url(postgres_server: PostgresServer, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[str]:
    """An empty PostgreSQL database of its own already at the newest schema, under a name
    never used before: one an earlier test emptied (its rows truncated, kept only if it
    still has the template's shape), else a copy of the template (about 0.1 s instead of
    the 0.6 s a migration takes; a second or more on a busy machine)."""
    _own_data_folder(monkeypatch, tmp_path)
    name = postgres_server.create_database(migrated=True)
    yield postgres_server.url(name)
    postgres_server.recycle_database(name)


def _backend_url(backend: str, request: pytest.FixtureRequest, tmp_path: Path, *, migrated: bool = False) -> str:
    if backend == "sqlite":
        return sqlite_url(tmp_path / "booth.sqlite3")
    if backend == "postgresql":
        return str(request.getfixturevalue("pg_migrated_url" if migrated else "pg_url"))
    raise pytest.UsageError(f"unknown database backend {backend!r} (BOOTH_TEST_DB is sqlite or postgresql)")


@pytest.fixture(params=[pytest.param(b, marks=pytest.mark.postgresql) if b == "postgresql" else b for b in BACKENDS])
def any_db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A fresh empty database URL; the test runs once on SQLite and once on PostgreSQL."""
    return _backend_url(str(request.param), request, tmp_path)


@pytest.fixture
def db_backend(request: pytest.FixtureRequest) -> str:
    """The database `db_url` is on: both in turn for the suites of `BOTH_DATABASES`,
    else BOOTH_TEST_DB (default sqlite)."""
    return str(getattr(request, "param", os.environ.get("BOOTH_TEST_DB", "sqlite")))


@pytest.fixture
def db_url(request: pytest.FixtureRequest, tmp_path: Path, db_backend: str) -> str:
    """The test's own database: an SQLite file not created yet, or a PostgreSQL database
    already at the newest schema."""
    return _backend_url(db_backend, request, tmp_path, migrated=True)


# The suites whose database tests run on SQLite and on PostgreSQL by default (the site's
# books must be right on both); elsewhere BOOTH_TEST_DB picks one. With BOOTH_TEST_DB set,
# every suite runs on that database only.
BOTH_DATABASES = ("store", "site", "reports")
_TESTS = Path(__file__).resolve().parent


def _on_both(metafunc: pytest.Metafunc) -> bool:
    if "db_backend" not in metafunc.fixturenames or os.environ.get("BOOTH_TEST_DB"):
        return False
    if metafunc.definition.get_closest_marker("sqlite_only") or metafunc.definition.get_closest_marker("one_database"):
        return False
    try:
        suite = Path(str(metafunc.definition.path)).resolve().relative_to(_TESTS).parts[0]
    except ValueError:
        return False
    return suite in BOTH_DATABASES


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if _on_both(metafunc):
        metafunc.parametrize("db_backend", ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgresql)], indirect=True)


def pytest_runtest_setup(item: pytest.Item) -> None:
    if item.get_closest_marker("sqlite_only") and os.environ.get("BOOTH_TEST_DB", "sqlite") != "sqlite":
        pytest.skip("checks SQLite itself (its file, pragmas or locks)")


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    for server in _servers:
        average = 1000 * server.create_seconds / max(server.databases_created, 1)
        terminalreporter.write_line(
            f"PostgreSQL {server.version} test server: started in {server.started_in_s:.2f} s, "
            f"{server.databases_created} databases created ({average:.0f} ms each), {server.databases_reused} emptied and reused "
            f"({1000 * server.recycle_seconds / max(server.databases_reused, 1):.0f} ms each)"
        )


@pytest.fixture
def store(db_url: str) -> Iterator[Store]:
    s = open_store(db_url, busy_timeout_ms=200)
    yield s
    s.engine.dispose()


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(T0)


class Recorder:
    """Collects site events and waits for a condition on them."""

    def __init__(self) -> None:
        self.events: list[SiteEvent] = []
        self._cv = threading.Condition()

    def __call__(self, event: SiteEvent) -> None:
        with self._cv:
            self.events.append(event)
            self._cv.notify_all()

    def of(self, kind: type) -> list:  # type: ignore[type-arg]
        with self._cv:
            return [e for e in self.events if isinstance(e, kind)]

    def wait_for(self, predicate: Callable[[], bool], timeout: float = 5.0) -> None:
        deadline = time.monotonic() + timeout
        with self._cv:
            while not predicate():
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError("condition not reached in time")
                self._cv.wait(left)


@pytest.fixture
def make_site(store: Store, clock: FixedClock) -> Iterator[Callable[..., tuple[Site, Recorder]]]:
    started: list[Site] = []

    def _make(capacity: int = 200) -> tuple[Site, Recorder]:
        site = build_site(small_site(capacity), store, clock=clock, traffic=Traffic(seed=7))
        recorder = Recorder()
        site.bus.subscribe(recorder)
        site.start()
        site.staff.open_shift("ann", "0")  # cash needs a drawer
        started.append(site)
        return site, recorder

    yield _make
    for site in started:
        site.stop()
