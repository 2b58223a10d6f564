"""A booth cut off from the site's shared PostgreSQL database keeps its lanes going.

Booth 1 reaches the real server through a loopback relay the test can cut (a cable
pulled: connections refused) or freeze (a server that stops answering); booth 2 talks to
the server directly and goes on working meanwhile. Booth 1 goes to emergency mode, opens
by hand and for decided exits, journals; when the link is back its journal merges by
itself, and what booth 2 did meanwhile (the same stay settled, the same plate let in)
becomes a conflict for the manager, never a second payment or visit.
"""

from __future__ import annotations

import socket
import threading
import time
from pathlib import Path
from typing import Iterator

import pytest
from sqlalchemy.engine import make_url
from sqlmodel import Session, select, text

from console.domain.money import Money
from console.site.audit_trail import export_key, import_key
from console.site.build import build_site, open_store
from console.site.errors import SiteError
from console.site.site import Site
from console.site.tender import Tender
from console.store import emergency_records, visits
from console.store.audit import verify_chain
from console.store.tables import PaymentRow
from drivers.gate.simworld import Traffic
from tests.support.booths import STAY, SiteClock, booth_config, start_booth, stop_booth

pytestmark = pytest.mark.postgresql


class Relay:
    """A TCP relay on loopback in front of the server: `cut()` drops every connection
    and refuses new ones, `freeze()` keeps them but forwards nothing, `restore()`."""

    def __init__(self, target_port: int) -> None:
        self.target_port = target_port
        self.up = True
        self.frozen = threading.Event()
        self._pairs: list[tuple[socket.socket, socket.socket]] = []
        self._lock = threading.Lock()
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port = self._listener.getsockname()[1]
        threading.Thread(target=self._accept, daemon=True).start()

    def cut(self) -> None:
        self.up = False
        with self._lock:
            pairs, self._pairs = self._pairs, []
        for pair in pairs:
            for s in pair:
                try:
                    s.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass
                s.close()

    def freeze(self) -> None:
        self.frozen.set()

    def restore(self) -> None:
        self.frozen.clear()
        self.up = True

    def close(self) -> None:
        self._listener.close()
        self.cut()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            if not self.up:
                client.close()
                continue
            try:
                upstream = socket.create_connection(("127.0.0.1", self.target_port), timeout=2)
                upstream.settimeout(None)
            except OSError:
                client.close()
                continue
            with self._lock:
                self._pairs.append((client, upstream))
            threading.Thread(target=self._pipe, args=(client, upstream), daemon=True).start()
            threading.Thread(target=self._pipe, args=(upstream, client), daemon=True).start()

    def _pipe(self, src: socket.socket, dst: socket.socket) -> None:
        try:
            while True:
                data = src.recv(65536)
                if not data:
                    break
                while self.frozen.is_set():
                    time.sleep(0.02)
                dst.sendall(data)
        except OSError:
            pass
        finally:
            for s in (src, dst):
                try:
                    s.close()
                except OSError:
                    pass


@pytest.fixture
def cut_off(pg_migrated_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[Site, Site, Relay]]:
    """(booth 1 behind the relay, booth 2 direct, the relay), both started with a shift."""
    monkeypatch.setenv("BOOTH_DATA_DIR", str(tmp_path / "data"))  # each booth's journal here
    direct = make_url(pg_migrated_url)
    relay = Relay(int(direct.port or 5432))
    relayed = direct.set(host="127.0.0.1", port=relay.port).render_as_string(hide_password=False)
    epoch = time.time()
    config = booth_config(relayed, 1, busy_ms=2000)
    text_config = config.model_copy(update={"database": config.database.model_copy(update={"stall_timeout_s": 1.5})})
    store = open_store(relayed, settings=text_config.engine_settings, migrate=False)
    one = build_site(text_config, store, clock=SiteClock(epoch), traffic=Traffic(seed=1))
    journal = one.lanes.emergency
    assert journal is not None
    journal.retry_s = 0.3
    one.start()
    one.staff.open_shift("att1", "0")
    # The relay's address names another database to the key store: carry the audit key
    # over, as `booth audit key export | import` does between two PCs.
    direct_store = open_store(pg_migrated_url, migrate=False)
    try:
        import_key(booth_config(pg_migrated_url, 2), direct_store, export_key(text_config, store))
    finally:
        direct_store.dispose()
    two = start_booth(pg_migrated_url, 2, epoch=epoch)
    try:
        yield one, two, relay
    finally:
        relay.restore()
        stop_booth(one)
        stop_booth(two)
        relay.close()


def _wait(predicate, timeout: float = 20.0) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "condition not reached in time"
        time.sleep(0.05)


def _payments(site: Site, plate: str) -> list[tuple[str, int, str | None]]:
    with site.store.read() as tx:
        rows = tx.exec(select(PaymentRow)).all()
        found = []
        for p in rows:
            v = visits.get_visit(tx, p.visit_id)
            if v is not None and v.plate == plate:
                found.append((p.method, p.amount_minor, p.shift_id))
        return found


