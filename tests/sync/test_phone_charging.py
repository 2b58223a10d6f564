"""Charging from the phone, the whole way round: a real cloud on loopback, a real booth
site whose e-bike pile is the simulator on a pty. The pile's QR page queues the start,
the booth pulls it, powers the port, sends the running figures up, and the page shows
them with its stop button. A start the pile cannot serve is fault 3 and holds nothing; a
tenant may charge only on their own cards."""

from __future__ import annotations

import re
import threading
import time
from typing import Any, Iterator

import httpx
import pytest
from sqlalchemy import select

from console.domain.money import Money
from console.site.build import build_site
from console.site.config import parse_site
from console.site.site import Site
from console.store.database import Store
from console.sync.credentials import save_token
from console.sync.server import accounts
from console.sync.server import db as cloud_db
from console.sync.server.charge_phone import qr_address
from drivers.charger.epile_sim import EPileSimulator
from drivers.gate.simworld import Traffic
from tests.conftest import site_text
from tests.sync.conftest import FAST, SITE, wait_until
from tests.sync.people import World, world_fixture  # noqa: F401 - the `world` fixture
from tests.sync.test_people_site import charging_toml

SPEED = 60.0  # the pile and the site's clock: one real second is a minute
PINS = {"04A1": "2580", "77B2": "3691"}  # set at the booth; the cloud checks what phones type

ACCOUNTS = '''
[[charging.accounts]]
id = "FLAT-12A"
name = "Flat 12A"
kind = "tenant"
balance = 5000
credit_limit = 5000

[[charging.cards]]
card_id = "04A1"
account = "FLAT-12A"

[[charging.cards]]
card_id = "77B2"
account = "FLAT-12A"

[[charging.accounts]]
id = "OWNER-9"
name = "Landlord of the bike shed"
kind = "landlord"

[[charging.cards]]
card_id = "LL01"
account = "OWNER-9"
kind = "landlord"
'''


@pytest.fixture(name="fast_pile")
def fast_pile_fixture() -> Iterator[EPileSimulator]:
    start = time.monotonic()
    sim = EPileSimulator(ports=4, address=1, clock=lambda: start + (time.monotonic() - start) * SPEED).start()
    yield sim
    sim.stop()


@pytest.fixture(name="phone_site")
def phone_site_fixture(world: World, store: Store, fast_pile: EPileSimulator, memory_keyring: object) -> Iterator[Site]:
    world.sync.stop()  # the site's own cloud link sends this booth's outbox and pulls its commands
    save_token(world.url, world.token)
    extra = f'\n[cloud]\nurl = "{world.url}"\nsite_id = "{SITE}"\n' + charging_toml(fast_pile.url) + ACCOUNTS
    site = build_site(parse_site(site_text(200, extra), "t.toml"), store, clock=world.clock, traffic=Traffic(seed=3), sync_tuning=FAST)
    # The site's clock runs with the pile's: sessions get their minutes and their fees.
    running = threading.Event()

    def tick() -> None:
        while not running.wait(0.05):
            world.clock.advance(seconds=0.05 * SPEED)

    ticker = threading.Thread(target=tick, daemon=True)
    site.start()
    ticker.start()
    try:
        assert site.charging is not None
        charging = site.charging
        wait_until(lambda: all(p.online for p in charging.ports()), timeout=10)
        for card, pin in PINS.items():
            charging.set_pin(card, pin, "test")
        assert site.cloud is not None and site.cloud.flush() == 0  # the cloud knows the PINs' hashes
        yield site
    finally:
        running.set()
        ticker.join()
        site.stop()


def plugged(site: Site, pile: EPileSimulator, port: int) -> None:
    assert site.charging is not None
    charging = site.charging
    pile.plug(port)
    wait_until(lambda: any(p.plugged for p in charging.ports() if p.port == port), timeout=10)


def figures(client: httpx.Client, page: str) -> dict[str, Any]:
    answer = client.get(page, params={"format": "json"})
    assert answer.status_code == 200
    return dict(answer.json())


def csrf_of(html: str) -> str:
    found = re.search(r'name="csrf" value="([^"]+)"', html)
    assert found is not None
    return found.group(1)


