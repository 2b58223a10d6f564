"""The process killed -9 at random points while it journals and merges: after every
restart nothing it acknowledged is lost and nothing is applied twice.

A real booth process (tests/faults/emergency_child.py) journals barriers moved by hand,
vehicles let in by hand and exits with cash taken, while its journal's thread merges
them into a real SQLite file; the test kills it at a random moment, starts it again on
the same files, and so on. At the end one more merge runs, and every decision the
process acknowledged (fsynced: its barrier would have moved) must be in the database
exactly once: one merge mark, one gate record, one visit per plate let in, one payment
per exit; the audit chain verifies and the file passes SQLite's integrity check.
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from pathlib import Path

import pytest
from sqlmodel import Session, select, text

from console.site.build import open_store
from console.site.emergency import EmergencyJournal
from console.store import emergency_records
from console.store.audit import verify_chain
from console.store.engine import sqlite_url
from console.store.tables import AuditRow, GateActionRow, PaymentRow, VisitRow

pytestmark = pytest.mark.sqlite_only

ROOT = Path(__file__).resolve().parents[2]


def _run_and_kill(db: Path, journal: Path, seed: int, rng: random.Random) -> list[str]:
    """Start the booth process and, once it works, kill -9 it at a random moment; what
    it printed."""
    child = subprocess.Popen(
        [sys.executable, "-m", "tests.faults.emergency_child", str(db), str(journal), str(seed)],
        cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    said: list[str] = []
    working = threading.Event()

    def read() -> None:
        assert child.stdout is not None
        for line in child.stdout:
            said.append(line.rstrip("\n"))
            working.set()

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    if not working.wait(60):  # past the imports (seconds on a busy machine)
        child.kill()
        raise AssertionError(f"the booth process never started: {child.communicate(timeout=30)[1][-2000:]}")
    time.sleep(rng.uniform(0.05, 0.8))
    os.kill(child.pid, signal.SIGKILL)
    child.wait(timeout=30)
    reader.join(timeout=30)
    assert child.returncode == -signal.SIGKILL
    return said


def _kill_loop(tmp_path: Path, iterations: int, seed: int) -> dict[str, int]:
    db = tmp_path / "booth.sqlite3"
    journal_file = tmp_path / "emergency.jsonl"
    open_store(sqlite_url(db)).dispose()  # the schema, once
    rng = random.Random(seed)
    acked: list[tuple[str, str, str]] = []
    for i in range(iterations):
        for said in _run_and_kill(db, journal_file, seed * 1000 + i, rng):
            if said.startswith("ACK "):
                kind, line_id, detail = said.split(" ")[1:4]
                acked.append((kind, line_id, detail))
    store = open_store(sqlite_url(db), migrate=False)
    try:
        journal = EmergencyJournal(journal_file, store, booth_id="booth-1")
        journal.merge()
        assert journal.pending() == []
        with Session(store.engine) as s:
            marks = Counter(r.subject for r in s.exec(select(AuditRow).where(AuditRow.action == emergency_records.MERGED)).all())
            gates = {g.id for g in s.exec(select(GateActionRow)).all()}
            plates = Counter(v.plate for v in s.exec(select(VisitRow)).all())
            paid = Counter(p.visit_id for p in s.exec(select(PaymentRow)).all())
            closed = {v.id for v in s.exec(select(VisitRow).where(VisitRow.state == "closed")).all()}
            report = verify_chain(s)
            integrity = s.connection().execute(text("PRAGMA integrity_check")).scalar_one()
        conflicts = store.query(emergency_records.conflicts)
    finally:
        store.dispose()
    lost = [a for a in acked if marks[a[1]] != 1]
    doubled = [m for m, n in marks.items() if n > 1]
    assert not lost, f"acknowledged but not merged once: {lost[:5]}"
    assert not doubled, doubled[:5]
    for kind, line_id, detail in acked:
        if kind in ("gate", "entry"):
            assert line_id in gates
        if kind == "entry":
            assert plates[detail] == 1, detail
        if kind == "exit":
            assert detail in closed and paid[detail] == 1, detail
    assert all(n == 1 for n in paid.values())  # nothing paid twice, acknowledged or not
    assert all(n == 1 for n in plates.values())
    assert conflicts == []
    assert report.ok, report.problem
    assert integrity == "ok"
    kinds = Counter(k for k, _, _ in acked)
    figures = {"kills": iterations, "acknowledged": len(acked), "merged": len(marks), "lost": len(lost), "doubled": len(doubled), **kinds}
    print(f"\nemergency journal under kill -9: {figures}")
    return figures


def test_kill9_while_journaling_and_merging_loses_and_doubles_nothing(tmp_path: Path) -> None:
    figures = _kill_loop(tmp_path, iterations=3, seed=11)
    assert figures["acknowledged"] > 10  # the kills really landed amid the work


@pytest.mark.slow
@pytest.mark.timeout(3600)
def test_kill9_soak(tmp_path: Path) -> None:
    # BOOTH_KILL9_KILLS=80 for the figure of about a thousand decisions.
    kills = int(os.environ.get("BOOTH_KILL9_KILLS", "40"))
    figures = _kill_loop(tmp_path, iterations=kills, seed=29)
    assert figures["acknowledged"] > 5 * kills
