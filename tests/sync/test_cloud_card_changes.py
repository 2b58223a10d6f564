"""Cards bound and piles authorized from the cloud, carried out by the booth: a tenant
binds a new card with the code the booth printed (or claims one with its PIN), a
landlord authorizes and takes away a pile on their landlord card. The cloud queues the
change, the booth pulls it and applies it with the same calls as `booth charging
bind|authorize` (audited there), and the page shows its answer. Nobody reaches a card or
pile that is not theirs. A real cloud on loopback, a real booth site, a headless browser
for the landlord's page."""

from __future__ import annotations

import os
import re
from datetime import datetime, timezone
from pathlib import Path

import httpx
import pytest
from sqlalchemy import select

from console.site.site import Site
from console.store.tables import AuditRow
from console.sync.server import accounts
from console.sync.server import db as cloud_db
from tests.sync.conftest import SITE, wait_until
from tests.sync.people import PASSWORD, World, world_fixture  # noqa: F401 - the `world` fixture
from tests.sync.test_phone_charging import PINS, csrf_of, fast_pile_fixture, phone_site_fixture  # noqa: F401 - fixtures

WRONG = "That card number and PIN (or code) do not go together"


def state_of(client: httpx.Client, page: str) -> str:
    shown = client.get(page)
    assert shown.status_code == 200, shown.text
    found = re.search(r'id="change" data-state="(\w+)"', shown.text)
    assert found is not None
    return found.group(1)


def booth_audit(site: Site, action: str) -> list[tuple[str, str]]:
    table = AuditRow.__table__.c  # type: ignore[attr-defined]
    with site.store.read() as s:
        return [(r.actor, r.subject) for r in s.execute(select(table.actor, table.subject).where(table.action == action).order_by(table.seq))]


def landlord(world: World) -> httpx.Client:
    with world.engine.begin() as conn:
        accounts.add_person(conn, name="lou", role="landlord", password=PASSWORD, grants=[f"{SITE}:E1", f"{SITE}:card:LL01"],
                            at=datetime.now(timezone.utc))
    return world.person("lou")


def test_a_tenant_binds_a_new_card_with_the_code_the_booth_printed(world: World, phone_site: Site) -> None:
    charging = phone_site.charging
    assert charging is not None and phone_site.cloud is not None
    code, _expires = charging.issue_bind_code("booth-card:?card=C0FE", "FLAT-12A", "ann")
    other, _x = charging.issue_bind_code("D00D", "FLAT-12A", "ann")
    assert phone_site.cloud.flush() == 0
    tina = world.person("tina")
    form = tina.get("/staff/charging/bind")
    assert form.status_code == 200 and 'id="secret"' in form.text
    csrf = csrf_of(form.text)
    # A wrong code, and the right code of another card: refused alike, nothing queued.
    for card, secret in (("C0FE", "00000000"), ("C0FE", other)):
        refused = tina.post("/staff/charging/bind", data={"csrf": csrf, "site": SITE, "card": card, "proof": "code", "secret": secret})
        assert refused.status_code == 403 and WRONG in refused.text
    done = tina.post("/staff/charging/bind", data={"csrf": csrf, "site": SITE, "card": "booth-card:?card=C0FE", "proof": "code",
                                                   "secret": f"{code[:4]}-{code[4:]}"})
    assert done.status_code == 303
    page = done.headers["location"]
    wait_until(lambda: state_of(tina, page) != "queued", timeout=15)
    assert state_of(tina, page) == "done"
    # Bound at the booth with the CLI's call, audited with Tina; the card is hers in the cloud.
    assert charging.account_usage("C0FE").account.id == "FLAT-12A"
    assert booth_audit(phone_site, "charging.card_bound")[-1] == ("cloud:tina", "C0FE")
    mine = tina.get("/staff/charging")
    assert 'data-card="C0FE"' in mine.text
    again = tina.post("/staff/charging/bind", data={"csrf": csrf, "site": SITE, "card": "C0FE", "proof": "code", "secret": code})
    assert again.status_code == 403  # a code binds once
    with world.engine.connect() as conn:
        trail = [(e["subject"], e["outcome"]) for e in reversed(accounts.audit_trail(conn, action="charging.bind_card"))]
    assert trail == [("C0FE", "queued"), ("C0FE", "done")]


def test_a_tenant_claims_a_booth_bound_card_with_its_pin_and_others_are_refused(world: World, phone_site: Site) -> None:
    charging = phone_site.charging
    assert charging is not None
    tina = world.person("tina")
    csrf = csrf_of(tina.get("/staff/charging/bind").text)
    wrong = tina.post("/staff/charging/bind", data={"csrf": csrf, "site": SITE, "card": "77B2", "proof": "pin", "secret": "1111"})
    assert wrong.status_code == 403 and WRONG in wrong.text
    claimed = tina.post("/staff/charging/bind", data={"csrf": csrf, "site": SITE, "card": "77B2", "proof": "pin", "secret": PINS["77B2"]})
    page = claimed.headers["location"]
    wait_until(lambda: state_of(tina, page) != "queued", timeout=15)
    assert state_of(tina, page) == "done"
    assert booth_audit(phone_site, "charging.card_claimed") == [("cloud:tina", "77B2")]
    form = tina.get(f"/staff/charge/{SITE}/E1/1")
    assert '<option value="77B2">' in form.text  # now hers: chosen, no PIN asked
    # Not a tenant: a landlord cannot bind; another person cannot read Tina's change.
    lou = landlord(world)
    assert lou.get("/staff/charging/bind").status_code == 403
    assert lou.get(page).status_code == 404
    assert tina.post("/staff/charging/bind", data={"csrf": csrf, "site": "elsewhere", "card": "77B2", "proof": "pin",
                                                   "secret": PINS["77B2"]}).status_code == 403
    bad = tina.post("/staff/charging/bind", data={"csrf": csrf, "site": SITE, "card": "booth-x:??", "proof": "pin", "secret": "1"})
    assert bad.status_code == 422 and "number printed on your card" in bad.text


