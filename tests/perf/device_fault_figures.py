"""Figures for devices that vanish under the running console site (the real site, real
transports): the receipt printer switched off mid-receipts (a loopback ESC/POS printer),
the exit lane controller's cable pulled (a real pseudo-terminal), the lane camera's
stream gone (a real video file the camera reads, moved away and back), and the cloud
killed mid-batch (the reference cloud in its own process, on loopback).

For each: time until the console shows it (device health on the lane / status line),
time from the fault clearing to the device working again, and what was lost or doubled
(receipts printed, payments taken, events in the cloud's books). Run from the repository root:

    .venv/bin/python tests/perf/device_fault_figures.py [--hold 3]

Figures are printed; nothing is asserted.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from collections import Counter
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Callable

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))


def _wait(predicate: Callable[[], bool], timeout: float = 60.0, step: float = 0.01) -> float | None:
    """Seconds until `predicate()` holds, or None when it never did within `timeout`."""
    start = time.monotonic()
    while not predicate():
        if time.monotonic() - start > timeout:
            return None
        time.sleep(step)
    return time.monotonic() - start


def _site(extra: str = "", replace: tuple[str, str] | None = None) -> tuple[Any, Any, Any]:
    from console.domain.clock import FixedClock
    from console.site.build import build_site, open_store
    from console.site.config import parse_site
    from console.store.engine import sqlite_url
    from drivers.gate.simworld import Traffic
    from tests.conftest import Recorder, site_text

    text = site_text(500, extra)
    if replace:
        text = text.replace(*replace)
    config = parse_site(text, "device-faults.toml")
    folder = Path(tempfile.mkdtemp(prefix="booth-devfault-"))
    store = open_store(sqlite_url(folder / "booth.sqlite3"))
    clock = FixedClock(datetime(2026, 3, 2, 8, 0, tzinfo=timezone.utc))
    site = build_site(config, store, clock=clock, traffic=Traffic(seed=5))
    rec = Recorder()
    site.bus.subscribe(rec)
    site.start()
    site.staff.open_shift("ann", "0")
    return site, rec, clock


def _paid_exit(site: Any, rec: Any, clock: Any, plate: str, exit_lane: Callable[[str], None] | None = None) -> None:
    from console.site.events import ExitPending
    from console.store import visits

    site.lanes.gates["IN1"].arrive(plate)
    rec.wait_for(lambda: site.store.query(visits.open_visit_for, plate) is not None, timeout=10)
    clock.advance(hours=1, minutes=5)
    before = len(rec.of(ExitPending))
    (exit_lane or site.lanes.gates["OUT1"].arrive)(plate)
    rec.wait_for(lambda: len(rec.of(ExitPending)) > before, timeout=30)
    site.desk.pay_cash(rec.of(ExitPending)[-1].ticket.id, "20", attendant="ann")


def _payments_by_plate(site: Any) -> Counter[str]:
    from sqlmodel import select

    from console.store.tables import PaymentRow, VisitRow

    with site.store.read() as tx:
        plates = {v.id: v.plate for v in tx.exec(select(VisitRow)).all()}
        return Counter(plates[p.visit_id] for p in tx.exec(select(PaymentRow)).all())


def _health(site: Any, device: str) -> str:
    health = site.board.device_health().get(device)
    return str(health.state.value) if health is not None else "unknown"


def _first_time(predicate: Callable[[], bool]) -> Callable[[], float | None]:
    """Watch `predicate` from now on a thread; the returned call gives the monotonic time
    it first held (None if not yet)."""
    import threading

    seen: list[float] = []

    def watch() -> None:
        deadline = time.monotonic() + 120
        while not predicate() and time.monotonic() < deadline:
            time.sleep(0.005)
        seen.append(time.monotonic())

    threading.Thread(target=watch, daemon=True).start()
    return lambda: seen[0] if seen else None


def printer_off(hold: float) -> None:
    from console.store.receipts import waiting
    from drivers.printer.simulator import NetworkPrinterSimulator

    with NetworkPrinterSimulator() as printer:
        site, rec, clock = _site(f'\n[printer]\nurl = "{printer.url}"\n')
        try:
            plates = [f"PRN{i:03d}" for i in range(4)]
            _paid_exit(site, rec, clock, plates[0])
            _wait(lambda: not site.store.query(waiting, 10))
            printer.set_state("offline")
            off = time.monotonic()
            shown = _first_time(lambda: _health(site, "printer") == "offline")
            for plate in plates[1:]:  # paid while the printer is off: the receipts wait
                _paid_exit(site, rec, clock, plate)
            _wait(lambda: shown() is not None, timeout=30)
            time.sleep(max(0.0, hold - (time.monotonic() - off)))
            printer.set_state("ok")
            back = time.monotonic()
            drained = _wait(lambda: not site.store.query(waiting, 10), timeout=120)
            text = printer.decode().text
            printed = {p: text.count(p) for p in plates}
            told = shown()
            print(f"Receipt printer switched off (port closed) for {hold:g} s, 3 receipts paid meanwhile "
                  "(print queue back-off 5 s .. 60 s, printer asked every 2 s)")
            print(f"  shown offline after      : {told - off:.2f} s (the first receipt tried)" if told else "  never shown offline")
            print(f"  all printed after        : {drained + 0:.2f} s from the printer coming back" if drained is not None
                  else "  receipts still waiting after 120 s")
            print(f"  receipts lost / doubled  : {sum(1 for n in printed.values() if n == 0)} / {sum(n - 1 for n in printed.values() if n > 1)}"
                  f"  (payments {sum(_payments_by_plate(site).values())} of {len(plates)})")
            del back
        finally:
            site.stop()


def lane_unplugged(hold: float) -> None:
    from drivers.gate.base import LaneRole
    from drivers.gate.sim_serial import PtyLaneSimulator
    from drivers.gate.simlane import FAST_TIMING
    from drivers.gate.simworld import Traffic
    from tests.drivers.gate.conftest import FAST_LINK

    sim = PtyLaneSimulator(LaneRole.EXIT, Traffic(seed=3), timing=FAST_TIMING, heartbeat=0.2, heartbeat_timeout=1.0, ack_timeout=0.1)
    sim.start()
    # The console's own link timings (heartbeat 1 s, offline after 3 s of silence), fast
    # barrier timing of the simulator.
    link = "heartbeat=1.0&heartbeat_timeout=3.0&ack_timeout=0.3&retries=3&reconnect_max=1.0"
    site, rec, clock = _site(replace=('gate = "sim://?timing=fast"', f'gate = "serial://{sim.url}?{link}"'))
    del FAST_LINK
    try:
        _wait(lambda: site.board.lane("OUT1").health == "ok", timeout=20)
        _paid_exit(site, rec, clock, "SER001", sim.arrive)
        sim.unplug()
        off = time.monotonic()
        told = _wait(lambda: site.board.lane("OUT1").health == "offline")
        site.lanes.gates["IN1"].arrive("SER002")  # the entry lane works on meanwhile
        time.sleep(max(0.0, hold - (time.monotonic() - off)))
        sim.replug()
        back = _wait(lambda: site.board.lane("OUT1").health == "ok")
        started = time.monotonic()
        _paid_exit(site, rec, clock, "SER003", sim.arrive)
        through = time.monotonic() - started
        paid = _payments_by_plate(site)
        print(f"Exit lane controller unplugged (pty closed) for {hold:g} s (heartbeat 1 s, offline after 3 s)")
        print(f"  shown offline after      : {told:.2f} s" if told is not None else "  never shown offline")
        print(f"  lane back after          : {back:.2f} s from the cable going back in" if back is not None else "  lane never came back")
        print(f"  next car through in      : {through:.2f} s (entry, exit read, payment)")
        print(f"  payments lost / doubled  : {sum(1 for p in ('SER001', 'SER003') if paid[p] == 0)} / {sum(n - 1 for n in paid.values() if n > 1)}")
    finally:
        site.stop()
        sim.stop()


def camera_gone(hold: float) -> None:
    import cv2
    import numpy as np

    folder = Path(tempfile.mkdtemp(prefix="booth-camera-"))
    video = folder / "lane.avi"
    writer = cv2.VideoWriter(str(video), cv2.VideoWriter_fourcc(*"MJPG"), 10, (160, 120))
    for i in range(20):
        frame = np.full((120, 160, 3), (i * 10) % 255, dtype=np.uint8)
        writer.write(frame)
    writer.release()
    aside = folder / "unplugged.avi"
    site, rec, clock = _site(replace=('gate = "sim://?timing=fast"\n', f'gate = "sim://?timing=fast"\ncamera = "file://{video}?loop=1"\n'))
    try:
        camera = next(iter(site.lanes.cameras.values()), None)
        if camera is None:
            print("Lane camera gone: skipped (the site has no lane camera setting)")
            return
        device = "camera OUT1"
        _wait(lambda: _health(site, device) == "ok", timeout=20)
        os.rename(video, aside)
        off = time.monotonic()
        told = _wait(lambda: _health(site, device) == "offline", timeout=30)
        time.sleep(max(0.0, hold - (time.monotonic() - off)))
        os.rename(aside, video)
        back = _wait(lambda: _health(site, device) == "ok", timeout=60)
        _paid_exit(site, rec, clock, "CAM001")  # the lane works with or without its camera
        print(f"Lane camera's stream gone (video file moved away) for {hold:g} s")
        print(f"  shown offline after      : {told:.2f} s" if told is not None else "  never shown offline (within 30 s)")
        print(f"  camera back after        : {back:.2f} s from the stream coming back" if back is not None else "  camera never came back")
        print(f"  payments lost / doubled  : {0 if _payments_by_plate(site)['CAM001'] else 1} / {max(0, _payments_by_plate(site)['CAM001'] - 1)}")
    finally:
        site.stop()


def cloud_gone(hold: float) -> None:
    from datetime import timedelta

    from console.domain.clock import FixedClock
    from console.site.build import open_store
    from console.site.config import CloudSection
    from console.store import visits
    from console.store.database import Store
    from console.store.engine import sqlite_url
    from console.sync.server import admin
    from console.sync.server import db as cloud_db
    from console.sync.service import SyncService, SyncTuning
    from tests.sync.netfaults import Switch
    from tests.sync.test_failures import CloudProcess

    folder = Path(tempfile.mkdtemp(prefix="booth-cloudfault-"))
    db_url = sqlite_url(folder / "cloud.sqlite3")
    engine = cloud_db.open_cloud_db(db_url)
    token = admin.register_site(engine, "riverside")
    store: Store = open_store(sqlite_url(folder / "booth.sqlite3"))
    t0 = datetime(2026, 3, 2, 8, tzinfo=timezone.utc)
    count = 300
    for i in range(count):
        store.apply(visits.record_entry, plate=f"CLD{i:04d}", zone="P1", lane="IN1", at=t0 + timedelta(seconds=i), currency="EUR")
    first = CloudProcess(db_url, "before", 30.0)  # holds the first batch: killed mid-batch
    switch = Switch(first.port)
    tuning = SyncTuning(batch_size=100)  # the product's timings and back-off; batches of 100
    sync = SyncService(store, CloudSection(url=switch.url), "riverside", FixedClock(t0 + timedelta(hours=1)),
                       lambda text: None, lambda: token, booth_id="booth-1", tuning=tuning)
    second: CloudProcess | None = None
    try:
        sync.start()
        first.wait_for("HOLDING")
        first.kill()
        off = time.monotonic()
        told = _wait(lambda: sync.status().state == "offline", timeout=60)
        time.sleep(max(0.0, hold - (time.monotonic() - off)))
        second = CloudProcess(db_url, "none")
        switch.target_port = second.port
        back = time.monotonic()
        drained = _wait(lambda: sync.status().backlog == 0 and sync.status().state == "online", timeout=400, step=0.05)
        books = admin.site_books(engine, "riverside")
        print(f"Cloud killed (kill -9) mid-batch, back after {hold:g} s; {count} events to send (back-off 1 s .. 300 s)")
        print(f"  shown offline after      : {told:.2f} s" if told is not None else "  never shown offline")
        print(f"  all sent after           : {drained:.2f} s from the cloud coming back" if drained is not None
              else "  backlog still waiting after 400 s")
        print(f"  events lost / doubled    : {count - books['visits']} / {max(0, books['events'] - count)} in the cloud's books"
              f" ({books['deliveries'].get('duplicates', 0)} duplicate deliveries absorbed)")
        del back
    finally:
        sync.stop()
        switch.close()
        first.stop()
        if second is not None:
            second.stop()
        engine.dispose()
        store.engine.dispose()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--hold", type=float, default=3.0, help="seconds each fault lasts (default 3)")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="booth-devfaults-"))
    os.environ.setdefault("BOOTH_DATA_DIR", str(work / "data"))
    os.environ.setdefault("BOOTH_CONFIG_DIR", str(work / "config"))
    import logging

    logging.disable(logging.ERROR)
    for scenario in (printer_off, lane_unplugged, camera_gone, cloud_gone):
        scenario(args.hold)
    return 0


if __name__ == "__main__":
    sys.exit(main())
