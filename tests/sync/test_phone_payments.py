"""Payments through the provider interface, over real HTTP: only a provider's verified
notification pays an order; forged, unsigned, replayed, late and mismatched ones are
refused and audited, and no gate opens on them. The public pages are rate-limited and
a plate lookup tells nothing about other plates."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone

import httpx
from sqlalchemy import select

from console.site.build import build_site
from console.site.config import parse_site
from console.site.events import ExitPending, ExitSettled
from console.store import cloud_copies, visits
from console.sync.credentials import save_token
from console.sync.server import books
from console.sync.server import db as cloud_db
from console.sync.server.app import create_app
from console.sync.server.provider import Order, signed_headers
from console.sync.server.ratelimit import RateLimiter
from console.sync.server.run import ServerThread
from drivers.gate.simworld import Traffic
from tests.conftest import Recorder, site_text
from tests.sync.conftest import FAST, SITE, Cloud, wait_until
from tests.sync.phone import HOURLY_ID, HOURLY_TEXT, confirm, order, park, pay_by_phone, send_tariff, wait_paid


def _notify(cloud: Cloud, body: bytes, headers: dict[str, str]) -> httpx.Response:
    return httpx.post(f"{cloud.url}/v1/payments/notify/sim", content=body, headers=headers)


def _order(cloud: Cloud, plate: str) -> tuple[dict[str, object], Order]:
    park(cloud.url, SITE, cloud.token, plate)
    created = order(cloud.url, SITE, plate)
    assert created.status_code == 201, created.text
    link = created.json()
    found = cloud.provider.order(link["id"])
    assert found is not None and found.amount_minor == link["amount_minor"] == 500
    return link, found


def _remote_payments(cloud: Cloud) -> int:
    with cloud.engine.connect() as conn:
        return len(conn.execute(select(cloud_db.remote_payment)).all())


def _outcomes(cloud: Cloud) -> list[tuple[str, str]]:
    with cloud.engine.connect() as conn:
        return [(n["outcome"], n["reason"]) for n in books.notifications(conn)]


def test_forged_unsigned_replayed_late_and_mismatched_notifications_are_refused(cloud: Cloud) -> None:
    link, found = _order(cloud, "FORGE1")
    provider = cloud.provider
    body = provider.notification_body(found, "sim-real")
    now = datetime.now(timezone.utc)

    unsigned = _notify(cloud, body, {"content-type": "application/json"})
    assert unsigned.status_code == 401 and "unsigned" in unsigned.json()["error"]
    forged = _notify(cloud, body, signed_headers(b"not the provider's secret", body, now))
    assert forged.status_code == 401 and "bad signature" in forged.json()["error"]
    tampered_body = body.replace(b'"amount_minor":500', b'"amount_minor":1')
    tampered = _notify(cloud, tampered_body, signed_headers(provider.secret, body, now))  # signature of another body
    assert tampered.status_code == 401
    late = _notify(cloud, body, signed_headers(provider.secret, body, now - timedelta(minutes=10)))
    assert late.status_code == 400 and "late" in late.json()["error"]
    # Correctly signed, but for another amount than the order's (a provider bug, or a key leak).
    cheap = provider.notification_body(Order(found.order_id, 1, "EUR", "", "", ""), "sim-cheap")
    mismatched = _notify(cloud, cheap, signed_headers(provider.secret, cheap, now))
    assert mismatched.status_code == 409 and "differs" in mismatched.json()["error"]
    other = provider.notification_body(Order("no-such-order", 500, "EUR", "", "", ""), "sim-x")
    assert _notify(cloud, other, signed_headers(provider.secret, other, now)).status_code == 409
    assert _remote_payments(cloud) == 0
    assert httpx.get(f"{cloud.url}/v1/driver/payment-links/{link['id']}").json()["status"] == "open"

    # The real one pays; the same request replayed (same nonce) is refused, a provider's
    # retry (new nonce) is recognised as a repeat: one remote payment either way.
    headers = signed_headers(provider.secret, body, now)
    assert _notify(cloud, body, headers).json() == {"outcome": "accepted"}
    replayed = _notify(cloud, body, headers)
    assert replayed.status_code == 409 and "replayed" in replayed.json()["error"]
    assert _notify(cloud, body, signed_headers(provider.secret, body, now)).json() == {"outcome": "repeated"}
    assert _remote_payments(cloud) == 1
    outcomes = [o for o, _ in _outcomes(cloud)]
    assert outcomes == ["refused"] * 6 + ["accepted", "refused", "repeated"]
    assert all(reason for o, reason in _outcomes(cloud) if o == "refused")


def test_no_gate_opens_on_a_refused_notification(store, clock, cloud, memory_keyring, server_clock) -> None:  # type: ignore[no-untyped-def]
    save_token(cloud.url, cloud.token)
    server_clock.follow = clock.now
    extra = f'\n[cloud]\nurl = "{cloud.url}"\nsite_id = "{cloud.site_id}"\n'
    site = build_site(parse_site(site_text(200, extra), "t.toml"), store, clock=clock, traffic=Traffic(seed=3), sync_tuning=FAST)
    rec = Recorder()
    site.bus.subscribe(rec)
    site.start()
    try:
        site.lanes.gates["IN1"].arrive("NOPAY1")
        rec.wait_for(lambda: store.query(visits.open_visit_for, "NOPAY1") is not None)
        clock.advance(hours=1, minutes=5)
        wait_until(lambda: order(cloud.url, SITE, "NOPAY1").status_code == 201)  # the cloud knows the stay
        link = order(cloud.url, SITE, "NOPAY1").json()
        found = cloud.provider.order(link["id"])
        body = cloud.provider.notification_body(found, "sim-forged")
        assert _notify(cloud, body, signed_headers(b"guessed", body, clock.now())).status_code == 401
        cheap = cloud.provider.notification_body(Order(found.order_id, 1, "EUR", "", "", ""), "sim-cheap")
        assert _notify(cloud, cheap, signed_headers(cloud.provider.secret, cheap, clock.now())).status_code == 409
        site.cloud.sync.pull_now()
        clock.advance(seconds=2)
        wait_until(lambda: site.cloud.sync.status().last_pull_at is not None)
        site.lanes.gates["OUT1"].arrive("NOPAY1")
        rec.wait_for(lambda: bool(rec.of(ExitPending)))  # the desk is asked: nothing was paid
        assert rec.of(ExitSettled) == [] and store.query(cloud_copies.remote_payments_for, "NOPAY1") == []
    finally:
        site.stop()


def test_public_pages_are_rate_limited_per_client(cloud_engine) -> None:  # type: ignore[no-untyped-def]
    from console.sync.server import admin

    admin.register_site(cloud_engine, SITE, name="Riverside Garage", lat=52.52, lon=13.405)
    app = create_app(cloud_engine, limiter=RateLimiter(rate=0.5, burst=3))
    with ServerThread(app) as server:
        answers = [httpx.get(f"{server.url}/", params={"lat": 52.52, "lon": 13.405}) for _ in range(4)]
        assert [a.status_code for a in answers] == [200, 200, 200, 429]
        assert int(answers[-1].headers["retry-after"]) >= 1
        api = httpx.get(f"{server.url}/v1/driver/sites", params={"lat": 52.52, "lon": 13.405})
        assert api.status_code == 429 and "retry-after" in api.headers
        assert httpx.get(f"{server.url}/v1/health").status_code == 200  # booths and health are not limited
    # A flood is answered 429 each time but written down only now and then (the 1st,
    # 10th, 100th... refusal in a row), not one row per request. (A bucket that does not
    # refill during the test, so every answer is a refusal.)
    with ServerThread(create_app(cloud_engine, limiter=RateLimiter(rate=0.0001, burst=1))) as server:
        flood = [httpx.get(f"{server.url}/pay", params={"site": SITE, "plate": f"P{i}"}).status_code for i in range(21)]
        assert flood[0] != 429 and set(flood[1:]) == {429}
    with cloud_engine.connect() as conn:
        limited = conn.execute(select(cloud_db.audit.c.action, cloud_db.audit.c.client, cloud_db.audit.c.detail)).all()
    assert [(a, c) for a, c, _d in limited] == [("rate_limited", "127.0.0.1")] * 3
    assert [d.rsplit("(", 1)[1] for _a, _c, d in limited] == ["1 refused in a row)", "1 refused in a row)", "10 refused in a row)"]


def test_a_flood_of_forged_notifications_is_limited_and_a_real_one_still_pays(cloud_engine) -> None:  # type: ignore[no-untyped-def]
    from console.sync.server import admin

    token = admin.register_site(cloud_engine, SITE, name="Riverside Garage", lat=52.52, lon=13.405)
    app = create_app(cloud_engine, limiter=RateLimiter(rate=1000, burst=1000), refusals=RateLimiter(rate=0.01, burst=3))
    provider = app.state.provider
    with ServerThread(app) as server:
        park(server.url, SITE, token, "FLOOD1")
        link = order(server.url, SITE, "FLOOD1").json()
        found = provider.order(link["id"])
        body = provider.notification_body(found, "sim-flood")
        now = datetime.now(timezone.utc)
        forged = [httpx.post(f"{server.url}/v1/payments/notify/sim", content=body, headers=signed_headers(b"guess", body, now)) for _ in range(12)]
        assert [a.status_code for a in forged] == [401] * 3 + [429] * 9 and "retry-after" in forged[-1].headers
        # The provider's own notification, from the same address, is not held back.
        real = httpx.post(f"{server.url}/v1/payments/notify/sim", content=body, headers=signed_headers(provider.secret, body, now))
        assert real.json() == {"outcome": "accepted"}
        assert httpx.get(f"{server.url}/v1/driver/payment-links/{link['id']}").json()["status"] == "paid"
    with cloud_engine.connect() as conn:
        outcomes = [n["outcome"] for n in books.notifications(conn)]
        audits = conn.execute(select(cloud_db.audit.c.action, cloud_db.audit.c.detail)).all()
    assert outcomes == ["refused"] * 3 + ["accepted"]
    assert [a for a, _d in audits] == ["notifications_limited"] and "beyond the limit in a row: 1;" in audits[0][1]


def test_a_plate_lookup_shows_that_stay_only(cloud: Cloud) -> None:
    park(cloud.url, SITE, cloud.token, "MINE1", datetime.now(timezone.utc) - timedelta(minutes=65))
    park(cloud.url, SITE, cloud.token, "OTHER1", tariff=False)
    mine = httpx.get(f"{cloud.url}/pay", params={"site": SITE, "plate": "mine 1"}, headers={"accept-language": "en"})
    assert mine.status_code == 200 and "MINE1" in mine.text and "€5.00" in mine.text and "OTHER1" not in mine.text
    # A plate not parked here and a plate nobody ever saw get the same answer.
    gone = httpx.get(f"{cloud.url}/pay", params={"site": SITE, "plate": "NOBODY1"}, headers={"accept-language": "en"})
    never = httpx.get(f"{cloud.url}/pay", params={"site": SITE, "plate": "NOBODY2"}, headers={"accept-language": "en"})
    assert gone.status_code == never.status_code == 404
    assert gone.text.replace("NOBODY1", "X") == never.text.replace("NOBODY2", "X")
    zh = httpx.get(f"{cloud.url}/pay", params={"site": SITE, "plate": "MINE1"}, headers={"accept-language": "zh-CN,zh;q=0.9,en;q=0.5"})
    assert "停车" in zh.text and 'lang="zh-CN"' in zh.text
    link = order(cloud.url, SITE, "MINE1").json()
    assert set(link) >= {"id", "amount_minor", "checkout_url"} and "visit_known" not in link
    confirm(cloud.url, link)
    assert wait_paid(cloud.url, link["id"])["amount_minor"] == 500
    paid = httpx.get(f"{cloud.url}/pay", params={"site": SITE, "plate": "MINE1"}, headers={"accept-language": "en"})
    assert 'id="paid"' in paid.text and "barrier opens by itself" in paid.text
    assert json.loads(httpx.get(f"{cloud.url}/v1/health").text)["status"] == "ok"


def test_when_the_cloud_quotes_otherwise_the_booths_quote_wins_and_the_difference_is_reported(store, clock, cloud, memory_keyring, server_clock) -> None:  # type: ignore[no-untyped-def]
    # The cloud holds a different text under the booth's tariff id (2.00 an hour instead of 2.50).
    cheaper = HOURLY_TEXT.replace('price = "2.50"', 'price = "2.00"')
    send_tariff(cloud.url, SITE, cloud.token, [(HOURLY_ID, cheaper)])
    save_token(cloud.url, cloud.token)
    server_clock.follow = clock.now
    extra = f'\n[cloud]\nurl = "{cloud.url}"\nsite_id = "{cloud.site_id}"\n'
    site = build_site(parse_site(site_text(200, extra), "t.toml"), store, clock=clock, traffic=Traffic(seed=6), sync_tuning=FAST)
    rec = Recorder()
    site.bus.subscribe(rec)
    site.start()
    try:
        site.lanes.gates["IN1"].arrive("DIFF1")
        rec.wait_for(lambda: store.query(visits.open_visit_for, "DIFF1") is not None)
        clock.advance(hours=1, minutes=5)
        paid = pay_by_phone(cloud.url, SITE, "DIFF1")
        assert paid["amount_minor"] == 400  # the cloud's quote
        wait_until(lambda: len(store.query(cloud_copies.remote_payments_for, "DIFF1")) == 1)
        site.lanes.gates["OUT1"].arrive("DIFF1")
        rec.wait_for(lambda: bool(rec.of(ExitPending)))  # the booth's 5.00 applies: the desk takes the rest
        ticket = rec.of(ExitPending)[0].ticket
        assert (ticket.quote.total.minor, ticket.due.minor) == (500, 100) and rec.of(ExitSettled) == []  # 4.00 paid by phone counts

        def reported_to_cloud() -> list[str]:
            with cloud.engine.connect() as conn:
                return list(conn.execute(select(cloud_db.event.c.payload).where(cloud_db.event.c.type == "quote.differs")).scalars())

        wait_until(lambda: bool(reported_to_cloud()))
        reported = json.loads(reported_to_cloud()[0])
        assert (reported["paid_minor"], reported["due_minor"], reported["difference_minor"]) == (400, 500, 100)
    finally:
        site.stop()
