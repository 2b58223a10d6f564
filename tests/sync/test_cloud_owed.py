"""What a postpaid account owes, the same in the cloud as at the booth: the cloud books
each closed postpaid session's bill and each payment the booth recorded, and its figure
for a card equals `booth charging usage --card C --json`'s `owed_minor` (the account's,
every card of it, prepaid sessions left out, payments taken off). A real cloud on
loopback, a real booth site with the e-bike simulator, the `booth` command in process."""

from __future__ import annotations

import json
import time
from datetime import datetime, timezone
from pathlib import Path

import pytest

from console.cli import main
from console.domain.charging import PayMode, Preset, PresetKind
from console.site.site import Site
from drivers.charger.epile_sim import EPileSimulator
from tests.conftest import site_text
from tests.sync.conftest import SITE, wait_until
from tests.sync.people import PASSWORD, World, world_fixture  # noqa: F401 - the `world` fixture
from tests.sync.test_phone_charging import fast_pile_fixture, phone_site_fixture, plugged  # noqa: F401 - fixtures


def booth_owed(capsys: pytest.CaptureFixture[str], common: list[str], card: str) -> int:
    capsys.readouterr()
    assert main(["charging", "usage", "--card", card, "--json", *common]) == 0
    return int(json.loads(capsys.readouterr().out)["owed_minor"])


def test_cloud_owed_equals_the_booths_usage_owed(world: World, phone_site: Site, fast_pile: EPileSimulator, db_url: str, tmp_path: Path,
                                                capsys: pytest.CaptureFixture[str]) -> None:
    from console.sync.server import accounts

    charging = phone_site.charging
    assert charging is not None and phone_site.cloud is not None
    site_file = tmp_path / "cli-site.toml"
    site_file.write_text(site_text(200, ""), encoding="utf-8")
    common = ["--site", str(site_file), "--db", db_url, "--by", "mgr-anna"]
    for port in (1, 2, 3):
        plugged(phone_site, fast_pile, port)
    # Two postpaid sessions on the account's two cards, one prepaid (owes nothing).
    runs = [charging.start_session(pile_id="E1", port=1, card_id="04A1", mode=PayMode.POSTPAID),
            charging.start_session(pile_id="E1", port=2, card_id="77B2", mode=PayMode.POSTPAID),
            charging.start_session(pile_id="E1", port=3, card_id=None, user_id="FLAT-12A", mode=PayMode.PREPAID,
                                   preset=Preset(PresetKind.AMOUNT, 300))]
    wait_until(lambda: all((charging.ports()[n].fee.minor if charging.ports()[n].fee else 0) > 0 for n in range(3)), timeout=30)
    time.sleep(1.0)
    bills = [charging.stop_session(r.id).bill.minor for r in runs]
    assert all(b > 0 for b in bills)
    owed = booth_owed(capsys, common, "04A1")
    assert owed == bills[0] + bills[1]
    # A payment at the booth (CLI): taken off; more than owed is refused and changes nothing.
    paid = owed // 3
    assert main(["charging", "pay", "FLAT-12A", f"{paid // 100}.{paid % 100:02d}", *common]) == 0
    assert main(["charging", "pay", "FLAT-12A", "999999", *common]) == 1
    booth = booth_owed(capsys, common, "77B2")
    assert booth == owed - paid and booth == booth_owed(capsys, common, "04A1")
    assert phone_site.cloud.flush() == 0

    with world.engine.begin() as conn:  # Tina holds both cards of the account
        accounts.add_person(conn, name="tina", role="tenant", password=PASSWORD, grants=[f"{SITE}:04A1", f"{SITE}:77B2"],
                            at=datetime.now(timezone.utc))
    tina = world.person("tina")
    cloud = {c["card"]: c for c in tina.get("/staff/charging", params={"format": "json"}).json()["cards"]}
    assert {card: (c["account"], c["owed_minor"]) for card, c in cloud.items()} == {"04A1": ("FLAT-12A", booth), "77B2": ("FLAT-12A", booth)}
    page = tina.get("/staff/charging").text
    shown = page[page.index('data-card="04A1"'):]
    assert f'<span class="owed">€{booth // 100}.{booth % 100:02d}</span>' in shown or f"{booth / 100:.2f}" in shown
    print(f"owed: booth {booth} = cloud {cloud['04A1']['owed_minor']} (bills {bills[:2]}, paid {paid}; prepaid {bills[2]} not owed)")

    # A cloud that held these events before it booked charging facts books them on start.
    from sqlalchemy import select

    from console.sync.server import charge_proof
    from console.sync.server import db as cloud_db

    tables = (cloud_db.charge_card, cloud_db.charge_ledger)
    with world.engine.begin() as conn:
        before = [sorted(tuple(r) for r in conn.execute(select(*[c for c in t.c if c.name != "updated_at"]))) for t in tables]
        for t in tables:
            conn.execute(t.delete())
        assert charge_proof.rebook(conn) > 0
        after = [sorted(tuple(r) for r in conn.execute(select(*[c for c in t.c if c.name != "updated_at"]))) for t in tables]
        assert charge_proof.rebook(conn) == 0  # once
    assert after == before