def test_a_booth_cut_off_keeps_its_lanes_going_and_merges_with_conflicts_listed(cut_off) -> None:  # type: ignore[no-untyped-def]
    one, two, relay = cut_off
    journal = one.lanes.emergency
    now = one.clock.now()
    for plate in ("EMA1", "EMA2", "EMA3"):
        assert one.lanes.enter("IN1", plate, now).value == "entered"
    # Two vehicles queue at OUT1: EMA2 is the one at the barrier, EMA1 waits for the desk.
    second = one.exits.open_exit("OUT1", "EMA1", now=now + STAY, from_reader=True)
    first = one.exits.open_exit("OUT1", "EMA2", now=now + STAY, from_reader=True)
    assert first is not None and second is not None and one.board.lane("OUT1").pending == first
    shift_one = one.staff.current_shift()

    relay.cut()
    # The first write finds the link gone (fast: refused), the booth is in emergency mode.
    started = time.monotonic()
    one.lanes.manual_gate("OUT1", "open", reason="exit without payment", actor="att1", taken=Tender("cash", "7.50", "10"))
    refused_s = time.monotonic() - started
    assert journal.offline and refused_s < 5
    # Meanwhile booth 2 settles EMA1 and lets in NEW9; booth 1 takes cash for EMA1 at its
    # desk (the commit fails: open and journal) and lets NEW9 and NEW8 in by hand.
    assert two.exits.open_exit("OUT2", "EMA1", now=now + STAY, from_reader=True) is not None
    ticket_two = two.board.ticket_at_lane("OUT2")
    assert ticket_two is not None
    two.desk.pay_cash(ticket_two.id, "10", attendant="att2")
    assert two.lanes.enter("IN2", "NEW9", now).value == "entered"
    with pytest.raises(SiteError):
        one.desk.pay_cash(second.id, "10", attendant="att1")
    settled = one.desk.pay_and_journal(second.id, [Tender("cash", "", "10")], attendant="att1")
    assert settled.change == Money(250, "EUR")
    for plate in ("NEW9", "NEW8"):
        assert one.lanes.enter("IN1", plate, now).value == "not_recorded"
        one.board.update_lane("IN1", last_plate=plate, vehicle_present=True)
        one.lanes.manual_gate("IN1", "open", reason="other", note="database cut off", actor="att1")
    assert journal.pending_count == 4

    relay.restore()
    back = time.monotonic()
    _wait(lambda: journal.pending_count == 0 and not journal.offline)
    print(f"\ncut-off link: first manual move {refused_s * 1000:.0f} ms (connection refused), "
          f"journal of 4 merged {time.monotonic() - back:.2f} s after the link came back (retry every 0.3 s)")

    assert _payments(two, "EMA2") == [("cash", 750, shift_one.id if shift_one else None)]
    shift_two = two.staff.current_shift()
    assert _payments(two, "EMA1") == [("cash", 750, shift_two.id if shift_two else None)]  # booth 2's only
    assert two.store.query(visits.open_visit_for, "NEW8") is not None
    assert two.store.query(visits.open_visit_for, "NEW9") is not None
    assert sorted(two.store.query(visits.open_plates)) == ["EMA3", "NEW8", "NEW9"]
    found = {c.plate: c for c in two.store.query(emergency_records.conflicts)}
    assert set(found) == {"EMA1", "NEW9"}
    assert found["EMA1"].kind == "settled_elsewhere" and found["EMA1"].paid_minor == 750 and found["EMA1"].booth == "booth-1"
    assert "booth-2" in found["EMA1"].message
    assert found["NEW9"].kind == "entered_twice"
    _wait(lambda: journal.conflict_count == 2)
    with Session(two.store.engine) as session:
        report = verify_chain(session)
    assert report.ok, report.problem


def test_a_frozen_link_wedges_the_booth_once_for_the_stall_timeout_then_never(cut_off) -> None:  # type: ignore[no-untyped-def]
    one, _two, relay = cut_off
    journal = one.lanes.emergency
    relay.freeze()
    started = time.monotonic()
    one.lanes.manual_gate("IN1", "open", reason="safety", actor="att1")
    first = time.monotonic() - started
    started = time.monotonic()
    for _ in range(5):
        one.lanes.manual_gate("IN1", "close", reason="safety", actor="att1")
    after = (time.monotonic() - started) / 5
    print(f"\nfrozen link: first manual move {first:.2f} s (stall timeout 1.5 s), then {after * 1000:.1f} ms each in emergency mode")
    assert journal.offline and journal.pending_count == 6
    assert after < 0.5
    relay.cut()  # the frozen connections go; new ones work once restored
    relay.restore()
    _wait(lambda: journal.pending_count == 0 and not journal.offline)
    with one.store.read() as tx:
        moves = tx.connection().execute(text("SELECT count(*) FROM gate_action")).scalar_one()
    assert moves == 6
