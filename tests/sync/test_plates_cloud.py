"""Chinese plates through the reference cloud's protocol: a mainland site's visits reach
the cloud's books in canonical form, members and phone payments for Chinese plates come
back to the booth, and the cloud accepts a plate of any region unless told otherwise."""

from __future__ import annotations

from typing import Any

import httpx
from sqlalchemy import select

from console.site.build import build_site
from console.site.config import parse_site
from console.site.events import ExitPending, ExitSettled
from console.store import cloud_copies, visits
from console.sync.credentials import save_token
from console.sync.server import admin
from console.sync.server import db as cloud_tables
from console.sync.server.app import create_app
from console.sync.server.run import ServerThread
from drivers.gate.simworld import Traffic
from tests.conftest import Recorder, site_text
from tests.sync.conftest import FAST, wait_until
from tests.sync.phone import park, pay_by_phone


def _mainland_site(store, clock, cloud):  # type: ignore[no-untyped-def]
    save_token(cloud.url, cloud.token)
    extra = f'\n[cloud]\nurl = "{cloud.url}"\nsite_id = "{cloud.site_id}"\n'
    text = site_text(200, extra).replace('currency = "EUR"\n', 'currency = "EUR"\nplate_regions = ["cn"]\n', 1)
    site = build_site(parse_site(text, "cn.toml"), store, clock=clock, traffic=Traffic(seed=5), sync_tuning=FAST)
    rec = Recorder()
    site.bus.subscribe(rec)
    site.start()
    site.staff.open_shift("ann", "0")
    return site, rec


def _enter(site, rec, read: str, stored: str) -> None:  # type: ignore[no-untyped-def]
    site.lanes.gates["IN1"].arrive(read)
    rec.wait_for(lambda: site.store.query(visits.open_visit_for, stored) is not None)


def _cloud_visits(cloud) -> list[tuple[str, str]]:  # type: ignore[no-untyped-def]
    with cloud.engine.connect() as conn:
        rows = conn.execute(select(cloud_tables.visit.c.plate, cloud_tables.visit.c.state).order_by(cloud_tables.visit.c.plate)).all()
    return [(r.plate, r.state) for r in rows]


def _link(url: str, site_id: str, plate: str) -> httpx.Response:
    return httpx.post(f"{url}/v1/driver/payment-links", json={"site_id": site_id, "plate": plate})


def test_a_mainland_sites_visits_reach_the_cloud_in_canonical_form(store, clock, cloud, memory_keyring) -> None:  # type: ignore[no-untyped-def]
    site, rec = _mainland_site(store, clock, cloud)
    try:
        _enter(site, rec, "粤B·D12345", "粤BD12345")
        _enter(site, rec, "京A·12345", "京A12345")
        clock.advance(hours=2, minutes=5)
        site.lanes.gates["OUT1"].arrive("粤b d12345")
        rec.wait_for(lambda: bool(rec.of(ExitPending)))
        site.desk.pay_cash(rec.of(ExitPending)[0].ticket.id, "10", attendant="ann")
        wait_until(lambda: _cloud_visits(cloud) == [("京A12345", "open"), ("粤BD12345", "closed")])
        assert cloud.books()["revenue_minor"] == {"EUR": {"cash": 750}}
    finally:
        site.stop()


def test_members_and_phone_payments_for_chinese_plates_come_back(store, clock, cloud, memory_keyring, server_clock) -> None:  # type: ignore[no-untyped-def]
    server_clock.follow = clock.now  # the cloud quotes at the booth's time
    # The operator writes the plate as it is printed; the booth compares canonical text.
    admin.publish_members(cloud.engine, cloud.site_id, "m1", [{"plate": "沪A·D12345", "kind": "pass", "name": "Resident"}])
    site, rec = _mainland_site(store, clock, cloud)
    try:
        wait_until(lambda: store.query(cloud_copies.members_for, "沪AD12345", clock.now()) != [])
        _enter(site, rec, "沪AD12345", "沪AD12345")
        _enter(site, rec, "粤Z·1234港", "粤Z1234港")
        clock.advance(hours=1, minutes=5)  # 2 started hours: 5.00
        wait_until(lambda: ("粤Z1234港", "open") in _cloud_visits(cloud))  # the entry reached the cloud
        paid = pay_by_phone(cloud.url, cloud.site_id, "粤z 1234 港")  # the cloud knows the stay: it quoted it
        assert (paid["plate"], paid["status"]) == ("粤Z1234港", "paid")
        wait_until(lambda: len(store.query(cloud_copies.remote_payments_for, "粤Z1234港")) == 1)
        site.lanes.gates["OUT1"].arrive("粤Z·1234港")
        rec.wait_for(lambda: len(rec.of(ExitSettled)) == 1)
        site.lanes.gates["OUT1"].arrive("沪A D12345")  # the pass leaves free
        rec.wait_for(lambda: len(rec.of(ExitSettled)) == 2)
        assert rec.of(ExitPending) == []
        assert [e.closed.visit.plate for e in rec.of(ExitSettled)] == ["粤Z1234港", "沪AD12345"]
    finally:
        site.stop()


def test_the_cloud_accepts_any_region_and_refuses_what_is_no_plate(cloud) -> None:  # type: ignore[no-untyped-def]
    for plate, canonical in (("京A12345", "京A12345"), ("AB 1234", "AB1234"), ("MA-12-34", "MA1234"), ("b-ab 123", "BAB123")):
        park(cloud.url, cloud.site_id, cloud.token, canonical)
        answer = _link(cloud.url, cloud.site_id, plate)
        assert answer.status_code == 201 and answer.json()["plate"] == canonical
    for bad, words in (("泸A12345", "not a province abbreviation"), ("京A1234O", "letter O is not used"), ("AB/12", "cannot be on a plate")):
        answer = _link(cloud.url, cloud.site_id, bad)
        assert answer.status_code == 422 and words in answer.json()["error"], answer.text


def test_a_cloud_told_its_regions_refuses_the_others(cloud_engine) -> None:  # type: ignore[no-untyped-def]
    token = admin.register_site(cloud_engine, "eu-1", name="Riverside")
    with ServerThread(create_app(cloud_engine, plate_regions=["latin"])) as server:
        park(server.url, "eu-1", token, "BAB123")
        refused: Any = _link(server.url, "eu-1", "京A12345")
        assert refused.status_code == 422
        assert "it is a mainland Chinese plate (the site reads letters-and-digits plates)" in refused.json()["error"]
        assert _link(server.url, "eu-1", "B-AB 123").json()["plate"] == "BAB123"


def test_booth_cloud_names_an_unknown_plate_region(tmp_path, capsys) -> None:  # type: ignore[no-untyped-def]
    from console.commands import cloud as cli
    from console.store.engine import sqlite_url

    for spelling in (["cloud"], ["cloud", "serve"]):
        code = cli.main([*spelling, "--db", sqlite_url(tmp_path / "c.sqlite3"), "--port", "0", "--plate-regions", "cn,tw"])
        assert code == cli.EXIT_USAGE
        assert "--plate-regions: unknown plate region 'tw' (allowed: cn, hk, mo, latin)" in capsys.readouterr().err
