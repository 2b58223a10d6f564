"""The tests' own PostgreSQL server: where it cannot start, a local run skips those tests
with the reason and a CI run fails."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.postgres import PostgresServer

ROOT = Path(__file__).resolve().parents[1]


def _pytest_without_postgresql(ci: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "BOOTH_PG_BIN": "/nonexistent", "CI": ci}
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-rs", "-p", "no:cacheprovider",
         "tests/store/test_migrations.py", "-k", "postgresql"],
        cwd=ROOT, capture_output=True, text=True, timeout=300, env=env, check=False,
    )


def test_without_a_server_a_local_run_skips_with_the_reason() -> None:
    result = _pytest_without_postgresql(ci="")
    assert result.returncode == 0, result.stdout
    assert "no PostgreSQL server for the tests: no PostgreSQL binaries" in result.stdout
    assert " skipped" in result.stdout and "passed" not in result.stdout


def test_without_a_server_a_ci_run_fails() -> None:
    result = _pytest_without_postgresql(ci="true")
    assert result.returncode == 1, result.stdout
    assert "PostgreSQL is required in CI and could not be started" in result.stdout


@pytest.mark.postgresql
def test_the_server_is_durable_on_loopback_and_not_in_utc(postgres_server: PostgresServer) -> None:
    with postgres_server.connect() as conn:
        settings = dict(conn.execute(
            "SELECT name, setting FROM pg_settings WHERE name IN "
            "('fsync', 'synchronous_commit', 'full_page_writes', 'listen_addresses', 'TimeZone', 'ssl')"
        ).fetchall())
    assert settings["fsync"] == settings["synchronous_commit"] == settings["full_page_writes"] == "on"
    assert settings["listen_addresses"] == "127.0.0.1"
    assert settings["TimeZone"] == "Asia/Shanghai"
    assert settings["ssl"] == ("on" if postgres_server.tls else "off")


@pytest.mark.postgresql
def test_each_test_gets_a_database_of_its_own(postgres_server: PostgresServer, pg_url: str, pg_migrated_url: str) -> None:
    assert pg_url != pg_migrated_url
    empty, migrated = (url.rsplit("/", 1)[1] for url in (pg_url, pg_migrated_url))
    with postgres_server.connect(empty) as conn:
        assert conn.execute("SELECT count(*) FROM pg_tables WHERE schemaname = 'public'").fetchone() == (0,)
    with postgres_server.connect(migrated) as conn:
        assert conn.execute("SELECT count(*) FROM alembic_version").fetchone() == (1,)
