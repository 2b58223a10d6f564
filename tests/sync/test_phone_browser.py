"""A driver's phone, for real: headless Chromium at a phone's viewport (Selenium) finds
a lot, looks up the plate, pays through the simulated provider, and a real console site
on loopback opens the exit by itself on the next plate read.

Screenshots are saved for a person to look at: under $BOOTH_SCREENSHOTS when set, else
the test's temporary folder (the path is printed).
"""

from __future__ import annotations

import os
import re
import shutil
import time
from pathlib import Path
from typing import Any, Iterator

import pytest

from console.site.build import build_site
from console.site.config import parse_site
from console.site.events import ExitPending, ExitSettled
from console.store import cloud_copies, visits
from console.sync.credentials import save_token
from drivers.gate.simworld import Traffic
from tests.conftest import Recorder, site_text
from tests.sync.conftest import FAST, wait_until

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMEDRIVER = shutil.which("chromedriver") or "/usr/bin/chromedriver"
PHONE = (390, 844)
PHONE_UA = "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0 Mobile Safari/537.36"

pytestmark = pytest.mark.skipif(
    not (os.path.exists(CHROMIUM) and os.path.exists(CHROMEDRIVER)), reason="chromium and chromium-driver are not installed"
)


def phone_browser(lang: str) -> Any:
    """Headless Chromium as a phone: viewport, touch, mobile user agent, language."""
    webdriver = pytest.importorskip("selenium.webdriver")
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for arg in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu", f"--lang={lang}"):
        options.add_argument(arg)
    options.add_experimental_option("mobileEmulation", {"deviceMetrics": {"width": PHONE[0], "height": PHONE[1], "pixelRatio": 2.0, "touch": True}, "userAgent": PHONE_UA})
    options.add_experimental_option("prefs", {"intl.accept_languages": lang})
    return webdriver.Chrome(options=options, service=Service(CHROMEDRIVER))


@pytest.fixture
def shots(tmp_path: Path) -> Path:
    folder = Path(os.environ.get("BOOTH_SCREENSHOTS") or tmp_path / "screenshots")
    folder.mkdir(parents=True, exist_ok=True)
    print(f"screenshots in {folder}")
    return folder


@pytest.fixture
def browser() -> Iterator[Any]:
    driver = phone_browser("en-GB,en")
    yield driver
    driver.quit()


def _wait(driver: Any, css: str, timeout: float = 10.0) -> Any:
    from selenium.webdriver.common.by import By

    deadline = time.monotonic() + timeout
    while True:
        found = driver.find_elements(By.CSS_SELECTOR, css)
        if found:
            return found[0]
        if time.monotonic() > deadline:
            raise AssertionError(f"{css} not on {driver.current_url}: {driver.page_source[:2000]}")
        time.sleep(0.1)


