"""PostgreSQL as the store: the driver's absence is a clear message, and the site's connection
settings (pool, timeouts, TLS, the booth's name) reach the real server's sessions."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.engine import Engine
from sqlalchemy.exc import OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from sqlalchemy.pool import QueuePool

from console.site.build import open_store
from console.store.engine import (
    POSTGRES_MISSING,
    EngineSettings,
    StoreError,
    make_engine,
    parse_database_url,
)
from console.store.migrate import MIGRATION_LOCK_KEY, head_revision, upgrade
from tests.support.postgres import CERT_ROLE, SERVER_TIMEZONE, PostgresServer, TlsFiles

REPO = Path(__file__).resolve().parents[2]


def _run_without_psycopg(code: str) -> subprocess.CompletedProcess[str]:
    # None in sys.modules makes `import psycopg` fail as if it were not installed.
    prelude = "import sys\nsys.modules['psycopg'] = None\n"
    return subprocess.run([sys.executable, "-c", prelude + textwrap.dedent(code)], cwd=REPO, check=False,
                          capture_output=True, text=True, timeout=60, env={**os.environ})


def test_a_postgresql_url_without_the_driver_is_a_clear_store_error() -> None:
    urls = ["postgresql://booth@127.0.0.1/site", "postgresql+psycopg://booth@127.0.0.1/site", "postgres://booth@127.0.0.1/site"]
    result = _run_without_psycopg(f"""
        from console.store.engine import StoreError, make_engine
        for url in {urls!r}:
            try:
                make_engine(url)
            except StoreError as exc:
                print(exc)
        """)
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == [POSTGRES_MISSING] * 3
    assert POSTGRES_MISSING == "PostgreSQL support is not installed: pip install 'booth[postgres]'"


def test_booth_migrate_without_the_driver_says_what_to_install_not_a_traceback() -> None:
    result = _run_without_psycopg("""
        from console.cli import main
        sys.exit(main(["migrate", "--db", "postgresql://booth@127.0.0.1:1/site"]))
        """)
    assert result.returncode == 3, result.stderr  # EXIT_STORE
    assert POSTGRES_MISSING in result.stderr
    assert "Traceback" not in result.stderr + result.stdout


def test_url_forms() -> None:
    assert parse_database_url("postgresql://u@h/d").drivername == "postgresql+psycopg"  # psycopg 3, not psycopg2
    assert parse_database_url("postgres://u@h/d").drivername == "postgresql+psycopg"
    assert parse_database_url("postgresql+psycopg://u@h/d").drivername == "postgresql+psycopg"
    assert parse_database_url("postgresql+psycopg2://u@h/d").drivername == "postgresql+psycopg2"
    assert parse_database_url("sqlite:////tmp/x.sqlite3").drivername == "sqlite"
    assert make_engine("postgresql://u@127.0.0.1/d").dialect.driver == "psycopg"
    for bad, words in (("mysql://u@h/d", "only SQLite and PostgreSQL"), ("no url here", "is not a database URL"),
                       ("postgresql+asyncpg://u@h/d", "not supported")):
        with pytest.raises(StoreError, match=words):
            make_engine(bad)


def _database(url: str) -> str:
    return str(parse_database_url(url).database)


def _show(engine: Engine, *names: str) -> list[str]:
    with engine.connect() as conn:
        return [str(conn.execute(text(f"SHOW {name}")).scalar_one()) for name in names]


@pytest.mark.postgresql
def test_site_settings_reach_every_session(pg_url: str) -> None:
    settings = EngineSettings(statement_timeout_ms=1234, lock_timeout_ms=567, pool_size=3, max_overflow=2,
                              pool_timeout_s=0.3, application_name="booth exit-2")
    engine = make_engine(pg_url, settings)
    try:
        assert _show(engine, "statement_timeout", "lock_timeout", "application_name") == ["1234ms", "567ms", "booth exit-2"]
        # The server runs in Asia/Shanghai; the booth's sessions in UTC.
        assert _show(engine, "TimeZone") == ["UTC"] and SERVER_TIMEZONE != "UTC"
        # 3 pooled + 2 overflow connections at once; a sixth waits pool_timeout_s, then gives up.
        held = [engine.connect() for _ in range(5)]
        try:
            assert isinstance(engine.pool, QueuePool) and engine.pool.checkedout() == 5
            with pytest.raises(PoolTimeout):
                engine.connect()
        finally:
            for conn in held:
                conn.close()
    finally:
        engine.dispose()
    # Without a lock timeout of its own, a writer waits as long as the busy timeout says.
    engine = make_engine(pg_url, busy_timeout_ms=250)
    try:
        assert _show(engine, "lock_timeout") == ["250ms"]
    finally:
        engine.dispose()


@pytest.mark.postgresql
def test_statement_and_lock_timeouts_end_the_wait(pg_url: str, postgres_server: PostgresServer) -> None:
    slow_statement = make_engine(pg_url, EngineSettings(statement_timeout_ms=200, lock_timeout_ms=0))
    lock_wait = make_engine(pg_url, EngineSettings(statement_timeout_ms=5000, lock_timeout_ms=200))
    holder = postgres_server.connect(_database(pg_url))  # advisory locks belong to one database
    try:
        started = time.monotonic()
        with pytest.raises(OperationalError, match="statement timeout"), slow_statement.connect() as conn:
            conn.execute(text("SELECT pg_sleep(5)"))
        holder.execute("SELECT pg_advisory_lock(42)")
        with pytest.raises(OperationalError, match="lock timeout"), lock_wait.connect() as conn:
            conn.execute(text("SELECT pg_advisory_lock(42)"))
        assert time.monotonic() - started < 4
    finally:
        holder.close()
        slow_statement.dispose()
        lock_wait.dispose()


@pytest.mark.postgresql
def test_a_migration_waits_for_another_booths_beyond_the_lock_timeout(pg_url: str, postgres_server: PostgresServer) -> None:
    engine = make_engine(pg_url, EngineSettings(lock_timeout_ms=50, statement_timeout_ms=50))
    other_booth = postgres_server.connect(_database(pg_url))
    other_booth.execute("SELECT pg_advisory_lock(%s)", (MIGRATION_LOCK_KEY,))
    release = threading.Timer(1.0, lambda: other_booth.execute("SELECT pg_advisory_unlock(%s)", (MIGRATION_LOCK_KEY,)))
    release.start()
    try:
        started = time.monotonic()
        assert upgrade(engine) == (None, head_revision())
        assert time.monotonic() - started >= 0.9  # it waited for the other booth
        assert _show(engine, "lock_timeout", "statement_timeout") == ["50ms", "50ms"]  # SET LOCAL ended with it
    finally:
        release.join()
        other_booth.close()
        engine.dispose()


def _tls(postgres_server: PostgresServer) -> TlsFiles:
    if postgres_server.tls is None:
        pytest.skip("the test server has no TLS (openssl is not installed)")
    return postgres_server.tls


def _ssl_in_use(engine: Engine) -> tuple[str, bool]:
    with engine.connect() as conn:
        row = conn.execute(text("SELECT current_user, ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()")).one()
    return str(row[0]), bool(row[1])


@pytest.mark.postgresql
def test_tls_verifies_the_server_against_the_sites_ca(pg_url: str, postgres_server: PostgresServer) -> None:
    tls = _tls(postgres_server)
    store = open_store(pg_url, settings=EngineSettings(sslmode="verify-full", sslrootcert=str(tls.ca_cert)))
    try:
        assert _ssl_in_use(store.engine) == ("postgres", True)
    finally:
        store.engine.dispose()
    with pytest.raises(StoreError, match="certificate verify failed"):
        open_store(pg_url, settings=EngineSettings(sslmode="verify-full", sslrootcert=str(tls.other_ca_cert)))


@pytest.mark.postgresql
def test_a_booth_signs_in_with_its_client_certificate(postgres_server: PostgresServer) -> None:
    tls = _tls(postgres_server)
    name = postgres_server.create_database(owner=CERT_ROLE)
    url = postgres_server.url(name, user=CERT_ROLE)
    with_cert = EngineSettings(sslmode="verify-full", sslrootcert=str(tls.ca_cert), sslcert=str(tls.client_cert),
                               sslkey=str(tls.client_key))
    try:
        # The role owns its database but is no superuser: what INSTALL.md tells a site to set up.
        store = open_store(url, settings=with_cert)
        try:
            assert _ssl_in_use(store.engine) == (CERT_ROLE, True)
        finally:
            store.engine.dispose()
        for refused in (EngineSettings(sslmode="require"), EngineSettings(sslmode="disable")):
            with pytest.raises(StoreError, match="cannot migrate the database"):
                open_store(url, settings=refused)
    finally:
        postgres_server.drop_database(name)
