"""The whole way round with a real booth site: an e-bike pile (simulator on a pty) leaks
current on an unpowered port, the site raises fault 2, its cloud link sends it up, the
cloud tells the franchise manager, she closes the fault on the cloud's page, and the
site's charging screen loses the fault when the booth pulls the close.
"""

from __future__ import annotations

import re
from typing import Iterator

import pytest

from console.site.build import build_site
from console.site.config import parse_site
from console.site.events import ChargerFault, MaintenanceClosed
from console.store.database import Store
from console.sync.credentials import save_token
from drivers.charger.epile_sim import EPileSimulator
from drivers.gate.simworld import Traffic
from tests.conftest import Recorder, site_text
from tests.sync.conftest import FAST, SITE, wait_until
from tests.sync.people import World, world_fixture  # noqa: F401 - the `world` fixture


@pytest.fixture
def pile() -> Iterator[EPileSimulator]:
    sim = EPileSimulator(ports=4, address=1).start()
    yield sim
    sim.stop()


def charging_toml(pile_url: str) -> str:
    return f'''
[charging]
default_mode = "postpaid"

[[charging.models]]
id = "eb16"
min_a = 16
max_a = 18
leak_a = 0.1
start_grace_s = 3

[[charging.plans]]
id = "kwh"
basis = "energy"
rate = 500
free_seconds = 60

[[charging.epiles]]
id = "E1"
url = "{pile_url}"
address = 1
ports = 4
model = "eb16"
region = "north"
franchise = "volt"
plan = "kwh"
poll_s = 0.05
'''


def test_a_fault_closed_in_the_cloud_leaves_the_sites_charging_screen(world: World, store: Store, pile: EPileSimulator,
                                                                       memory_keyring: object) -> None:
    world.sync.stop()  # the site's own cloud link sends this booth's outbox
    save_token(world.url, world.token)
    extra = f'\n[cloud]\nurl = "{world.url}"\nsite_id = "{SITE}"\n' + charging_toml(pile.url)
    site = build_site(parse_site(site_text(200, extra), "t.toml"), store, clock=world.clock, traffic=Traffic(seed=3), sync_tuning=FAST)
    rec = Recorder()
    site.bus.subscribe(rec)
    site.start()
    try:
        assert site.charging is not None
        charging = site.charging
        wait_until(lambda: all(p.online for p in charging.ports()), timeout=10)
        pile.set_leak(4, 2_000)  # an unpowered port draws 2 A: a stuck relay
        rec.wait_for(lambda: bool(rec.of(ChargerFault)), timeout=10)
        fault = rec.of(ChargerFault)[0].fault
        assert fault.code == "2" and fault.franchise == "volt"
        pile.set_leak(4, 0)  # the technician switched the port off at the breaker
        webhook_delivered(world)

        fran = world.person("fran")
        page = fran.get(f"/staff/faults/{SITE}/{fault.id}")
        assert page.status_code == 200 and "E1/4" in page.text
        csrf = re.search(r'name="csrf" value="([^"]+)"', page.text)
        assert csrf is not None
        assert fran.post(f"/staff/faults/{SITE}/{fault.id}/close", data={"csrf": csrf.group(1), "note": "relay replaced"}).status_code == 303

        rec.wait_for(lambda: any(e.fault_id == fault.id and e.actor == "cloud" for e in rec.of(MaintenanceClosed)), timeout=15)
        assert [p.fault for p in charging.ports() if p.port == 4] == [""]
        assert charging.faults(open_only=True) == []
    finally:
        site.stop()


def webhook_delivered(world: World) -> None:
    """Wait for the webhook, letting the notifier's retries (on the cloud's test clock,
    the site's) come due."""
    def delivered() -> bool:
        world.clock.advance(seconds=1)
        world.notifier.wake()
        return len(world.hook.requests) == 1

    wait_until(delivered, timeout=20, interval=0.1)