def test_find_a_lot_see_the_fee_pay_and_the_exit_opens(store, clock, cloud, memory_keyring, server_clock, browser, shots) -> None:  # type: ignore[no-untyped-def]
    from selenium.webdriver.common.by import By

    server_clock.follow = clock.now  # the cloud quotes at the booth's (test) time
    save_token(cloud.url, cloud.token)
    extra = f'\n[cloud]\nurl = "{cloud.url}"\nsite_id = "{cloud.site_id}"\n'
    site = build_site(parse_site(site_text(200, extra), "t.toml"), store, clock=clock, traffic=Traffic(seed=4), sync_tuning=FAST)
    rec = Recorder()
    site.bus.subscribe(rec)
    site.start()
    try:
        site.lanes.gates["IN1"].arrive("B-PH 2024")
        rec.wait_for(lambda: store.query(visits.open_visit_for, "BPH2024") is not None)
        clock.advance(hours=1, minutes=5)  # 2 started hours: 5.00

        # Lots near me: a typed place; the booth's occupancy is live in the list.
        browser.get(f"{cloud.url}/")
        browser.find_element(By.ID, "q").send_keys("Riverside")
        browser.find_element(By.ID, "search").click()
        wait_until(lambda: "199 free" in browser.page_source, timeout=10)
        lot = _wait(browser, ".lot[data-site='garage-1']")
        assert "Riverside Garage" in lot.text and "0 m" in lot.text
        browser.save_screenshot(str(shots / "1-lots-near-me.png"))

        # The browser's location (granted and set through the DevTools protocol).
        browser.execute_cdp_cmd("Browser.grantPermissions", {"origin": cloud.url, "permissions": ["geolocation"]})
        browser.execute_cdp_cmd("Emulation.setGeolocationOverride", {"latitude": 52.5205, "longitude": 13.4049, "accuracy": 10})
        browser.get(f"{cloud.url}/")
        browser.find_element(By.ID, "locate").click()
        wait_until(lambda: "lat=52.52050" in browser.current_url, timeout=10)
        lot = _wait(browser, ".lot[data-site='garage-1']")
        assert "56 m" in lot.text  # from the position the browser gave

        # My stay: the plate, the fee quoted by the cloud with the booth's tariff.
        lot.find_element(By.TAG_NAME, "a").click()
        _wait(browser, "#plate").send_keys("b ph 2024")
        browser.find_element(By.ID, "lookup").click()
        fee = _wait(browser, "#fee")
        assert fee.text == "€5.00"
        assert browser.find_element(By.ID, "tariff").text == "test-hourly@1"
        assert "BPH2024" in browser.find_element(By.ID, "plate").text
        browser.save_screenshot(str(shots / "2-my-stay.png"))

        # Pay: the provider's checkout shows the cloud's amount; its notification pays.
        browser.find_element(By.ID, "pay").click()
        assert _wait(browser, "#amount").text == "€5.00"
        browser.save_screenshot(str(shots / "3-provider-checkout.png"))
        browser.find_element(By.ID, "confirm").click()
        _wait(browser, "#paid", timeout=15)  # the order page refreshes until the notification arrived
        browser.save_screenshot(str(shots / "4-paid.png"))
        # Back on "my stay": paid, with the exit grace left.
        browser.find_element(By.LINK_TEXT, "My stay").click()
        paid = _wait(browser, "#paid")
        # 2 started hours are paid: leaving costs nothing more until the third begins,
        # 55 minutes on (longer than the 15 minutes' exit grace); the page says so.
        assert "barrier opens by itself" in paid.text and re.search(r"\b5[56] min left", paid.text), paid.text
        browser.save_screenshot(str(shots / "4b-grace-left.png"))

        # The booth pulls the payment; the next plate read at the exit opens the barrier.
        wait_until(lambda: len(store.query(cloud_copies.remote_payments_for, "BPH2024")) == 1, timeout=10)
        clock.advance(minutes=3)
        site.lanes.gates["OUT1"].arrive("BPH2024")
        rec.wait_for(lambda: bool(rec.of(ExitSettled)))
        assert rec.of(ExitPending) == []
        assert rec.of(ExitSettled)[0].closed.visit.fee_minor == 500

        # The e-receipt the printed receipt's QR opens, once the booth sent the exit.
        visit = store.query(visits.latest_visit_for, "BPH2024")
        assert visit is not None
        wait_until(lambda: _receipt_ready(browser, cloud.url, visit.id), timeout=10)
        receipt = _wait(browser, "#receipt")
        assert "BPH2024" in receipt.text
        assert "€5.00" in browser.page_source and "Mobile" in browser.page_source
        browser.save_screenshot(str(shots / "5-e-receipt.png"))
    finally:
        site.stop()


def _receipt_ready(browser: Any, url: str, visit_id: str) -> bool:
    browser.get(f"{url}/e-receipt/{visit_id}")
    return 'id="receipt"' in browser.page_source and "Mobile" in browser.page_source


def test_the_pages_speak_chinese_to_a_chinese_phone(cloud, shots) -> None:  # type: ignore[no-untyped-def]
    from tests.sync.phone import park

    park(cloud.url, cloud.site_id, cloud.token, "粤BD12345")
    driver = phone_browser("zh-CN,zh")
    try:
        driver.get(f"{cloud.url}/?lat=52.52&lon=13.405")
        assert "附近停车场" in _wait(driver, "header").text
        driver.save_screenshot(str(shots / "6-zh-lots.png"))
        driver.get(f"{cloud.url}/pay?site=garage-1&plate=粤B·D12345")
        assert _wait(driver, "#fee").text == "€5.00"
        assert "入场时间" in driver.page_source and "支付 €5.00" in driver.page_source
        driver.save_screenshot(str(shots / "7-zh-my-stay.png"))
    finally:
        driver.quit()
