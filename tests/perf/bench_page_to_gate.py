"""Page to gate: how long after the payment provider's notification is accepted by the
cloud does the exit barrier open by itself?

A real reference cloud (uvicorn on loopback, SQLite) and a real console site (simulated
lanes, SQLite, the sync service with its DEFAULT tuning unless told) run in this process.
For each run a car enters, stays, and the driver pays through the simulated provider:

- waiting: the car already stands at the exit (the desk holds its ticket) when the driver
  pays; the booth opens as soon as its next pull brings the payment. What sets this: the
  pull interval while a vehicle waits at an exit (`remote_payment_waiting_interval`,
  default 2 s) plus one pull round trip.
- arriving: the driver pays, then drives to the exit; the plate read opens the barrier if
  the payment is already on the booth, else the booth pulls at once (the vehicle now waits)
  and opens on that pull. What sets this: the normal pull interval
  (`remote_payment_interval`, default 10 s) against how long the drive to the exit takes.

Times: notification accepted (the provider's POST answered) -> the booth holds the
payment -> the barrier's OPEN is sent (ExitSettled).

    .venv/bin/python tests/perf/bench_page_to_gate.py [--runs 5] [--drive 3] [--waiting-interval 2] [--interval 10]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import threading
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

import httpx  # noqa: E402
import keyring  # noqa: E402

from console.site.build import build_site, open_store  # noqa: E402
from console.site.config import parse_site  # noqa: E402
from console.site.events import ExitPending, ExitSettled, SiteEvent  # noqa: E402
from console.store import cloud_copies, visits  # noqa: E402
from console.store.engine import sqlite_url  # noqa: E402
from console.sync.credentials import save_token  # noqa: E402
from console.sync.server import admin  # noqa: E402
from console.sync.server.app import create_app  # noqa: E402
from console.sync.server.db import open_cloud_db  # noqa: E402
from console.sync.server.provider import signed_headers  # noqa: E402
from console.sync.server.run import ServerThread  # noqa: E402
from console.sync.service import SyncTuning  # noqa: E402
from drivers.gate.simworld import Traffic  # noqa: E402
from tests.conftest import site_text  # noqa: E402
from tests.sync.conftest import MemoryKeyring  # noqa: E402


class OffsetClock:
    """Real time plus an offset: a car can enter "an hour ago" and leave now."""

    def __init__(self) -> None:
        self.offset = timedelta(0)

    def now(self) -> datetime:
        return datetime.now(timezone.utc) + self.offset


class Events:
    """Site events with the monotonic time they were published."""

    def __init__(self) -> None:
        self.seen: list[tuple[float, SiteEvent]] = []
        self.cv = threading.Condition()

    def __call__(self, event: SiteEvent) -> None:
        with self.cv:
            self.seen.append((time.monotonic(), event))
            self.cv.notify_all()

    def wait(self, kind: type, plate: str, timeout: float = 60.0) -> float:
        deadline = time.monotonic() + timeout
        with self.cv:
            while True:
                for at, ev in self.seen:
                    if isinstance(ev, kind) and ev.ticket.visit.plate == plate:  # type: ignore[attr-defined]
                        return at
                if not self.cv.wait(max(0.0, deadline - time.monotonic())):
                    raise SystemExit(f"{kind.__name__} for {plate} never came")


def pay(cloud_url: str, provider: object, plate: str) -> float:
    """Order at the cloud, then deliver the provider's signed notification ourselves
    (exactly what the simulated provider's thread sends). Returns when it was accepted."""
    for _ in range(200):
        created = httpx.post(f"{cloud_url}/v1/driver/payment-links", json={"site_id": "bench", "plate": plate})
        if created.status_code == 201:
            break
        time.sleep(0.05)
    else:
        raise SystemExit(f"no order for {plate}: {created.text}")
    order = provider.order(created.json()["id"])  # type: ignore[attr-defined]
    body = provider.notification_body(order, f"sim-{plate}")  # type: ignore[attr-defined]
    answer = httpx.post(f"{cloud_url}/v1/payments/notify/sim", content=body, headers=signed_headers(provider.secret, body, datetime.now(timezone.utc)))  # type: ignore[attr-defined]
    accepted = time.monotonic()
    if answer.json().get("outcome") != "accepted":
        raise SystemExit(f"notification not accepted: {answer.text}")
    return accepted


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=5, help="payments per scenario")
    parser.add_argument("--drive", type=float, default=3.0, help="seconds from paying to the plate read at the exit (arriving)")
    parser.add_argument("--interval", type=float, default=SyncTuning().remote_payment_interval, help="remote_payment_interval (s)")
    parser.add_argument("--waiting-interval", type=float, default=SyncTuning().remote_payment_waiting_interval, help="remote_payment_waiting_interval (s)")
    args = parser.parse_args()

    keyring.set_keyring(MemoryKeyring())
    tmp = Path(tempfile.mkdtemp(prefix="bench-page-gate-"))
    cloud_engine = open_cloud_db(sqlite_url(tmp / "cloud.sqlite3"))
    token = admin.register_site(cloud_engine, "bench", name="Bench Garage", lat=52.52, lon=13.405)
    app = create_app(cloud_engine)
    provider = app.state.provider
    server = ServerThread(app).start()
    save_token(server.url, token)
    store = open_store(sqlite_url(tmp / "booth.sqlite3"))
    tuning = SyncTuning(remote_payment_interval=args.interval, remote_payment_waiting_interval=args.waiting_interval)
    text = site_text(500, f'\n[cloud]\nurl = "{server.url}"\nsite_id = "bench"\n')
    clock = OffsetClock()
    site = build_site(parse_site(text, "bench.toml"), store, clock=clock, traffic=Traffic(seed=1), sync_tuning=tuning)
    events = Events()
    site.bus.subscribe(events)
    site.start()
    site.staff.open_shift("ann", "0")
    results: dict[str, list[tuple[float, float]]] = {"waiting": [], "arriving": []}
    try:
        for scenario in ("waiting", "arriving"):
            for i in range(args.runs):
                plate = f"PG{scenario[0].upper()}{i:03d}"
                clock.offset = timedelta(minutes=-65)  # the stay must cost something: it began an hour ago
                site.lanes.gates["IN1"].arrive(plate)
                while store.query(visits.open_visit_for, plate) is None:
                    time.sleep(0.01)
                clock.offset = timedelta(0)
                if scenario == "waiting":
                    site.lanes.gates["OUT1"].arrive(plate)
                    events.wait(ExitPending, plate)
                accepted = pay(server.url, provider, plate)
                if scenario == "arriving":
                    time.sleep(args.drive)
                    site.lanes.gates["OUT1"].arrive(plate)
                held = None
                while held is None:
                    if store.query(cloud_copies.remote_payments_for, plate) or any(
                        isinstance(e, ExitSettled) and e.ticket.visit.plate == plate for _, e in list(events.seen)
                    ):
                        held = time.monotonic()
                    time.sleep(0.005)
                opened = events.wait(ExitSettled, plate)
                results[scenario].append((held - accepted, opened - accepted))
                time.sleep(0.3)
    finally:
        site.stop()
        server.stop()
    print(f"page to gate (notification accepted -> barrier OPEN), {args.runs} runs each")
    print(f"  remote_payment_interval {args.interval:g} s, while a vehicle waits {args.waiting_interval:g} s; drive to the exit {args.drive:g} s")
    for scenario, rows in results.items():
        pulls = [h for h, _ in rows]
        opens = [o for _, o in rows]
        print(
            f"  {scenario:9s} payment on the booth: median {statistics.median(pulls):.2f} s, max {max(pulls):.2f} s;"
            f" barrier open: median {statistics.median(opens):.2f} s, max {max(opens):.2f} s"
        )
    print("  set by: the pull interval while waiting (waiting), the normal pull interval vs. the drive (arriving; the")
    print("  plate read itself triggers an immediate pull when the payment is not there yet)")


if __name__ == "__main__":
    main()
