"""Paying by phone in tests, the way a driver does: the cloud quotes and creates the
order, the simulated provider's checkout is confirmed, and the provider's signed
notification (sent from its own thread) makes the order paid."""

from __future__ import annotations

import time
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import httpx

HOURLY_TEXT = Path("tests/fixtures/hourly.toml").read_text(encoding="utf-8")
HOURLY_ID = "test-hourly@1"


def hourly_versions() -> list[tuple[str, str]]:
    """The test site's tariff, as a booth sends its versions."""
    return [(HOURLY_ID, HOURLY_TEXT)]


def send_tariff(url: str, site_id: str, token: str, versions: list[tuple[str, str]] | None = None) -> None:
    """Tell the cloud the tariff versions the site prices with (as a booth does)."""
    body = {"versions": [{"tariff_id": t, "text": x} for t, x in (versions or hourly_versions())]}
    answer = httpx.put(f"{url}/v1/sites/{site_id}/tariff-versions", json=body, headers={"Authorization": f"Bearer {token}"})
    assert answer.status_code == 200, answer.text


def order(url: str, site_id: str, plate: str) -> httpx.Response:
    """Ask the cloud for a payment order for the plate's stay (it quotes the amount)."""
    return httpx.post(f"{url}/v1/driver/payment-links", json={"site_id": site_id, "plate": plate})


def confirm(url: str, link: dict[str, Any]) -> None:
    """The driver confirms on the simulated provider's checkout page."""
    answer = httpx.post(f"{url}{link['checkout_url']}/pay")
    assert answer.status_code == 303, answer.text


def wait_paid(url: str, link_id: str, timeout: float = 10.0) -> dict[str, Any]:
    """Wait until the provider's notification has made the order paid."""
    deadline = time.monotonic() + timeout
    while True:
        found: dict[str, Any] = httpx.get(f"{url}/v1/driver/payment-links/{link_id}").json()
        if found["status"] == "paid":
            return found
        if time.monotonic() > deadline:
            raise AssertionError(f"order {link_id} not paid in time: {found}")
        time.sleep(0.02)


def pay_by_phone(url: str, site_id: str, plate: str, timeout: float = 10.0) -> dict[str, Any]:
    """Order, confirm at the provider, wait for the notification: the paid order. The
    order is asked again while the cloud does not know the stay or its tariff yet (the
    booth sends both asynchronously)."""
    deadline = time.monotonic() + timeout
    created = order(url, site_id, plate)
    while created.status_code in (404, 409) and time.monotonic() < deadline:
        time.sleep(0.05)
        created = order(url, site_id, plate)
    assert created.status_code == 201, created.text
    link = created.json()
    confirm(url, link)
    return wait_paid(url, link["id"])


def park(url: str, site_id: str, token: str, plate: str, entry_at: datetime | None = None, *, tariff: bool = True) -> str:
    """A booth's report of a car entering (visit.opened), and the tariff it prices with:
    what the cloud needs to quote a stay. Returns the visit id."""
    import uuid

    if tariff:
        send_tariff(url, site_id, token)
    at = entry_at or datetime.now(timezone.utc) - timedelta(minutes=65)
    visit_id = str(uuid.uuid4())
    event = {"id": str(uuid.uuid4()), "type": "visit.opened", "occurred_at": at.isoformat(),
             "payload": {"visit_id": visit_id, "plate": plate, "zone": "P1", "lane": "IN1", "entry_at": at.isoformat(), "vehicle_class": "car"}}
    answer = httpx.post(f"{url}/v1/sites/{site_id}/events", json={"booth_id": "booth-1", "events": [event]}, headers={"Authorization": f"Bearer {token}"})
    assert answer.status_code == 200 and answer.json()["accepted"] == 1, answer.text
    return visit_id
