"""A console killed between recording a stay and its barrier opening: after the restart
the same plate at the same lane, within the grace, opens the barrier (audited) instead of
being refused as a double exit or by anti-passback. Nothing else read again opens."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

from sqlmodel import Session, select

from console.domain.clock import FixedClock
from console.site.build import build_site, open_store
from console.site.config import parse_site
from console.site.events import ExitPending, LogEntry
from console.store import visits
from console.store.engine import sqlite_url
from console.store.tables import AuditRow, VisitRow
from drivers.gate.simworld import Traffic
from tests.conftest import T0, Recorder, site_text

ROOT = Path(__file__).resolve().parents[2]

# The barriers take 0.8 s to reach their limit switch (the default mechanics), so a kill
# right after the command lands before the controller reports them open.
SLOW_LANES = site_text().replace('gate = "sim://?timing=fast&rate=0"', 'gate = "sim://?rate=0"').replace('gate = "sim://?timing=fast"', 'gate = "sim://"')

CHILD = r"""
import sys, time
from datetime import timedelta
from console.domain.clock import FixedClock
from console.site.build import build_site, open_store
from console.site.config import parse_site
from console.site.events import ExitPending
from console.store import visits
from drivers.gate.simworld import Traffic
from tests.conftest import T0, Recorder
from tests.site.test_unconfirmed_open import SLOW_LANES
config = parse_site(SLOW_LANES, "t.toml")
clock = FixedClock(T0)
site = build_site(config, open_store(sys.argv[1]), clock=clock, traffic=Traffic(seed=1))
rec = Recorder(); site.bus.subscribe(rec); site.start(); site.staff.open_shift("ann", "0")
if sys.argv[2] == "exit":
    site.lanes.gates["IN1"].arrive("PAID9")
    rec.wait_for(lambda: site.store.query(visits.open_visit_for, "PAID9") is not None)
    rec.wait_for(lambda: site.store.query(visits.open_visit_for, "PAID9").entry_opened_at is not None, timeout=10)
    clock.advance(hours=1, minutes=30)
    site.lanes.gates["OUT1"].arrive("PAID9")
    rec.wait_for(lambda: bool(rec.of(ExitPending)), timeout=10)
    site.desk.pay_cash(rec.of(ExitPending)[0].ticket.id, "10", attendant="ann")
else:
    site.lanes.enter("IN1", "NEW9")
print("RECORDED", flush=True)
time.sleep(60)
"""


def _killed_after(db: Path, what: str) -> None:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.Popen([sys.executable, "-c", CHILD, sqlite_url(db), what], stdout=subprocess.PIPE, text=True, cwd=ROOT, env=env)
    assert proc.stdout is not None
    assert proc.stdout.readline().strip() == "RECORDED"
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()


def _restart(db: Path, at: timedelta):  # type: ignore[no-untyped-def]
    store = open_store(sqlite_url(db))
    site = build_site(parse_site(site_text(), "t.toml"), store, clock=FixedClock(T0 + at), traffic=Traffic(seed=2))
    rec = Recorder()
    site.bus.subscribe(rec)
    site.start()
    return site, rec


def _actions(site) -> list[str]:  # type: ignore[no-untyped-def]
    with Session(site.store.engine) as s:
        return [a.action for a in s.exec(select(AuditRow).order_by(AuditRow.seq)).all()]


def test_a_paid_exit_whose_barrier_never_opened_opens_on_the_next_read(tmp_path: Path) -> None:
    db = tmp_path / "crash.sqlite3"
    _killed_after(db, "exit")
    with Session(open_store(sqlite_url(db)).engine) as s:
        [row] = s.exec(select(VisitRow)).all()
    assert row.state == "closed" and row.entry_opened_at is not None and row.exit_opened_at is None
    site, rec = _restart(db, timedelta(hours=1, minutes=31))
    try:
        site.lanes.gates["OUT1"].arrive("PAID9")
        rec.wait_for(lambda: site.board.lane("OUT1").gate == "open", timeout=10)
        rec.wait_for(lambda: any("never opened; opened now" in e.text for e in rec.of(LogEntry)))
        rec.wait_for(lambda: site.store.query(visits.get_visit, row.id).exit_opened_at is not None)
        assert _actions(site).count("gate.reopen_exit") == 1
        assert not rec.of(ExitPending)  # nothing charged again
        rec.wait_for(lambda: site.board.lane("OUT1").gate == "closed", timeout=10)
        site.lanes.gates["OUT1"].arrive("PAID9")  # once confirmed, a re-read is a double exit
        rec.wait_for(lambda: any("double exit" in e.text for e in rec.of(LogEntry)), timeout=10)
        assert _actions(site).count("gate.reopen_exit") == 1
    finally:
        site.stop()


def test_an_entry_whose_barrier_never_opened_opens_only_within_the_grace(tmp_path: Path) -> None:
    db = tmp_path / "crash.sqlite3"
    _killed_after(db, "entry")
    site, rec = _restart(db, timedelta(minutes=1))
    try:
        outcome = site.lanes.enter("IN1", "NEW9")
        assert outcome.value == "entered"
        assert _actions(site).count("gate.reopen_entry") == 1
        with Session(site.store.engine) as s:
            assert len(s.exec(select(VisitRow)).all()) == 1  # one stay, not two
    finally:
        site.stop()
    db2 = tmp_path / "late.sqlite3"
    _killed_after(db2, "entry")
    late, _ = _restart(db2, timedelta(minutes=30))  # long after: anti-passback as ever
    try:
        assert late.lanes.enter("IN1", "NEW9").value == "inside"
        assert "gate.reopen_entry" not in _actions(late)
    finally:
        late.stop()
