"""Foundation figures: console start-up to the first rendered dashboard, and the durable
write rate of entry events.

    .venv/bin/python tests/perf/bench_foundation.py [--runs 5] [--writes 2000]

Start-up: `booth demo` runs in a real pseudo-terminal exactly as a user starts it; the
clock stops when the dashboard's lanes and occupancy gauge have been drawn on the
terminal. Its floor, measured in turns with it: a hello-world Textual app (header, a
line, footer) started the same way. Goal: within 2x.

Writes: each entry is one transaction (visit + audit entry + outbox event) committed with
synchronous=FULL on a file in the data folder. The fsync time of that disk is measured first;
goal: each commit in at most 2 fsyncs' time.
"""

from __future__ import annotations

import argparse
import fcntl
import os
import pty
import select
import signal
import statistics
import struct
import sys
import tempfile
import termios
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))


def startup_once(booth: Path, data: Path, site: Path | None = None) -> tuple[float, float]:
    """Seconds from exec to the dashboard being on the terminal, and to the site being
    live (a lane shows the barrier position its device reported)."""
    env = {**os.environ, "BOOTH_DATA_DIR": str(data), "TERM": "xterm-256color", "COLUMNS": "130", "LINES": "36"}
    start = time.perf_counter()
    pid, fd = pty.fork()
    if pid == 0:
        os.execve(str(booth), [str(booth), "demo"] + (["--site", str(site)] if site else []), env)
    # Behave like a terminal emulator: it has a size, and it answers the device-attributes
    # query at once (the picture widgets ask it to find out about graphics support).
    fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack("HHHH", 36, 130, 720, 1300))
    answered = False
    seen = b""
    dashboard = None
    try:
        deadline = start + 20
        while time.perf_counter() < deadline:
            ready, _, _ = select.select([fd], [], [], 0.05)
            if not ready:
                continue
            try:
                chunk = os.read(fd, 65536)
            except OSError:
                break
            seen += chunk
            if not answered and b"\x1b[c" in seen:
                os.write(fd, b"\x1b[?62;22c")  # a VT220 with colour, no sixel graphics
                answered = True
            # The first full frame has every lane panel and the occupancy gauge's count.
            if dashboard is None and b"OUT2" in seen and b"free" in seen and b"Occupancy" in seen:
                dashboard = time.perf_counter() - start
            if dashboard is not None and b"CLOSED" in seen:
                return dashboard, time.perf_counter() - start
        raise RuntimeError("dashboard never appeared")
    finally:
        os.kill(pid, signal.SIGTERM)
        try:
            os.waitpid(pid, 0)
        except ChildProcessError:
            pass
        os.close(fd)


HELLO = """
from textual.app import App, ComposeResult
from textual.widgets import Footer, Header, Static


class Hello(App[None]):
    def compose(self) -> ComposeResult:
        yield Header()
        yield Static("Hello from the booth")
        yield Footer()


Hello().run()
"""


def hello_once(folder: Path) -> float:
    """Seconds from exec to a hello-world Textual app (header, one line, footer) being on
    the terminal: the floor of a Textual console's start-up on this machine."""
    script = folder / "hello_textual.py"
    script.write_text(HELLO)
    env = {**os.environ, "TERM": "xterm-256color", "COLUMNS": "130", "LINES": "36"}
    start = time.perf_counter()
    pid, fd = pty.fork()
    if pid == 0:
        os.execve(sys.executable, [sys.executable, str(script)], env)
    fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack("HHHH", 36, 130, 720, 1300))
    seen = b""
    try:
        deadline = start + 20
        while time.perf_counter() < deadline:
            ready, _, _ = select.select([fd], [], [], 0.05)
            if not ready:
                continue
            try:
                seen += os.read(fd, 65536)
            except OSError:
                break
            if b"Hello from the booth" in seen:
                return time.perf_counter() - start
        raise RuntimeError("the hello-world app never appeared")
    finally:
        os.kill(pid, signal.SIGTERM)
        try:
            os.waitpid(pid, 0)
        except ChildProcessError:
            pass
        os.close(fd)


