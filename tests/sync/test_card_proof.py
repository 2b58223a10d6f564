"""A card number alone does not start charging from a phone: the page asks for the card's
PIN (set at the booth, checked by the cloud against the hash the booth sent up), counts
wrong PINs and locks like the staff PINs, and says the same for a card that does not
exist. The right PIN starts prepaid and postpaid sessions; a signed-in owner needs none.
A real cloud on loopback and a real booth site with the e-bike simulator on a pty."""

from __future__ import annotations

import html
import json

import httpx
from sqlalchemy import select

from console.site.site import Site
from console.store.charging_tables import charge_card, charge_session
from console.store.tables import AuditRow
from console.sync.server import accounts
from console.sync.server import db as cloud_db
from drivers.charger.epile_sim import EPileSimulator
from tests.sync.conftest import SITE, wait_until
from tests.sync.people import World, world_fixture  # noqa: F401 - the `world` fixture
from tests.sync.test_phone_charging import PINS, csrf_of, fast_pile_fixture, figures, phone_site_fixture, plugged  # noqa: F401

WRONG = "That card number and PIN (or code) do not go together"


def ask(phone: httpx.Client, port: int, card: str, pin: str | None, mode: str = "postpaid", **headers: str) -> httpx.Response:
    data = {"card": card, "kind": "amount", "value": "1", "mode": mode}
    if pin is not None:
        data["pin"] = pin
    return phone.post(f"/staff/charge/{SITE}/E1/{port}", data=data, headers=headers)


def queued(world: World) -> int:
    with world.engine.connect() as conn:
        return len(conn.execute(select(cloud_db.charge_request.c.request_id)).all())


def test_the_pin_is_kept_only_as_a_salted_hash_here_and_in_the_cloud(world: World, phone_site: Site) -> None:
    with phone_site.store.read() as s:
        hashes = dict(s.execute(select(charge_card.c.card_id, charge_card.c.pin_hash).where(charge_card.c.pin_hash.is_not(None))).all())
        trail = s.execute(select(AuditRow.__table__.c.detail).where(AuditRow.__table__.c.action == "charging.card_pin_set")).scalars().all()  # type: ignore[attr-defined]
    assert set(hashes) == {"04A1", "77B2"}
    for card, pin in PINS.items():
        assert hashes[card].startswith("$argon2id$") and pin not in hashes[card]
    assert hashes["04A1"].split("$")[4] != hashes["77B2"].split("$")[4]  # a salt of its own
    assert len(trail) == 2 and not any("argon2" in d for d in trail)  # the audit says a PIN was set, not which
    with world.engine.connect() as conn:
        cloud = dict(conn.execute(select(cloud_db.charge_card.c.card, cloud_db.charge_card.c.pin_hash)
                                  .where(cloud_db.charge_card.c.pin_hash.is_not(None))).all())
    assert cloud == hashes


def test_a_typed_card_needs_its_pin_and_wrong_ones_lock_without_telling_whether_it_exists(world: World, phone_site: Site) -> None:
    phone = httpx.Client(base_url=world.url, timeout=10)
    form = phone.get(f"/staff/charge/{SITE}/E1/3")
    assert 'id="pin"' in form.text and 'type="password"' in form.text
    no_pin = ask(phone, 3, "77B2", None)
    assert no_pin.status_code == 422 and "Type the card's PIN as well" in html.unescape(no_pin.text)  # asked for, not counted
    assert no_pin.text.replace("77B2", "99FF") == ask(phone, 3, "99FF", None).text.replace("77B2", "99FF")
    wrong, nobody, unset = ask(phone, 3, "77B2", "1111"), ask(phone, 3, "99FF", "2580"), ask(phone, 3, "LL01", "2580")
    assert {wrong.status_code, nobody.status_code, unset.status_code} == {403}
    # The same words whether the card has another PIN, does not exist, or has no PIN.
    assert WRONG in wrong.text and WRONG in nobody.text and WRONG in unset.text
    zh = ask(phone, 3, "77B2", "1112", **{"Accept-Language": "zh-CN"})
    assert zh.status_code == 403 and "卡号和密码" in zh.text and WRONG not in zh.text
    # Five wrong in a row lock the number: then even the right PIN is refused, for a while.
    for pin in ("1113", "1114", "1115"):
        assert WRONG in ask(phone, 3, "77B2", pin).text
    locked = ask(phone, 3, "77B2", PINS["77B2"])
    assert locked.status_code == 403 and "Too many wrong tries for this card number" in locked.text
    for pin in ("1111", "1112", "1113", "1114", "1115"):  # an unknown number locks the same way
        ask(phone, 3, "99FF", pin)
    assert "Too many wrong tries for this card number" in ask(phone, 3, "99FF", "2580").text
    assert queued(world) == 0  # nothing was sent to the booth
    with world.engine.connect() as conn:
        trail = accounts.audit_trail(conn, action="charging.card_pin")
    outcomes = [(e["subject"], e["outcome"]) for e in reversed(trail) if e["subject"] == "77B2"]
    assert outcomes == [("77B2", "refused")] * 5 + [("77B2", "locked")]
    # The cloud's administrator lets the number be tried again (audited); the right PIN then starts.
    from console.cli import main

    assert main(["cloud", "admin", "unlock-card", "--db", world.engine.url.render_as_string(hide_password=False), SITE, "77B2",
                 "--by", "sam"]) == 0
    assert ask(phone, 3, "77B2", PINS["77B2"]).status_code == 303
    with world.engine.connect() as conn:
        assert [(e["person"], e["outcome"]) for e in accounts.audit_trail(conn, action="charging.card_unlocked")] == [("sam", "ok")]
    # The site's clock runs a minute a second here: the other number's lock (5 min) ends in seconds.
    wait_until(lambda: "Too many" not in ask(phone, 3, "99FF", "2580").text, timeout=20, interval=1.0)


