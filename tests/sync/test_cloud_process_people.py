"""`booth cloud serve` as its own process, set up by `booth cloud admin` and `booth cloud
user` commands: a fault a booth raises reaches the franchise manager by webhook and by
e-mail through the SMTP server given on the command line (the webhook's first answer
is a 503: retried on the server's own back-off), and the manager signs in and sees it.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from datetime import datetime, timezone
from pathlib import Path
from typing import Callable, Iterator

import httpx
import pytest

from console.domain.clock import FixedClock
from console.store import charging as charging_records
from console.store.database import Store
from console.sync.server.faults import webhook_signature
from console.sync.service import SyncService
from tests.sync.conftest import SITE, wait_until
from tests.sync.people import PASSWORD
from tests.sync.receivers import SmtpReceiver, WebhookReceiver

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def receivers() -> Iterator[tuple[SmtpReceiver, WebhookReceiver]]:
    smtp, hook = SmtpReceiver().start(), WebhookReceiver(refuse=1).start()
    yield smtp, hook
    smtp.stop()
    hook.stop()


def test_the_cloud_process_tells_the_franchise_manager(tmp_path: Path, store: Store, make_sync: Callable[..., SyncService],
                                                      receivers: tuple[SmtpReceiver, WebhookReceiver]) -> None:
    smtp, hook = receivers
    db = f"sqlite:///{tmp_path / 'cloud.sqlite3'}"
    env = {**os.environ, "BOOTH_DATA_DIR": str(tmp_path), "BOOTH_LANGUAGE": "en"}

    def cloud(*args: str, stdin: str = "") -> str:
        done = subprocess.run([sys.executable, "-m", "console.cli", "cloud", *args], input=stdin, capture_output=True, text=True,
                              cwd=ROOT, env=env, timeout=60)
        assert done.returncode == 0, done.stderr
        return done.stdout

    token = cloud("admin", "add-site", "--db", db, SITE, "--name", "Riverside Towers").strip()
    secret = cloud("admin", "franchise", "--db", db, "volt", "--webhook", hook.url).strip()
    cloud("user", "add", "--db", db, "fran", "--role", "franchise_manager", "--grant", "volt", "--email", "fran@volt.example", stdin=PASSWORD + "\n")

    server = subprocess.Popen(
        [sys.executable, "-m", "console.cli", "cloud", "serve", "--db", db, "--port", "0", "--smtp-host", "127.0.0.1",
         "--smtp-port", str(smtp.port), "--smtp-from", "cloud@booth.example"],
        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, cwd=ROOT, env=env,
    )
    try:
        assert server.stdout is not None
        announced = server.stdout.readline()
        found = re.search(r"listening on (http://127\.0\.0\.1:\d+)", announced)
        assert found, announced
        url = found.group(1)

        clock = FixedClock(datetime.now(timezone.utc))  # the cloud process runs on the real clock
        make_sync(url, token, clock, site_id=SITE)
        fault = store.apply(charging_records.raise_fault, pile_id="P-07", port=2, code="5", detail="relay stuck", region="north",
                            franchise="volt", at=clock.now())
        assert fault is not None
        wait_until(lambda: len(hook.requests) == 1 and len(smtp.messages) == 1, timeout=20)
        assert hook.answered[:2] == [503, 200] and hook.requests[0][1]["fault_id"] == fault.id
        signed = hook.requests[0][0]
        assert signed["X-Booth-Signature"] == webhook_signature(secret, signed["X-Booth-Timestamp"], hook.raw[0])
        assert smtp.messages[0][0] == ["fran@volt.example"] and smtp.messages[0][1]["From"] == "cloud@booth.example"

        fran = httpx.Client(base_url=url, timeout=10)
        assert fran.post("/staff/sign-in", data={"name": "fran", "password": PASSWORD}).status_code == 303
        page = fran.get("/staff/faults", params={"franchise": "volt"})
        assert f'data-fault="{fault.id}"' in page.text and 'data-channel="webhook" data-state="delivered"' in page.text
    finally:
        server.terminate()
        server.wait(10)