def fsync_seconds(folder: Path, count: int = 200) -> list[float]:
    """How long one small append + fsync takes on this disk."""
    path = folder / "fsync.probe"
    times = []
    with open(path, "ab") as handle:
        for _ in range(count):
            handle.write(b"x" * 512)
            handle.flush()
            t = time.perf_counter()
            os.fsync(handle.fileno())
            times.append(time.perf_counter() - t)
    path.unlink()
    return times


def entry_writes(folder: Path, count: int) -> tuple[list[float], float]:
    from console.site.build import open_store
    from console.store import visits
    from console.store.engine import sqlite_url

    store = open_store(sqlite_url(folder / "writes.sqlite3"))
    t0 = datetime(2026, 3, 2, 8, 0, tzinfo=timezone.utc)
    latencies, cpu = [], []
    wall = time.perf_counter()
    for i in range(count):
        t, c = time.perf_counter(), time.process_time()
        store.apply(visits.record_entry, plate=f"W{i:07d}", zone="P1", lane="IN1", at=t0 + timedelta(seconds=i), currency="EUR")
        latencies.append(time.perf_counter() - t)
        cpu.append(time.process_time() - c)
    wall = time.perf_counter() - wall
    store.engine.dispose()
    return latencies, cpu, wall


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--writes", type=int, default=2000)
    args = parser.parse_args()
    booth = Path(sys.executable).with_name("booth")

    with tempfile.TemporaryDirectory(dir=ROOT) as tmp:
        folder = Path(tmp)
        from console.site.config import default_site_text

        lanes_only = folder / "lanes-only.toml"
        lanes_only.write_text(default_site_text().replace('url = "sim://?cars=2&rate=0.02"', 'url = ""'))
        hello_once(folder)  # warm the file cache
        for label, site in (("demo site, lanes only", lanes_only), ("demo site with the elevator camera", None)):
            startup_once(booth, folder, site)  # warm the file cache and write .pyc files
            runs, floors = [], []
            for _ in range(args.runs):  # interleaved, so the machine's load falls on both alike
                floors.append(hello_once(folder))
                runs.append(startup_once(booth, folder, site))
            first = [r[0] for r in runs]
            live = [r[1] for r in runs]
            floor = statistics.median(floors)
            print(f"{label}: start-up to first dashboard: median {statistics.median(first):.3f} s, "
                  f"max {max(first):.3f} s over {len(runs)} runs; hello-world Textual app beside it: median {floor:.3f} s "
                  f"-> {statistics.median(first) / floor:.2f}x (goal <= 2x)")
            print(f"{label}: start-up to site live (database migrated, lanes reporting): "
                  f"median {statistics.median(live):.3f} s, max {max(live):.3f} s")

        fsyncs = fsync_seconds(folder)
        fsync_median = statistics.median(fsyncs)
        latencies, cpu, wall = entry_writes(folder, args.writes)
        median = statistics.median(latencies)
        p99 = sorted(latencies)[int(len(latencies) * 0.99) - 1]
        cpu_median = statistics.median(cpu)
        waits = sorted(max(0.0, w - c) for w, c in zip(latencies, cpu))
        wait_median = statistics.median(waits)
        print(f"fsync on this disk: median {fsync_median * 1000:.3f} ms")
        print(f"entry events: {args.writes / wall:.0f} events/s committed durably "
              f"(visit + audit + outbox per transaction, synchronous=FULL, WAL)")
        print(f"commit latency: median {median * 1000:.3f} ms, p99 {p99 * 1000:.3f} ms "
              f"= {median / fsync_median:.2f} fsyncs' time in all")
        print(f"  of which CPU (SQL building, hashing, JSON): median {cpu_median * 1000:.3f} ms")
        print(f"  of which waiting on the disk: median {wait_median * 1000:.3f} ms "
              f"= {wait_median / fsync_median:.2f} fsyncs (goal <= 2)")


if __name__ == "__main__":
    main()
