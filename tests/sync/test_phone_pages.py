"""What a phone is told, over real HTTP against a real cloud: no answer depends on
whether another plate is parked; after paying, until when the exit opens by itself;
once that ran out, the extra fee, and no second phone payment; refusals in the
driver's language."""

from __future__ import annotations

import re
import uuid
from datetime import datetime, timedelta, timezone

import httpx

from console.sync.server import admin
from tests.sync.conftest import SITE, Cloud, ServerClock
from tests.sync.phone import order, park, pay_by_phone

EN = {"accept-language": "en"}
ZH = {"accept-language": "zh-CN,zh;q=0.9"}


def _leave(cloud: Cloud, visit_id: str, plate: str) -> None:
    """The booth's report of the car leaving (visit.closed)."""
    at = datetime.now(timezone.utc).isoformat()
    event = {"id": str(uuid.uuid4()), "type": "visit.closed", "occurred_at": at,
             "payload": {"visit_id": visit_id, "plate": plate, "lane": "OUT1", "exit_at": at, "fee_minor": 500, "currency": "EUR"}}
    answer = httpx.post(f"{cloud.url}/v1/sites/{SITE}/events", json={"booth_id": "booth-1", "events": [event]}, headers={"Authorization": f"Bearer {cloud.token}"})
    assert answer.status_code == 200 and answer.json()["accepted"] == 1, answer.text


def _lookup(cloud: Cloud, plate: str, site: str = SITE) -> httpx.Response:
    return httpx.get(f"{cloud.url}/pay", params={"site": site, "plate": plate}, headers=EN)


def test_a_plate_that_left_one_parked_elsewhere_and_one_never_seen_get_the_same_answer(cloud: Cloud) -> None:
    visit = park(cloud.url, SITE, cloud.token, "LEFT1")
    _leave(cloud, visit, "LEFT1")
    other_token = admin.register_site(cloud.engine, "garage-2", name="Other Garage", lat=52.53, lon=13.41)
    park(cloud.url, "garage-2", other_token, "ELSE1")
    pages = {plate: _lookup(cloud, plate) for plate in ("LEFT1", "ELSE1", "NEVER1")}
    assert {a.status_code for a in pages.values()} == {404}
    assert len({a.text.replace(plate, "X") for plate, a in pages.items()}) == 1
    orders = {plate: order(cloud.url, SITE, plate) for plate in ("LEFT1", "ELSE1", "NEVER1")}
    assert {a.status_code for a in orders.values()} == {404}
    assert len({a.text for a in orders.values()}) == 1


def test_before_the_tariff_arrives_every_plate_gets_the_same_answer(cloud: Cloud) -> None:
    # The site's booths have not sent their tariff yet: a parked plate and an unknown
    # one must not be told apart by "cannot price" against "no such stay".
    park(cloud.url, SITE, cloud.token, "EARLY1", tariff=False)
    parked, unknown = order(cloud.url, SITE, "EARLY1"), order(cloud.url, SITE, "NEVER2")
    assert parked.status_code == unknown.status_code == 409 and parked.text == unknown.text
    pages = _lookup(cloud, "EARLY1"), _lookup(cloud, "NEVER2")
    assert pages[0].status_code == pages[1].status_code == 409 and pages[0].text == pages[1].text
    assert "pay at the exit" in pages[0].text


def test_a_lookup_shows_the_entry_and_the_fee_and_nothing_that_opens_more(cloud: Cloud) -> None:
    visit = park(cloud.url, SITE, cloud.token, "粤BD12345")
    page = httpx.get(f"{cloud.url}/pay", params={"site": SITE, "plate": "粤b d12345"}, headers=ZH)
    assert page.status_code == 200
    assert "粤B·D12345" in page.text and "€5.00" in page.text and "1 小时 05 分钟" in page.text
    assert visit not in page.text  # the visit id opens the e-receipt: never shown on a lookup
    assert "至少有 15 分钟" in page.text  # the exit grace, before paying
    link = order(cloud.url, SITE, "粤BD12345").json()
    assert "visit_id" not in link and visit not in str(link)


def test_after_paying_the_page_says_until_when_the_exit_opens_then_the_extra_fee(cloud: Cloud, server_clock: ServerClock) -> None:
    park(cloud.url, SITE, cloud.token, "LATE2", datetime.now(timezone.utc) - timedelta(minutes=65))
    paid = pay_by_phone(cloud.url, SITE, "LATE2")
    assert paid["amount_minor"] == 500
    # Two started hours are paid: leaving is free until the third starts, 55 min on.
    page = _lookup(cloud, "LATE2")
    assert 'id="paid"' in page.text and re.search(r">5[45] min left<", page.text), page.text
    back = httpx.get(f"{cloud.url}/pay/order/{paid['id']}", headers=EN)
    # The time alone, or with its date when the deadline falls on the next day (a payment
    # after 23:05 site time).
    assert re.search(r"within 5[45] min \(before (\d{4}-\d\d-\d\d )?\d\d:\d\d\)", back.text), back.text

    server_clock.offset = timedelta(minutes=70)  # past the paid period and the exit grace
    late = _lookup(cloud, "LATE2")
    assert 'id="extra"' in late.text and 'id="paid"' not in late.text
    assert re.search(r'id="fee">€2\.50<', late.text) and "paid at the exit" in late.text
    assert 'id="pay"' not in late.text  # no second phone payment for the stay
    again = order(cloud.url, SITE, "LATE2")
    assert again.status_code == 409 and "paid by phone already" in again.json()["error"]
    form = httpx.post(f"{cloud.url}/pay", data={"site": SITE, "plate": "LATE2"}, headers=EN)
    assert form.status_code == 303 and form.headers["location"].startswith("/pay?")


def test_refusals_are_pages_in_the_drivers_language(cloud: Cloud) -> None:
    unknown_site = httpx.get(f"{cloud.url}/pay", params={"site": "nowhere", "plate": "AB1"}, headers=ZH)
    assert unknown_site.status_code == 404 and "未找到该停车场" in unknown_site.text and "nowhere" not in unknown_site.text
    bad_plate = httpx.get(f"{cloud.url}/pay", params={"site": SITE, "plate": "!!"}, headers=ZH)
    assert bad_plate.status_code == 422 and "不是有效车牌" in bad_plate.text and "is not a plate" not in bad_plate.text
    no_order = httpx.get(f"{cloud.url}/pay/order/no-such-order", headers=EN)
    assert no_order.status_code == 404 and "No such order." in no_order.text and "<html" in no_order.text
    no_receipt = httpx.get(f"{cloud.url}/e-receipt/no-such-visit", headers=EN)
    assert no_receipt.status_code == 404 and 'href="/"' in no_receipt.text
