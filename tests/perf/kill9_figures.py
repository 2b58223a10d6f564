"""kill -9 at random points during 1,000 mixed operations at a booth.

A booth process (the real console site on an SQLite file, simulated lanes) works through
a fixed list of operations: entries, cash exits, fee overrides settled with the exit, and
manual barrier openings. After each operation has returned (committed) it says so on its
output. This script kills it with SIGKILL at random moments — between operations and in
the middle of them — restarts it, and lets it carry on from the first operation it had
not confirmed (an operation cut mid-way is redone only if the books do not hold it).

At the end it prints: operations confirmed before a kill that the books lost (goal 0),
payments, entries, overrides or manual openings recorded twice (goal 0), and what
`booth audit verify` says of the audit chain and of every record's audit entry (a
half-written record shows there). Run from the repository root:

    .venv/bin/python tests/perf/kill9_figures.py [--ops 1000] [--seed 7]

Figures are printed; nothing is asserted.
"""

from __future__ import annotations

import argparse
import os
import random
import signal
import subprocess
import sys
import tempfile
import time
from collections import Counter
from datetime import datetime, timedelta, timezone
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))

T0 = datetime(2026, 3, 2, 6, 0, tzinfo=timezone.utc)
SITE = """
[site]
name = "Kill Test Garage"
timezone = "Europe/Berlin"
currency = "EUR"

[tariff]
file = "{tariff}"

[[zones]]
id = "P1"
name = "Deck"
capacity = 5000

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


def schedule(count: int, seed: int) -> list[tuple[str, str]]:
    """The operations, the same for every run of a seed: (kind, plate). A car exits
    after at least half an hour (past the free period: a fee to pay)."""
    rng = random.Random(seed)
    inside: list[str] = []
    ops: list[tuple[str, str]] = []
    for i in range(count):
        roll = rng.random()
        if len(inside) < 8 or roll < 0.42:
            plate = f"K{i:05d}"
            inside.append(plate)
            ops.append(("entry", plate))
        elif roll < 0.80:
            ops.append(("pay", inside.pop(0)))
        elif roll < 0.90:
            ops.append(("override", inside.pop(0)))
        else:
            ops.append(("manual", f"op-{i}"))
    return ops


def child(database: Path, site_file: Path, start: int, count: int, seed: int) -> int:
    """The booth: carry out operations from `start` on, saying `ok N` after each."""
    from sqlmodel import select

    from console.domain.clock import FixedClock
    from console.site.build import build_site, open_store
    from console.site.config import load_site
    from console.site.errors import SiteError
    from console.store import shifts, visits
    from console.store.engine import sqlite_url
    from console.store.tables import GateActionRow
    from drivers.gate.simworld import Traffic

    config = load_site(site_file)
    store = open_store(sqlite_url(database))
    clock = FixedClock(T0 + timedelta(minutes=5 * start))
    site = build_site(config, store, clock=clock, traffic=Traffic(seed=seed))
    site.start()
    if store.query(shifts.current_shift, site.staff.booth_id) is None:
        site.staff.open_shift("ann", "0")
    reason = config.operations.manual_gate_reasons[0]
    ops = schedule(count, seed)
    print("ready", flush=True)
    for i in range(start, count):
        kind, plate = ops[i]
        clock.set(T0 + timedelta(minutes=5 * i))
        done = False
        if kind == "entry":
            done = store.query(visits.latest_visit_for, plate) is not None  # committed before the kill
            if not done:
                site.lanes.enter("IN1", plate)
        elif kind in ("pay", "override"):
            done = store.query(visits.open_visit_for, plate) is None
            if not done:
                ticket = site.exits.open_exit("OUT1", plate, replace_waiting=True)
                assert ticket is not None, f"{plate} left without a fee"
                if kind == "override":
                    # 1.00 off: within what an attendant may lower without a manager
                    lowered = max(ticket.due.minor - 100, 0)
                    ticket = site.desk.override(ticket.id, "fee_change", reason="regular customer", actor="ann",
                                                new_amount_text=f"{lowered // 100}.{lowered % 100:02d}")
                site.desk.pay_cash(ticket.id, "100", attendant="ann")
        else:
            with store.read() as tx:
                done_row = tx.exec(select(GateActionRow).where(GateActionRow.note == plate)).first()
            done = done_row is not None
            if not done:
                try:
                    site.lanes.manual_gate("IN1", "open", reason=reason, note=plate, actor="ann")
                except SiteError as exc:
                    print(f"refused {i} {exc}", flush=True)
        if done:
            print(f"found {i}", flush=True)  # cut by the kill after its commit: not done again
        print(f"ok {i}", flush=True)
    site.stop()
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--ops", type=int, default=1000, help="operations (default 1000)")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--child", nargs=3, metavar=("DB", "SITE", "START"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        return child(Path(args.child[0]), Path(args.child[1]), int(args.child[2]), args.ops, args.seed)

    work = Path(tempfile.mkdtemp(prefix="booth-kill9-"))
    env = {**os.environ, "BOOTH_DATA_DIR": str(work / "data"), "BOOTH_CONFIG_DIR": str(work / "config"), "PYTHONPATH": str(REPO)}
    os.environ.update(env)
    site_file = work / "site.toml"
    site_file.write_text(SITE.format(tariff=REPO / "tests" / "fixtures" / "hourly.toml"), encoding="utf-8")
    database = work / "booth.sqlite3"
    rng = random.Random(args.seed + 1)
    confirmed: set[int] = set()
    found_done = 0
    next_op, kills, restarts, started = 0, 0, 0, time.monotonic()
    errors = open(work / "booth-stderr.txt", "a")  # noqa: SIM115 (the booths' own words, if one fails)
    while next_op < args.ops:
        booth = subprocess.Popen([sys.executable, __file__, "--ops", str(args.ops), "--seed", str(args.seed), "--child",
                                  str(database), str(site_file), str(next_op)],
                                 stdout=subprocess.PIPE, stderr=errors, text=True, env=env, cwd=REPO)
        restarts += 1
        assert booth.stdout is not None
        ready = booth.stdout.readline()
        if not ready.startswith("ready"):
            print(f"the booth did not start (restart {restarts}); stopping")
            booth.kill()
            return 1
        budget = rng.randint(3, 60)  # operations confirmed before this kill
        seen = 0
        killed = False
        for line in booth.stdout:
            if line.startswith("found "):
                found_done += 1
            if line.startswith("ok "):
                confirmed.add(int(line.split()[1]))
                next_op = int(line.split()[1]) + 1
                seen += 1
                if seen >= budget and next_op < args.ops:
                    # Mid-operation: the next one has started (or is about to) when the signal lands.
                    time.sleep(rng.uniform(0, 0.008))  # an operation takes a few ms (its fsync)
                    os.kill(booth.pid, signal.SIGKILL)
                    kills += 1
                    killed = True
                    break
        booth.wait()
        if not killed and next_op < args.ops:
            print(f"the booth stopped by itself at operation {next_op} (exit {booth.returncode}); see {work / 'booth-stderr.txt'}")
            return 1
    elapsed = time.monotonic() - started
    _report(args, database, site_file, env, confirmed, kills, restarts, elapsed, found_done)
    return 0


def _report(args: argparse.Namespace, database: Path, site_file: Path, env: dict[str, str], confirmed: set[int],
            kills: int, restarts: int, elapsed: float, found_done: int) -> None:
    from sqlmodel import Session, select

    from console.store.engine import make_engine, sqlite_url
    from console.store.tables import GateActionRow, OverrideRow, PaymentRow, VisitRow

    ops = schedule(args.ops, args.seed)
    engine = make_engine(sqlite_url(database))
    with Session(engine) as s:
        visits = s.exec(select(VisitRow)).all()
        payments = s.exec(select(PaymentRow)).all()
        overrides = s.exec(select(OverrideRow)).all()
        manual = s.exec(select(GateActionRow)).all()
    engine.dispose()
    by_plate = Counter(v.plate for v in visits)
    closed = {v.plate for v in visits if v.exit_at is not None}
    visit_plate = {v.id: v.plate for v in visits}
    paid = Counter(visit_plate.get(p.visit_id, "?") for p in payments)
    overridden = Counter(visit_plate.get(o.visit_id, "?") for o in overrides)
    notes = Counter(g.note for g in manual)
    lost = Counter[str]()
    for i in confirmed:
        kind, key = ops[i]
        if kind == "entry" and by_plate[key] == 0:
            lost["entry"] += 1
        elif kind in ("pay", "override") and (key not in closed or paid[key] == 0):
            lost[kind] += 1
        elif kind == "override" and overridden[key] == 0:
            lost["override"] += 1
        elif kind == "manual" and notes[key] == 0:
            lost["manual"] += 1
    doubled = {
        "entries": sum(n - 1 for n in by_plate.values() if n > 1),
        "payments": sum(n - 1 for n in paid.values() if n > 1),
        "overrides": sum(n - 1 for n in overridden.values() if n > 1),
        "manual openings": sum(n - 1 for n in notes.values() if n > 1),
    }
    kinds = Counter(kind for kind, _ in ops)
    verify = subprocess.run([sys.executable, "-m", "console.cli", "audit", "verify", "--site", str(site_file), "--db", sqlite_url(database)],
                            capture_output=True, text=True, env=env, cwd=REPO)
    print(f"kill -9 during {args.ops} operations ({', '.join(f'{n} {k}' for k, n in sorted(kinds.items()))}), seed {args.seed}")
    print(f"  kills / starts            : {kills} / {restarts}  ({elapsed:.0f} s)")
    print(f"  confirmed operations      : {len(confirmed)} of {args.ops}")
    print(f"  cut after their commit    : {found_done} (found in the books at the restart, not done again)")
    print(f"  confirmed, then lost      : {sum(lost.values())}" + (f"  {dict(lost)}" if lost else ""))
    print("  recorded twice            : " + ", ".join(f"{k} {v}" for k, v in doubled.items()))
    print(f"  books                     : {len(visits)} visits, {len(closed)} settled, {len(payments)} payments, "
          f"{len(overrides)} overrides, {len(manual)} manual openings")
    said = (verify.stdout + verify.stderr).strip().splitlines()
    print(f"  half-written records      : {'0' if verify.returncode == 0 else 'see below'} (booth audit verify: exit {verify.returncode})")
    for line in said:
        print(f"      {line}")


if __name__ == "__main__":
    sys.exit(main())
