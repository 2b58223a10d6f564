"""Charging benchmark: 200 e-bike ports (10 piles x 20) on real ptys, polled for a stretch
of simulated time, with sessions running and current breaches injected.

Run from the repository root (defaults: real time, one minute):

    .venv/bin/python tests/perf/bench_charging.py [--speed 1] [--minutes 1]

Printed, each beside its floor measured in the same run:
- CPU: the whole process's CPU time (every thread: drivers, simulators, the charging
  worker, the store) over wall time, with the console; its floor is the same piles
  polled by the same drivers with nobody listening, for the same wall time. At
  `--speed N` the piles are polled N times faster; only `--speed 1` gives the real-time
  share (a faster run is not divided down: the console's work per poll is not fixed).
- breach -> fault event: from setting the load on a pile to the fault the screen gets;
  its floor is the wait for the next poll (half a poll interval on average, one at most).
- reading -> fault event: from the breaching reading's arrival at the driver callback to
  the fault published, with the charging worker's backlog when it arrived; its floor is
  the fault's own database transaction, timed directly on the same store.

The simulated piles run in this process too, in both phases.
"""

from __future__ import annotations

import argparse
import resource
import statistics
import sys
import tempfile
import threading
import time
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Callable

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from zoneinfo import ZoneInfo  # noqa: E402

from console.domain.clock import ScaledClock  # noqa: E402
from console.site.build import open_store  # noqa: E402
from console.site.charging import ChargingService  # noqa: E402
from console.site.charging_config import ChargingSection, EPile  # noqa: E402
from console.site.events import ChargerFault  # noqa: E402
from console.store.charging import raise_fault  # noqa: E402
from console.store.engine import sqlite_url  # noqa: E402
from drivers.charger import open_epile  # noqa: E402
from drivers.charger.epile_sim import EPileSimulator  # noqa: E402

PILES, PORTS = 10, 20


def _wait(what: Callable[[], bool], timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while not what():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.02)
    return True