def test_tenant_signs_in_charges_prepaid_by_energy_and_sees_it_end(world: World, phone_site: Site, fast_pile: EPileSimulator) -> None:
    charging = phone_site.charging
    assert charging is not None
    plugged(phone_site, fast_pile, 1)
    tina = world.person("tina")
    qr = qr_address(world.url, SITE, "E1", 1, ["prepaid"])
    form = tina.get(qr.removeprefix(world.url), headers={"Accept-Language": "zh-CN"})
    assert form.status_code == 200 and '<option value="04A1">' in form.text and "77B2" not in form.text  # only her grants
    assert "开始充电" in form.text
    started = tina.post(qr.removeprefix(world.url), data={"csrf": csrf_of(form.text), "card": "04A1", "kind": "energy", "value": "0.15",
                                                         "mode": "prepaid"})
    assert started.status_code == 303
    page = started.headers["location"]
    asked = time.monotonic()
    wait_until(lambda: figures(tina, page)["state"] in ("started", "closed", "refused"), timeout=15)
    print(f"phone start: {time.monotonic() - asked:.2f} s from the page's POST to the booth's answer on the page")
    assert figures(tina, page)["state"] != "refused", figures(tina, page)
    running = tina.get(page)
    assert 'http-equiv="refresh"' in running.text or figures(tina, page)["state"] == "closed"
    wait_until(lambda: figures(tina, page)["state"] == "closed", timeout=30)
    done = figures(tina, page)
    assert done["energy_wh"] >= 150 and done["detail"] == "preset energy reached"
    # The page's fee is the booth's bill, and the hold's rest came back.
    with phone_site.store.read() as s:
        from console.store.charging_tables import charge_session

        row = s.execute(select(charge_session).where(charge_session.c.source == "phone")).one()
    assert (row.bill_minor, row.refund_minor, row.card_id, row.mode) == (done["fee_minor"], done["refund_minor"], "04A1", "prepaid")
    assert done["fee_minor"] > 0 and row.hold_minor == 75
    account = charging.account("FLAT-12A")
    assert account is not None and account.balance == Money(5000 - done["fee_minor"], "EUR")
    final = tina.get(page)
    assert 'http-equiv="refresh"' not in final.text and 'id="stop"' not in final.text
    with world.engine.connect() as conn:
        trail = accounts.audit_trail(conn, action="charging.phone_start")
    assert [(e["person"], e["outcome"]) for e in trail] == [("tina", "queued")]


def test_card_typed_postpaid_stopped_from_the_page(world: World, phone_site: Site, fast_pile: EPileSimulator) -> None:
    charging = phone_site.charging
    assert charging is not None
    plugged(phone_site, fast_pile, 2)
    phone = httpx.Client(base_url=world.url, timeout=10)
    form = phone.get(f"/staff/charge/{SITE}/E1/2")
    assert form.status_code == 200 and 'id="card"' in form.text and "sign-in-link" in form.text
    started = phone.post(f"/staff/charge/{SITE}/E1/2", data={"card": "77B2", "pin": PINS["77B2"], "kind": "time", "value": "120",
                                                                "mode": "postpaid"})
    assert started.status_code == 303
    page = started.headers["location"]
    wait_until(lambda: figures(phone, page)["energy_wh"] > 0 and figures(phone, page)["fee_minor"] > 0, timeout=30)
    shown = phone.get(page)
    assert 'id="stop"' in shown.text and 'http-equiv="refresh"' in shown.text
    assert phone.post(f"{page}/stop").status_code == 303
    assert phone.post(f"{page}/stop").status_code == 303  # twice: one stop command
    wait_until(lambda: figures(phone, page)["state"] == "closed", timeout=15)
    done = figures(phone, page)
    assert done["detail"] == "stopped from the phone"
    account = charging.account("FLAT-12A")
    assert account is not None and account.owed == Money(done["fee_minor"], "EUR")
    with world.engine.connect() as conn:
        stops = conn.execute(select(cloud_db.site_command.c.kind).where(cloud_db.site_command.c.kind == "charging.stop")).all()
    assert len(stops) == 1


def test_a_start_the_pile_cannot_serve_is_fault_3_and_holds_nothing(world: World, phone_site: Site) -> None:
    charging = phone_site.charging
    assert charging is not None
    phone = httpx.Client(base_url=world.url, timeout=10)
    # Port 3 has nothing plugged in: the booth refuses, the page says so.
    started = phone.post(f"/staff/charge/{SITE}/E1/3", data={"card": "04A1", "pin": PINS["04A1"], "kind": "amount", "value": "2.50",
                                                             "mode": "prepaid"})
    page = started.headers["location"]
    wait_until(lambda: figures(phone, page)["state"] == "refused", timeout=15)
    assert "nothing is plugged" in figures(phone, page)["detail"]
    faults = charging.faults(open_only=True)
    assert [(f.pile_id, f.port, f.code) for f in faults] == [("E1", 3, "3")]
    account = charging.account("FLAT-12A")
    assert account is not None and account.balance == Money(5000, "EUR")  # no hold taken
    assert charging.ledger("FLAT-12A") == []


