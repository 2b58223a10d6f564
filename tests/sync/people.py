"""A world for the tests of the cloud's pages for people: a reference cloud on loopback
with its notifier, a booth database whose outbox the real sync service sends up, a
loopback SMTP server and webhook receiver, two buildings, a franchise and five people."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Callable, Iterator

import cv2
import httpx
import numpy as np
import pytest
from sqlalchemy import select
from sqlalchemy.engine import Engine

from console.domain.clock import FixedClock
from console.domain.money import Money
from console.domain.rides import RideKind
from console.store.database import Store
from console.store.rides import NewRide, RideSummary, record_ride
from console.sync.server import accounts, admin, faults, rides_cloud
from console.sync.server import db as cloud_db
from console.sync.server.app import create_app
from console.sync.server.notify import Notifier, NotifyTuning, SmtpSettings
from console.sync.server.ratelimit import RateLimiter
from console.sync.server.run import ServerThread
from console.sync.service import SyncService
from tests.sync.conftest import SITE, ServerClock
from tests.sync.receivers import SmtpReceiver, WebhookReceiver

ROOT = Path(__file__).resolve().parents[2]
PASSWORD = "correct horse battery"
ZONE = "Europe/Berlin"  # the embedded default site's zone: `booth rides statement` reads months on it


def portrait_jpeg(shade: int) -> bytes:
    """A small real JPEG, like the booth's 13-14 KB portraits."""
    rng = np.random.default_rng(shade)
    frame = (rng.random((160, 120, 3)) * 255).astype(np.uint8)
    ok, buf = cv2.imencode(".jpg", frame, [cv2.IMWRITE_JPEG_QUALITY, 80])
    assert ok
    return bytes(buf)


@dataclass
class World:
    engine: Engine
    server: ServerThread
    token: str
    notifier: Notifier
    smtp: SmtpReceiver
    hook: WebhookReceiver
    clock: FixedClock
    sync: SyncService
    hook_secret: str

    @property
    def url(self) -> str:
        return self.server.url

    def person(self, name: str) -> httpx.Client:
        """A browser-like client signed in as `name` (cookies kept)."""
        client = httpx.Client(base_url=self.url, timeout=10, follow_redirects=False)
        answer = client.post("/staff/sign-in", data={"name": name, "password": PASSWORD, "next": "/staff"})
        assert answer.status_code == 303, answer.text
        return client

    def rides(self) -> int:
        with self.engine.connect() as conn:
            return len(conn.execute(select(cloud_db.ride.c.ride_id)).all())


@pytest.fixture(name="world")
def world_fixture(store: Store, cloud_engine: Engine, make_sync: Callable[..., SyncService]) -> Iterator[World]:
    clock = FixedClock(datetime(2026, 11, 3, 7, 0, tzinfo=timezone.utc))
    server_clock = ServerClock()
    server_clock.follow = clock.now  # the cloud's retention runs on the same (test) time
    token = admin.register_site(cloud_engine, SITE, name="Riverside Towers", currency="EUR")
    at = clock.now()
    smtp = SmtpReceiver(refuse=1).start()
    hook = WebhookReceiver(refuse=2).start()
    with cloud_engine.begin() as conn:
        rides_cloud.save_building(conn, "tower-a", SITE, "Tower A", [1], at)
        rides_cloud.save_building(conn, "tower-b", SITE, "Tower B", [2], at)
        secret = faults.save_franchise(conn, "volt", "Volt Charging", hook.url, at)
        assert secret is not None
        for name, role, grants, email in (
            ("sam", "site_manager", [SITE], ""),
            ("bea", "building_manager", ["tower-a"], ""),
            ("bob", "building_manager", ["tower-b"], ""),
            ("fran", "franchise_manager", ["volt"], "fran@volt.example"),
            ("tina", "tenant", [f"{SITE}:04A1"], ""),
            ("lena", "landlord", [f"{SITE}:P-07"], ""),
        ):
            accounts.add_person(conn, name=name, role=role, password=PASSWORD, grants=grants, at=at, email=email)
    notifier = Notifier(cloud_engine, smtp=SmtpSettings("127.0.0.1", smtp.port, "cloud@booth.example"),
                        tuning=NotifyTuning(tick=0.1, backoff_base=0.2, backoff_cap=1.0, purge_every=0.2), now=server_clock)
    app = create_app(cloud_engine, now=server_clock, limiter=RateLimiter(rate=1000, burst=1000), notifier=notifier)
    server = ServerThread(app).start()
    notifier.start()
    sync = make_sync(server.url, token, clock, site_id=SITE)
    yield World(cloud_engine, server, token, notifier, smtp, hook, clock, sync, secret)
    notifier.stop()
    server.stop()
    smtp.stop()
    hook.stop()


def ride(store: Store, *, car: int, floor: int, at: datetime, card: str, fee: int, shade: int = 1, retention: int = 30,
         flagged: bool = False, account: str | None = None) -> RideSummary:
    jpeg = portrait_jpeg(shade)
    return store.apply(record_ride, NewRide(
        kind=RideKind.RIDE, car=car, floor=floor, doors_open_at=at, fee=Money(fee, "EUR"), card=card, card_class="resident",
        account_id=account or ("FLAT-12A" if card == "04A1" else "FLAT-3C"), swiped_at=at - timedelta(seconds=40), price_rule="flat",
        flagged=flagged, flag_reason="face blurred" if flagged else None, snapshot=jpeg, snapshot_width=120,
        snapshot_height=160, snapshot_face=True, retention_days=retention, timezone=ZONE,
    ), at=at)
