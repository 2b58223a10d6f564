"""A PostgreSQL server that stops answering mid-transaction (its backend frozen with
SIGSTOP, as a hung host or a saturated server looks from the booth): the transaction is
cut after the stall timeout with a clear StoreError, nothing is recorded, and once the
server answers again the same payment goes through once."""

from __future__ import annotations

import os
import signal
import threading
import time

import pytest
from sqlmodel import Session, select, text

from console.site.build import build_site, open_store
from console.site.config import parse_site
from console.site.errors import SiteError
from console.site.events import ExitPending
from console.store import visits
from console.store.engine import EngineSettings, StoreError
from console.store.tables import PaymentRow
from drivers.gate.simworld import Traffic
from tests.conftest import Recorder, site_text

pytestmark = pytest.mark.postgresql


def _backend_pids(url: str) -> list[int]:
    """The server processes serving the booth's connections (application_name "booth ...")."""
    store = open_store(url, migrate=False)
    try:
        with store.read() as s:
            rows = s.connection().execute(text("SELECT pid FROM pg_stat_activity WHERE application_name LIKE 'booth%' AND datname = current_database() AND pid <> pg_backend_pid()")).all()
        return [int(r[0]) for r in rows]
    finally:
        store.engine.dispose()


def test_a_frozen_server_is_cut_after_the_stall_timeout(pg_migrated_url: str) -> None:
    store = open_store(pg_migrated_url, settings=EngineSettings(stall_timeout_s=1.5, busy_timeout_ms=200))
    try:
        with store.write() as s:
            pid = int(s.connection().execute(text("SELECT pg_backend_pid()")).scalar_one())
        os.kill(pid, signal.SIGSTOP)
        try:
            started = time.monotonic()
            with pytest.raises(StoreError, match="did not answer in time"):
                with store.write() as s:
                    s.connection().execute(text("SELECT 1"))
            waited = time.monotonic() - started
        finally:
            os.kill(pid, signal.SIGCONT)
        assert 1.4 <= waited < 5, waited
        with store.read() as s:  # the pool gives a new connection: the booth goes on
            assert s.connection().execute(text("SELECT 2")).scalar_one() == 2
    finally:
        store.engine.dispose()


def test_a_payment_while_the_server_is_frozen_is_not_recorded_and_goes_through_once_after(pg_migrated_url: str, clock) -> None:  # type: ignore[no-untyped-def]
    config = parse_site(site_text(200, "\n[database]\nstall_timeout_s = 1.5\nbusy_timeout_ms = 500\n"), "t.toml")
    store = open_store(pg_migrated_url, settings=config.engine_settings)
    site = build_site(config, store, clock=clock, traffic=Traffic(seed=4))
    rec = Recorder()
    site.bus.subscribe(rec)
    site.start()
    try:
        site.staff.open_shift("ann", "0")
        site.lanes.gates["IN1"].arrive("FRZ1")
        rec.wait_for(lambda: site.store.query(visits.open_visit_for, "FRZ1") is not None)
        clock.advance(hours=2, minutes=5)
        site.lanes.gates["OUT1"].arrive("FRZ1")
        rec.wait_for(lambda: bool(rec.of(ExitPending)))
        ticket = rec.of(ExitPending)[-1].ticket
        frozen = _backend_pids(pg_migrated_url)
        assert frozen
        for pid in frozen:
            os.kill(pid, signal.SIGSTOP)
        thaw = threading.Timer(4.0, lambda: [os.kill(pid, signal.SIGCONT) for pid in frozen])
        thaw.start()
        started = time.monotonic()
        try:
            with pytest.raises(SiteError, match="did not answer in time"):
                site.desk.pay_cash(ticket.id, "10", attendant="ann")
            told_after = time.monotonic() - started
        finally:
            thaw.join()
        assert told_after < 4.0, told_after  # told before the server came back
        settled = site.desk.pay_cash(ticket.id, "10", attendant="ann")  # Enter again: it goes through
        assert settled.change.minor == 250
        with Session(store.engine) as s:
            assert [(p.method, p.amount_minor) for p in s.exec(select(PaymentRow)).all()] == [("cash", 750)]
    finally:
        site.stop()
        store.engine.dispose()
