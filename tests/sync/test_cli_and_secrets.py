"""`booth cloud ...` commands and where the token may (keyring) and may not (site file,
database, logs) appear."""

from __future__ import annotations

import argparse
import io
import json
import logging
import re
import signal
import socket
import subprocess
import sys
from datetime import datetime, timezone
from pathlib import Path

import httpx
import pytest

from console.commands import cloud as cli
from console.domain.clock import FixedClock
from console.site.config import default_site_text
from console.store import visits
from console.store.database import Store
from console.store.engine import sqlite_url
from console.sync.credentials import SERVICE, keyring_token_provider, load_token
from tests.sync.conftest import SITE, Cloud, MemoryKeyring

ROOT = Path(__file__).resolve().parents[2]


def _parse(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="booth")
    cli.register(parser.add_subparsers(dest="command"))
    return parser.parse_args(argv)


def test_both_spellings_of_serve_parse_the_same() -> None:
    short = _parse(["cloud", "--db", "sqlite:///c.db", "--port", "0"])
    long = _parse(["cloud", "serve", "--db", "sqlite:///c.db", "--port", "0"])
    for args in (short, long):
        assert args.func is cli.cmd_serve and args.db == "sqlite:///c.db" and args.port == 0
    login = _parse(["cloud", "login", "--url", "https://c.example"])
    assert login.func is cli.cmd_login and login.url == "https://c.example"


def test_booth_cloud_serves_on_a_free_port_until_terminated(tmp_path: Path) -> None:
    db = sqlite_url(tmp_path / "cloud.sqlite3")
    proc = subprocess.Popen(
        [sys.executable, "-m", "console.commands.cloud", "cloud", "--db", db, "--port", "0"],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        match = re.search(r"listening on (http://127\.0\.0\.1:\d+)", line)
        assert match, line
        health = httpx.get(f"{match.group(1)}/v1/health")
        assert health.status_code == 200 and health.json()["status"] == "ok"
    finally:
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=10)
    # uvicorn shuts down cleanly, then re-raises the signal so the exit status tells it.
    assert proc.returncode in (0, -signal.SIGTERM)
    assert "Finished server process" in err
    assert (tmp_path / "cloud.sqlite3").exists()


