"""Benchmark: how often one booth asks a cloud that answers every request with
503 Service Unavailable and `Retry-After: 1` (an overloaded cloud).

    .venv/bin/python tests/perf/bench_retry_load.py [--minutes 4] [--booths 1]

The "cloud" is a loopback HTTP server that counts every request and refuses it; each
booth is a real SyncService on its own SQLite file with a backlog of events. Printed:
requests per booth in each minute. Goal: under 2 per booth per minute after the first
minute (the backoff grows past the server's Retry-After, which is only its floor).
Figures are printed; nothing is asserted.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import threading
import time
from datetime import datetime, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))


class Overloaded(BaseHTTPRequestHandler):
    """Refuses everything, as an overloaded cloud (or its load balancer) does."""

    hits: list[float] = []
    lock = threading.Lock()

    def _refuse(self) -> None:
        with self.lock:
            self.hits.append(time.monotonic())
        length = int(self.headers.get("Content-Length") or 0)
        if length:
            self.rfile.read(length)
        body = b'{"error": "overloaded"}'
        self.send_response(503)
        self.send_header("Retry-After", "1")
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    do_GET = do_POST = do_PUT = _refuse  # noqa: N815 - the handler's names

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - the base's signature
        pass


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--minutes", type=float, default=4.0)
    parser.add_argument("--booths", type=int, default=1)
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="bench-retry-"))
    os.environ.setdefault("BOOTH_DATA_DIR", str(work / "data"))
    os.environ.setdefault("BOOTH_CONFIG_DIR", str(work / "config"))
    import logging

    logging.disable(logging.WARNING)
    from console.domain.clock import SystemClock
    from console.site.build import open_store
    from console.site.config import CloudSection
    from console.store import visits
    from console.store.engine import sqlite_url
    from console.sync.service import SyncService

    server = ThreadingHTTPServer(("127.0.0.1", 0), Overloaded)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{server.server_address[1]}"
    services = []
    for n in range(args.booths):
        store = open_store(sqlite_url(work / f"booth{n}.sqlite3"))
        for i in range(50):
            store.apply(visits.record_entry, plate=f"R{n}X{i}", zone="P1", lane="IN1", at=datetime.now(timezone.utc), currency="EUR")
        sync = SyncService(store, CloudSection(url=url), f"site-{n}", SystemClock(), lambda text: None, lambda: "token")
        services.append(sync)
    start = time.monotonic()
    for sync in services:
        sync.start()
    minutes = max(1, int(args.minutes + 0.999))
    print(f"{args.booths} booth(s) against a cloud answering 503 + Retry-After: 1, for {args.minutes:g} min")
    try:
        time.sleep(args.minutes * 60)
    finally:
        for sync in services:
            sync.stop()
        server.shutdown()
    for minute in range(minutes):
        count = sum(1 for t in Overloaded.hits if minute * 60 <= t - start < (minute + 1) * 60)
        print(f"minute {minute + 1}: {count / args.booths:.1f} requests per booth")
    later = [t for t in Overloaded.hits if t - start >= 60]
    span = max(args.minutes - 1, 1e-9)
    print(f"after the first minute: {len(later) / args.booths / span:.2f} requests per booth per minute (goal < 2)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
