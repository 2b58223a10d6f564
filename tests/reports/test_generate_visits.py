"""The visit generator, run as a user runs it on a small scale, and the reports read back
from what it made: two independent computations of the same drawer must agree."""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
from datetime import date
from pathlib import Path

from sqlmodel import Session

from console.reports.db import read_connection
from console.reports.queries import (
    build_manager_report,
    build_shift_report,
    recent_shifts,
)
from console.store.audit import verify_chain
from console.store.audit_records import check_records
from console.store.engine import make_engine, sqlite_url

ROOT = Path(__file__).resolve().parents[2]


def test_generated_database_reports_consistently(tmp_path: Path) -> None:
    db = tmp_path / "generated.sqlite3"
    result = subprocess.run(
        [sys.executable, "scripts/generate_visits.py", "--out", str(db), "--visits", "4000", "--days", "10",
         "--audit", "full", "--end", "2026-03-31"],
        capture_output=True, text=True, cwd=ROOT, timeout=120,
    )
    assert result.returncode == 0, result.stderr
    assert "time taken:" in result.stdout and "visit 4,000" in result.stdout

    raw = sqlite3.connect(db)
    visits, open_visits = raw.execute("select count(*), sum(state = 'open') from visit").fetchone()
    numbers = [n for (n,) in raw.execute("select number from receipt order by number")]
    revenue = raw.execute(
        "select sum(amount_minor) from payment where created_at >= '2026-03-20 23:00' and created_at < '2026-03-30 22:00'"
    ).fetchone()[0]
    assert raw.execute("pragma journal_mode").fetchone()[0] == "wal"
    raw.close()
    assert visits == 4000 and 0 < open_visits < 400
    assert numbers == list(range(1, len(numbers) + 1))  # receipt numbers without gaps

    engine = make_engine(sqlite_url(db))
    try:
        shifts = recent_shifts(engine, "booth-1", limit=100)
        assert len(shifts) == 30 and shifts[0].closed_at is None  # 10 days x 3, the newest still open
        for shift in shifts[1:]:
            cash = build_shift_report(engine, shift.id, "Europe/Berlin").cash
            # The generator recorded what it put in the drawer; the report recomputes it
            # from payments and movements. They must agree to the cent.
            assert cash.recorded_expected == cash.expected, shift.id
            assert not any("add up" in note for note in cash.notes)
        month = build_manager_report(engine, date(2026, 3, 21), date(2026, 3, 30), "Europe/Berlin", currency="EUR")
        assert month.revenue_total.minor == revenue  # 29 March has 23 hours: local days, not UTC days
        assert len(month.occupancy) == 10 * 24 - 1
        with read_connection(engine) as conn, Session(bind=conn) as session:
            chain = verify_chain(session)
            findings = check_records(session)
        assert chain.ok and chain.entries > 2 * 4000 - open_visits
        # The records as the console writes them: every payment, receipt, override, gate
        # action and shift agrees with its audit entry.
        assert findings == []
    finally:
        engine.dispose()

    raw = sqlite3.connect(db)
    try:
        kinds = dict(raw.execute("select type, count(*) from outbox_event group by type").fetchall())
        unsent = raw.execute("select count(*) from outbox_event where sent_at is null").fetchone()[0]
        oldest = raw.execute("select min(occurred_at) from outbox_event").fetchone()[0]
        payload = raw.execute("select payload from outbox_event where type = 'payment.recorded' limit 1").fetchone()[0]
        receipt = raw.execute("select content from receipt where kind = 'receipt' limit 1").fetchone()[0]
    finally:
        raw.close()
    # The last 30 days of events, acknowledged, as the console keeps them.
    assert set(kinds) == {"visit.opened", "visit.closed", "payment.recorded"} and unsent == 0
    assert kinds["visit.opened"] == 4000 and oldest >= "2026-03-01"
    assert json.loads(payload)["method"] in ("cash", "card", "mobile", "account")
    assert json.loads(receipt)["plate"] and json.loads(receipt)["total_minor"] > 0

