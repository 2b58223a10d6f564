"""Benchmark: a 7-day offline backlog of a 4-lane site drains to the reference cloud.

    .venv/bin/python tests/perf/bench_sync.py [--events 60000] [--batch 500]

The cloud runs in its own process (`booth cloud serve` on 127.0.0.1, a free port, an
SQLite file); the booth's SyncService runs in this process. Printed: events/s, the
time to drain, and this process's peak memory (RSS) while draining against its idle
RSS just before. Goals: under 60 s, and no more than 50 MB above idle.

Beside it, in the same run and on the same batches (the booth's outbox read back page by
page, as the pump sends them):
- the cloud's ingest alone: the batches POSTed straight to the same cloud process (a
  second site), so the booth's reading and marking are not counted;
- its floor: the cloud's own database writes of those batches done directly, as a third
  site in the cloud's own (now idle) file with its durability settings (raw sqlite3, one
  transaction per batch, executemany for events, visits, payments, the delivery
  counter; rows built before the clock starts);
and the ratio of each to the floor. Goal: the cloud's ingest within 2x of the floor.

Shortcut (documented here on purpose): the backlog is not produced by 20,000 real
exits through the store, which would take minutes; it is inserted straight into the
outbox table in one transaction, in a child process (so this process never holds the
generated rows and its idle memory is honest). The rows look exactly like the store's:
for each visit a `visit.opened`, a `visit.closed` and a `payment.recorded` event with
the same payload fields, spread over 7 days and 4 lanes, ids from the store's UUIDv7
generator, payloads serialized like `console.store.outbox.enqueue`.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))


def rss_kb(pid: int | str = "self") -> int:
    """Resident set size from /proc (Linux)."""
    with open(f"/proc/{pid}/status", encoding="ascii") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def generate(db_path: str, events: int, poison: int = 0) -> None:
    """Child process: build the booth database with `events` unsent outbox events, of
    which `poison` payments carry an amount the cloud cannot store (10^30)."""
    from console.site.build import open_store
    from console.store.engine import sqlite_url
    from console.store.ids import new_id
    from console.store.tables import OutboxRow

    store = open_store(sqlite_url(Path(db_path)))
    rng = random.Random(7)
    start = datetime(2026, 3, 2, tzinfo=timezone.utc)
    visits = events // 3
    lanes_in, lanes_out = ("IN1", "IN2"), ("OUT1", "OUT2")
    rows: list[dict[str, object]] = []

    def add(kind: str, at: datetime, payload: dict[str, object]) -> None:
        text = json.dumps(payload, ensure_ascii=False, sort_keys=True, separators=(",", ":"), default=str)
        rows.append({"id": new_id(), "type": kind, "occurred_at": at, "payload": text, "sent_at": None, "attempts": 0})

    for i in range(visits):
        entry = start + timedelta(seconds=rng.uniform(0, 7 * 86400))
        exit_at = entry + timedelta(minutes=rng.uniform(10, 600))
        visit_id, payment_id = new_id(), new_id()
        plate = f"B{rng.randrange(10**6):06d}"
        fee = rng.choice((250, 500, 750, 1000, 1250, 2000))
        add("visit.opened", entry, {"visit_id": visit_id, "plate": plate, "zone": "P1", "lane": lanes_in[i % 2], "entry_at": entry.isoformat(), "vehicle_class": "car"})
        add("visit.closed", exit_at, {"visit_id": visit_id, "plate": plate, "exit_at": exit_at.isoformat(), "lane": lanes_out[i % 2], "fee_minor": fee, "currency": "EUR", "tariff_id": "simple-hourly/1", "reason": "paid"})
        add("payment.recorded", exit_at, {"payment_id": payment_id, "visit_id": visit_id, "method": rng.choice(("cash", "card")), "amount_minor": fee, "currency": "EUR", "attendant": "ann"})
    for index in rng.sample([n for n, row in enumerate(rows) if row["type"] == "payment.recorded"], poison):
        payload = json.loads(str(rows[index]["payload"]))
        payload["amount_minor"] = 10**30
        rows[index]["payload"] = json.dumps(payload, sort_keys=True, separators=(",", ":"))
    table = OutboxRow.__table__  # type: ignore[attr-defined]
    with store.write() as s:  # one transaction for the whole backlog
        for chunk in range(0, len(rows), 5000):
            s.execute(table.insert(), rows[chunk : chunk + 5000])
    store.engine.dispose()


def wire_batches(booth_db: Path, batch: int) -> list[dict[str, Any]]:
    """The booth's outbox read back in pages of `batch`, as bodies the pump sends."""
    from console.sync import protocol as p

    with sqlite3.connect(booth_db) as conn:
        rows = conn.execute("SELECT id, type, occurred_at, payload FROM outbox_event ORDER BY id").fetchall()
    bodies = []
    for start in range(0, len(rows), batch):
        events = [
            {"id": i, "type": t, "occurred_at": p.utc_text(datetime.fromisoformat(at).replace(tzinfo=timezone.utc)), "payload": json.loads(text)}
            for i, t, at, text in rows[start : start + batch]
        ]
        bodies.append({"booth_id": "direct", "sent_at": p.utc_text(datetime.now(timezone.utc)), "events": events})
    return bodies


