"""Start-up of `booth run` on a database of 1,000,000 visits, beside an empty database.

    .venv/bin/python tests/perf/bench_startup_visits.py [--db /tmp/booth-bench-1m.sqlite3] [--runs 3]
    .venv/bin/python tests/perf/bench_startup_visits.py --statements     # also the slowest SQL at start, with plans

The big database is made by scripts/generate_visits.py (a year of a busy booth: 1M visits,
their payments, receipts, shifts and audit entries) and reused between runs, as
tests/perf/bench_reports.py does. The console runs in a real pseudo-terminal of 80x24 as
an attendant starts it: `booth run --site FILE --db URL`, on a site file of the demo's
lanes marked `simulated = true` with no traffic of its own and no printer, so nothing is written to the
books. Two times are printed per database:

- first frame: exec to the lanes drawn on the terminal (the screen comes first, drawn from
  the site file alone; the database opens in a worker);
- site live: exec to a lane showing the barrier position its device reported, which comes
  after the database is checked and migrated, occupancy counted, the queue and the shift
  read and the lanes started.

Each is measured after a clean quit (ctrl+q: the file is not read again at the next start)
and after a crash (no note of a clean close: PRAGMA quick_check reads every page).

With --statements the same start is also run in this process with every SQL statement
timed; the slowest are printed with SQLite's query plan, so a full scan of visits (SCAN
visit) shows by name. Figures, not asserts.
"""

from __future__ import annotations

import argparse
import fcntl
import importlib.util
import os
import pty
import re
import select
import shutil
import signal
import statistics
import struct
import sys
import tempfile
import termios
import time
from datetime import date
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from console.store.companions import CLOSED, companion  # noqa: E402

COLUMNS, LINES = 80, 24


def site_file(folder: Path) -> Path:
    """The demo's lanes as a site of its own: simulated, no arrivals, no elevator, no cloud."""
    from console.site.config import default_site_text

    text = default_site_text().replace("[site]\n", "[site]\nsimulated = true\n", 1)
    # The elevator stays off: its camera's start is the picture libraries' time, not the database's.
    text = re.sub(r'^url = "sim://\?cars=.*$', 'url = ""', text, count=1, flags=re.MULTILINE)
    text = text.replace("arrivals_per_hour = 30", "arrivals_per_hour = 0").replace("sim://?plugged=2", "sim://?plugged=0")
    # No printer: the generated year leaves some receipts unprinted, which a printer would
    # take at start (the print queue's time, not the start's).
    text = text.replace('url = "file://receipts.bin"', 'url = ""')
    path = folder / "site.toml"
    path.write_text(text, encoding="utf-8")
    from console.site.config import load_site

    load_site(path)  # a mistake here is the benchmark's, said at once
    return path


def startup_once(booth: Path, data: Path, site: Path, db: Path) -> tuple[float, float]:
    """Seconds from exec to the lanes on the terminal, and to the site being live."""
    env = {**os.environ, "BOOTH_DATA_DIR": str(data), "BOOTH_CONFIG_DIR": str(data / "config"),
           "TERM": "xterm-256color", "COLUMNS": str(COLUMNS), "LINES": str(LINES)}
    start = time.perf_counter()
    pid, fd = pty.fork()
    if pid == 0:
        os.execve(str(booth), [str(booth), "run", "--site", str(site), "--db", f"sqlite:///{db}"], env)
    fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack("HHHH", LINES, COLUMNS, 720, 800))
    answered = False
    seen = b""
    first = None
    try:
        deadline = start + 120
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
            if first is None and b"OUT2" in seen:
                first = time.perf_counter() - start
            if first is not None and b"CLOSED" in seen:
                live = time.perf_counter() - start
                _quit(pid, fd)
                return first, live
        tail = seen[-2000:].decode("utf-8", "replace")
        raise RuntimeError(f"the console never went live; the terminal last showed:\n{tail}")
    finally:
        try:
            os.kill(pid, signal.SIGTERM)
        except ProcessLookupError:
            pass
        try:
            os.waitpid(pid, 0)
        except ChildProcessError:
            pass
        os.close(fd)


def _quit(pid: int, fd: int, timeout: float = 30.0) -> None:
    """ctrl+q, as the attendant quits: the console stops the site and closes the database
    cleanly. Reads the terminal meanwhile so the console never blocks writing to it."""
    os.write(fd, b"\x11")
    deadline = time.perf_counter() + timeout
    while time.perf_counter() < deadline:
        done, _status = os.waitpid(pid, os.WNOHANG)
        if done:
            return
        ready, _, _ = select.select([fd], [], [], 0.05)
        if ready:
            try:
                os.read(fd, 65536)
            except OSError:
                pass


