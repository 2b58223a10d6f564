"""Charging benchmark: 200 e-bike ports (10 piles x 20) on real ptys reporting every
(simulated) second for an hour of simulated time, with sessions running.

Prints the console's CPU share and memory, and the delay from a current threshold breach
to the fault event the screen shows (goal: under 1 s). Run from the repository root:

    .venv/bin/python tests/perf/bench_charging.py [--speed 60] [--minutes 60]

The simulated piles run in this process too, so the CPU share is an upper bound for the
console. At `--speed N` the piles are polled N times per real second; the CPU share at
real time is the measured share divided by N.
"""

from __future__ import annotations

import argparse
import resource
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from zoneinfo import ZoneInfo  # noqa: E402

from console.domain.clock import ScaledClock  # noqa: E402
from console.site.build import open_store  # noqa: E402
from console.site.charging import ChargerFault, ChargingService  # noqa: E402
from console.site.charging_config import ChargingSection  # noqa: E402
from console.store.engine import sqlite_url  # noqa: E402
from drivers.charger.epile_sim import EPileSimulator  # noqa: E402

PILES, PORTS = 10, 20


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--speed", type=float, default=60.0, help="simulated seconds per real second")
    ap.add_argument("--minutes", type=float, default=60.0, help="simulated minutes to run")
    ap.add_argument("--breaches", type=int, default=20)
    args = ap.parse_args()
    speed = args.speed
    t0 = time.monotonic()
    sims = [EPileSimulator(PORTS, address=1, clock=lambda: t0 + (time.monotonic() - t0) * speed).start() for _ in range(PILES)]
    section = ChargingSection.model_validate({
        "models": [{"id": "eb", "min_a": 16, "max_a": 18, "start_grace_s": 3}],
        "epiles": [{"id": f"P{i}", "url": s.url, "ports": PORTS, "model": "eb", "region": f"R{i % 3}", "franchise": f"F{i % 2}",
                    "plan": "kwh", "poll_s": 1.0 / speed} for i, s in enumerate(sims)],
        "plans": [{"id": "kwh", "basis": "energy", "rate": 120}],
        "accounts": [{"id": f"u{n}", "name": f"User {n}", "credit_limit": 10**9} for n in range(PILES * PORTS)],
        "cards": [{"card_id": f"C{n}", "account": f"u{n}"} for n in range(PILES * PORTS)],
        "save_every_s": 10,
    })
    faults: list[tuple[float, ChargerFault]] = []
    lock = threading.Lock()

    def publish(event: Any) -> None:
        if isinstance(event, ChargerFault):
            with lock:
                faults.append((time.perf_counter(), event))

    with tempfile.TemporaryDirectory() as tmp:
        store = open_store(sqlite_url(Path(tmp) / "bench.sqlite3"))
        service = ChargingService(store, section, ZoneInfo("Europe/Berlin"), "EUR", ScaledClock(speed), report=lambda *_: None, publish=publish)
        service.start()
        deadline = time.monotonic() + 10
        while not all(p.online for p in service.ports()) and time.monotonic() < deadline:
            time.sleep(0.05)
        for i, sim in enumerate(sims):
            for port in range(1, PORTS + 1):
                sim.plug(port)
        time.sleep(0.5)
        n = 0
        for i in range(PILES):
            for port in range(1, PORTS // 2 + 1):
                service.start_session(pile_id=f"P{i}", port=port, card_id=f"C{i * PORTS + port - 1}")
                n += 1
        real = args.minutes * 60 / speed
        cpu0 = time.process_time()
        w0 = time.monotonic()
        breaches: list[tuple[float, str, int]] = []
        step = real / (args.breaches + 1)
        for b in range(args.breaches):
            time.sleep(step)
            pile, port = b % PILES, b // PILES + 1
            breaches.append((time.perf_counter(), f"P{pile}", port))
            sims[pile].set_load(port, 25_000)
        time.sleep(max(0.0, real - (time.monotonic() - w0)))
        wall = time.monotonic() - w0
        cpu = time.process_time() - cpu0
        polls = sum(s.polls for s in sims)
        service.stop()
        for s in sims:
            s.stop()
        store.engine.dispose()

    delays, processing = [], []
    for at, pile, port in breaches:
        match = [(t, e) for t, e in faults if e.fault.pile_id == pile and e.fault.port == port and e.fault.code == "1"]
        if match:
            delays.append(match[0][0] - at)
            if match[0][1].detected_at:
                processing.append(match[0][0] - match[0][1].detected_at)
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"ports: {PILES * PORTS} on {PILES} pty piles, sessions: {n}, simulated: {args.minutes:.0f} min at x{speed:g} ({wall:.1f} s real)")
    print(f"port reports handled: {polls * PORTS} ({polls * PORTS / wall:.0f}/s real)")
    print(f"CPU share (process, incl. simulators): {cpu / wall * 100:.1f}% of one core at x{speed:g}; "
          f"at real time about {cpu / wall * 100 / speed:.2f}%")
    print(f"peak memory (RSS): {rss:.0f} MiB")
    if delays:
        print(f"breach -> fault on screen: median {statistics.median(delays) * 1000:.0f} ms, max {max(delays) * 1000:.0f} ms "
              f"({len(delays)}/{len(breaches)} faults; includes waiting for the next poll and the {3:g} s start grace not applying)")
        print(f"reading received -> fault event: median {statistics.median(processing) * 1000:.1f} ms, max {max(processing) * 1000:.1f} ms")
    else:
        print("no faults seen")
    print("note: at real time a pile is polled every poll_s (0.5 s by default), so breach -> fault is up to that wait + the processing above")


if __name__ == "__main__":
    main()
