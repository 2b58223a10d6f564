"""Resident memory and threads of the running demo, beside a hello-world Textual app.

    .venv/bin/python tests/perf/bench_memory.py [--minutes 1]      # --minutes 60: the hour

`booth demo` runs in a real pseudo-terminal as a user starts it (its simulated lanes,
elevator, piles and its own cloud); after `--minutes` the process reads its own resident
memory and lists its threads by name. The floor, started the same way and read after the
same warm-up (at most a minute: it does nothing meanwhile), is a hello-world Textual app.
Goal: under 100 MiB for the demo.
"""

from __future__ import annotations

import argparse
import fcntl
import json
import os
import pty
import select
import signal
import struct
import sys
import tempfile
import termios
import threading
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

# Why each thread of the demo runs, by the start of its name; "demo" ones are the demo's
# simulated devices and its own cloud, which a real site does not run in the console.
WHY: tuple[tuple[str, str, bool], ...] = (
    ("MainThread", "Textual's event loop: the screen", False),
    ("textual-", "Textual's terminal reader and writer", False),
    ("asyncio", "Textual's pool for blocking calls", False),
    ("gate ", "a lane driver's event dispatch (one per lane): a slow listener never holds the wire", False),
    ("gate-gate ", "a lane's serial line: reader (-line), writer (-tx) or Modbus poller", False),
    ("camera-", "the elevator camera's capture", False),
    ("elevator-", "the elevator controller's serial line", False),
    ("ride-", "the elevator rides: frames to portrait (capture), billing (dispatch), retention", False),
    ("epile-", "a charging pile's serial line", False),
    ("charging", "the charging piles' readings and sessions", False),
    ("live-occupancy", "site-wide occupancy: waits on the database's change feed", False),
    ("audit-anchors", "copies the audit chain's head outside the database", False),
    ("emergency-journal", "merges manual barrier moves journaled while the database was down", False),
    ("print-queue", "the receipt printer's queue", False),
    ("printer-monitor", "asks the receipt printer between receipts whether it is ready", False),
    ("booth-cloud-sync", "the outbox pump and the cloud pulls", False),
    ("auto-attendant", "the demo's auto-pay (ctrl+a)", True),
    ("sim-", "a simulated device (lane controller, barrier, car, elevator, pile, relay board)", True),
    ("cloud-server", "the demo's own reference cloud", True),
    ("AnyIO worker", "the demo cloud's pool for its blocking handlers", True),
)


# Libraries that weigh in resident memory (MiB each adds on import here, roughly: textual 23,
# sqlalchemy 20, fpdf 25, cv2 16, numpy 12, alembic 11, escpos 8): which ones the process holds.
HEAVY = ("textual", "sqlalchemy", "sqlmodel", "alembic", "pydantic", "httpx", "numpy", "cv2", "PIL", "escpos", "pymodbus", "starlette",
         "uvicorn", "ocpp", "websockets", "fpdf", "plotext", "argon2", "cryptography", "keyring", "psycopg")


def why(name: str) -> tuple[str, bool]:
    """What a thread is for, and whether only the demo runs it."""
    for prefix, reason, demo_only in WHY:
        if name.startswith(prefix):
            return reason, demo_only
    return "?", False


def _rss_mib() -> float:
    with open("/proc/self/status", encoding="ascii") as handle:
        for line in handle:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


def child(kind: str, seconds: float, out: str) -> None:
    """Inside the measured process: after `seconds`, write its memory and threads, then end."""
    from tests.perf.threads import names

    def report() -> None:
        time.sleep(seconds)
        os_threads = len(os.listdir("/proc/self/task"))
        loaded = [m for m in HEAVY if m in sys.modules]
        Path(out).write_text(json.dumps({"rss": _rss_mib(), "threads": names(), "count": threading.active_count(), "os_threads": os_threads,
                                         "loaded": loaded}))
        os._exit(0)  # the terminal is the benchmark's pty: nothing to restore

    threading.Thread(target=report, name="bench-report", daemon=True).start()
    if kind == "hello":
        from textual.app import App, ComposeResult
        from textual.widgets import Footer, Header, Static

        class Hello(App[None]):
            def compose(self) -> ComposeResult:
                yield Header()
                yield Static("Hello from the booth")
                yield Footer()

        Hello().run()
    else:
        from console.cli import main

        main(["demo"])
    time.sleep(3600)  # the app ended early: the report thread still answers


def measure(kind: str, seconds: float, folder: Path) -> dict[str, Any]:
    out = folder / f"{kind}.json"
    out.unlink(missing_ok=True)
    env = {**os.environ, "BOOTH_DATA_DIR": str(folder / "data"), "TERM": "xterm-256color"}
    pid, fd = pty.fork()
    if pid == 0:
        os.execve(sys.executable, [sys.executable, __file__, "--child", kind, "--seconds", str(seconds), "--out", str(out)], env)
    fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack("HHHH", 36, 130, 720, 1300))
    answered, seen = False, b""
    deadline = time.monotonic() + seconds + 60
    try:
        while time.monotonic() < deadline and not out.exists():
            ready, _, _ = select.select([fd], [], [], 0.2)
            if not ready:
                continue
            try:
                chunk = os.read(fd, 65536)
            except OSError:
                break
            if not answered:
                seen += chunk
                if b"\x1b[c" in seen:
                    os.write(fd, b"\x1b[?62;22c")
                    answered = True
        time.sleep(0.2)
        if not out.exists():
            raise RuntimeError(f"{kind}: no report")
        return dict(json.loads(out.read_text()))
    finally:
        try:
            os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
        except (ProcessLookupError, ChildProcessError):
            pass
        os.close(fd)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--minutes", type=float, default=1.0, help="how long the demo runs before it is measured")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--seconds", type=float, help=argparse.SUPPRESS)
    parser.add_argument("--out", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.child, args.seconds, args.out)
        return
    seconds = args.minutes * 60
    with tempfile.TemporaryDirectory(dir=ROOT) as tmp:
        folder = Path(tmp)
        hello = measure("hello", min(seconds, 60.0), folder)
        demo = measure("demo", seconds, folder)
    ratio = demo["rss"] / hello["rss"] if hello["rss"] else float("inf")
    print(f"booth demo after {args.minutes:g} min: resident memory {demo['rss']:.0f} MiB (goal < 100 MiB); "
          f"hello-world Textual app beside it: {hello['rss']:.0f} MiB -> {ratio:.1f}x")
    print(f"threads: {demo['count']} Python threads ({demo['os_threads']} in the OS, with the libraries' own); "
          f"hello-world: {hello['count']} ({hello['os_threads']})")
    print(f"libraries held: demo: {', '.join(demo['loaded'])}; hello-world: {', '.join(hello['loaded'])}")
    parts = [p for p in demo["threads"].split(", ") if not p.startswith("bench-report")]
    count = {True: 0, False: 0}
    for part in parts:
        count[why(part.split(" x")[0])[1]] += int(part.rsplit(" x", 1)[1]) if " x" in part else 1
    print(f"  the console's own: {count[False]}; the demo's simulated devices and cloud: {count[True]}")
    for part in parts:
        reason, demo_only = why(part.split(" x")[0])
        print(f"  {part}: {reason}{' (demo only)' if demo_only else ''}")


if __name__ == "__main__":
    main()
