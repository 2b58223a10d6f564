"""The site file's [database]: checked on start, and what it says is how the booth connects."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import text

from console.site.build import database_url, open_store
from console.site.config import ConfigError, parse_site
from tests.conftest import site_text
from tests.support.postgres import PostgresServer


def _site(database: str) -> str:
    return site_text(extra=f"\n[database]\n{database}\n")


def _problems(database: str) -> str:
    with pytest.raises(ConfigError) as info:
        parse_site(_site(database), "site.toml")
    return str(info.value)


def test_defaults_need_nothing_for_sqlite() -> None:
    config = parse_site(site_text(), "site.toml")
    settings = config.engine_settings
    assert config.database.url == "" and settings.busy_timeout_ms == 5000
    assert settings.application_name == "booth booth-1"  # the booth id names its connections
    assert (settings.pool_size, settings.max_overflow, settings.connect_timeout_s) == (5, 10, 10)
    assert settings.statement_timeout_ms == 60_000 and settings.effective_lock_timeout_ms == 5000
    assert settings.sslmode is None


def test_postgresql_keys_become_engine_settings(tmp_path: Path) -> None:
    ca, cert, key = (tmp_path / "ca.crt", tmp_path / "booth.crt", tmp_path / "booth.key")
    for path in (ca, cert, key):
        path.write_text("-")
    config = parse_site(_site(f"""
url = "postgresql://booth@db.site.lan/riverside"
pool_size = 3
max_overflow = 0
connect_timeout_s = 4
statement_timeout_ms = 20000
lock_timeout_ms = 3000
sslmode = "verify-full"
sslrootcert = "{ca}"
sslcert = "{cert}"
sslkey = "{key}"
"""), "site.toml")
    s = config.engine_settings
    assert (s.pool_size, s.max_overflow, s.connect_timeout_s, s.statement_timeout_ms, s.lock_timeout_ms) == (3, 0, 4, 20000, 3000)
    assert (s.sslmode, s.sslrootcert, s.sslcert, s.sslkey) == ("verify-full", str(ca), str(cert), str(key))


@pytest.mark.parametrize(
    ("database", "words"),
    [
        ('url = "postgresql://booth:secret@db/site"', "database.url: a password does not belong in the site file"),
        ('url = "mysql://booth@db/site"', "database.url: mysql://booth@db/site: only SQLite and PostgreSQL"),
        ('url = "postgresql+asyncpg://db/site"', "database.url: PostgreSQL driver 'asyncpg' is not supported"),
        ('url = "db.site.lan"', "database.url: 'db.site.lan' is not a database URL"),
        ('sslmode = "require"', "sslmode: TLS settings need a PostgreSQL url"),
        ('url = "postgresql://db/site"\nsslmode = "sometimes"', "database.sslmode: Input should be 'disable'"),
        ('url = "postgresql://db/site"\nsslmode = "verify-full"', "sslmode 'verify-full' needs sslrootcert"),
        ('url = "postgresql://db/site"\nsslrootcert = "ca.crt"', "database.sslrootcert: 'ca.crt': give an absolute path"),
        ('url = "postgresql://db/site"\nsslkey = "/nonexistent/booth.key"', "database.sslkey: no file at /nonexistent/booth.key"),
        ('url = "postgresql://db/site"\npool_size = 0', "database.pool_size: Input should be greater than or equal to 1"),
        ('url = "postgresql://db/site"\nstatement_timeout_ms = -1', "database.statement_timeout_ms"),
        ('url = "postgresql://db/site"\npool = 5', "database.pool: unknown key"),
        ('url = "postgresql://db/site"\npool_size = 1\nmax_overflow = 0', "pool_size + max_overflow must be at least 2"),
    ],
)
def test_each_bad_database_key_is_named(database: str, words: str) -> None:
    assert words in _problems(database)


def test_a_client_certificate_needs_its_key(tmp_path: Path) -> None:
    (tmp_path / "booth.crt").write_text("-")
    problems = _problems(f'url = "postgresql://db/site"\nsslcert = "{tmp_path / "booth.crt"}"')
    assert "sslcert and sslkey go together" in problems


@pytest.mark.postgresql
def test_the_site_files_settings_reach_the_server(pg_url: str, postgres_server: PostgresServer) -> None:
    tls = postgres_server.tls
    tls_keys = f'sslmode = "verify-full"\nsslrootcert = "{tls.ca_cert}"' if tls else ""
    config = parse_site(
        site_text(extra=f'\n[database]\nurl = "{pg_url}"\nstatement_timeout_ms = 4321\n{tls_keys}\n')
        .replace('[site]\nname = "Test Garage"', '[site]\nname = "Test Garage"\nbooth_id = "exit-3"'),
        "site.toml",
    )
    store = open_store(database_url(config), settings=config.engine_settings)
    try:
        with store.engine.connect() as conn:
            row = conn.execute(text(
                "SELECT current_setting('statement_timeout'), current_setting('lock_timeout'), application_name, ssl"
                " FROM pg_stat_activity JOIN pg_stat_ssl USING (pid) WHERE pid = pg_backend_pid()"
            )).one()
        assert tuple(row) == ("4321ms", "5s", "booth exit-3", tls is not None)
    finally:
        store.engine.dispose()
