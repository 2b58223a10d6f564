"""The reference cloud over real HTTP: authentication, refusals of bad input, the
drivers' endpoints (sites near a position, payment links)."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta, timezone

import httpx
import pytest

from console.sync.server import admin, books
from tests.sync.conftest import SITE, Cloud, ServerClock, wait_until
from tests.sync.phone import confirm, park, pay_by_phone, wait_paid

NOW = datetime(2026, 3, 2, 8, 0, tzinfo=timezone.utc)


def _event(kind: str = "visit.opened", **payload: object) -> dict[str, object]:
    body = {"visit_id": str(uuid.uuid4()), "plate": "AB1", "zone": "P1", "lane": "IN1", "entry_at": NOW.isoformat()}
    body.update(payload)
    return {"id": str(uuid.uuid4()), "type": kind, "occurred_at": NOW.isoformat(), "payload": body}


def _post(cloud: Cloud, body: object, token: str | None = None, site: str = SITE, **kw: object) -> httpx.Response:
    headers = {"Authorization": f"Bearer {token or cloud.token}"}
    return httpx.post(f"{cloud.url}/v1/sites/{site}/events", json=body, headers=headers, **kw)  # type: ignore[arg-type]


def test_every_site_endpoint_needs_the_sites_own_token(cloud: Cloud) -> None:
    other_token = admin.register_site(cloud.engine, "other-site", name="Other")
    url = f"{cloud.url}/v1/sites/{SITE}/events"
    none = httpx.post(url, json={"events": []})
    assert none.status_code == 401 and "Bearer" in none.headers["www-authenticate"]
    assert httpx.post(url, json={"events": []}, headers={"Authorization": "Bearer nope"}).status_code == 401
    assert httpx.post(url, json={"events": []}, headers={"Authorization": f"Bearer {other_token}"}).status_code == 403
    assert httpx.get(f"{cloud.url}/v1/sites/{SITE}/tariff", headers={"Authorization": f"Bearer {other_token}"}).status_code == 403
    who = httpx.get(f"{cloud.url}/v1/whoami", headers={"Authorization": f"Bearer {cloud.token}"}).json()
    assert who == {"site_id": SITE, "name": "Riverside Garage"}


def test_bad_input_is_refused_with_a_reason_and_changes_nothing(cloud: Cloud) -> None:
    headers = {"Authorization": f"Bearer {cloud.token}", "Content-Type": "application/json"}
    url = f"{cloud.url}/v1/sites/{SITE}/events"
    not_json = httpx.post(url, content=b"{nope", headers=headers)
    assert not_json.status_code == 400 and "not JSON" in not_json.json()["error"]
    assert httpx.post(url, json={"events": "x"}, headers=headers).status_code == 422
    too_many = httpx.post(url, json={"events": [_event() for _ in range(1001)]}, headers=headers)
    assert too_many.status_code == 413
    huge = httpx.post(url, content=b" " * (5 * 1024 * 1024), headers=headers)
    assert huge.status_code == 413
    assert cloud.books()["events"] == 0
    occupancy = httpx.put(f"{cloud.url}/v1/sites/{SITE}/occupancy", json={"observed_at": "yesterday", "zones": []}, headers=headers)
    assert occupancy.status_code == 422 and "observed_at" in occupancy.json()["error"]
    bad_cursor = httpx.get(f"{cloud.url}/v1/sites/{SITE}/remote-payments", params={"after": "x'; drop"}, headers=headers)
    assert bad_cursor.status_code == 400
    assert httpx.get(f"{cloud.url}/v1/sites/{SITE}/events", headers=headers).status_code == 404


def test_a_batch_is_judged_event_by_event(cloud: Cloud) -> None:
    good = _event()
    no_time = _event()
    no_time["occurred_at"] = "2026-03-02T08:00:00"  # no offset
    bad_id = _event()
    bad_id["id"] = "17"
    no_amount = _event("payment.recorded", payment_id="p1", method="cash", currency="EUR")
    unknown_type = _event("gate.manual", lane="IN1", action="open")
    answer = _post(cloud, {"booth_id": "b1", "sent_at": NOW.isoformat(), "events": [good, no_time, bad_id, no_amount, unknown_type, good]})
    assert answer.status_code == 200
    data = answer.json()
    assert set(data["acknowledged"]) == {good["id"], unknown_type["id"]}
    assert data["accepted"] == 2 and data["duplicates"] == 1  # `good` twice in one batch
    reasons = {r["id"]: r["error"] for r in data["rejected"]}
    assert "offset" in reasons[no_time["id"]] and "UUID" in reasons["17"] and "amount_minor" in reasons[no_amount["id"]]
    assert cloud.books()["events"] == 2


def test_sites_near_a_position_by_availability_then_distance(cloud: Cloud) -> None:
    # garage-1 (fixture) is at 52.52, 13.405. Three more sites around it.
    near_full = admin.register_site(cloud.engine, "near-full", name="Near but full", lat=52.521, lon=13.405)
    far_free = admin.register_site(cloud.engine, "far-free", name="Farther, free", lat=52.53, lon=13.405)
    admin.register_site(cloud.engine, "no-data", name="No occupancy yet", lat=52.5205, lon=13.405)
    admin.register_site(cloud.engine, "too-far", name="Hamburg", lat=53.55, lon=9.99)

    def occupancy(token: str, site: str, capacity: int, occupied: int) -> None:
        body = {"observed_at": NOW.isoformat(), "zones": [{"zone": "P1", "capacity": capacity, "occupied": occupied}]}
        r = httpx.put(f"{cloud.url}/v1/sites/{site}/occupancy", json=body, headers={"Authorization": f"Bearer {token}"})
        assert r.status_code == 200

    occupancy(near_full, "near-full", 100, 100)
    occupancy(far_free, "far-free", 80, 20)
    occupancy(cloud.token, SITE, 200, 150)
    found = httpx.get(f"{cloud.url}/v1/driver/sites", params={"lat": 52.52, "lon": 13.405, "radius_km": 5}).json()["sites"]
    assert [s["site_id"] for s in found] == [SITE, "far-free", "no-data", "near-full"]
    assert [s["remaining"] for s in found] == [50, 60, None, 0]
    assert found[0]["distance_m"] == 0 and 1100 < found[1]["distance_m"] < 1120
    assert found[3]["full"] is True
    assert httpx.get(f"{cloud.url}/v1/driver/sites", params={"lat": 91, "lon": 0}).status_code == 400
    assert httpx.get(f"{cloud.url}/v1/driver/sites", params={"lon": 0}).status_code == 400


def test_stale_occupancy_is_not_shown_as_free_spaces(cloud: Cloud, server_clock: ServerClock) -> None:
    body = {"observed_at": NOW.isoformat(), "zones": [{"zone": "P1", "capacity": 10, "occupied": 2}]}
    httpx.put(f"{cloud.url}/v1/sites/{SITE}/occupancy", json=body, headers={"Authorization": f"Bearer {cloud.token}"})
    server_clock.offset = timedelta(minutes=11)
    found = httpx.get(f"{cloud.url}/v1/driver/sites", params={"lat": 52.52, "lon": 13.405}).json()["sites"]
    assert found[0]["remaining"] is None and found[0]["capacity"] == 10


def test_a_payment_link_lifecycle(cloud: Cloud, server_clock: ServerClock) -> None:
    base = f"{cloud.url}/v1/driver/payment-links"
    bad = httpx.post(base, json={"site_id": SITE, "plate": "AB 12", "amount_minor": -5, "currency": "EUR"})
    assert bad.status_code == 422
    # The amount is the cloud's to quote: a client that names one is refused.
    assert httpx.post(base, json={"site_id": SITE, "plate": "AB12", "amount_minor": 5, "currency": "USD"}).status_code == 422
    assert httpx.post(base, json={"site_id": "nowhere", "plate": "AB12"}).status_code == 404
    park(cloud.url, SITE, cloud.token, "AB12")
    created = httpx.post(base, json={"site_id": SITE, "plate": "ab-12"})
    assert created.status_code == 201
    link = created.json()
    assert link["plate"] == "AB12" and link["status"] == "open" and "visit_known" not in link
    assert link["amount_minor"] == 500 and link["tariff_id"] == "test-hourly@1"  # 1 h 05: 2 started hours
    assert httpx.get(f"{base}/{link['id']}").json()["status"] == "open"
    confirm(cloud.url, link)
    first = wait_paid(cloud.url, link["id"])
    confirm(cloud.url, link)  # the provider notifies again: nothing new is created
    wait_until(lambda: sum(1 for n in _notifications(cloud) if n["outcome"] == "repeated") == 1)
    again = httpx.get(f"{base}/{link['id']}").json()
    assert first["status"] == "paid" and first["remote_payment_id"] == again["remote_payment_id"]
    page = httpx.get(f"{cloud.url}/v1/sites/{SITE}/remote-payments", headers={"Authorization": f"Bearer {cloud.token}"}).json()
    assert [p["id"] for p in page["payments"]] == [first["remote_payment_id"]] and page["more"] is False
    # An unpaid order runs out (by the server's clock): the provider's checkout refuses it.
    park(cloud.url, SITE, cloud.token, "LATE1")
    late = httpx.post(base, json={"site_id": SITE, "plate": "LATE1"}).json()
    server_clock.offset = timedelta(minutes=31)
    assert httpx.post(f"{cloud.url}{late['checkout_url']}/pay").status_code == 410
    # No endpoint marks an order paid on the client's word.
    assert httpx.post(f"{base}/{link['id']}/pay", json={"reference": "psp-1"}).status_code in (404, 405)
    assert httpx.post(f"{base}/{uuid.uuid4()}/pay").status_code in (404, 405)


def _notifications(cloud: Cloud) -> list[dict[str, object]]:
    with cloud.engine.connect() as conn:
        return books.notifications(conn)


def test_remote_payment_pages_follow_the_cursor(cloud: Cloud) -> None:
    for i in range(5):
        park(cloud.url, SITE, cloud.token, f"P{i}", tariff=i == 0)
        pay_by_phone(cloud.url, SITE, f"P{i}")
    headers = {"Authorization": f"Bearer {cloud.token}"}
    url = f"{cloud.url}/v1/sites/{SITE}/remote-payments"
    first = httpx.get(url, params={"limit": 3}, headers=headers).json()
    second = httpx.get(url, params={"limit": 3, "after": first["cursor"]}, headers=headers).json()
    assert [p["plate"] for p in first["payments"]] == ["P0", "P1", "P2"] and first["more"] is True
    assert [p["plate"] for p in second["payments"]] == ["P3", "P4"] and second["more"] is False
    empty = httpx.get(url, params={"after": second["cursor"]}, headers=headers).json()
    assert empty == {"payments": [], "cursor": second["cursor"], "more": False}


def test_documents_answer_304_to_a_matching_etag(cloud: Cloud) -> None:
    headers = {"Authorization": f"Bearer {cloud.token}"}
    url = f"{cloud.url}/v1/sites/{SITE}/members"
    assert httpx.get(url, headers=headers).status_code == 404
    etag = admin.publish_members(cloud.engine, SITE, "m1", [{"plate": "AB1", "kind": "member"}])
    first = httpx.get(url, headers=headers)
    assert first.status_code == 200 and first.headers["etag"] == etag and first.json()["version"] == "m1"
    assert httpx.get(url, headers={**headers, "If-None-Match": etag}).status_code == 304
    assert httpx.get(url, headers={**headers, "If-None-Match": f'"other", W/{etag}'}).status_code == 304
    assert httpx.get(url, headers={**headers, "If-None-Match": '"old"'}).status_code == 200


def test_admin_refuses_nonsense(cloud: Cloud) -> None:
    with pytest.raises(ValueError, match="site id"):
        admin.register_site(cloud.engine, "a/b")
    with pytest.raises(ValueError, match="currency"):
        admin.register_site(cloud.engine, "x", currency="XXX")
    with pytest.raises(ValueError, match="lat"):
        admin.register_site(cloud.engine, "x", lat=1.0)
    with pytest.raises(ValueError, match="no site"):
        admin.publish_members(cloud.engine, "missing", "m1", [])
    with pytest.raises(ValueError, match="plate"):
        admin.publish_members(cloud.engine, SITE, "m1", [{"plate": "!!", "kind": "member"}])


def test_the_same_batch_sent_concurrently_is_booked_once(cloud: Cloud) -> None:
    from concurrent.futures import ThreadPoolExecutor

    events = [_event("payment.recorded", payment_id=str(uuid.uuid4()), method="card", amount_minor=100 + i, currency="EUR") for i in range(50)]
    with ThreadPoolExecutor(6) as pool:
        answers = list(pool.map(lambda _: _post(cloud, {"events": events}), range(6)))
    assert all(a.status_code == 200 for a in answers)
    assert sum(a.json()["accepted"] for a in answers) == 50
    assert all(set(a.json()["acknowledged"]) == {e["id"] for e in events} for a in answers)
    books = cloud.books()
    assert books["events"] == 50 and books["revenue_minor"] == {"EUR": {"card": sum(100 + i for i in range(50))}}
