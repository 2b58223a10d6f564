"""The cloud's pages for people: how long signing in, finding rides and opening a ride
with its portrait take on a cloud holding many rides, and how long after a booth commits
a charging fault the franchise manager's webhook receives it.

A real reference cloud (uvicorn on loopback, SQLite, its notifier) and a booth database
with the real sync service run in this process. The rides are booked through the cloud's
own events endpoint (each with a 13 KB portrait), as booths send them.

    .venv/bin/python tests/perf/bench_cloud_people.py [--rides 10000] [--runs 20] [--faults 10]
"""

from __future__ import annotations

import argparse
import base64
import statistics
import sys
import tempfile
import time
import uuid
from datetime import datetime, timedelta, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

import httpx  # noqa: E402

from console.domain.clock import SystemClock  # noqa: E402
from console.site.build import open_store  # noqa: E402
from console.site.config import CloudSection  # noqa: E402
from console.store import charging as charging_records  # noqa: E402
from console.store.engine import sqlite_url  # noqa: E402
from console.sync.server import accounts, admin, faults, rides_cloud  # noqa: E402
from console.sync.server.app import create_app  # noqa: E402
from console.sync.server.db import open_cloud_db  # noqa: E402
from console.sync.server.notify import Notifier, NotifyTuning  # noqa: E402
from console.sync.server.ratelimit import RateLimiter  # noqa: E402
from console.sync.server.run import ServerThread  # noqa: E402
from console.sync.service import SyncService, SyncTuning  # noqa: E402
from tests.sync.receivers import WebhookReceiver  # noqa: E402

PASSWORD = "correct horse battery"
SITE = "towers"


def ms(values: list[float]) -> str:
    values = sorted(values)
    return f"median {statistics.median(values) * 1000:.1f} ms, p95 {values[int(len(values) * 0.95) - 1] * 1000:.1f} ms (n={len(values)})"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rides", type=int, default=10_000, help="rides booked in the cloud first (default 10000)")
    parser.add_argument("--runs", type=int, default=20, help="page loads measured per figure (default 20)")
    parser.add_argument("--faults", type=int, default=10, help="faults raised at the booth (default 10)")
    args = parser.parse_args()

    folder = Path(tempfile.mkdtemp(prefix="bench-cloud-people-"))
    engine = open_cloud_db(sqlite_url(folder / "cloud.sqlite3"))
    token = admin.register_site(engine, SITE, name="Towers")
    now = datetime.now(timezone.utc)
    hook = WebhookReceiver().start()
    with engine.begin() as conn:
        rides_cloud.save_building(conn, "tower-a", SITE, "Tower A", [1], now)
        faults.save_franchise(conn, "volt", "Volt", hook.url, now)
        accounts.add_person(conn, name="bea", role="building_manager", password=PASSWORD, grants=["tower-a"], at=now)
    notifier = Notifier(engine, tuning=NotifyTuning())  # the server's default tuning
    server = ServerThread(create_app(engine, limiter=RateLimiter(rate=10_000, burst=10_000), notifier=notifier)).start()
    notifier.start()
    client = httpx.Client(base_url=server.url, timeout=30)
    try:
        portrait = base64.b64encode(bytes(range(256)) * 52).decode("ascii")  # 13 KB
        started = time.perf_counter()
        for first in range(0, args.rides, 200):
            events = []
            for i in range(first, min(first + 200, args.rides)):
                at = (now - timedelta(minutes=i)).isoformat()
                events.append({"id": str(uuid.uuid4()), "type": "elevator.ride", "occurred_at": at, "payload": {
                    "ride_id": str(uuid.uuid4()), "kind": "ride", "card": f"04{i % 500:04X}", "account_id": f"FLAT-{i % 200}",
                    "car": 1 + i % 2, "floor": i % 30, "doors_open_at": at, "fee_minor": 80, "currency": "EUR",
                    "snapshot_jpeg_b64": portrait, "snapshot_retention_days": 30, "timezone": "Asia/Shanghai"}})
            answer = client.post(f"/v1/sites/{SITE}/events", json={"booth_id": "b1", "events": events}, headers={"Authorization": f"Bearer {token}"})
            answer.raise_for_status()
        booked = time.perf_counter() - started
        print(f"booked {args.rides} rides with portraits in {booked:.1f} s ({args.rides / booked:.0f} rides/s)")

        sign_ins: list[float] = []
        for _ in range(args.runs):
            fresh = httpx.Client(base_url=server.url, timeout=30)
            t0 = time.perf_counter()
            assert fresh.post("/staff/sign-in", data={"name": "bea", "password": PASSWORD}).status_code == 303
            sign_ins.append(time.perf_counter() - t0)
            fresh.close()
        print(f"sign-in (argon2id, session row): {ms(sign_ins)}")
        client.post("/staff/sign-in", data={"name": "bea", "password": PASSWORD})

        searches: list[float] = []
        opened: list[float] = []
        ride_ids: list[str] = []
        for run in range(args.runs):
            t0 = time.perf_counter()
            page = client.get("/staff/rides", params={"floor": str(run % 30), "card": "04"})
            searches.append(time.perf_counter() - t0)
            ride_ids += [part.split('"')[0] for part in page.text.split('data-ride="')[1:2]]
        for ride_id in ride_ids:
            t0 = time.perf_counter()
            assert client.get(f"/staff/rides/{SITE}/{ride_id}").status_code == 200
            opened.append(time.perf_counter() - t0)
        print(f"ride search by floor and card prefix among {args.rides} rides (up to 200 listed): {ms(searches)}")
        print(f"a ride opened with its portrait (audited): {ms(opened)}")

        store = open_store(sqlite_url(folder / "booth.sqlite3"))
        tuning = SyncTuning()  # the booth's default tuning
        sync = SyncService(store, CloudSection(url=server.url), SITE, SystemClock(), lambda text: None, lambda: token, tuning=tuning)
        sync.start()
        latencies: list[float] = []
        for i in range(args.faults):
            before = len(hook.requests)
            t0 = time.perf_counter()
            store.apply(charging_records.raise_fault, pile_id=f"P-{i}", port=1, code="2", detail="leak", region="", franchise="volt",
                        at=datetime.now(timezone.utc))
            sync.wake()  # as the site's cloud link does after a commit
            while len(hook.requests) == before:
                time.sleep(0.002)
            latencies.append(time.perf_counter() - t0)
        sync.stop()
        print(f"fault committed at the booth -> franchise webhook received (booth woken, default tunings): {ms(latencies)}")
    finally:
        notifier.stop()
        server.stop()
        hook.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
