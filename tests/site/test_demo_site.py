"""What `booth demo` adds to the simulated site: people with the README's PINs, cars
already parked so exits come at once, riders' cards with accounts, simulated piles, and
a cloud of its own for phone payments."""

from __future__ import annotations

import re
import time
from datetime import timedelta
from pathlib import Path

from console.domain.clock import FixedClock, ScaledClock
from console.domain.staff import Role
from console.site.build import build_site
from console.site.config import default_site, parse_site, simulated_devices
from console.site.demo import DEMO_ATTENDANT, DEMO_MANAGER, DemoCloud, add_demo_staff, park_demo_cars, with_demo_cloud
from console.site.events import ExitPending
from console.store import visits
from console.store.database import Store
from drivers.charger import PortsReported, open_epile
from drivers.elevator.factory import open_elevator
from drivers.gate.simworld import Dwell, Traffic
from tests.conftest import Recorder, site_text, small_site
from tests.sync.phone import pay_by_phone

ROOT = Path(__file__).resolve().parents[2]


def test_the_demo_people_sign_in_with_the_pins_the_readme_gives(store: Store, clock: FixedClock) -> None:
    site = build_site(small_site(), store, clock=clock, traffic=Traffic(seed=1))
    add_demo_staff(site)
    add_demo_staff(site)  # a kept demo database already has them: nothing happens
    manager = site.staff.sign_in(*DEMO_MANAGER)
    attendant = site.staff.sign_in(*DEMO_ATTENDANT)
    assert manager.role is Role.MANAGER and attendant.role is Role.ATTENDANT
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    for name, pin in (DEMO_MANAGER, DEMO_ATTENDANT):
        assert re.search(rf"`{name}`[^\n]*`{pin}`", readme), f"the README names {name} with PIN {pin}"


def test_parked_cars_reach_the_exit_within_seconds_and_owe_a_fee(store: Store, clock: FixedClock) -> None:
    traffic = Traffic(seed=4, dwell=Dwell(3600, 7200))  # the lane's own arrivals would stay an hour
    site = build_site(small_site(), store, clock=clock, traffic=traffic)
    rec = Recorder()
    site.bus.subscribe(rec)
    parked = park_demo_cars(site, traffic, count=4, seed=2)
    assert parked.count == 4 and parked.first_exit_s <= 5
    with site.store.read() as tx:
        entries = sorted(v.entry_at for v in (visits.open_visit_for(tx, p) for p in visits.open_plates(tx)) if v is not None)
    assert len(entries) == 4 and all(clock.now() - at >= timedelta(minutes=40) for at in entries)
    started = time.monotonic()
    site.start()
    try:
        rec.wait_for(lambda: bool(rec.of(ExitPending)), timeout=20)
        waited = time.monotonic() - started
        ticket = rec.of(ExitPending)[0].ticket
    finally:
        site.stop()
    assert waited < 15, f"first exit after {waited:.1f} s"
    assert not ticket.due.is_zero  # past the free period: it comes to the desk


def test_the_demo_site_bills_rides_to_cards_with_accounts() -> None:
    config = default_site()
    accounts = {card.id: card.account for card in config.elevator.cards}
    driver = open_elevator(config.elevator.url)
    riders = driver.simulator.cards  # type: ignore[attr-defined]
    billed = [card for card in riders if accounts.get(card)]
    assert len(billed) >= len(riders) - 1, "at most one rider's card is unknown (flagged, to show what that looks like)"
    assert config.elevator.price_rules, "rides cost something"
    assert all(card.account in {a.id for a in config.charging.accounts} or card.card_class in ("resident", "staff")
               for card in config.elevator.cards)


def test_a_simulated_pile_reports_its_plugged_bikes_over_the_wire() -> None:
    driver = open_epile("EB1", "sim://?plugged=2", ports=4, poll_interval=0.05)
    seen: list[PortsReported] = []
    driver.start(lambda event: seen.append(event) if isinstance(event, PortsReported) else None)
    try:
        deadline = time.monotonic() + 5
        while not seen and time.monotonic() < deadline:
            time.sleep(0.02)
    finally:
        driver.stop()
    assert seen, "the pile answered no poll"
    assert [port.plugged for port in seen[-1].ports] == [True, True, False, False]


def test_the_demo_site_file_names_its_simulators_and_a_pile() -> None:
    config = default_site()
    assert not config.site.simulated  # `booth run` refuses it as it is
    assert "charging.epiles[0].url" in simulated_devices(config) and "lanes[0].gate" in simulated_devices(config)


def test_the_demo_cloud_takes_a_phone_payment_and_the_exit_settles(store: Store, tmp_path: Path) -> None:
    clock = ScaledClock(1.0)
    config = parse_site(site_text(), "t.toml")
    cloud = DemoCloud(tmp_path / "cloud.sqlite3", "demo", config.site.name, config.site.currency, clock.now).start()
    try:
        config = with_demo_cloud(config, cloud)
        assert config.cloud.url == cloud.url and config.active_tariff.tariff_id  # the tariff came along
        token = cloud.token
        site = build_site(config, store, clock=clock, traffic=Traffic(seed=3), cloud_token=lambda: token)
        rec = Recorder()
        site.bus.subscribe(rec)
        with site.store.write() as tx:  # a stay of two hours
            visits.record_entry(tx, plate="PH0001E", zone="P1", lane="IN1", at=clock.now() - timedelta(hours=2),
                                currency="EUR")
        site.start()
        try:
            paid = pay_by_phone(cloud.url, "demo", "PH0001E", timeout=20)
            assert paid["status"] == "paid" and paid["amount_minor"] > 0
            site.lanes.gates["OUT1"].arrive("PH0001E")
            deadline = time.monotonic() + 20
            while site.store.query(visits.open_visit_for, "PH0001E") is not None and time.monotonic() < deadline:
                time.sleep(0.1)
            assert site.store.query(visits.open_visit_for, "PH0001E") is None, "the phone-paid stay did not leave"
        finally:
            site.stop()
    finally:
        cloud.stop()


def test_booth_charging_qr_finds_the_running_demo_cloud_and_only_while_it_runs(tmp_path: Path) -> None:
    """The demo's cloud listens on a port of the day: while it runs, `booth charging qr`
    in another terminal (the README's way to a pile's phone page) prints addresses on it."""
    import json
    import os
    import subprocess
    import sys

    clock = ScaledClock(1.0)
    env = {**os.environ, "BOOTH_DATA_DIR": str(tmp_path), "BOOTH_CONFIG_DIR": str(tmp_path / "config")}
    root = Path(__file__).resolve().parents[2]

    def qr() -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "console.cli", "charging", "qr", "EB1", "1"], capture_output=True,
                              text=True, cwd=root, env=env, timeout=60)

    cloud = DemoCloud(tmp_path / "demo-cloud.sqlite3", "demo", "Demo", "EUR", clock.now).start()
    try:
        shown = qr()
        assert shown.returncode == 0, shown.stderr
        assert shown.stdout.startswith(f"{cloud.url}/") and "/demo/EB1/1" in shown.stdout
    finally:
        cloud.stop()
    gone = qr()
    assert gone.returncode == 1 and "names no cloud" in gone.stderr
    # A note left by a demo that was killed names a process that is gone: not believed.
    (tmp_path / "demo-cloud.json").write_text(json.dumps({"url": "http://127.0.0.1:9", "site_id": "demo", "pid": 2 ** 22 + 12345}))
    assert qr().returncode == 1