def _db_time(text: str) -> str:
    """An ISO time as the cloud's SQLite columns hold it (naive UTC text)."""
    return datetime.fromisoformat(text).astimezone(timezone.utc).strftime("%Y-%m-%d %H:%M:%S.%f")


def floor(url: str, site_id: str, bodies: list[dict[str, Any]]) -> float:
    """Seconds the cloud's own database takes to write these batches directly, as rows
    of site `site_id`: the same file, schema and settings, one transaction per batch,
    executemany per table."""
    from console.sync.server.db import open_cloud_db

    engine = open_cloud_db(url)
    received = _db_time(datetime.now(timezone.utc).isoformat())
    planned = []
    for body in bodies:
        events, opened, closed, paid = [], [], [], []
        for e in body["events"]:
            x = e["payload"]
            events.append((site_id, e["id"], "direct", e["type"], _db_time(e["occurred_at"]), received, json.dumps(x, ensure_ascii=False, sort_keys=True, separators=(",", ":"))))
            if e["type"] == "visit.opened":
                opened.append((site_id, x["visit_id"], x["plate"], x["zone"], x["lane"], _db_time(x["entry_at"]), x["vehicle_class"]))
            elif e["type"] == "visit.closed":
                closed.append((site_id, x["visit_id"], x["plate"], x["lane"], _db_time(x["exit_at"]), x["fee_minor"], x["currency"], x["tariff_id"]))
            elif e["type"] == "payment.recorded" and abs(x["amount_minor"]) < 2**63:
                paid.append((site_id, x["payment_id"], x["visit_id"], x["method"], x["amount_minor"], x["currency"], x["attendant"], _db_time(e["occurred_at"]), received))
        planned.append((events, opened, closed, paid))
    raw = engine.raw_connection()
    try:
        cur = raw.cursor()
        cur.execute("INSERT INTO cloud_delivery (site_id, batches, events, duplicates, rejected) VALUES (?, 0, 0, 0, 0)", (site_id,))
        t = time.perf_counter()
        for events, opened, closed, paid in planned:
            cur.execute("BEGIN IMMEDIATE")
            cur.executemany("INSERT INTO cloud_event (site_id, event_id, booth_id, type, occurred_at, received_at, payload) VALUES (?, ?, ?, ?, ?, ?, ?) "
                            "ON CONFLICT DO NOTHING", events)
            cur.executemany("INSERT INTO cloud_visit (site_id, visit_id, plate, zone, entry_lane, entry_at, vehicle_class, state) VALUES (?, ?, ?, ?, ?, ?, ?, 'open') "
                            "ON CONFLICT DO UPDATE SET plate = excluded.plate, zone = excluded.zone, entry_lane = excluded.entry_lane, "
                            "entry_at = excluded.entry_at, vehicle_class = excluded.vehicle_class", opened)
            cur.executemany("INSERT INTO cloud_visit (site_id, visit_id, plate, exit_lane, exit_at, fee_minor, currency, tariff_id, state) VALUES (?, ?, ?, ?, ?, ?, ?, ?, 'closed') "
                            "ON CONFLICT DO UPDATE SET plate = excluded.plate, exit_lane = excluded.exit_lane, exit_at = excluded.exit_at, "
                            "fee_minor = excluded.fee_minor, currency = excluded.currency, tariff_id = excluded.tariff_id, state = excluded.state", closed)
            cur.executemany("INSERT INTO cloud_payment (site_id, payment_id, visit_id, method, amount_minor, currency, attendant, occurred_at, received_at) "
                            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING", paid)
            cur.execute("UPDATE cloud_delivery SET batches = batches + 1, events = events + ?, last_received_at = ? WHERE site_id = ?", (len(events), received, site_id))
            cur.execute("COMMIT")
        return time.perf_counter() - t
    finally:
        raw.close()
        engine.dispose()


def post_direct(url: str, site_id: str, token: str, bodies: list[dict[str, Any]]) -> tuple[float, int]:
    """Seconds to POST the batches straight to the cloud (bodies encoded before the
    clock starts), and how many events it acknowledged."""
    import httpx

    from console.sync import protocol as p

    encoded = [json.dumps(b, ensure_ascii=False, separators=(",", ":")).encode("utf-8") for b in bodies]
    acknowledged = 0
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
    with httpx.Client(base_url=url, headers=headers, timeout=60) as client:
        t = time.perf_counter()
        for content in encoded:
            answer = client.post(p.events_path(site_id), content=content)
            answer.raise_for_status()
            acknowledged += len(answer.json()["acknowledged"])
        return time.perf_counter() - t, acknowledged


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--events", type=int, default=60_000)
    parser.add_argument("--batch", type=int, default=500)
    parser.add_argument("--poison", type=int, default=0, help="payments with an amount the cloud cannot store (the poison test: --events 10000 --poison 1)")
    parser.add_argument("--generate", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.generate:
        generate(args.generate, args.events, args.poison)
        return 0

    work = Path(tempfile.mkdtemp(prefix="bench-sync-"))
    os.environ["BOOTH_DATA_DIR"] = str(work)
    server = None
    try:
        booth_db = work / "booth.sqlite3"
        t = time.perf_counter()
        subprocess.run([sys.executable, __file__, "--generate", str(booth_db), "--events", str(args.events), "--poison", str(args.poison)], check=True, cwd=ROOT)
        print(f"backlog generated in {time.perf_counter() - t:.1f} s (bulk insert, child process)")

        from console.domain.clock import SystemClock
        from console.site.build import open_store
        from console.site.config import CloudSection
        from console.store.engine import sqlite_url
        from console.sync.server import admin
        from console.sync.server.db import open_cloud_db
        from console.sync.service import SyncService, SyncTuning

        cloud_url = sqlite_url(work / "cloud.sqlite3")
        cloud_engine = open_cloud_db(cloud_url)
        token = admin.register_site(cloud_engine, "bench-site", name="Bench")
        direct_token = admin.register_site(cloud_engine, "bench-direct", name="Bench direct")
        server = subprocess.Popen(
            [sys.executable, "-m", "console.commands.cloud", "cloud", "serve", "--db", cloud_url, "--port", "0"],
            cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
        )
        assert server.stdout is not None
        line = server.stdout.readline()
        found = re.search(r"(http://127\.0\.0\.1:\d+)", line)
        if not found:
            print(f"the cloud did not start: {line!r}")
            return 1
        url = found.group(1)

        store = open_store(sqlite_url(booth_db))
        sync = SyncService(
            store, CloudSection(url=url), "bench-site", SystemClock(), lambda text: None, lambda: token,
            tuning=SyncTuning(batch_size=args.batch, config_interval=3600, remote_payment_interval=3600),
        )
        import gc

        gc.collect()
        idle = rss_kb()
        peak = idle
        sampling = True

        def sample() -> None:
            nonlocal peak
            while sampling:
                peak = max(peak, rss_kb())
                time.sleep(0.005)

        sampler = threading.Thread(target=sample, daemon=True)
        sampler.start()
        t0 = time.perf_counter()
        sync.start()
        done = sync.flush(600)
        elapsed = time.perf_counter() - t0
        sampling = False
        sampler.join()
        server_rss = rss_kb(server.pid)
        status = sync.status()
        sync.stop()
        books = admin.site_books(cloud_engine, "bench-site")

        total = 3 * (args.events // 3)  # three events per visit
        print(f"events in backlog       : {total}")
        print(f"drained                 : {done} (cloud books hold {books['events']} events, booth backlog {status.backlog})")
        print(f"time to drain           : {elapsed:.1f} s   (goal < 60 s)")
        print(f"throughput              : {total / elapsed:,.0f} events/s   (batch {args.batch})")
        print(f"booth RSS idle / peak   : {idle / 1024:.1f} MB / {peak / 1024:.1f} MB")
        print(f"booth peak above idle   : {(peak - idle) / 1024:.1f} MB   (goal <= 50 MB)")
        print(f"cloud process RSS (end) : {server_rss / 1024:.1f} MB")
        from console.store import outbox

        with store.read() as s:
            parked = outbox.refused_count(s)
        print(f"refused and parked      : {parked} (poisoned {args.poison}); delivered {books['events']} of {total}")
        store.engine.dispose()

        bodies = wire_batches(booth_db, args.batch)
        direct, acked = post_direct(url, "bench-direct", direct_token, bodies)
        floor_s = floor(cloud_url, "bench-floor", bodies)  # the cloud's own file, now idle
        print(f"cloud ingest alone      : {total / direct:,.0f} events/s   (the same {len(bodies)} batches POSTed straight to the cloud; {acked} acknowledged)")
        print(f"floor: its own writes   : {total / floor_s:,.0f} events/s   (raw sqlite3 on the cloud's file, one transaction per batch)")
        print(f"ratio to the floor      : cloud ingest {direct / floor_s:.1f}x, booth -> cloud drain {elapsed / floor_s:.1f}x   (goal: ingest within 2x)")
        cloud_engine.dispose()
        return 0 if done and books["events"] == total - args.poison and parked == args.poison else 1
    finally:
        if server is not None and server.poll() is None:
            server.terminate()
            server.wait(10)
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
