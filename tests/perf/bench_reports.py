"""Report figures on a year of a busy site: the shift (Z) report and the manager report.

    .venv/bin/python tests/perf/bench_reports.py                      # builds /tmp/booth-bench-1m.sqlite3 once
    .venv/bin/python tests/perf/bench_reports.py --db FILE [--rebuild] [--visits N] [--plans]

The database is made by scripts/generate_visits.py (1,000,000 visits by default) and reused
on later runs. Each figure is the first call after the database is opened, then the
median and worst of `--repeat` more calls. Goals: a shift report and a 30-day manager
report each under 1 s. `--plans` prints SQLite's plan for the heaviest statements.
"""

from __future__ import annotations

import argparse
import importlib.util
import statistics
import sys
import time
from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from typing import Any, Callable

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from console.store.engine import make_engine, sqlite_url  # noqa: E402

TZ = "Europe/Berlin"


def _generator() -> Any:
    spec = importlib.util.spec_from_file_location("generate_visits", ROOT / "scripts" / "generate_visits.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up while it loads
    spec.loader.exec_module(module)
    return module


def timed(label: str, fn: Callable[[], Any], repeat: int) -> Any:
    start = time.perf_counter()
    result = fn()
    first = time.perf_counter() - start
    runs = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        runs.append(time.perf_counter() - start)
    median = statistics.median(runs) if runs else first
    worst = max(runs) if runs else first
    print(f"  {label:<44} first {first * 1000:8.1f} ms   median {median * 1000:8.1f} ms   worst {worst * 1000:8.1f} ms")
    return result


def plans(engine: Any, start: datetime, end: datetime) -> None:
    from sqlalchemy import text

    statements = {
        "payments by hour bucket and method": "SELECT substr(created_at,1,13), method, count(*), sum(amount_minor) FROM payment "
                                               "WHERE created_at >= :s AND created_at < :e AND currency = 'EUR' GROUP BY 1, 2",
        "stays (dwell)": "SELECT round((julianday(exit_at) - julianday(entry_at)) * 86400) FROM visit "
                         "WHERE exit_at >= :s AND exit_at < :e AND coalesce(close_reason, '') != 'stale'",
        "entries by hour bucket": "SELECT substr(entry_at,1,13), count(*) FROM visit WHERE entry_at >= :s AND entry_at < :e GROUP BY 1",
        "shift payments by method": "SELECT method, currency, count(*), sum(amount_minor) FROM payment WHERE shift_id = :id GROUP BY 1, 2",
        "shift exits by reason": "SELECT coalesce(close_reason,''), count(*) FROM visit WHERE exit_at >= :s AND exit_at < :e GROUP BY 1",
    }
    fmt = "%Y-%m-%d %H:%M:%S.%f"
    with engine.connect() as conn:
        for name, sql in statements.items():
            rows = conn.execute(text("EXPLAIN QUERY PLAN " + sql), {"s": start.strftime(fmt), "e": end.strftime(fmt), "id": "x"}).all()
            print(f"  {name}:")
            for row in rows:
                print(f"      {row[-1]}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--db", default="/tmp/booth-bench-1m.sqlite3", help="database file (built if missing)")
    parser.add_argument("--visits", type=int, default=1_000_000, help="visits when building (default 1,000,000)")
    parser.add_argument("--rebuild", action="store_true", help="build the database again")
    parser.add_argument("--repeat", type=int, default=5, help="calls after the first (default 5)")
    parser.add_argument("--plans", action="store_true", help="print query plans")
    args = parser.parse_args(argv)

    path = Path(args.db)
    gen = _generator()
    if args.rebuild or not path.exists():
        print(f"building {path} with {args.visits:,} visits ...", flush=True)
        cfg = gen.Config(path, args.visits, 365, date(2026, 11, 1), gen.ZoneInfo(TZ), 1, "EUR", "booth-1", "full")
        result = gen.generate(cfg)
        print(f"  built in {result['seconds']:.1f} s: " + ", ".join(f"{t} {n:,}" for t, n in result["rows"].items()))
    size_mb = path.stat().st_size / 1e6

    from console.reports.export import shift_report_csv, shift_report_pdf
    from console.reports.printout import shift_report_document
    from console.reports.queries import (
        build_manager_report,
        build_shift_report,
        last_shift_id,
        recent_shifts,
    )

    engine = make_engine(sqlite_url(path))
    from sqlalchemy import text

    with engine.connect() as conn:
        visits = conn.execute(text("SELECT count(*) FROM visit")).scalar_one()
        payments = conn.execute(text("SELECT count(*) FROM payment")).scalar_one()
        last_exit = conn.execute(text("SELECT max(exit_at) FROM visit")).scalar_one()
    print(f"database {path}: {size_mb:,.0f} MB, {visits:,} visits, {payments:,} payments")
    last_day = datetime.fromisoformat(str(last_exit)).replace(tzinfo=timezone.utc).astimezone(gen.ZoneInfo(TZ)).date()

    print("shift (Z) report")
    shift_id = timed("last_shift_id", lambda: last_shift_id(engine, "booth-1"), args.repeat)
    report = timed("build_shift_report (last closed shift)", lambda: build_shift_report(engine, shift_id, TZ), args.repeat)
    shifts = recent_shifts(engine, "booth-1", limit=2000)
    middle = shifts[len(shifts) // 2].id
    timed("build_shift_report (a shift half a year ago)", lambda: build_shift_report(engine, middle, TZ), args.repeat)
    timed("receipt printout document", lambda: shift_report_document(report), args.repeat)
    timed("CSV export", lambda: shift_report_csv(report), args.repeat)
    timed("PDF export", lambda: shift_report_pdf(report), max(1, args.repeat // 2))
    print(f"  (that shift: {report.payment_count} payments, {report.visits.exits} exits, {len(report.overrides)} overrides)")

    print(f"manager report (periods ending {last_day})")
    month = timed("30 days", lambda: build_manager_report(engine, last_day - timedelta(days=29), last_day, TZ), args.repeat)
    timed("7 days", lambda: build_manager_report(engine, last_day - timedelta(days=6), last_day, TZ), args.repeat)
    timed("1 day", lambda: build_manager_report(engine, last_day, last_day, TZ), args.repeat)
    old = last_day - timedelta(days=200)
    timed("30 days, half a year ago", lambda: build_manager_report(engine, old - timedelta(days=29), old, TZ), args.repeat)
    timed("365 days (for scale; no goal)", lambda: build_manager_report(engine, last_day - timedelta(days=364), last_day, TZ),
          max(1, args.repeat // 5))
    print(f"  (30 days: {month.payment_count:,} payments, revenue {month.revenue_total}, {month.exits:,} exits)")

    print("audit")
    from sqlmodel import Session

    from console.reports.db import read_connection
    from console.store.audit import verify_chain

    def verify() -> Any:
        with read_connection(engine) as conn, Session(bind=conn) as session:
            return verify_chain(session)

    chain = timed("verify_chain (whole chain)", verify, 0)
    print(f"  ({chain.entries:,} entries, intact: {chain.ok})")

    if args.plans:
        print("query plans")
        start = datetime.combine(last_day - timedelta(days=29), datetime.min.time())
        plans(engine, start, start + timedelta(days=30))
    engine.dispose()
    return 0


if __name__ == "__main__":
    sys.exit(main())
