"""Charging from the phone on an EV charger: the pile's QR page in the cloud, the booth's
OCPP central system, and the library's own charge point as the charger (tests/charging
uses the same). The phone types the card and its PIN and asks 2 kWh prepaid; the booth
pulls the start, sends RemoteStartTransaction, the charger starts its transaction and
reports its meter, the booth cuts at the preset, and the page shows the bill and the
refund. Before the charger is connected the same start is refused with fault 3 and
holds nothing. A real cloud on loopback, a real booth site."""

from __future__ import annotations

import asyncio
from typing import Any, Iterator

import httpx
import pytest

from console.domain.money import Money
from console.site.build import build_site
from console.site.config import parse_site
from console.site.site import Site
from console.store.database import Store
from console.sync.credentials import save_token
from console.sync.server.charge_phone import qr_address
from drivers.charger.ocpp_sim import SimCharger
from drivers.gate.simworld import Traffic
from tests.conftest import site_text
from tests.sync.conftest import FAST, SITE
from tests.sync.people import World, world_fixture  # noqa: F401 - the `world` fixture
from tests.sync.test_phone_charging import ACCOUNTS, PINS

OCPP = '''
[charging]
default_mode = "postpaid"

[charging.ocpp]
enabled = true
host = "127.0.0.1"
port = 0

[[charging.plans]]
id = "ev"
basis = "energy"
rate = 40
free_seconds = 0

[[charging.chargers]]
id = "CP1"
connectors = 2
region = "south"
franchise = "volt"
plan = "ev"
'''


@pytest.fixture(name="ev_site")
def ev_site_fixture(world: World, store: Store, memory_keyring: object) -> Iterator[Site]:
    world.sync.stop()  # the site's own cloud link sends this booth's outbox and pulls its commands
    save_token(world.url, world.token)
    extra = f'\n[cloud]\nurl = "{world.url}"\nsite_id = "{SITE}"\n' + OCPP + ACCOUNTS
    site = build_site(parse_site(site_text(200, extra), "t.toml"), store, clock=world.clock, traffic=Traffic(seed=3), sync_tuning=FAST)
    site.start()
    try:
        assert site.charging is not None and site.cloud is not None
        site.charging.set_pin("04A1", PINS["04A1"], "test")
        assert site.cloud.flush() == 0
        yield site
    finally:
        site.stop()


def figures(phone: httpx.Client, page: str) -> dict[str, Any]:
    return dict(phone.get(page, params={"format": "json"}).json())


async def until(predicate: Any, timeout: float = 15.0) -> Any:
    """Wait without blocking the loop the charge point answers on."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        value = await asyncio.to_thread(predicate)
        if value:
            return value
        assert loop.time() < deadline, "condition not reached"
        await asyncio.sleep(0.05)


async def test_a_phone_starts_an_ev_charger_by_its_qr_and_pin(world: World, ev_site: Site) -> None:
    charging = ev_site.charging
    assert charging is not None and charging.central is not None
    phone = httpx.Client(base_url=world.url, timeout=10)
    qr = qr_address(world.url, SITE, "CP1", 1).removeprefix(world.url)
    ask = {"card": "04A1", "pin": PINS["04A1"], "kind": "energy", "value": "2", "mode": "prepaid"}

    # No charger connected yet: refused by the booth, fault 3, nothing held.
    refused = await asyncio.to_thread(phone.post, qr, data=ask)
    assert refused.status_code == 303
    page = refused.headers["location"]
    await until(lambda: figures(phone, page)["state"] == "refused")
    assert "not connected" in figures(phone, page)["detail"]
    assert [(f.pile_id, f.port, f.code) for f in charging.faults(open_only=True)] == [("CP1", 1, "3")]
    assert charging.ledger("FLAT-12A") == []

    async with SimCharger.connect(f"ws://127.0.0.1:{charging.central.port}", "CP1") as cp:
        await cp.boot()
        await until(lambda: "CP1" in charging.central.connected())  # type: ignore[union-attr]
        await cp.status(1, "Preparing")
        started = await asyncio.to_thread(phone.post, qr, data=ask)
        page = started.headers["location"]
        await until(lambda: figures(phone, page)["state"] == "started")
        await until(lambda: bool(cp.transactions))
        tx = next(iter(cp.transactions))
        assert cp.remote_starts == [(1, "04A1")]
        for wh in (0, 700, 1400):
            await cp.meter(1, tx, wh, 16.0)
            await asyncio.sleep(1.1)  # the booth reports a phone's figures at most once a second
        await until(lambda: figures(phone, page)["energy_wh"] == 1400)  # the page follows the charger's meter
        await cp.meter(1, tx, 2000, 16.0)
        await until(lambda: figures(phone, page)["state"] == "closed")
        await until(lambda: tx in cp.remote_stops)  # the booth cut the charger at the preset
    done = figures(phone, page)
    assert (done["energy_wh"], done["fee_minor"], done["refund_minor"], done["detail"]) == (2000, 80, 0, "preset energy reached")
    account = charging.account("FLAT-12A")
    assert account is not None and account.balance == Money(5000 - 80, "EUR")
    shown = await asyncio.to_thread(phone.get, page)
    assert 'id="stop"' not in shown.text and "0.80" in shown.text.replace(",", ".")
