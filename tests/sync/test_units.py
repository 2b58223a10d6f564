"""Small pieces of the sync: backoff, Retry-After, cloud URL and TLS settings (with a
real HTTPS server on loopback), the migration of the sync tables."""

from __future__ import annotations

import random
import shutil
import subprocess
from datetime import datetime, timedelta, timezone
from email.utils import format_datetime
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlmodel import SQLModel

import console.store.cloud_tables  # noqa: F401
import console.store.tables  # noqa: F401
from console.domain.clock import FixedClock
from console.store import visits
from console.store.database import Store
from console.store.engine import make_engine, sqlite_url
from console.store.migrate import upgrade
from console.sync.backoff import Backoff
from console.sync.client import (
    CloudClient,
    CloudConfigError,
    CloudError,
    check_cloud_url,
    tls_verify,
)
from console.sync.protocol import plate_key, retry_after_seconds
from console.sync.server.app import create_app
from console.sync.server.run import ServerThread
from tests.sync.conftest import Cloud, wait_until


def test_backoff_grows_with_jitter_and_stays_under_the_cap() -> None:
    backoff = Backoff(base=1.0, cap=30.0, rng=random.Random(4))
    delays = [backoff.next_delay() for _ in range(10)]
    for n, delay in enumerate(delays):
        ceiling = min(30.0, 2.0**n)
        assert ceiling / 2 <= delay <= ceiling
    assert len({round(d, 6) for d in delays[6:]}) > 1  # jittered even at the cap
    backoff.reset()
    assert backoff.next_delay() <= 1.0


def test_retry_after_is_a_floor_with_a_little_jitter() -> None:
    backoff = Backoff(base=1.0, cap=30.0, rng=random.Random(1))
    for _ in range(20):
        assert 120.0 <= backoff.next_delay(retry_after=120) <= 121.0
    assert backoff.next_delay(retry_after=10**9) <= 3601.0  # a silly value is capped
    fresh = Backoff(base=1.0, cap=300.0, rng=random.Random(2))
    assert 2.0 <= fresh.next_delay(retry_after=2) <= 2.2  # the first failure: Retry-After rules


def test_retry_after_never_shortens_the_exponential_backoff() -> None:
    # An overloaded cloud answering "Retry-After: 1" to every request: the booth still
    # backs off exponentially, so it asks less than twice a minute after the first minute.
    backoff = Backoff(base=1.0, cap=300.0, rng=random.Random(3))
    delays = [backoff.next_delay(retry_after=1) for _ in range(12)]
    assert all(d >= 1.0 for d in delays)
    assert delays[-1] >= 150.0  # at the cap's lower half
    elapsed, requests_after_first_minute = 0.0, 0
    for d in delays:
        elapsed += d
        requests_after_first_minute += elapsed > 60
    assert requests_after_first_minute / ((elapsed - 60) / 60) < 2


def test_retry_after_parses_seconds_and_http_dates_against_the_servers_date() -> None:
    assert retry_after_seconds("7", None) == 7.0
    assert retry_after_seconds(None, None) is None
    assert retry_after_seconds("soon", None) is None
    server_now = datetime(2026, 3, 2, 8, 0, tzinfo=timezone.utc)
    until = format_datetime(server_now + timedelta(seconds=90), usegmt=True)
    # The booth's clock is 10 minutes fast; the server's Date header keeps the wait right.
    booth_now = server_now + timedelta(minutes=10)
    assert retry_after_seconds(until, format_datetime(server_now, usegmt=True), now=booth_now) == 90.0
    assert retry_after_seconds(until, None, now=booth_now) == 0.0  # without Date: never negative


def test_cloud_urls_must_be_https_except_to_this_machine() -> None:
    assert check_cloud_url("https://cloud.example.com/") == "https://cloud.example.com"
    assert check_cloud_url("http://127.0.0.1:8787") == "http://127.0.0.1:8787"
    assert check_cloud_url("http://localhost:1") == "http://localhost:1"
    for bad in ("http://cloud.example.com", "ftp://x", "cloud.example.com", "https://x/?a=1", ""):
        with pytest.raises(CloudConfigError):
            check_cloud_url(bad)