def _rss_mib() -> float:
    """This process's resident memory now (Linux /proc)."""
    with open("/proc/self/status", encoding="ascii") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--speed", type=float, default=1.0, help="simulated seconds per real second (1: real time)")
    ap.add_argument("--minutes", type=float, default=1.0, help="simulated minutes to run")
    ap.add_argument("--breaches", type=int, default=20)
    args = ap.parse_args()
    speed = args.speed
    poll_s = EPile.model_fields["poll_s"].default / speed
    t0 = time.monotonic()
    sims = [EPileSimulator(PORTS, address=1, clock=lambda: t0 + (time.monotonic() - t0) * speed).start() for _ in range(PILES)]
    section = ChargingSection.model_validate({
        "models": [{"id": "eb", "min_a": 16, "max_a": 18, "start_grace_s": 3}],
        "epiles": [{"id": f"P{i}", "url": s.url, "ports": PORTS, "model": "eb", "region": f"R{i % 3}", "franchise": f"F{i % 2}",
                    "plan": "kwh", "poll_s": poll_s} for i, s in enumerate(sims)],
        "plans": [{"id": "kwh", "basis": "energy", "rate": 120}],
        "accounts": [{"id": f"u{n}", "name": f"User {n}", "credit_limit": 10**9} for n in range(PILES * PORTS)],
        "cards": [{"card_id": f"C{n}", "account": f"u{n}"} for n in range(PILES * PORTS)],
        "save_every_s": 10,
    })
    for sim in sims:
        for port in range(1, PORTS + 1):
            sim.plug(port)
    real = args.minutes * 60 / speed

    # Floor: the same piles polled by the same drivers, nobody listening.
    drivers = [open_epile(f"P{i}", sim.url, address=1, poll_interval=poll_s, ports=PORTS) for i, sim in enumerate(sims)]
    for d in drivers:
        d.start(lambda event: None, lambda health: None)
    time.sleep(min(2.0, real / 4))  # connected and polling before the clock starts
    polls0 = sum(sim.polls for sim in sims)
    floor_cpu0, floor_w0 = time.process_time(), time.monotonic()
    time.sleep(real)
    floor_wall = time.monotonic() - floor_w0
    floor_cpu = time.process_time() - floor_cpu0
    floor_polls = sum(sim.polls for sim in sims) - polls0
    floor_rss = _rss_mib()
    for d in drivers:
        d.stop()

    faults: list[tuple[float, int, ChargerFault]] = []
    lock = threading.Lock()
    service: ChargingService | None = None

    def publish(event: Any) -> None:
        if isinstance(event, ChargerFault):
            with lock:
                faults.append((time.perf_counter(), service.backlog() if service is not None else -1, event))

    with tempfile.TemporaryDirectory() as tmp:
        store = open_store(sqlite_url(Path(tmp) / "bench.sqlite3"))
        service = ChargingService(store, section, ZoneInfo("Europe/Berlin"), "EUR", ScaledClock(speed), report=lambda *_: None, publish=publish)
        service.start()
        # Sessions start only on ports the console has seen online and plugged (at real
        # time that takes a poll or two).
        if not _wait(lambda: all(p.online and p.plugged for p in service.ports()), 30):
            waiting = [f"{p.pile_id}/{p.port}" for p in service.ports() if not (p.online and p.plugged)]
            print(f"ports not online and plugged after 30 s: {len(waiting)} (first {waiting[:3]})")
            service.stop()
            return
        n = 0
        for i in range(PILES):
            for port in range(1, PORTS // 2 + 1):
                service.start_session(pile_id=f"P{i}", port=port, card_id=f"C{i * PORTS + port - 1}")
                n += 1
        polls0 = sum(sim.polls for sim in sims)
        cpu0 = time.process_time()  # CPU time of every thread of this process
        w0 = time.monotonic()
        breaches: list[tuple[float, str, int, int]] = []
        step = real / (args.breaches + 1)
        for b in range(args.breaches):
            time.sleep(step)
            pile, port = b % PILES, b // PILES + 1
            breaches.append((time.perf_counter(), f"P{pile}", port, service.backlog()))
            sims[pile].set_load(port, 25_000)
        time.sleep(max(0.0, real - (time.monotonic() - w0)))
        wall = time.monotonic() - w0
        cpu = time.process_time() - cpu0
        polls = sum(sim.polls for sim in sims) - polls0
        service.stop()
        for sim in sims:
            sim.stop()
        # Floor of the fault's own work: its transaction, straight on the same store.
        commits = []
        for k in range(10):
            t = time.perf_counter()
            store.apply(raise_fault, pile_id="FLOOR", port=k + 1, code="1", detail="floor", region="R0", franchise="F0", at=datetime.now(timezone.utc))
            commits.append(time.perf_counter() - t)
        store.engine.dispose()

    delays, processing, backlog_at_breach, backlog_at_fault = [], [], [], []
    for at, pile_id, port_no, queued in breaches:
        match = [(t, q, e) for t, q, e in faults if e.fault.pile_id == pile_id and e.fault.port == port_no and e.fault.code == "1"]
        if match:
            t, q, e = match[0]
            delays.append(t - at)
            backlog_at_breach.append(queued)
            backlog_at_fault.append(q)
            if e.detected_at:
                processing.append(t - e.detected_at)
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    share, floor_share = cpu / wall * 100, floor_cpu / floor_wall * 100
    ms = 1000.0
    print(f"ports: {PILES * PORTS} on {PILES} pty piles, sessions: {n}, simulated: {args.minutes:g} min at x{speed:g} ({wall:.1f} s real), poll every {poll_s * ms:.0f} ms")
    print(f"port reports handled   : {polls * PORTS} ({polls * PORTS / wall:.0f}/s real); floor phase polled {floor_polls * PORTS} ({floor_polls * PORTS / floor_wall:.0f}/s)")
    where = "real time" if speed == 1 else f"x{speed:g}, not a real-time figure (run --speed 1)"
    print(f"CPU share (process, all threads, incl. simulators): {share:.1f}% of one core at {where}; "
          f"floor (drivers + simulators, no console): {floor_share:.1f}%; ratio {share / max(floor_share, 0.01):.1f}x")
    print(f"peak memory (RSS): {rss:.0f} MiB; floor (drivers + simulators, no console, at the end of their phase): {floor_rss:.0f} MiB")
    if delays:
        print(f"breach -> fault event  : median {statistics.median(delays) * ms:.0f} ms, max {max(delays) * ms:.0f} ms ({len(delays)}/{len(breaches)} faults); "
              f"floor (waiting for the next poll): median {poll_s / 2 * ms:.0f} ms, max {poll_s * ms:.0f} ms")
        if processing:
            print(f"reading -> fault event : median {statistics.median(processing) * ms:.1f} ms, max {max(processing) * ms:.1f} ms; "
                  f"floor (the fault's own transaction): median {statistics.median(commits) * ms:.1f} ms, max {max(commits) * ms:.1f} ms")
        print(f"worker backlog         : when the load was set median {statistics.median(backlog_at_breach):g}, max {max(backlog_at_breach)} items "
              f"(0: the reading met no queue); queued while the fault was recorded median {statistics.median(backlog_at_fault):g}, max {max(backlog_at_fault)}")
    else:
        print("no faults seen")


if __name__ == "__main__":
    main()
