"""The lanes' database work against its floor, side by side in one run.

    .venv/bin/python tests/perf/bench_store.py [--visits 5000] [--runs 400] [--no-postgres]

Three figures, each beside the floor measured in the same run on the same machine:

- exit lookup + quote (`ExitService.open_exit` at a reader's plate: the plate's visit, earlier visits, debts,
  memberships and phone payments in one read transaction, then the fee) against the same
  statements replayed on the raw driver. Goal: within 3x.
- entry commit: the entry lane's transaction (the zone counts, the visit, its audit entry,
  its outbox event), synchronous=FULL in WAL mode.
- exit payment commit: a cash payment settled at the exit (`ExitService.settle`: payment,
  closed visit, receipt, audit entry, outbox events), and its transaction alone.
  Goal for both commits: within 2x.

The floor of a figure is the transactions the console sent, recorded statement by
statement with their parameters (tests/perf/floors.py) and replayed on sqlite3 / psycopg
against a copy of the database taken before the run, interleaved with the console's own
runs, so load on the machine hits both alike. PostgreSQL runs on a throwaway server on
loopback (fsync on), as the tests start it, unless --no-postgres.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import sys
import tempfile
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any, Callable

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("BOOTH_CONFIG_DIR", tempfile.mkdtemp(prefix="booth-bench-config-"))

from console.domain.clock import FixedClock  # noqa: E402
from console.domain.money import Money  # noqa: E402
from console.domain.payments import NewPayment  # noqa: E402
from console.site.build import build_site, open_store  # noqa: E402
from console.site.config import parse_site  # noqa: E402
from console.site.site import Site  # noqa: E402
from console.store import visits  # noqa: E402
from console.store.database import Store  # noqa: E402
from console.store.engine import sqlite_url  # noqa: E402
from drivers.gate.simworld import Traffic  # noqa: E402
from tests.perf.floors import StatementLog, percentile, raw_sqlite, replay  # noqa: E402

T0 = datetime(2026, 3, 2, 8, 0, tzinfo=timezone.utc)
TARIFF = ROOT / "tests" / "fixtures" / "hourly.toml"
SITE = f"""
[site]
name = "Bench Garage"
timezone = "Europe/Berlin"
currency = "EUR"

[tariff]
file = "{TARIFF}"

[[zones]]
id = "P1"
name = "Deck"
capacity = 100000

[[lanes]]
id = "IN1"
direction = "entry"
zone = "P1"
gate = "sim://?timing=fast&rate=0"

