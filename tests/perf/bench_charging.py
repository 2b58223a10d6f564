"""Charging benchmark: 200 e-bike ports (10 piles x 20) on real ptys, polled every
`poll_s` (the site file's default, 0.5 s) with half the ports charging.

Prints the console's CPU share and memory, and the delay from a current threshold breach
to the fault event the screen shows (goal: under 1 s) beside its floor, the wait for the
next poll. Run from the repository root:

    .venv/bin/python tests/perf/bench_charging.py [--speed 1] [--minutes 1]

The simulated piles run in this process too; their threads' CPU is counted apart from
the console's (per thread, from /proc). By default the run is at real time, so the CPU
share is the one a booth sees. At `--speed N` (a longer simulated time in the same real
time) the piles are polled N times as often: the figures are those of that poll rate,
not of real time, and nothing is scaled.
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
from tests.perf.threads import cpu_by, names, thread_cpu  # noqa: E402

PILES, PORTS = 10, 20


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--speed", type=float, default=1.0, help="simulated seconds per real second (1: real time)")
    ap.add_argument("--minutes", type=float, default=1.0, help="simulated minutes to run")
    ap.add_argument("--breaches", type=int, default=10)
    ap.add_argument("--poll", type=float, default=0.5, help="seconds between polls of a pile at real time (the site file's default)")
    args = ap.parse_args()
    speed = args.speed
    t0 = time.monotonic()
    sims = [EPileSimulator(PORTS, address=1, clock=lambda: t0 + (time.monotonic() - t0) * speed).start() for _ in range(PILES)]
    section = ChargingSection.model_validate({
        "models": [{"id": "eb", "min_a": 16, "max_a": 18, "start_grace_s": 3}],
        "epiles": [{"id": f"P{i}", "url": s.url, "ports": PORTS, "model": "eb", "region": f"R{i % 3}", "franchise": f"F{i % 2}",
                    "plan": "kwh", "poll_s": args.poll / speed} for i, s in enumerate(sims)],
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
        # A session can start once the console has read the plug (the next poll of its pile).
        deadline = time.monotonic() + 10 + 3 * args.poll
        while not all(p.plugged for p in service.ports()) and time.monotonic() < deadline:
            time.sleep(0.05)
        n = 0
        for i in range(PILES):
            for port in range(1, PORTS // 2 + 1):
                service.start_session(pile_id=f"P{i}", port=port, card_id=f"C{i * PORTS + port - 1}")
                n += 1
        real = args.minutes * 60 / speed
        cpu0 = time.process_time()
        threads0 = thread_cpu()
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
        console_cpu, device_cpu = cpu_by(threads0, thread_cpu(), lambda name: name.startswith("epile-sim"))
        running = names()
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
    poll = args.poll / speed
    print(f"ports: {PILES * PORTS} on {PILES} pty piles, sessions: {n}, simulated: {args.minutes:g} min at x{speed:g} ({wall:.1f} s real), "
          f"each pile polled every {poll * 1000:.0f} ms")
    print(f"port reports handled: {polls * PORTS} ({polls * PORTS / wall:.0f}/s real)")
    print(f"CPU share of one core: console threads {console_cpu / wall * 100:.1f}%, simulated piles beside them "
          f"{device_cpu / wall * 100:.1f}%, whole process {cpu / wall * 100:.1f}%"
          + ("" if speed == 1 else f" (at x{speed:g}: {speed:g} times the real-time poll rate; run --speed 1 for a booth's figure)"))
    print(f"peak memory (RSS, process with the simulators): {rss:.0f} MiB")
    print(f"threads: {running}")
    if delays:
        # The floor: a breach waits for its pile's next poll, on average half the interval.
        print(f"breach -> fault on screen: median {statistics.median(delays) * 1000:.0f} ms, max {max(delays) * 1000:.0f} ms "
              f"({len(delays)}/{len(breaches)} faults); floor, the wait for the next poll: {poll / 2 * 1000:.0f} ms on average, "
              f"{poll * 1000:.0f} ms at most")
        print(f"reading received -> fault event: median {statistics.median(processing) * 1000:.1f} ms, max {max(processing) * 1000:.1f} ms")
    else:
        print("no faults seen")

if __name__ == "__main__":
    main()
