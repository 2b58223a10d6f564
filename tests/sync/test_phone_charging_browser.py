"""Charging from the phone in a real browser: headless Chromium (Selenium) at a phone's
viewport opens the pile's QR address, the tenant signs in, chooses her card, a prepaid
amount, starts, watches the energy and fee rise as the booth reports them, and stops.

Screenshots are saved for a person to look at (under $BOOTH_SCREENSHOTS when set)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from console.site.site import Site
from console.sync.server.charge_phone import qr_address
from drivers.charger.epile_sim import EPileSimulator
from tests.sync.conftest import SITE, wait_until
from tests.sync.people import PASSWORD, World, world_fixture  # noqa: F401 - the `world` fixture
from tests.sync.test_people_browser import click
from tests.sync.test_phone_browser import CHROMEDRIVER, CHROMIUM, phone_browser
from tests.sync.test_phone_charging import fast_pile_fixture, phone_site_fixture, plugged  # noqa: F401 - fixtures

pytestmark = pytest.mark.skipif(
    not (Path(CHROMIUM).exists() and Path(CHROMEDRIVER).exists()), reason="chromium and chromium-driver are not installed"
)


def test_tenant_charges_from_the_pile_qr_in_a_browser(world: World, phone_site: Site, fast_pile: EPileSimulator, tmp_path: Path) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select

    shots = Path(os.environ.get("BOOTH_SCREENSHOTS") or tmp_path)
    shots.mkdir(parents=True, exist_ok=True)
    charging = phone_site.charging
    assert charging is not None
    plugged(phone_site, fast_pile, 1)
    browser = phone_browser("zh-CN")
    try:
        browser.get(qr_address(world.url, SITE, "E1", 1))
        assert "在此充电" in browser.title  # the browser's language
        click(browser, browser.find_element(By.ID, "sign-in-link"))
        browser.find_element(By.ID, "name").send_keys("tina")
        browser.find_element(By.ID, "password").send_keys(PASSWORD)
        click(browser, browser.find_element(By.ID, "sign-in"))
        assert "/staff/charge/" in browser.current_url  # back at the pile's page
        assert [o.get_attribute("value") for o in Select(browser.find_element(By.ID, "card")).options] == ["04A1"]
        Select(browser.find_element(By.ID, "preset-kind")).select_by_value("amount")
        value = browser.find_element(By.ID, "preset-value")
        value.clear()
        value.send_keys("20")
        browser.find_element(By.ID, "mode-prepaid").click()
        browser.save_screenshot(str(shots / "phone-charge-start.png"))
        click(browser, browser.find_element(By.ID, "start"))
        assert "/staff/charge/r/" in browser.current_url

        def charging_shown() -> bool:
            browser.refresh()
            state = browser.find_element(By.ID, "charging").get_attribute("data-state")
            fee = "".join(ch for ch in browser.find_element(By.ID, "fee").text if ch.isdigit())
            # Past the free first minute: the fee shown is more than zero.
            return (state == "started" and float(browser.find_element(By.ID, "energy").text) > 0 and int(fee or 0) > 0
                    and bool(browser.find_elements(By.ID, "stop")))

        wait_until(charging_shown, timeout=30, interval=0.3)
        assert "充电" in browser.find_element(By.ID, "state").text
        browser.save_screenshot(str(shots / "phone-charge-running.png"))
        click(browser, browser.find_element(By.ID, "stop"))

        def finished() -> bool:
            browser.refresh()
            return browser.find_element(By.ID, "charging").get_attribute("data-state") == "closed"

        wait_until(finished, timeout=20, interval=0.3)
        assert not browser.find_elements(By.ID, "stop")
        fee_text = browser.find_element(By.ID, "fee").text
        browser.save_screenshot(str(shots / "phone-charge-done.png"))
    finally:
        browser.quit()
    account = charging.account("FLAT-12A")
    assert account is not None
    spent = 5000 - account.balance.minor
    assert spent > 0 and f"{spent / 100:.2f}" in fee_text.replace(",", ".")


def test_a_typed_card_and_its_pin_in_a_browser(world: World, phone_site: Site, fast_pile: EPileSimulator, tmp_path: Path) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select

    from tests.sync.test_phone_charging import PINS

    shots = Path(os.environ.get("BOOTH_SCREENSHOTS") or tmp_path)
    shots.mkdir(parents=True, exist_ok=True)
    charging = phone_site.charging
    assert charging is not None
    plugged(phone_site, fast_pile, 2)
    browser = phone_browser("zh-CN")

    def start_with(pin: str) -> None:
        browser.find_element(By.ID, "card").clear()
        browser.find_element(By.ID, "card").send_keys("77B2")
        browser.find_element(By.ID, "pin").send_keys(pin)
        Select(browser.find_element(By.ID, "preset-kind")).select_by_value("time")
        value = browser.find_element(By.ID, "preset-value")
        value.clear()
        value.send_keys("30")
        browser.find_element(By.ID, "mode-postpaid").click()
        click(browser, browser.find_element(By.ID, "start"))

    try:
        browser.get(qr_address(world.url, SITE, "E1", 2))
        start_with("1111")
        assert "卡号和密码" in browser.find_element(By.ID, "note").text  # refused, in the phone's language
        browser.save_screenshot(str(shots / "phone-charge-wrong-pin.png"))
        start_with(PINS["77B2"])
        assert "/staff/charge/r/" in browser.current_url

        def started() -> bool:
            browser.refresh()
            return browser.find_element(By.ID, "charging").get_attribute("data-state") == "started" and bool(browser.find_elements(By.ID, "stop"))

        wait_until(started, timeout=20, interval=0.3)
        click(browser, browser.find_element(By.ID, "stop"))
    finally:
        browser.quit()
    wait_until(lambda: not any(p.session_id for p in charging.ports()), timeout=15)