[[lanes]]
id = "OUT1"
direction = "exit"
zone = "P1"
gate = "sim://?timing=fast&rate=0"
"""


def plate(i: int) -> str:
    return f"B{i:06d}"


def seed(store: Store, count: int) -> None:
    """`count` visits inside, a third of the plates with two earlier stays on record
    (in transactions of 200 plates: one huge one would outlast the stall watch on PostgreSQL)."""
    for first in range(0, count, 200):
        with store.write() as tx:
            for i in range(first, min(count, first + 200)):
                p = plate(i)
                if i % 3 == 0:
                    for k in (3, 2):
                        at = T0 - timedelta(days=k)
                        v = visits.record_entry(tx, plate=p, zone="P1", lane="IN1", at=at, currency="EUR")
                        tx.connection().execute(visits._VISITS.update().where(visits._VISITS.c.id == v.id).values(
                            state="closed", exit_at=at + timedelta(hours=1), exit_lane="OUT1", fee_minor=250, paid_minor=250))
                visits.record_entry(tx, plate=p, zone="P1", lane="IN1", at=T0 - timedelta(minutes=30 + i % 600), currency="EUR")


def start_site(store: Store, clock: FixedClock) -> Site:
    site = build_site(parse_site(SITE, "bench-site.toml"), store, clock=clock, traffic=Traffic(seed=7))
    site.start()
    site.staff.open_shift("ann", "0")
    return site


def row(label: str, figures: list[float], floors: list[float], goal: float) -> None:
    median, floor = statistics.median(figures), statistics.median(floors)
    p99, floor99 = percentile(figures, 0.99), percentile(floors, 0.99)
    ratio = median / floor if floor else float("inf")
    print(f"  {label}: median {median * 1000:.3f} ms (p99 {p99 * 1000:.3f}), floor {floor * 1000:.3f} ms "
          f"(p99 {floor99 * 1000:.3f}) -> {ratio:.2f}x (goal <= {goal:g}x){'' if ratio <= goal else '  NOT MET'}")


def lookup(exits: Any, p: str, now: datetime) -> None:
    """A plate read at the exit lane: looked up and quoted, the ticket waiting (then let go)."""
    ticket = exits.open_exit("OUT1", p, now=now, from_reader=True)
    if ticket is not None:
        exits.board.release(ticket.id)


def timed(call: Callable[[], Any]) -> tuple[float, Any]:
    start = time.perf_counter()
    result = call()
    return time.perf_counter() - start, result


def run(name: str, store: Store, copy_conn: Callable[[], Any], args: argparse.Namespace) -> None:
    """The three figures on one database; `copy_conn` opens the raw connection to its copy."""
    clock = FixedClock(T0 + timedelta(hours=2))
    site = start_site(store, clock)
    log = StatementLog(store.engine)
    raw = copy_conn()
    try:
        exits = site.exits
        # Warm the statement caches (theirs and the driver's) before timing anything.
        for i in range(50):
            lookup(exits, plate(i), clock.now())
        look, look_floor = [], []
        for n in range(args.runs):
            p = plate(n % args.visits)
            log.recording = True
            took, _ = timed(lambda: lookup(exits, p, clock.now()))
            log.recording = False
            txs = log.take()
            look.append(took)
            look_floor.append(sum(replay(raw, tx) for tx in txs))
        statements = sum(len(tx.statements) for tx in txs)
        print(f"{name}: exit lookup + quote, {len(txs)} read transaction(s) of {statements} statement(s)")
        row("lookup + quote", look, look_floor, 3)

        entry, entry_floor = [], []
        zone = "P1"
        for n in range(args.runs):
            p = f"N{n:06d}"
            log.recording = True

            def enter() -> None:
                with store.write() as tx:  # what the entry lane commits (console/site/lanes.py)
                    visits.occupancy_for_entry(tx)
                    visits.record_entry(tx, plate=p, zone=zone, lane="IN1", at=clock.now(), currency="EUR")

            took, _ = timed(enter)
            log.recording = False
            entry.append(took)
            entry_floor.append(sum(replay(raw, tx) for tx in log.take() if tx.end == "commit"))
        print(f"{name}: entry commit (zone counts + visit + audit + outbox, one transaction)")
        row("entry", entry, entry_floor, 2)

        settle, close, settle_floor = [], [], []
        inner = exits._close
        close_times: list[float] = []

        def watched_close(*a: Any, **k: Any) -> Any:
            took, result = timed(lambda: inner(*a, **k))
            close_times.append(took)
            return result

        exits._close = watched_close  # type: ignore[method-assign]
        for n in range(args.runs):
            p = plate(args.visits - 1 - n)
            ticket = exits.open_exit("OUT1", p, now=clock.now())
            assert ticket is not None, p
            due = ticket.due
            payment = NewPayment("cash", due, tendered=due, change=Money.zero("EUR"))
            log.recording = True
            took, _ = timed(lambda: exits.settle(ticket, [payment], attendant="ann", reason="paid", drawer_of="ann"))
            log.recording = False
            settle.append(took)
            close.append(close_times[-1])
            floors = [replay(raw, tx) for tx in log.take() if tx.end == "commit"]
            settle_floor.append(floors[0] if floors else 0.0)  # the settlement's own transaction
        exits._close = inner  # type: ignore[method-assign]
        print(f"{name}: exit payment commit (payment + closed visit + receipt + audit + outbox, one transaction)")
        row("transaction", close, settle_floor, 2)
        row("settle() whole (receipt text, board, barrier)", settle, settle_floor, 2)
    finally:
        log.close()
        raw.close()
        site.stop()


def sqlite_run(folder: Path, args: argparse.Namespace) -> None:
    path = folder / "bench.sqlite3"
    store = open_store(sqlite_url(path))
    seed(store, args.visits)
    store.dispose()  # the last connection closing checkpoints the WAL into the file
    shutil.copy(path, folder / "floor.sqlite3")
    store = open_store(sqlite_url(path))
    try:
        run("SQLite (WAL, synchronous=FULL)", store, lambda: raw_sqlite(str(folder / "floor.sqlite3")), args)
    finally:
        store.dispose()


def postgres_run(args: argparse.Namespace) -> None:
    try:
        from tests.support.postgres import PostgresUnavailable, start_postgres

        server = start_postgres()
    except (ImportError, PostgresUnavailable) as exc:
        print(f"PostgreSQL: skipped ({exc})")
        return
    try:
        import psycopg

        name = server.create_database()
        store = open_store(server.url(name))
        seed(store, args.visits)
        store.dispose()
        with server.connect() as conn:
            conn.execute(f'CREATE DATABASE "{name}_floor" TEMPLATE "{name}"')
        store = open_store(server.url(name))
        try:
            run(f"PostgreSQL {server.version} (loopback, fsync on)", store,
                lambda: psycopg.connect(host=server.host, port=server.port, user="postgres", dbname=f"{name}_floor"), args)
        finally:
            store.dispose()
    finally:
        server.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--visits", type=int, default=3000, help="vehicles inside at the start")
    parser.add_argument("--runs", type=int, default=400, help="lookups, entries and exits timed")
    parser.add_argument("--no-postgres", action="store_true")
    args = parser.parse_args()
    args.runs = min(args.runs, args.visits)
    with tempfile.TemporaryDirectory(dir=ROOT) as tmp:
        sqlite_run(Path(tmp), args)
    if not args.no_postgres:
        postgres_run(args)


if __name__ == "__main__":
    main()
