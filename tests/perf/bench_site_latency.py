"""Plate-to-open latency through the whole console: the lane controller on a pty speaks
the serial lane protocol to the real driver; the site opens a visit, commits it to SQLite
(visit + audit + outbox, synchronous=FULL) and only then sends OPEN; the Textual app runs
headless and renders every event.

Measured from the plate frame's last byte written on the pty to the OPEN command's last
byte arriving back, for entries (an entry opens as soon as its visit is committed).

    .venv/bin/python tests/perf/bench_site_latency.py [--events 10000] [--baud 9600]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from console.cli import tune_for_booth  # noqa: E402
from console.logs import configure_logging  # noqa: E402

tune_for_booth()  # as `booth run` does, before Textual is imported
from console.site.build import build_site, open_store  # noqa: E402
from console.site.config import parse_site  # noqa: E402
from console.store.engine import sqlite_url  # noqa: E402
from console.ui.app import BoothApp  # noqa: E402
from drivers.gate.base import LaneRole  # noqa: E402
from tests.perf.bench_gate_latency import LatencyProbe, percentile  # noqa: E402

SITE = """
[site]
name = "Latency bench"
timezone = "Europe/Berlin"
currency = "EUR"
[tariff]
file = "default.toml"
[[zones]]
id = "P1"
capacity = 100000
[[lanes]]
id = "IN1"
direction = "entry"
zone = "P1"
gate = "{url}?baud={baud}"
[printer]
url = ""
"""


async def measure(events: int, warmup: int, baud: int, folder: Path) -> tuple[list[float], LatencyProbe, float]:
    probe = LatencyProbe(role=LaneRole.ENTRY)
    probe.start()
    config = parse_site(SITE.format(url=probe.url, baud=baud), "bench-site.toml")
    store = open_store(sqlite_url(folder / "bench.sqlite3"))
    site = build_site(config, store)
    app = BoothApp(site, attendant="bench")
    try:
        async with app.run_test(headless=True, size=(130, 36)) as pilot:
            while app.dashboard.site is None or site.board.lane("IN1").gate != "closed":
                await pilot.pause(0.05)
            await asyncio.to_thread(probe.run, warmup)
            loop = asyncio.get_running_loop()
            started = loop.time()
            latencies = await asyncio.to_thread(probe.run, events)
            wall = loop.time() - started
    finally:
        probe.stop()
    return latencies, probe, wall


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=10_000)
    parser.add_argument("--warmup", type=int, default=200)
    parser.add_argument("--baud", type=int, default=9600)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        configure_logging(Path(tmp))  # the console logs to a file, never over the screen
        latencies, probe, wall = asyncio.run(measure(args.events, args.warmup, args.baud, Path(tmp)))
    ms = [x * 1000 for x in latencies]
    plate_b = statistics.mean(probe.plate_bytes)
    open_b = statistics.mean(probe.open_bytes)
    ack_b = statistics.mean(probe.ack_bytes) if probe.ack_bytes else 7.0
    wire = (plate_b + ack_b + open_b) * 10 / args.baud * 1000
    print(f"plate frame written -> visit committed -> OPEN received, {len(ms)} entries through the whole console "
          f"(UI headless; {wall:.1f} s, {len(ms) / wall:.0f} vehicles/s)")
    print(f"  software: median {statistics.median(ms):.3f} ms   p90 {percentile(ms, 90):.3f} ms   "
          f"p99 {percentile(ms, 99):.3f} ms   max {max(ms):.3f} ms   (goal p99 < 10 ms)")
    print(f"  wire at {args.baud} baud: a real line adds about {wire:.1f} ms (plate {plate_b:.0f} B + ACK {ack_b:.0f} B + OPEN {open_b:.0f} B)")


if __name__ == "__main__":
    main()
