"""The exit desk's phone-payment QR on a real cloud link (the reference cloud on loopback):
shown whole at 120x40, with the amount due, the fields and the message still on screen."""

from __future__ import annotations

from textual.widgets import Input, Static

from console.site.build import build_site
from console.site.config import parse_site
from console.sync.credentials import save_token
from console.ui.app import BoothApp
from drivers.gate.simworld import Traffic
from tests.conftest import site_text
from tests.sync.conftest import FAST
from tests.ui.test_console_ui import _car_waiting_at_exit, until


async def test_the_phone_qr_shows_whole_at_120x40(store, clock, cloud, memory_keyring) -> None:  # type: ignore[no-untyped-def]
    save_token(cloud.url, cloud.token)
    extra = f'\n[cloud]\nurl = "{cloud.url}"\nsite_id = "{cloud.site_id}"\n'
    site = build_site(parse_site(site_text(200, extra), "t.toml"), store, clock=clock, traffic=Traffic(seed=2), sync_tuning=FAST)
    site.staff.open_shift("ann", "0")
    app = BoothApp(site, attendant="ann")
    async with app.run_test(size=(120, 40)) as pilot:
        desk = await _car_waiting_at_exit(pilot, app, site, clock)
        assert site.cloud is not None
        await until(pilot, lambda: site.cloud is not None and site.cloud.status().online, timeout=15)
        await pilot.press("ctrl+r")
        await until(pilot, lambda: "scan to pay by phone" in desk.message_text())
        await pilot.pause(0.2)
        qr = desk.query_one("#qr", Static)
        rows = str(qr.render()).splitlines()
        assert len(rows) >= 15
        assert qr.region.height == len(rows), "the code is cut"
        assert qr.region.y >= 0 and qr.region.bottom <= 40 and qr.region.right <= 120
        info = desk.query_one("#info")
        assert info.region.contains_region(qr.region), "the code scrolls: not all of it shows"
        for widget in (desk.query_one("#due"), desk.query_one("#message"), *desk.query(Input)):
            assert widget.region.height > 0 and widget.region.bottom <= 40
            assert not widget.region.overlaps(qr.region)
