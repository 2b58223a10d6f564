"""Configuration and remote payments pulled from a real cloud: validation before
activation, conditional requests, atomic replacement, the remote-payment cursor."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone

from sqlalchemy import func, select, update

from console.domain.clock import FixedClock
from console.domain.money import Money
from console.domain.payments import NewPayment
from console.store import cloud_copies, visits
from console.store.audit import verify_chain
from console.store.cloud_copies import REMOTE_PAYMENT_METHOD
from console.store.cloud_tables import CloudMemberRow
from console.store.database import Store
from console.store.tables import AuditRow, OutboxRow
from console.sync.server import admin
from console.sync.server import db as cloud_db
from tests.sync.activity import TARIFF
from tests.sync.conftest import Cloud, ServerClock, wait_until
from tests.sync.phone import hourly_versions, park, pay_by_phone

NOW = datetime(2026, 3, 2, 8, 0, tzinfo=timezone.utc)
GOOD = 'name = "Day rate"\nhourly = "2.50"\n'
BAD = 'name = "Broken"\nhourly = "-1"\n'


def strict_validator(text: str) -> None:
    """Stands in for the tariff parser: refuses a negative rate with a message."""
    if '"-' in text:
        raise ValueError("hourly: must not be negative")


def _audit_actions(store: Store) -> list[str]:
    with store.write() as s:
        return list(s.execute(select(AuditRow.action).order_by(AuditRow.seq)).scalars())  # type: ignore[arg-type]


def test_a_valid_tariff_is_activated_and_not_fetched_again(store: Store, cloud: Cloud, make_sync) -> None:  # type: ignore[no-untyped-def]
    admin.publish_tariff(cloud.engine, cloud.site_id, "2026-03", GOOD)
    sync = make_sync(cloud.url, cloud.token, FixedClock(NOW), validate=strict_validator)
    wait_until(lambda: sync.status().tariff_version == "2026-03")
    tariff = store.query(cloud_copies.active_tariff)
    assert tariff is not None and tariff.version == "2026-03" and tariff.text == GOOD
    assert "config.applied" in _audit_actions(store)
    # Later pulls are conditional: the cloud answers 304 and nothing is applied again.
    wait_until(lambda: any(r.status == 304 for r in cloud.faults.requests("/tariff")))
    assert [r.status for r in cloud.faults.requests("/tariff")][0] == 200
    assert _audit_actions(store).count("config.applied") == 1
    # The site tells the cloud which version it now uses.
    assert sync.flush(5)
    with cloud.engine.connect() as conn:
        payloads = [json.loads(p) for p in conn.execute(select(cloud_db.event.c.payload).where(cloud_db.event.c.type == "config.applied")).scalars()]
    assert {"kind": "tariff", "version": "2026-03", "previous": None} in payloads


def test_an_invalid_tariff_is_refused_and_the_previous_stays_active(store: Store, cloud: Cloud, make_sync) -> None:  # type: ignore[no-untyped-def]
    admin.publish_tariff(cloud.engine, cloud.site_id, "v1", GOOD)
    sync = make_sync(cloud.url, cloud.token, FixedClock(NOW), validate=strict_validator)
    wait_until(lambda: sync.status().tariff_version == "v1")
    admin.publish_tariff(cloud.engine, cloud.site_id, "v2", BAD)
    wait_until(lambda: sync.status().config_error is not None)
    status = sync.status()
    assert "must not be negative" in (status.config_error or "") and "v2" in (status.last_error or "")
    assert status.tariff_version == "v1"
    tariff = store.query(cloud_copies.active_tariff)
    assert tariff is not None and tariff.version == "v1"
    assert "config.refused" in _audit_actions(store)
    with store.write() as s:
        assert verify_chain(s).ok
    # A corrected tariff clears the error.
    admin.publish_tariff(cloud.engine, cloud.site_id, "v3", GOOD.replace("2.50", "3.00"))
    wait_until(lambda: sync.status().tariff_version == "v3")
    assert sync.status().config_error is None
    assert store.query(cloud_copies.active_tariff).text.endswith('"3.00"\n')  # type: ignore[union-attr]


def _raw_publish(cloud: Cloud, kind: str, body: dict) -> None:  # type: ignore[type-arg]
    text = json.dumps(body)
    with cloud.engine.begin() as conn:
        conn.execute(
            update(cloud_db.document)
            .where(cloud_db.document.c.site_id == cloud.site_id, cloud_db.document.c.kind == kind)
            .values(version=body["version"], etag=f'"raw-{len(text)}"', body=text)
        )


def test_members_passes_and_whitelist_are_replaced_whole(store: Store, cloud: Cloud, make_sync) -> None:  # type: ignore[no-untyped-def]
    admin.publish_members(
        cloud.engine,
        cloud.site_id,
        "m1",
        [
            {"plate": "b-ab 123", "kind": "member", "name": "Dr. Lee", "account_id": "acme"},
            {"plate": "M1", "kind": "pass", "valid_from": "2026-03-01T00:00:00+00:00", "valid_until": "2026-04-01T00:00:00+00:00"},
            {"plate": "W9", "kind": "whitelist"},
        ],
    )
    admin.publish_accounts(cloud.engine, cloud.site_id, "a1", [{"id": "acme", "name": "ACME Ltd", "currency": "EUR", "credit_limit_minor": 50000}])
    sync = make_sync(cloud.url, cloud.token, FixedClock(NOW))
    wait_until(lambda: sync.status().members_version == "m1" and sync.status().accounts_version == "a1")
    assert [m.kind for m in store.query(cloud_copies.members_for, "BAB123", NOW)] == ["member"]
    assert store.query(cloud_copies.members_for, "m 1", NOW)[0].kind == "pass"
    assert store.query(cloud_copies.members_for, "M1", NOW + timedelta(days=40)) == []  # the pass ran out
    acme = store.query(cloud_copies.account, "acme")
    assert acme is not None and acme.credit_limit_minor == 50000 and acme.active

    # A list with one bad entry is refused whole: the booth keeps the previous list.
    # (Written straight into the cloud's table: this server refuses it at upload, another cloud might not.)
    _raw_publish(cloud, "members", {"version": "m2", "members": [{"plate": "OK1", "kind": "member"}, {"plate": "OK2", "kind": "vip"}]})
    wait_until(lambda: (sync.status().config_error or "").startswith("members"))
    with store.write() as s:
        assert s.execute(select(func.count()).select_from(CloudMemberRow)).scalar_one() == 3
    assert sync.status().members_version == "m1"

    admin.publish_members(cloud.engine, cloud.site_id, "m3", [{"plate": "NEW1", "kind": "whitelist"}])
    wait_until(lambda: sync.status().members_version == "m3")
    assert store.query(cloud_copies.members_for, "BAB123", NOW) == [] and store.query(cloud_copies.members_for, "NEW1", NOW)[0].kind == "whitelist"


def test_remote_payments_are_pulled_once_and_used_once(store: Store, cloud: Cloud, make_sync, server_clock: ServerClock) -> None:  # type: ignore[no-untyped-def]
    clock = FixedClock(NOW)
    visit = store.apply(visits.record_entry, plate="PHONE1", zone="P1", lane="IN1", at=NOW, currency="EUR")
    sync = make_sync(cloud.url, cloud.token, clock, tariff_versions=hourly_versions)
    assert sync.flush(5)  # the cloud knows the car is inside
    server_clock.follow = lambda: NOW + timedelta(hours=1, minutes=5)  # the driver pays then: 5.00

    def pay(plate: str) -> dict:  # type: ignore[type-arg]
        paid = pay_by_phone(cloud.url, cloud.site_id, plate)
        assert paid["status"] == "paid"
        return paid

    paid = pay("PHONE1")
    sync.pull_now()
    wait_until(lambda: len(store.query(cloud_copies.remote_payments_for, "phone-1")) == 1)
    remote = store.query(cloud_copies.remote_payments_for, "PHONE1")[0]
    assert remote.id == paid["remote_payment_id"] and remote.amount_minor == 500 and remote.reference == paid["reference"]

    # The exit uses it: a payment row naming it as reference, in the exit's transaction.
    quote = TARIFF.quote(NOW, NOW + timedelta(hours=2))
    store.apply(visits.close_visit, 
        visit_id=visit.id,
        exit_lane="OUT1",
        exit_at=NOW + timedelta(hours=2),
        quote=quote,
        payments=[NewPayment(REMOTE_PAYMENT_METHOD, Money(500, "EUR"), reference=remote.id)],
        attendant="ann",
        idempotency_key="exit-phone1",
    )
    assert store.query(cloud_copies.remote_payments_for, "PHONE1") == []

    # Pulls continue from the cursor: a second payment arrives alone, the first is not re-sent.
    park(cloud.url, cloud.site_id, cloud.token, "OTHER2", NOW)
    pay("OTHER2")
    sync.pull_now()
    wait_until(lambda: len(store.query(cloud_copies.remote_payments_for, "OTHER2")) == 1)
    assert "after=1" in cloud.faults.requests("/remote-payments")[-1].query
    with store.write() as s:
        from console.store.cloud_tables import RemotePaymentRow

        assert s.execute(select(func.count()).select_from(RemotePaymentRow)).scalar_one() == 2
    assert sync.flush(5)
    books = cloud.books()
    assert books["revenue_minor"] == {"EUR": {"mobile": 500}}


def test_the_config_events_wait_in_the_outbox_like_any_other(store: Store, cloud: Cloud, make_sync) -> None:  # type: ignore[no-untyped-def]
    admin.publish_accounts(cloud.engine, cloud.site_id, "a1", [])
    sync = make_sync(cloud.url, cloud.token, FixedClock(NOW))
    wait_until(lambda: sync.status().accounts_version == "a1")
    assert sync.flush(5)
    with store.write() as s:
        types = list(s.execute(select(OutboxRow.type)).scalars())
    assert types == ["config.applied"]


def test_the_booths_tariff_parser_guards_activation(store: Store, cloud: Cloud, make_sync) -> None:  # type: ignore[no-untyped-def]
    from pathlib import Path

    from console.domain.tariff import parse_tariff

    def validate(text: str) -> None:
        parse_tariff(text, "cloud tariff")

    shipped = (Path(__file__).resolve().parents[2] / "tariffs" / "default.toml").read_text(encoding="utf-8")
    admin.publish_tariff(cloud.engine, cloud.site_id, "shipped", shipped, validate=validate)
    sync = make_sync(cloud.url, cloud.token, FixedClock(NOW), validate=validate)
    wait_until(lambda: sync.status().tariff_version == "shipped")
    admin.publish_tariff(cloud.engine, cloud.site_id, "broken", shipped + "\n[[[ not toml\n")
    wait_until(lambda: sync.status().config_error is not None)
    assert store.query(cloud_copies.active_tariff).version == "shipped"  # type: ignore[union-attr]