def test_the_right_pin_starts_prepaid_and_postpaid_and_an_owner_needs_none(world: World, phone_site: Site,
                                                                          fast_pile: EPileSimulator) -> None:
    charging = phone_site.charging
    assert charging is not None
    plugged(phone_site, fast_pile, 1)
    plugged(phone_site, fast_pile, 2)
    phone = httpx.Client(base_url=world.url, timeout=10)
    prepaid = ask(phone, 1, "77B2", PINS["77B2"], mode="prepaid")
    postpaid = ask(phone, 2, "04A1", PINS["04A1"], mode="postpaid")
    assert prepaid.status_code == postpaid.status_code == 303
    pages = [prepaid.headers["location"], postpaid.headers["location"]]
    for page in pages:
        wait_until(lambda page=page: figures(phone, page)["state"] == "started", timeout=15)  # type: ignore[misc]
    for page in pages:
        phone.post(f"{page}/stop")
    for page in pages:
        wait_until(lambda page=page: figures(phone, page)["state"] == "closed", timeout=15)  # type: ignore[misc]
    with phone_site.store.read() as s:
        rows = s.execute(select(charge_session.c.card_id, charge_session.c.mode, charge_session.c.source)).all()
    assert sorted(rows) == [("04A1", "postpaid", "phone"), ("77B2", "prepaid", "phone")]
    table = AuditRow.__table__.c  # type: ignore[attr-defined]
    with phone_site.store.read() as s:
        started = [json.loads(d) for d in s.execute(select(table.detail).where(table.action == "charging.phone_started")).scalars()]
    assert sorted((d["card"], d["proof"]) for d in started) == [("04A1", "pin"), ("77B2", "pin")]  # the booth's audit says how
    # Tina owns 04A1: signed in, she picks it and types no PIN.
    tina = world.person("tina")
    form = tina.get(f"/staff/charge/{SITE}/E1/1")
    assert '<option value="04A1">' in form.text and 'id="pin"' not in form.text
    mine = tina.post(f"/staff/charge/{SITE}/E1/1", data={"csrf": csrf_of(form.text), "card": "04A1", "kind": "amount", "value": "1",
                                                          "mode": "prepaid"})
    assert mine.status_code == 303
    with world.engine.connect() as conn:
        trail = accounts.audit_trail(conn, action="charging.phone_start")
    proofs = [e["detail"].rsplit(" proof ", 1)[1] for e in reversed(trail) if e["outcome"] == "queued"]
    assert proofs == ["pin", "pin", "owner"]


def test_one_device_trying_number_after_number_is_stopped(world: World, phone_site: Site) -> None:
    from console.sync.server.charge_proof import CLIENT_WRONG_PER_HOUR

    phone = httpx.Client(base_url=world.url, timeout=10)
    for n in range(CLIENT_WRONG_PER_HOUR):  # a common PIN on one number after another, 1 try each
        assert WRONG in ask(phone, 4, f"{0xA000 + n:04X}", "2580").text
    stopped = ask(phone, 4, "04A1", PINS["04A1"])
    assert stopped.status_code == 403 and "Too many wrong tries from this device" in stopped.text
    assert queued(world) == 0
