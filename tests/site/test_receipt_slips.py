"""What a receipt says for the common exits: printed to the printer's file and read back
with the ESC/POS decoder, as a driver would read the paper."""

from __future__ import annotations

import time
from pathlib import Path

from console.domain.clock import FixedClock
from console.site.build import build_site
from console.site.config import parse_site
from console.site.events import ExitPending
from console.store import visits
from console.store.database import Store
from drivers.gate.simworld import Traffic
from drivers.printer.escpos_decode import Decoded, decode
from tests.conftest import Recorder, site_text


def _site(store: Store, clock: FixedClock, paper: Path):  # type: ignore[no-untyped-def]
    config = parse_site(site_text(200, f'\n[printer]\nurl = "file://{paper}"\n'), "t.toml")
    site = build_site(config, store, clock=clock, traffic=Traffic(seed=5))
    rec = Recorder()
    site.bus.subscribe(rec)
    site.start()
    site.staff.open_shift("ann", "0")
    return site, rec


def _jobs(paper: Path, count: int) -> list[Decoded]:
    """The first `count` documents on the paper (waits for the print queue)."""
    deadline = time.monotonic() + 10
    while True:
        jobs = decode(paper.read_bytes()).jobs() if paper.exists() else []
        if len(jobs) >= count or time.monotonic() > deadline:
            assert len(jobs) >= count, f"{len(jobs)} of {count} documents printed"
            return jobs
        time.sleep(0.05)


def _wait_exit(site, rec: Recorder, clock: FixedClock, plate: str, stay_minutes: int):  # type: ignore[no-untyped-def]
    site.lanes.gates["IN1"].arrive(plate)
    rec.wait_for(lambda: site.store.query(visits.open_visit_for, plate) is not None)
    clock.advance(minutes=stay_minutes)
    before = len(rec.of(ExitPending))
    site.lanes.gates["OUT1"].arrive(plate)
    rec.wait_for(lambda: len(rec.of(ExitPending)) > before)
    return rec.of(ExitPending)[-1].ticket


def test_a_paid_receipt_prints_when_it_was_paid_besides_the_plate_read(store: Store, clock: FixedClock, tmp_path: Path) -> None:
    paper = tmp_path / "receipts.bin"
    site, rec = _site(store, clock, paper)
    try:
        ticket = _wait_exit(site, rec, clock, "AB1234C", 125)  # read at the exit at 11:05 local
        clock.advance(minutes=3)  # the driver looks for the money
        site.desk.pay_cash(ticket.id, "10", attendant="ann")
        job = _jobs(paper, 1)[0]
    finally:
        site.stop()
    lines = job.text_lines
    assert any(line.startswith("Exit") and line.endswith("02.03.2026 11:05") for line in lines), lines
    assert any(line.startswith("Paid") and line.endswith("02.03.2026 11:08") for line in lines), lines
    assert any(line.startswith("Duration") and line.endswith("2:05") for line in lines)
    assert not any("Grace period" in line for line in lines)


def test_a_lost_ticket_receipt_has_no_grace_line_and_no_entry_at_the_exit(store: Store, clock: FixedClock, tmp_path: Path) -> None:
    paper = tmp_path / "receipts.bin"
    site, _rec = _site(store, clock, paper)
    try:
        ticket = site.exits.exit_with_unknown_entry("OUT1", "LOST1", actor="ann", reason="driver lost it", lost_ticket=True)
        assert ticket is not None
        site.desk.pay_cash(ticket.id, "20", attendant="ann")
        job = _jobs(paper, 1)[0]
    finally:
        site.stop()
    text = job.text
    assert "Grace period" not in text and "0 min" not in text
    entry = next(line for line in job.text_lines if line.startswith("Entry"))
    assert entry.endswith("unknown (lost ticket)")
    assert not any(line.startswith("Duration") for line in job.text_lines)
    assert "Lost ticket: minimum charge 20.00" in text and "€20.00" in text


def test_an_unpaid_exit_gets_a_slip_with_what_is_owed_and_why(store: Store, clock: FixedClock, tmp_path: Path) -> None:
    paper = tmp_path / "receipts.bin"
    site, rec = _site(store, clock, paper)
    try:
        ticket = _wait_exit(site, rec, clock, "CD5678E", 125)
        site.desk.unpaid_exit(ticket.id, reason="no money, will pay next time", actor="ann")
        job = _jobs(paper, 1)[0]
    finally:
        site.stop()
    lines = job.text_lines
    assert "UNPAID EXIT" in lines[:3]
    owed = next(line for line in lines if line.startswith("OWED"))
    assert owed.endswith("€7.50")
    assert "Reason: no money, will pay next time" in job.text
    assert "due at this plate's next exit" in " ".join(lines)
    assert not any(line.startswith(("Paid", "Cash", "Change")) for line in lines)  # nothing was paid
    assert job.find_line("OWED") is not None and job.find_line("OWED").bold  # type: ignore[union-attr]


def test_a_new_energy_plate_prints_as_it_is_written(store: Store, clock: FixedClock, tmp_path: Path) -> None:
    from console.i18n import set_language
    from tests.ui.chinese_site import CHINESE_SITE

    paper = tmp_path / "receipts.bin"
    config = parse_site(CHINESE_SITE + f'\n[printer]\nurl = "file://{paper}"\n', "cn.toml")
    site = build_site(config, store, clock=clock, traffic=Traffic(seed=5))
    rec = Recorder()
    site.bus.subscribe(rec)
    site.start()
    site.staff.open_shift("ann", "0")
    try:
        site.lanes.gates["IN1"].arrive("粤B·D12345")  # read with its middle dot
        rec.wait_for(lambda: site.store.query(visits.open_visit_for, "粤BD12345") is not None)  # stored canonical
        clock.advance(minutes=125)
        site.lanes.gates["OUT1"].arrive("粤BD12345")
        rec.wait_for(lambda: bool(rec.of(ExitPending)))
        ticket = rec.of(ExitPending)[-1].ticket
        site.desk.pay_cash(ticket.id, "100", attendant="ann")
        job = _jobs(paper, 1)[0]
    finally:
        site.stop()
        set_language("en")
    assert "粤B·D12345" in job.text  # printed as the driver's plate says it