def _generator() -> Any:
    spec = importlib.util.spec_from_file_location("generate_visits", ROOT / "scripts" / "generate_visits.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def statements_at_start(site_path: Path, db: Path, top: int = 8) -> None:
    """Build and start the site in this process with every statement timed; print the
    slowest with their query plans."""
    import logging

    from sqlalchemy import event

    from console.site.build import build_site, open_store
    from console.site.config import load_site
    from console.store.engine import check_integrity, make_engine, sqlite_url

    logging.getLogger().addHandler(logging.NullHandler())  # the console's log lines are not figures
    timings: list[tuple[float, str, Any]] = []
    config = load_site(site_path)
    companion(db, CLOSED).unlink(missing_ok=True)  # time the full check
    t0 = time.perf_counter()
    engine = make_engine(sqlite_url(db), config.engine_settings)
    check_integrity(engine)  # PRAGMA quick_check: reads every page of the file
    engine.dispose()
    checked = time.perf_counter() - t0
    t0 = time.perf_counter()
    store = open_store(sqlite_url(db), settings=config.engine_settings)
    opened = time.perf_counter() - t0

    @event.listens_for(store.engine, "before_cursor_execute")
    def _before(conn: Any, cursor: Any, statement: str, parameters: Any, context: Any, executemany: bool) -> None:
        conn.info.setdefault("t", []).append(time.perf_counter())

    @event.listens_for(store.engine, "after_cursor_execute")
    def _after(conn: Any, cursor: Any, statement: str, parameters: Any, context: Any, executemany: bool) -> None:
        timings.append((time.perf_counter() - conn.info["t"].pop(), statement, parameters))

    t1 = time.perf_counter()
    site = build_site(config, store)
    site.start()
    started = time.perf_counter() - t1
    site.stop()
    print(f"  in process: quick check {checked:.3f} s; database opened (schema current) {opened:.3f} s; site built and started {started:.3f} s, "
          f"{len(timings)} statements, {sum(t for t, _s, _p in timings):.3f} s in SQL")
    import sqlite3

    con = sqlite3.connect(db)
    for seconds, statement, parameters in sorted(timings, key=lambda t: -t[0])[:top]:
        one_line = " ".join(statement.split())
        print(f"  {seconds * 1000:8.2f} ms  {one_line[:150]}")
        if statement.lstrip().upper().startswith("SELECT"):
            try:
                plan = con.execute("EXPLAIN QUERY PLAN " + statement, parameters or ()).fetchall()
            except sqlite3.Error as exc:
                plan = [(0, 0, 0, f"(no plan: {exc})")]
            for row in plan:
                print(f"               plan: {row[3]}")
    con.close()
    store.engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--db", default="/tmp/booth-bench-1m.sqlite3", help="the big database (built if missing)")
    parser.add_argument("--visits", type=int, default=1_000_000, help="visits when building (default 1,000,000)")
    parser.add_argument("--runs", type=int, default=3, help="starts per database after a warm-up (default 3)")
    parser.add_argument("--statements", action="store_true", help="also time each SQL statement of the start")
    args = parser.parse_args()
    booth = Path(sys.executable).with_name("booth")
    big = Path(args.db)
    if not big.exists():
        print(f"building {big} with {args.visits:,} visits ...", flush=True)
        gen = _generator()
        result = gen.generate(gen.Config(big, args.visits, 365, date(2026, 11, 1), gen.ZoneInfo("Europe/Berlin"), 1, "EUR",
                                         "booth-1", "full"))
        print(f"  built in {result['seconds']:.1f} s", flush=True)

    with tempfile.TemporaryDirectory(dir=ROOT) as tmp:
        folder = Path(tmp)
        # The console's folders (audit key, logs) for the runs and for this process alike.
        os.environ["BOOTH_DATA_DIR"] = str(folder)
        os.environ["BOOTH_CONFIG_DIR"] = str(folder / "config")
        site = site_file(folder)
        empty = folder / "empty.sqlite3"
        from console.site.build import open_store
        from console.store.engine import sqlite_url

        open_store(sqlite_url(empty)).engine.dispose()  # migrated, as the big one is
        import sqlite3

        with sqlite3.connect(big) as con:
            visits = con.execute("SELECT count(*) FROM visit").fetchone()[0]
            open_visits = con.execute("SELECT count(*) FROM visit WHERE exit_at IS NULL").fetchone()[0]
        # The big file is copied, so the runs never change the generated one.
        copy = folder / "big.sqlite3"
        shutil.copyfile(big, copy)
        # A manager exists in both, so each start shows the lanes behind the sign-in, not the
        # first manager's form (the generated year has no users table rows of its own).
        import subprocess

        for db in (empty, copy):
            subprocess.run([str(booth), "user", "add", "max", "--role", "manager", "--pin-stdin", "--db", f"sqlite:///{db}"],
                           input="246810\n", text=True, check=True, capture_output=True,
                           env={**os.environ, "BOOTH_DATA_DIR": str(folder), "BOOTH_CONFIG_DIR": str(folder / "config")})
        print(f"`booth run` at {COLUMNS}x{LINES}, site {site.name} (4 simulated lanes, no traffic)")
        for label, db, count in (("empty database", empty, 0), (f"{visits:,} visits ({open_visits:,} open)", copy, visits)):
            startup_once(booth, folder, site, db)  # warm the file cache and the .pyc files; migrates
            size = db.stat().st_size / 1e6
            marker = companion(db, CLOSED)
            # After a clean quit the file is not read again; after a crash (no note of a
            # clean close) every page is, by PRAGMA quick_check.
            for how, crashed in (("after a clean quit", False), ("after a crash", True)):
                runs = []
                for _ in range(args.runs):
                    if crashed:
                        marker.unlink(missing_ok=True)
                    runs.append(startup_once(booth, folder, site, db))
                first = [r[0] for r in runs]
                live = [r[1] for r in runs]
                print(f"{label} ({size:,.0f} MB), {how}: first frame median {statistics.median(first):.3f} s "
                      f"(max {max(first):.3f}), site live median {statistics.median(live):.3f} s (max {max(live):.3f}) "
                      f"over {len(runs)} runs", flush=True)
            if args.statements:
                statements_at_start(site, db)


if __name__ == "__main__":
    main()
