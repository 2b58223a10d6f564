"""How long the demo keeps you waiting for an exit: the simulated site of `booth demo`
(its clock 10 times faster, its parked cars, its wired lanes) runs with auto-pay on, and
every vehicle reaching an exit is timed. Pressing ctrl+a (auto-pay off) at any moment,
the next exit comes after the gap it falls into; printed: the first exit after start,
the longest gap, and the mean wait for a press at a random moment.

    .venv/bin/python tests/perf/bench_demo_exits.py --seconds 420
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
os.environ.setdefault("BOOTH_DATA_DIR", tempfile.mkdtemp(prefix="booth-bench-"))

from console.domain.clock import ScaledClock  # noqa: E402
from console.site.build import build_site, open_store, site_traffic  # noqa: E402
from console.site.config import sample_site  # noqa: E402
from console.site.demo import add_demo_staff, park_demo_cars  # noqa: E402
from console.site.events import ExitPending, SiteEvent  # noqa: E402
from console.site.headless import AutoAttendant  # noqa: E402
from console.store.engine import sqlite_url  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=420.0, help="real seconds to run (default 420)")
    parser.add_argument("--speed", type=float, default=10.0, help="demo clock speed (default 10, as booth demo)")
    args = parser.parse_args()
    config = sample_site("en")
    store = open_store(sqlite_url(Path(os.environ["BOOTH_DATA_DIR"]) / "bench-demo.sqlite3"))
    traffic = site_traffic(config, args.speed)
    site = build_site(config, store, clock=ScaledClock(args.speed), speed=args.speed, traffic=traffic)
    add_demo_staff(site)
    parked = park_demo_cars(site, traffic)
    arrivals: list[float] = []
    lock = threading.Lock()

    def seen(event: SiteEvent) -> None:
        if isinstance(event, ExitPending):
            with lock:
                arrivals.append(time.monotonic())

    site.bus.subscribe(seen)
    auto = AutoAttendant(site, name="demo")
    started = time.monotonic()
    auto.start()
    site.start()
    try:
        time.sleep(args.seconds)
    finally:
        site.stop()
        auto.stop()
    ended = time.monotonic()
    moments = [started, *arrivals, ended]
    gaps = [b - a for a, b in zip(moments, moments[1:])]
    total = ended - started
    mean_wait = sum(g * g for g in gaps) / (2 * total)  # a press uniform in time lands in a gap in proportion to its length
    print(f"parked at start: {parked.count} cars; run: {total:.0f} s at {args.speed:g}x; exits reaching the desk: {len(arrivals)}")
    print(f"first exit after start: {arrivals[0] - started:.1f} s" if arrivals else "first exit after start: none")
    print(f"longest wait for an exit: {max(gaps):.1f} s; mean wait after a press at a random moment: {mean_wait:.1f} s")


if __name__ == "__main__":
    main()