def test_a_tenant_cannot_charge_on_a_card_not_hers(world: World, phone_site: Site) -> None:
    tina = world.person("tina")
    form = tina.get(f"/staff/charge/{SITE}/E1/4")
    refused = tina.post(f"/staff/charge/{SITE}/E1/4", data={"csrf": csrf_of(form.text), "card": "77B2", "kind": "energy", "value": "1",
                                                             "mode": "postpaid"})
    assert refused.status_code == 403
    with world.engine.connect() as conn:
        trail = accounts.audit_trail(conn, action="charging.phone_start")
        queued = conn.execute(select(cloud_db.charge_request.c.request_id)).all()
    assert [(e["person"], e["subject"], e["outcome"]) for e in trail] == [("tina", "77B2", "refused")]
    assert queued == []
    # Bad input: a clear page, nothing queued.
    bad = httpx.post(f"{world.url}/staff/charge/{SITE}/E1/4", data={"card": "04A1", "kind": "energy", "value": "lots", "mode": "prepaid"})
    assert bad.status_code == 422 and "not a number" in bad.text
    assert httpx.get(f"{world.url}/staff/charge/r/{'0' * 32}").status_code == 404


def test_a_scan_failure_reported_from_the_page_is_fault_3(world: World, phone_site: Site) -> None:
    charging = phone_site.charging
    assert charging is not None
    phone = httpx.Client(base_url=world.url, timeout=10)
    form = phone.get(f"/staff/charge/{SITE}/E1/4")
    assert 'id="report-problem"' in form.text
    for _ in range(2):  # pressed twice: one open fault
        told = phone.post(f"/staff/charge/{SITE}/E1/4/problem")
        assert told.status_code == 200 and 'id="reported"' in told.text
    wait_until(lambda: bool(charging.faults(open_only=True)), timeout=15)
    time.sleep(1.0)  # both commands pulled
    assert [(f.pile_id, f.port, f.code) for f in charging.faults(open_only=True)] == [("E1", 4, "3")]
    assert "reported from a phone" in charging.faults(open_only=True)[0].detail
    assert phone.post(f"/staff/charge/{SITE}/E9x/1/problem").status_code == 200  # a pile the booth does not know: nothing raised
    assert phone.post("/staff/charge/nowhere/E1/1/problem").status_code == 404
    time.sleep(1.0)
    assert len(charging.faults(open_only=True)) == 1


def test_tenant_sees_her_cards_usage_and_blocks_a_lost_card_landlord_sees_his_pile(world: World, phone_site: Site,
                                                                                   fast_pile: EPileSimulator) -> None:
    from datetime import datetime, timezone

    charging = phone_site.charging
    assert charging is not None
    with world.engine.begin() as conn:
        from tests.sync.people import PASSWORD

        accounts.add_person(conn, name="lou", role="landlord", password=PASSWORD, grants=[f"{SITE}:E1"], at=datetime.now(timezone.utc))
    plugged(phone_site, fast_pile, 2)
    phone = httpx.Client(base_url=world.url, timeout=10)
    page = phone.post(f"/staff/charge/{SITE}/E1/2", data={"card": "04A1", "pin": PINS["04A1"], "kind": "time", "value": "60",
                                                        "mode": "postpaid"}).headers["location"]
    wait_until(lambda: figures(phone, page)["fee_minor"] > 0, timeout=30)
    phone.post(f"{page}/stop")
    wait_until(lambda: figures(phone, page)["state"] == "closed", timeout=15)
    fee = figures(phone, page)["fee_minor"]
    phone_site.cloud.flush()  # type: ignore[union-attr]

    tina = world.person("tina")
    mine = tina.get("/staff/charging")
    assert mine.status_code == 200 and 'data-card="04A1"' in mine.text and "77B2" not in mine.text
    card = mine.text[mine.text.index('data-card="04A1"'):]
    assert '<span class="sessions">1</span>' in card and str(Money(fee, "EUR")) in card
    lou = world.person("lou").get("/staff/charging")
    assert 'data-pile="E1"' in lou.text and '<span class="sessions">1</span>' in lou.text and "04A1" not in lou.text

    csrf = csrf_of(mine.text)
    assert tina.post("/staff/charging/block", data={"csrf": csrf, "site": SITE, "card": "77B2"}).status_code == 403
    assert tina.post("/staff/charging/block", data={"csrf": csrf, "site": SITE, "card": "04A1"}).status_code == 303
    wait_until(lambda: charging.account_usage("77B2").cards[0].state == "blocked", timeout=15)
    states = {c.card_id: c.state for c in charging.account_usage("77B2").cards}
    assert states == {"04A1": "blocked", "77B2": "active"}  # the account and its other card stay
    account = charging.account("FLAT-12A")
    assert account is not None and account.owed == Money(fee, "EUR")
    with world.engine.connect() as conn:
        trail = accounts.audit_trail(conn, action="charging.block_card")
    assert sorted((e["subject"], e["outcome"]) for e in trail) == [("04A1", "queued"), ("77B2", "refused")]