def test_a_landlord_authorizes_and_takes_away_a_pile_only_their_own(world: World, phone_site: Site) -> None:
    charging = phone_site.charging
    assert charging is not None
    lou = landlord(world)
    shown = lou.get("/staff/charging/piles")
    assert shown.status_code == 200 and 'data-card="LL01"' in shown.text and 'data-pile="E1" data-state="off"' in shown.text
    csrf = csrf_of(shown.text)
    asked = lou.post("/staff/charging/piles", data={"csrf": csrf, "site": SITE, "card": "LL01", "pile": "E1", "action": "add"})
    assert asked.status_code == 303
    page = asked.headers["location"]
    wait_until(lambda: state_of(lou, page) != "queued", timeout=15)
    assert state_of(lou, page) == "done" and "Piles now: E1" in lou.get(page).text
    assert charging.account_usage("LL01").cards[0].piles == ("E1",)
    assert booth_audit(phone_site, "charging.piles_authorized") == [("cloud:lou", "LL01")]
    wait_until(lambda: 'data-pile="E1" data-state="on"' in lou.get("/staff/charging/piles").text, timeout=10)
    away = lou.post("/staff/charging/piles", data={"csrf": csrf, "site": SITE, "card": "LL01", "pile": "E1", "action": "remove"})
    wait_until(lambda: state_of(lou, away.headers["location"]) == "done", timeout=15)
    assert charging.account_usage("LL01").cards[0].piles == ()
    # A pile or card not granted, and a tenant: refused, audited, nothing queued.
    assert lou.post("/staff/charging/piles", data={"csrf": csrf, "site": SITE, "card": "LL01", "pile": "E2", "action": "add"}).status_code == 403
    assert lou.post("/staff/charging/piles", data={"csrf": csrf, "site": SITE, "card": "04A1", "pile": "E1", "action": "add"}).status_code == 403
    tina = world.person("tina")
    assert tina.get("/staff/charging/piles").status_code == 403
    tcsrf = csrf_of(tina.get("/staff/charging").text)
    assert tina.post("/staff/charging/piles", data={"csrf": tcsrf, "site": SITE, "card": "LL01", "pile": "E1", "action": "add"}).status_code == 403
    with world.engine.connect() as conn:
        trail = [(e["person"], e["subject"], e["outcome"]) for e in reversed(accounts.audit_trail(conn, action="charging.authorize_piles"))]
        commands = conn.execute(select(cloud_db.site_command.c.kind).where(cloud_db.site_command.c.kind == "charging.authorize_piles")).all()
    assert trail.count(("lou", "LL01", "queued")) == 2 and trail.count(("lou", "LL01", "done")) == 2
    assert ("lou", "04A1", "refused") in trail and ("tina", "LL01", "refused") in trail and ("lou", "LL01", "refused") in trail
    assert len(commands) == 2


CHROMIUM_OK = all(Path(p).exists() for p in ("/usr/bin/chromium", "/usr/bin/chromedriver"))


@pytest.mark.skipif(not CHROMIUM_OK, reason="chromium and chromium-driver are not installed")
def test_the_landlord_page_in_a_browser(world: World, phone_site: Site, tmp_path: Path) -> None:
    from selenium.webdriver.common.by import By

    from tests.sync.test_people_browser import click
    from tests.sync.test_phone_browser import phone_browser

    charging = phone_site.charging
    assert charging is not None
    landlord(world)
    shots = Path(os.environ.get("BOOTH_SCREENSHOTS") or tmp_path)
    shots.mkdir(parents=True, exist_ok=True)
    browser = phone_browser("zh-CN")
    try:
        browser.get(f"{world.url}/staff/sign-in?next=/staff/charging")
        browser.find_element(By.ID, "name").send_keys("lou")
        browser.find_element(By.ID, "password").send_keys(PASSWORD)
        click(browser, browser.find_element(By.ID, "sign-in"))
        click(browser, browser.find_element(By.ID, "go-piles"))
        assert browser.find_element(By.CSS_SELECTOR, '[data-pile="E1"] .state').text == "未授权"
        click(browser, browser.find_element(By.ID, "add-LL01-E1"))
        assert "/staff/charging/change/" in browser.current_url

        def answered() -> bool:
            browser.refresh()
            return browser.find_element(By.ID, "change").get_attribute("data-state") == "done"

        wait_until(answered, timeout=20, interval=0.3)
        assert "完成" in browser.find_element(By.ID, "state").text
        browser.save_screenshot(str(shots / "landlord-pile-authorized.png"))
        click(browser, browser.find_element(By.ID, "back"))
        assert browser.find_element(By.CSS_SELECTOR, '[data-pile="E1"] .state').text == "已授权"
    finally:
        browser.quit()
    assert charging.account_usage("LL01").cards[0].piles == ("E1",)