def test_serve_refuses_a_busy_port(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    taken = socket.create_server(("127.0.0.1", 0))
    try:
        code = cli.main(["cloud", "serve", "--db", sqlite_url(tmp_path / "c.sqlite3"), "--port", str(taken.getsockname()[1])])
    finally:
        taken.close()
    assert code == cli.EXIT_FAILED and "cannot listen" in capsys.readouterr().err


def test_admin_commands(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    db = sqlite_url(tmp_path / "cloud.sqlite3")
    assert cli.main(["cloud", "admin", "add-site", "--db", db, "demo", "--name", "Demo", "--lat", "52.5", "--lon", "13.4"]) == 0
    token = capsys.readouterr().out.strip()
    assert len(token) >= 40
    members = tmp_path / "members-2026.json"
    members.write_text(json.dumps([{"plate": "AB1", "kind": "member"}, {"plate": "CD2", "kind": "pass"}]))
    assert cli.main(["cloud", "admin", "members", "--db", db, "demo", str(members)]) == 0
    assert "members-2026 published for demo (2 entries" in capsys.readouterr().out
    broken = tmp_path / "broken.toml"
    broken.write_text("this is [[[ not a tariff")
    assert cli.main(["cloud", "admin", "tariff", "--db", db, "demo", str(broken)]) == cli.EXIT_USAGE
    assert "not published" in capsys.readouterr().err
    assert cli.main(["cloud", "admin", "tariff", "--db", db, "demo", str(broken), "--no-validate", "--version", "t-bad"]) == 0
    capsys.readouterr()
    assert cli.main(["cloud", "admin", "members", "--db", db, "nowhere", str(members)]) == cli.EXIT_USAGE
    assert "no site" in capsys.readouterr().err
    assert cli.main(["cloud", "admin", "members", "--db", db, "demo", str(tmp_path / "missing.json")]) == cli.EXIT_USAGE
    assert cli.main(["cloud", "admin", "books", "--db", db, "demo"]) == 0
    out = capsys.readouterr().out
    assert json.loads(out)["events"] == 0


def _site_file(tmp_path: Path, url: str) -> Path:
    text = default_site_text()
    start = text.index("[cloud]")
    head, tail = text[:start], text[start:]
    tail = tail.replace('url = ""', f'url = "{url}"', 1)
    path = tmp_path / "site.toml"
    path.write_text(head + tail)
    return path


def test_login_stores_the_token_in_the_keyring_only(cloud: Cloud, memory_keyring: MemoryKeyring, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    site_file = _site_file(tmp_path, cloud.url)
    monkeypatch.setattr(sys, "stdin", io.StringIO("wrong-token\n"))
    assert cli.main(["cloud", "login", "--site-file", str(site_file)]) == cli.EXIT_FAILED
    assert "does not accept" in capsys.readouterr().err and memory_keyring.entries == {}

    monkeypatch.setattr(sys, "stdin", io.StringIO(cloud.token + "\n"))
    assert cli.main(["cloud", "login", "--site-file", str(site_file)]) == 0
    out, err = capsys.readouterr()
    assert f"site '{SITE}'" in out and cloud.token not in out + err
    assert memory_keyring.entries == {(SERVICE, cloud.url): cloud.token}
    assert load_token(cloud.url + "/") == cloud.token
    assert cloud.token not in site_file.read_text()

    assert cli.main(["cloud", "logout", "--url", cloud.url]) == 0
    assert memory_keyring.entries == {}
    assert cli.main(["cloud", "logout", "--url", cloud.url]) == 0
    assert "no token stored" in capsys.readouterr().out


def test_login_to_an_unreachable_cloud_stores_with_a_warning(memory_keyring: MemoryKeyring, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    closed = socket.create_server(("127.0.0.1", 0))
    url = f"http://127.0.0.1:{closed.getsockname()[1]}"
    closed.close()
    monkeypatch.setattr(sys, "stdin", io.StringIO("tok-123\n"))
    assert cli.main(["cloud", "login", "--url", url]) == 0
    assert "could not be checked" in capsys.readouterr().out
    assert keyring_token_provider(url)() == "tok-123"


def test_login_refuses_bad_targets(memory_keyring: MemoryKeyring, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    monkeypatch.setattr(sys, "stdin", io.StringIO("tok\n"))
    assert cli.main(["cloud", "login", "--url", "http://cloud.example.com"]) == cli.EXIT_USAGE
    assert "https" in capsys.readouterr().err
    assert cli.main(["cloud", "login", "--site-file", str(_site_file(tmp_path, ""))]) == cli.EXIT_USAGE
    assert "url is empty" in capsys.readouterr().err
    monkeypatch.setattr(sys, "stdin", io.StringIO("\n"))
    assert cli.main(["cloud", "login", "--url", "http://127.0.0.1:9", "--no-check"]) == cli.EXIT_USAGE
    assert memory_keyring.entries == {}


def test_the_token_never_reaches_logs_or_databases(
    cloud: Cloud, store: Store, memory_keyring: MemoryKeyring, make_sync, caplog: pytest.LogCaptureFixture, db_url: str
) -> None:  # type: ignore[no-untyped-def]
    memory_keyring.set_password(SERVICE, cloud.url, cloud.token)
    caplog.set_level(logging.DEBUG)
    now = datetime(2026, 3, 2, 8, tzinfo=timezone.utc)
    store.apply(visits.record_entry, plate="SEC1", zone="P1", lane="IN1", at=now, currency="EUR")
    sync = make_sync(cloud.url, None, FixedClock(now), token_provider=keyring_token_provider(cloud.url))
    assert sync.flush(10)
    sync.stop()
    assert "HTTP Request: POST" in caplog.text  # the requests were logged...
    assert cloud.token not in caplog.text  # ...without the token
    assert cloud.token not in repr(sync.status())
    booth_file = Path(db_url.removeprefix("sqlite:///"))
    cloud_file = Path(str(cloud.engine.url.database))
    for path in (booth_file, cloud_file):
        for suffix in ("", "-wal"):
            f = Path(f"{path}{suffix}")
            if f.exists():
                assert cloud.token.encode() not in f.read_bytes()
