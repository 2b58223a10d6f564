"""A building manager and a franchise manager, for real: headless Chromium (Selenium) at
a phone's viewport signs in, finds who got out at floor 12 at 08:14, sees the portrait,
is refused another building's ride; the franchise manager sees the open fault with its
notifications delivered and closes it.

Screenshots are saved for a person to look at (under $BOOTH_SCREENSHOTS when set).
"""

from __future__ import annotations

import os
import re
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from console.store import charging as charging_records
from console.store.database import Store
from console.sync.server import db as cloud_db
from tests.sync.conftest import SITE, wait_until
from tests.sync.people import PASSWORD, World, ride, world_fixture  # noqa: F401 - the `world` fixture
from tests.sync.test_phone_browser import CHROMEDRIVER, CHROMIUM, phone_browser

pytestmark = pytest.mark.skipif(
    not (Path(CHROMIUM).exists() and Path(CHROMEDRIVER).exists()), reason="chromium and chromium-driver are not installed"
)


@pytest.fixture
def shots(tmp_path: Path) -> Path:
    folder = Path(os.environ.get("BOOTH_SCREENSHOTS") or tmp_path / "screenshots")
    folder.mkdir(parents=True, exist_ok=True)
    print(f"screenshots in {folder}")
    return folder


def click(browser: Any, element: Any) -> None:
    """Click and wait until the next page replaced this one."""
    from selenium.common.exceptions import WebDriverException
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    page = browser.find_element(By.TAG_NAME, "html")
    element.click()

    def replaced(driver: Any) -> bool:
        try:
            page.is_enabled()
        except WebDriverException:  # stale, or (mid-navigation) "node does not belong to the document"
            return True
        return False

    WebDriverWait(browser, 10).until(replaced)


def sign_in(browser: Any, url: str, name: str, start: str) -> None:
    from selenium.webdriver.common.by import By

    browser.get(url + start)
    assert "/staff/sign-in" in browser.current_url  # nobody signed in: asked to sign in first
    browser.find_element(By.ID, "name").send_keys(name)
    browser.find_element(By.ID, "password").send_keys(PASSWORD)
    click(browser, browser.find_element(By.ID, "sign-in"))


def test_a_building_manager_traces_a_ride_in_a_browser(world: World, store: Store, shots: Path) -> None:
    from selenium.webdriver.common.by import By

    morning = datetime(2026, 11, 3, 7, 14, tzinfo=timezone.utc)  # 08:14 in Berlin
    mine = ride(store, car=1, floor=12, at=morning, card="04A1", fee=80, shade=4)
    theirs = ride(store, car=2, floor=12, at=morning, card="04B2", fee=80, shade=5)
    world.sync.wake()
    wait_until(lambda: world.rides() == 2, timeout=15)

    browser = phone_browser("zh-CN")
    try:
        sign_in(browser, world.url, "bea", "/staff/rides")
        assert browser.current_url.endswith("/staff/rides")
        browser.find_element(By.ID, "floor").send_keys("12")
        browser.find_element(By.ID, "day").send_keys("2026-11-03")
        browser.find_element(By.ID, "from").send_keys("08:00")
        browser.find_element(By.ID, "until").send_keys("08:30")
        click(browser, browser.find_element(By.ID, "find"))
        rows = browser.find_elements(By.CSS_SELECTOR, "tr.ride")
        assert [r.get_attribute("data-ride") for r in rows] == [mine.id]
        assert "楼栋" in browser.page_source  # the page speaks the browser's language
        browser.save_screenshot(str(shots / "staff-rides.png"))
        click(browser, rows[0].find_element(By.TAG_NAME, "a"))
        portrait = browser.find_element(By.ID, "portrait")
        assert browser.execute_script("return arguments[0].complete && arguments[0].naturalWidth", portrait) == 120
        browser.save_screenshot(str(shots / "staff-ride-portrait.png"))

        browser.get(f"{world.url}/staff/rides/{SITE}/{theirs.id}")
        refused = browser.find_element(By.ID, "refused")
        assert refused.get_attribute("data-status") == "403" and not browser.find_elements(By.ID, "portrait")
        browser.save_screenshot(str(shots / "staff-ride-refused.png"))
    finally:
        browser.quit()
    with world.engine.connect() as conn:
        outcomes = conn.execute(select(cloud_db.person_audit.c.subject, cloud_db.person_audit.c.outcome)
                                .where(cloud_db.person_audit.c.action == "ride.portrait_viewed", cloud_db.person_audit.c.person == "bea")).all()
    assert sorted(tuple(o) for o in outcomes) == sorted([(mine.id, "shown"), (theirs.id, "refused")])


def test_a_franchise_manager_closes_a_fault_in_a_browser(world: World, store: Store, shots: Path) -> None:
    from selenium.webdriver.common.by import By

    fault = store.apply(charging_records.raise_fault, pile_id="P-07", port=1, code="5", detail="relay stuck", region="north",
                        franchise="volt", at=world.clock.now())
    assert fault is not None
    world.hook.refuse = world.smtp.refuse = 0
    world.sync.wake()
    wait_until(lambda: len(world.hook.requests) == 1 and len(world.smtp.messages) == 1, timeout=15)

    browser = phone_browser("en-US")
    try:
        sign_in(browser, world.url, "fran", "/staff/faults?franchise=volt")
        row = browser.find_element(By.CSS_SELECTOR, f'.fault[data-fault="{fault.id}"]')
        states = {d.get_attribute("data-channel"): d.get_attribute("data-state") for d in row.find_elements(By.CSS_SELECTOR, ".delivery")}
        assert states == {"webhook": "delivered", "email": "delivered"}
        browser.save_screenshot(str(shots / "staff-faults.png"))
        click(browser, row.find_element(By.TAG_NAME, "a"))
        browser.find_element(By.ID, "note").send_keys("relay replaced")
        click(browser, browser.find_element(By.ID, "close"))
        assert re.search(r"relay replaced", browser.find_element(By.ID, "fault").text)
        assert not browser.find_elements(By.ID, "close")
        browser.save_screenshot(str(shots / "staff-fault-closed.png"))
    finally:
        browser.quit()
    wait_until(lambda: not store.query(charging_records.faults, open_only=True), timeout=15)
