"""Figures for the database faults an exit desk meets mid-payment, on the real console
site (simulated lanes, the real store):

- SQLite: another program holds the file's write lock longer than the busy timeout;
- the SQLite file made unwritable (`chattr +i`), moved away and put back, its disk full;
- PostgreSQL (when a server can be started, as the tests do): the server's processes
  are frozen (SIGSTOP), as a hung host or a saturated server looks from the booth.

For each: time until the attendant is told, time from the fault clearing to the retried
payment going through, payments lost (goal 0), payments doubled (goal 0), audit chain
intact. Run from the repository root:

    .venv/bin/python tests/perf/fault_figures.py [--hold 3]

Figures are printed; nothing is asserted.
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
import tempfile
import threading
import time
from datetime import datetime, timezone
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))


def _scenario(name: str, url: str, extra: str, fault, hold: float) -> None:  # type: ignore[no-untyped-def]
    from sqlalchemy import text
    from sqlmodel import Session, select

    from console.domain.clock import FixedClock
    from console.site.build import build_site, open_store
    from console.site.config import parse_site
    from console.site.errors import SiteError
    from console.site.events import ExitPending
    from console.store import visits
    from console.store.audit import verify_chain
    from console.store.tables import PaymentRow
    from drivers.gate.simworld import Traffic
    from tests.conftest import Recorder, site_text

    config = parse_site(site_text(200, extra), "fault.toml")
    store = open_store(url, settings=config.engine_settings)
    clock = FixedClock(datetime(2026, 3, 2, 8, 0, tzinfo=timezone.utc))
    site = build_site(config, store, clock=clock, traffic=Traffic(seed=9))
    rec = Recorder()
    site.bus.subscribe(rec)
    site.start()
    try:
        site.staff.open_shift("ann", "0")
        site.lanes.gates["IN1"].arrive("FLT1")
        rec.wait_for(lambda: site.store.query(visits.open_visit_for, "FLT1") is not None)
        clock.advance(hours=2, minutes=5)
        site.lanes.gates["OUT1"].arrive("FLT1")
        rec.wait_for(lambda: bool(rec.of(ExitPending)))
        ticket = rec.of(ExitPending)[-1].ticket
        cleared = threading.Event()
        with fault(store, cleared, hold):
            started = time.monotonic()
            try:
                site.desk.pay_cash(ticket.id, "10", attendant="ann")
                told, message = time.monotonic() - started, "(paid during the fault)"
            except SiteError as exc:
                told, message = time.monotonic() - started, str(exc)
        cleared.wait(hold + 30)
        cleared_at = time.monotonic()
        retried = None
        while retried is None and time.monotonic() - cleared_at < 60:
            try:
                site.desk.pay_cash(ticket.id, "10", attendant="ann")
                retried = time.monotonic() - cleared_at
            except SiteError:
                time.sleep(0.1)
        with Session(store.engine) as s:
            payments = s.exec(select(PaymentRow)).all()
            chain = verify_chain(s)
            s.connection().execute(text("SELECT 1"))
        print(f"{name}")
        print(f"  attendant told after   : {told:.2f} s  ({message[:90]})")
        print(f"  retry through after    : {retried:.2f} s from the fault clearing" if retried is not None else "  retry never went through")
        print(f"  payments lost / doubled: {0 if payments else 1} / {max(0, len(payments) - 1)}")
        print(f"  audit chain            : {'intact' if chain.ok else 'BROKEN: ' + chain.problem} ({chain.entries} entries)")
    finally:
        site.stop()
        store.engine.dispose()


def _file_scenarios(work: Path, hold: float) -> None:
    """The SQLite file itself under the running console: made unwritable (`chattr +i`,
    which stops root too), moved away and put back, and its disk filled to the last byte
    (a tmpfs mounted for the run). A scenario this machine cannot produce says so."""
    from contextlib import contextmanager

    from console.store.engine import sqlite_url
    from tests.faults.files import FaultUnavailable, database_files, disk_full, immutable, small_disk, try_immutable

    def later(cleared: threading.Event, hold: float, undo) -> None:  # type: ignore[no-untyped-def]
        def run() -> None:
            undo()
            cleared.set()

        threading.Timer(hold, run).start()

    @contextmanager
    def unwritable(store, cleared, hold):  # type: ignore[no-untyped-def]
        path = Path(store.engine.url.database)
        guard = immutable(path)
        guard.__enter__()
        later(cleared, hold, lambda: guard.__exit__(None, None, None))
        yield

    @contextmanager
    def moved(store, cleared, hold):  # type: ignore[no-untyped-def]
        path = Path(store.engine.url.database)
        aside = path.parent / "aside"
        aside.mkdir(exist_ok=True)
        files = database_files(path)
        for f in files:
            f.rename(aside / f.name)
        later(cleared, hold, lambda: [(aside / f.name).rename(f) for f in files])
        yield

    @contextmanager
    def full(store, cleared, hold):  # type: ignore[no-untyped-def]
        path = Path(store.engine.url.database)
        guard = disk_full(path.parent)
        guard.__enter__()
        later(cleared, hold, lambda: guard.__exit__(None, None, None))
        yield

    folder = work / "files"
    folder.mkdir()
    try:
        try_immutable(folder)
        _scenario(f"SQLite file made unwritable (chattr +i) for {hold:g} s", sqlite_url(folder / "ro.sqlite3"), "", unwritable, hold)
    except FaultUnavailable as exc:
        print(f"SQLite file made unwritable: skipped ({exc})")
    _scenario(f"SQLite file moved away, put back after {hold:g} s", sqlite_url(folder / "moved.sqlite3"), "", moved, hold)
    try:
        with small_disk(work / "disk", "24m") as disk:
            _scenario(f"Disk full (a 24 MB tmpfs filled to the last byte) for {hold:g} s", sqlite_url(disk / "full.sqlite3"), "", full, hold)
    except FaultUnavailable as exc:
        print(f"Disk full: skipped ({exc})")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--hold", type=float, default=3.0, help="seconds the fault lasts (default 3)")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="booth-faults-"))
    os.environ.setdefault("BOOTH_DATA_DIR", str(work / "data"))
    os.environ.setdefault("BOOTH_CONFIG_DIR", str(work / "config"))
    import logging

    logging.disable(logging.ERROR)
    from contextlib import contextmanager

    from console.store.engine import sqlite_url
    from tests.faults.locks import write_lock_held

    @contextmanager
    def sqlite_lock(store, cleared, hold):  # type: ignore[no-untyped-def]
        with write_lock_held(store):
            threading.Timer(hold, cleared.set).start()
            yield
            cleared.wait(hold + 5)  # the lock goes when the block ends

    _scenario("SQLite write lock held by another program (busy timeout 1 s)", sqlite_url(work / "booth.sqlite3"),
              "\n[database]\nbusy_timeout_ms = 1000\n", sqlite_lock, args.hold)

    _file_scenarios(work, args.hold)

    from tests.support.postgres import PostgresUnavailable, start_postgres

    try:
        server = start_postgres()
    except PostgresUnavailable as exc:
        print(f"PostgreSQL frozen mid-payment: skipped ({exc})")
        return 0
    try:
        url = server.url(server.create_database(migrated=True))

        @contextmanager
        def frozen(store, cleared, hold):  # type: ignore[no-untyped-def]
            from sqlalchemy import text

            with store.engine.connect() as conn:
                pids = [int(r[0]) for r in conn.execute(text(
                    "SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()"))]
            for pid in pids:
                os.kill(pid, signal.SIGSTOP)

            def thaw() -> None:
                for pid in pids:
                    os.kill(pid, signal.SIGCONT)
                cleared.set()

            threading.Timer(hold, thaw).start()
            yield

        _scenario(f"PostgreSQL server processes frozen for {args.hold:g} s (stall timeout 1.5 s)", url,
                  "\n[database]\nstall_timeout_s = 1.5\nbusy_timeout_ms = 500\n", frozen, args.hold)
    finally:
        server.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