def test_plates_compare_like_the_lanes() -> None:
    assert plate_key("b-ab 123") == "BAB123"
    with pytest.raises(ValueError):
        plate_key("   ")


def test_the_sync_migration_matches_the_models(tmp_path: Path) -> None:
    engine = make_engine(sqlite_url(tmp_path / "m.sqlite3"))
    upgrade(engine)
    with engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), SQLModel.metadata)
    assert diff == []
    engine.dispose()


def _openssl(*args: str, cwd: Path) -> None:
    subprocess.run(["openssl", *args], cwd=cwd, check=True, capture_output=True)


@pytest.fixture
def tls_files(tmp_path: Path) -> dict[str, str]:
    if shutil.which("openssl") is None:
        pytest.skip("openssl is not installed")
    ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]
    _openssl("req", "-x509", *ec, "-keyout", "ca.key", "-out", "ca.pem", "-days", "2", "-subj", "/CN=Booth Test CA",
             "-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign,cRLSign", cwd=tmp_path)
    _openssl("req", *ec, "-keyout", "server.key", "-out", "server.csr", "-subj", "/CN=127.0.0.1", cwd=tmp_path)
    (tmp_path / "ext.cnf").write_text("subjectAltName=IP:127.0.0.1\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n")
    _openssl("x509", "-req", "-in", "server.csr", "-CA", "ca.pem", "-CAkey", "ca.key", "-CAcreateserial", "-out", "server.pem",
             "-days", "2", "-extfile", "ext.cnf", cwd=tmp_path)
    return {name: str(tmp_path / name) for name in ("ca.pem", "server.pem", "server.key")}


def test_the_environment_cannot_replace_the_trust_store(cloud: Cloud, tls_files: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> None:
    from console.sync.client import system_trust

    # Whoever starts the console could point SSL_CERT_FILE at their own CA (to read the
    # token in transit): the site's trust store stays the system's or the site file's.
    monkeypatch.setenv("SSL_CERT_FILE", tls_files["ca.pem"])
    system_trust.cache_clear()
    try:
        with ServerThread(create_app(cloud.engine), certfile=tls_files["server.pem"], keyfile=tls_files["server.key"]) as https:
            client = CloudClient(https.url, cloud.site_id)
            client.set_token(cloud.token)
            with pytest.raises(CloudError, match="cannot reach"):
                client.whoami()
            client.close()
            named = CloudClient(https.url, cloud.site_id, ca_bundle=tls_files["ca.pem"])
            named.set_token(cloud.token)
            assert named.whoami()
            named.close()
    finally:
        system_trust.cache_clear()


def test_tls_is_verified_unless_the_site_names_its_ca_bundle(cloud: Cloud, tls_files: dict[str, str], store: Store, make_sync) -> None:  # type: ignore[no-untyped-def]
    with ServerThread(create_app(cloud.engine), certfile=tls_files["server.pem"], keyfile=tls_files["server.key"]) as https:
        assert https.url.startswith("https://127.0.0.1:")
        # The system trust store does not know this private CA: refused, never ignored.
        client = CloudClient(https.url, cloud.site_id)
        client.set_token(cloud.token)
        with pytest.raises(CloudError, match="cannot reach"):
            client.whoami()
        client.close()
        # Naming the CA bundle in the site file makes it work, with verification on.
        assert not isinstance(tls_verify(tls_files["ca.pem"]), bool)
        store.apply(visits.record_entry, plate="TLS1", zone="P1", lane="IN1", at=datetime(2026, 3, 2, tzinfo=timezone.utc), currency="EUR")
        refused = make_sync(https.url, cloud.token, FixedClock(datetime(2026, 3, 2, tzinfo=timezone.utc)))
        wait_until(lambda: refused.status().state == "offline")
        assert "CERTIFICATE_VERIFY_FAILED" in (refused.status().last_error or "")
        refused.stop()
        trusted = make_sync(https.url, cloud.token, FixedClock(datetime(2026, 3, 2, tzinfo=timezone.utc)), ca_bundle=tls_files["ca.pem"])
        assert trusted.flush(10)
        assert cloud.books()["events"] == 1
