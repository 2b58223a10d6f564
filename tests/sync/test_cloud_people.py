"""The cloud's side of elevators and charging faults, for people with an account: a
real reference cloud on loopback with its notifier, a real booth database whose outbox
the real sync service sends up, a loopback SMTP server and a loopback webhook receiver.

Building managers see their own building's rides and portraits only (another's is
refused and audited), statements match `booth rides statement` to the character, faults
reach the franchise manager by webhook and e-mail (retried, every attempt recorded),
and closing a fault in the cloud or at the booth closes it in both.
"""

from __future__ import annotations

import io
import json
import os
import re
import subprocess
import sys
from datetime import datetime, timedelta, timezone
from pathlib import Path

import httpx
import pytest
from sqlalchemy import select

from console.store import charging as charging_records
from console.store.database import Store
from console.store.tables import AuditRow
from console.sync.server import accounts, faults, rides_cloud
from console.sync.server import db as cloud_db
from tests.sync.conftest import SITE, wait_until
from tests.sync.people import PASSWORD, ROOT, World, ride, world_fixture  # noqa: F401 - the `world` fixture


def booth(*args: str, db: str, data: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "console.cli", *args, "--db", db], capture_output=True, text=True, cwd=ROOT,
                          env={**os.environ, "BOOTH_DATA_DIR": str(data), "BOOTH_LANGUAGE": "en", "LANG": "C.UTF-8"}, timeout=60)


def test_a_building_manager_sees_their_rides_and_portraits_and_is_refused_another_buildings(world: World, store: Store) -> None:
    morning = datetime(2026, 11, 3, 7, 14, tzinfo=timezone.utc)  # 08:14 in Berlin
    a12 = ride(store, car=1, floor=12, at=morning, card="04A1", fee=80, shade=1)
    ride(store, car=1, floor=7, at=morning + timedelta(hours=2), card="04A1", fee=80, shade=2)
    b12 = ride(store, car=2, floor=12, at=morning + timedelta(minutes=1), card="04B2", fee=80, shade=3)
    world.sync.wake()
    wait_until(lambda: world.rides() == 3, timeout=15)

    bea = world.person("bea")
    # "Who got out at floor 12 at 08:14?" on the building's own clock.
    found = bea.get("/staff/rides", params={"floor": "12", "day": "2026-11-03", "from": "08:00", "until": "08:30"})
    assert found.status_code == 200
    assert re.findall(r'data-ride="([^"]+)"', found.text) == [a12.id]
    assert "Europe/Berlin" in found.text and "08:14:00" in found.text
    by_card = bea.get("/staff/rides", params={"card": "04a1"})
    assert len(re.findall(r'data-ride="', by_card.text)) == 2
    assert b12.id not in bea.get("/staff/rides").text  # tower B's rides are not even listed
    assert re.findall(r'data-ride="([^"]+)"', bea.get("/staff/rides", params={"building": "tower-b"}).text) == []

    shown = bea.get(f"/staff/rides/{SITE}/{a12.id}")
    assert shown.status_code == 200 and 'id="portrait"' in shown.text and shown.headers["cache-control"] == "no-store"
    picture = re.search(r'src="data:image/jpeg;base64,([^"]+)"', shown.text)
    assert picture is not None and picture.group(1).encode() and len(picture.group(1)) > 1000

    refused = bea.get(f"/staff/rides/{SITE}/{b12.id}")
    assert refused.status_code == 403 and "portrait" not in refused.text.split("<main>")[1].lower().replace("recorded", "")
    assert "base64" not in refused.text
    with world.engine.connect() as conn:
        trail = rides_cloud.portrait_views(conn, SITE, b12.id)
        shown_trail = rides_cloud.portrait_views(conn, SITE, a12.id)
        stored = conn.execute(select(cloud_db.event.c.payload).where(cloud_db.event.c.type == "elevator.ride")).scalars().all()
    assert [(t["person"], t["outcome"]) for t in trail] == [("bea", "refused")]
    assert "tower-b" in trail[0]["detail"] and trail[0]["at"] is not None
    assert [(t["person"], t["outcome"]) for t in shown_trail] == [("bea", "shown")]
    # The portrait lives once, in the ride (which the retention empties), not in the stored events.
    assert len(stored) == 3 and all(json.loads(s)["snapshot_jpeg_b64"] is None for s in stored)

    # The site's manager sees who opened the ride, or tried, and when.
    views = world.person("sam").get(f"/staff/rides/{SITE}/{b12.id}").text
    assert re.findall(r'<tr class="view"><td>[^<]+</td><td>(\w+)</td><td>(\w+)</td>', views) == [("sam", "shown"), ("bea", "refused")]

    audit = world.person("sam").get("/staff/audit", params={"person": "bea"})
    assert audit.status_code == 200
    assert re.findall(r'<td>(\w+)</td><td>opened a ride</td><td>([^<]+)</td><td>(\w+)</td>', audit.text) == [("bea", b12.id, "refused"), ("bea", a12.id, "shown")]
    assert bea.get("/staff/audit").status_code == 403  # for the site's managers only

    bob = world.person("bob")
    assert bob.get(f"/staff/rides/{SITE}/{b12.id}").status_code == 200
    assert bob.get(f"/staff/rides/{SITE}/{a12.id}").status_code == 403

    # A tenant sees their own card's rides, never a portrait, and nobody else's rides.
    tina = world.person("tina")
    own = tina.get(f"/staff/rides/{SITE}/{a12.id}")
    assert own.status_code == 200 and 'id="portrait"' not in own.text and 'id="no-portrait"' in own.text
    assert tina.get(f"/staff/rides/{SITE}/{b12.id}").status_code == 403
    assert len(re.findall(r'data-ride="', tina.get("/staff/rides").text)) == 2

    # Nobody signed in: sent to the sign-in page, nothing shown.
    stranger = httpx.Client(base_url=world.url, timeout=10)
    gone = stranger.get(f"/staff/rides/{SITE}/{a12.id}")
    assert gone.status_code == 303 and gone.headers["location"].startswith("/staff/sign-in?next=")


def test_the_clouds_statement_matches_the_booths_to_the_character(world: World, store: Store, db_url: str, tmp_path: Path) -> None:
    # On Berlin's clock: 31 Oct 23:30 UTC is 1 Nov 00:30 (November); 30 Nov 23:30 UTC is December.
    times = [datetime(2026, 10, 31, 23, 30, tzinfo=timezone.utc), datetime(2026, 11, 3, 7, 14, tzinfo=timezone.utc),
             datetime(2026, 11, 12, 18, 0, tzinfo=timezone.utc), datetime(2026, 11, 30, 23, 30, tzinfo=timezone.utc),
             datetime(2026, 10, 31, 22, 30, tzinfo=timezone.utc)]
    for i, (at, floor, fee) in enumerate(zip(times, (12, 12, -2, 7, 5), (80, 80, 100, 80, 50))):
        ride(store, car=1 + i % 2, floor=floor, at=at, card="04A1", fee=fee, shade=i, flagged=i == 2)
    ride(store, car=1, floor=3, at=times[1], card="04B2", fee=999)
    ride(store, car=2, floor=9, at=times[2], card="04A9", fee=70, account="FLAT-12A")  # a second card of the flat
    world.sync.wake()
    wait_until(lambda: world.rides() == 7, timeout=15)

    expected_json = booth("rides", "statement", "04a1", "--month", "2026-11", "--json", db=db_url, data=tmp_path)
    expected_text = booth("rides", "statement", "04A1", "--month", "2026-11", db=db_url, data=tmp_path)
    assert expected_json.returncode == 0 and expected_text.returncode == 0, expected_json.stderr + expected_text.stderr

    sam = world.person("sam")
    params = {"site": SITE, "card": "04a1", "month": "2026-11"}
    cloud_json = sam.get("/staff/statement", params={**params, "format": "json"}, headers={"Accept-Language": "en"})
    cloud_text = sam.get("/staff/statement", params={**params, "format": "text"}, headers={"Accept-Language": "en"})
    assert cloud_json.json() == json.loads(expected_json.stdout)
    assert cloud_text.text == expected_text.stdout
    assert cloud_json.json()["rides"] == 3 and cloud_json.json()["flagged"] == 1  # the Berlin month, not the UTC one

    # The tenant of 04A1 gets the same statement; another card's is refused.
    tina = world.person("tina")
    assert tina.get("/staff/statement", params={**params, "format": "json"}).json() == cloud_json.json()
    assert tina.get("/staff/statement", params={**params, "card": "04B2"}).status_code == 403
    # The flat's account: each of its cards' statements and their sum.
    flat = sam.get("/staff/statement", params={"site": SITE, "account": "FLAT-12A", "month": "2026-11", "format": "json"}).json()
    assert [c["card"] for c in flat["cards"]] == ["04A1", "04A9"] and flat["cards"][0] == cloud_json.json()
    assert (flat["rides"], flat["total_minor"], flat["currency"]) == (4, cloud_json.json()["total_minor"] + 70, "EUR")
    flat_text = sam.get("/staff/statement", params={"site": SITE, "account": "FLAT-12A", "month": "2026-11", "format": "text"}).text
    assert flat_text.startswith(expected_text.stdout) and "Account FLAT-12A, 2026-11: 2 card(s), 4 rides" in flat_text
    # The tenant sees the account through their own card only.
    assert [c["card"] for c in tina.get("/staff/statement", params={"site": SITE, "account": "FLAT-12A", "month": "2026-11", "format": "json"}).json()["cards"]] == ["04A1"]
    page = sam.get("/staff/statement", params=params)
    assert page.status_code == 200 and 'id="statement-text"' in page.text
    assert sam.get("/staff/statement", params={**params, "month": "November"}).status_code == 400


def test_portraits_go_on_the_booths_retention(world: World, store: Store) -> None:
    at = world.clock.now()
    kept = ride(store, car=1, floor=4, at=at, card="04A1", fee=80, retention=30)
    short = ride(store, car=1, floor=5, at=at, card="04A1", fee=80, retention=2)
    world.sync.wake()
    wait_until(lambda: world.rides() == 2, timeout=15)
    sam = world.person("sam")
    assert 'id="portrait"' in sam.get(f"/staff/rides/{SITE}/{short.id}").text

    world.clock.advance(days=2, minutes=1)  # the cloud's clock follows
    world.notifier.wake()

    def purged() -> bool:
        with world.engine.connect() as conn:
            row = conn.execute(select(cloud_db.ride.c.snapshot, cloud_db.ride.c.snapshot_purged_at)
                               .where(cloud_db.ride.c.ride_id == short.id)).one()
        return row.snapshot is None and row.snapshot_purged_at is not None

    wait_until(purged, timeout=10)
    assert sam.get(f"/staff/rides/{SITE}/{short.id}").status_code == 303  # a session lasts 12 hours
    sam = world.person("sam")
    gone = sam.get(f"/staff/rides/{SITE}/{short.id}")
    assert gone.status_code == 200 and 'id="no-portrait"' in gone.text and 'id="portrait"' not in gone.text
    assert 'id="portrait"' in sam.get(f"/staff/rides/{SITE}/{kept.id}").text
    with world.engine.connect() as conn:
        outcomes = [t["outcome"] for t in rides_cloud.portrait_views(conn, SITE, short.id)]
    assert outcomes == ["purged", "shown"]


def test_a_fault_reaches_the_franchise_manager_and_closing_it_in_the_cloud_closes_it(world: World, store: Store) -> None:
    at = world.clock.now()
    fault = store.apply(charging_records.raise_fault, pile_id="P-07", port=2, code="5", detail="relay stuck: 0.8 A with the session stopped",
                        region="north", franchise="volt", at=at)
    assert fault is not None
    world.sync.wake()

    # The webhook answered 503 twice and the SMTP server 451 once: delivered on retries,
    # which wait on the cloud's clock (moved on here a second at a time).
    def delivered() -> bool:
        world.clock.advance(seconds=1)
        world.notifier.wake()
        return len(world.hook.requests) == 1 and len(world.smtp.messages) == 1

    wait_until(delivered, timeout=20, interval=0.1)
    headers, body = world.hook.requests[0]
    assert body["fault_id"] == fault.id and body["pile"] == "P-07" and body["code"] == "5" and body["notify"] == "franchise-manager:volt"
    assert headers["Idempotency-Key"] == f"{SITE}/{fault.id}"
    # Signed with the franchise's secret over the very bytes sent, stamped with the cloud's clock.
    assert headers["X-Booth-Signature"] == faults.webhook_signature(world.hook_secret, headers["X-Booth-Timestamp"], world.hook.raw[0])
    assert abs(int(headers["X-Booth-Timestamp"]) - world.clock.now().timestamp()) < 30
    recipients, mail = world.smtp.messages[0]
    assert recipients == ["fran@volt.example"] and "P-07/2" in mail["Subject"] and "relay stuck" in mail.get_payload()
    with world.engine.connect() as conn:
        states = {d["channel"]: (d["state"], d["attempts"]) for d in faults.deliveries(conn, SITE, fault.id)}
    assert states == {"webhook": ("delivered", 3), "email": ("delivered", 2)}

    fran = world.person("fran")
    listing = fran.get("/staff/faults", params={"franchise": "volt"})
    assert listing.status_code == 200 and f'data-fault="{fault.id}"' in listing.text
    assert 'data-channel="webhook" data-state="delivered"' in listing.text
    page = fran.get(f"/staff/faults/{SITE}/{fault.id}")
    assert page.text.count('class="attempt"') == 5 and "HTTP 503" in page.text and "451" in page.text
    csrf = re.search(r'name="csrf" value="([^"]+)"', page.text)
    assert csrf is not None
    # No note: refused with the form shown again; a forged form (no CSRF token): refused.
    assert fran.post(f"/staff/faults/{SITE}/{fault.id}/close", data={"csrf": csrf.group(1), "note": " "}).status_code == 422
    assert fran.post(f"/staff/faults/{SITE}/{fault.id}/close", data={"note": "relay replaced"}).status_code == 403
    # A building manager sees no faults; the landlord of the pile sees it but does not close it.
    assert f'data-fault="{fault.id}"' not in world.person("bea").get("/staff/faults").text
    lena = world.person("lena")
    assert f'data-fault="{fault.id}"' in lena.get("/staff/faults").text
    lena_page = lena.get(f"/staff/faults/{SITE}/{fault.id}")
    assert lena_page.status_code == 200 and 'id="close"' not in lena_page.text
    lena_csrf = re.search(r'name="csrf" value="([^"]+)"', lena_page.text)
    assert lena_csrf is not None
    assert lena.post(f"/staff/faults/{SITE}/{fault.id}/close", data={"csrf": lena_csrf.group(1), "note": "fixed"}).status_code == 403
    closed = fran.post(f"/staff/faults/{SITE}/{fault.id}/close", data={"csrf": csrf.group(1), "note": "relay replaced"})
    assert closed.status_code == 303
    assert f'data-fault="{fault.id}"' not in fran.get("/staff/faults").text

    # The booth pulls the command that closes its maintenance record.
    commands = httpx.get(f"{world.url}/v1/sites/{SITE}/commands", headers={"Authorization": f"Bearer {world.token}"}).json()
    assert [(c["kind"], c["fault_id"], c["note"], c["actor"]) for c in commands["commands"]] == [("close_maintenance", fault.id, "relay replaced", "cloud:fran")]
    after = httpx.get(f"{world.url}/v1/sites/{SITE}/commands", params={"after": commands["cursor"]}, headers={"Authorization": f"Bearer {world.token}"})
    assert after.json()["commands"] == []
    with world.engine.connect() as conn:
        trail = accounts.audit_trail(conn, subject=fault.id, action="fault.close")
    assert [(t["person"], t["outcome"]) for t in trail] == [("fran", "ok"), ("lena", "refused")]

    # The booth's sync pulls it and closes the maintenance record, audited as fran's.
    wait_until(lambda: not store.query(charging_records.faults, open_only=True), timeout=15)
    record = store.query(charging_records.faults)[0]
    assert (record.id, record.state, record.note) == (fault.id, "closed", "relay replaced")
    with store.read() as s:
        entry = s.execute(select(AuditRow.actor, AuditRow.subject).where(AuditRow.action == "charging.maintenance_closed")).one()  # type: ignore[arg-type]
    assert tuple(entry) == ("cloud:fran", fault.id)
    # Its maintenance_closed event goes up and changes nothing: closed in the cloud, by fran.
    wait_until(lambda: world.sync.status().backlog == 0, timeout=15)
    with world.engine.connect() as conn:
        row = conn.execute(select(cloud_db.fault).where(cloud_db.fault.c.fault_id == fault.id)).mappings().one()
    assert (row["state"], row["closed_where"], row["closed_by"]) == ("closed", "cloud", "fran")


def test_a_fault_closed_at_the_booth_closes_in_the_cloud(world: World, store: Store) -> None:
    at = world.clock.now()
    fault = store.apply(charging_records.raise_fault, pile_id="P-02", port=None, code="2", detail="meter silent", region="", franchise="volt", at=at)
    assert fault is not None
    world.sync.wake()

    def state() -> str | None:
        with world.engine.connect() as conn:
            return conn.execute(select(cloud_db.fault.c.state).where(cloud_db.fault.c.fault_id == fault.id)).scalar()

    wait_until(lambda: state() == "open", timeout=15)
    store.apply(charging_records.close_maintenance, fault.id, "meter board reseated", at + timedelta(minutes=20), "ann")
    world.sync.wake()
    wait_until(lambda: state() == "closed", timeout=15)
    with world.engine.connect() as conn:
        row = conn.execute(select(cloud_db.fault).where(cloud_db.fault.c.fault_id == fault.id)).mappings().one()
    assert (row["closed_where"], row["note"]) == ("booth", "meter board reseated")


def test_sign_in_counts_wrong_passwords_and_locks_like_the_booth(world: World) -> None:
    client = httpx.Client(base_url=world.url, timeout=10)
    for _ in range(5):
        wrong = client.post("/staff/sign-in", data={"name": "bea", "password": "not the password"})
        assert wrong.status_code == 401 and "Wrong name or password." in wrong.text
    nobody = client.post("/staff/sign-in", data={"name": "nobody", "password": PASSWORD})
    assert nobody.status_code == 401 and "Wrong name or password." in nobody.text
    locked = client.post("/staff/sign-in", data={"name": "bea", "password": PASSWORD})
    assert locked.status_code == 401 and "try again in 5 min" in locked.text
    assert accounts.SESSION_COOKIE not in client.cookies
    with world.engine.connect() as conn:
        trail = accounts.audit_trail(conn, action="person.sign_in")
    assert [t["outcome"] for t in trail].count("refused") == 7
    # An open redirect is not offered: `next` stays on this cloud's pages.
    sam = httpx.Client(base_url=world.url, timeout=10)
    signed = sam.post("/staff/sign-in", data={"name": "sam", "password": PASSWORD, "next": "https://evil.example/"})
    assert signed.headers["location"] == "/staff"
    cookie = signed.headers["set-cookie"].lower()
    assert "httponly" in cookie and "samesite=lax" in cookie and "path=/staff" in cookie
    home = sam.get("/staff")
    assert home.status_code == 200 and "site manager" in home.text
    csrf = re.search(r'name="csrf" value="([^"]+)"', home.text)
    assert csrf is not None
    assert sam.post("/staff/sign-out", data={"csrf": csrf.group(1)}).status_code == 303
    assert sam.get("/staff").status_code == 303  # the session ended
    # A new password ends the sessions opened with the old one.
    tina = world.person("tina")
    assert tina.get("/staff").status_code == 200
    with world.engine.begin() as conn:
        accounts.add_person(conn, name="tina", role="tenant", password="another long password", grants=[f"{SITE}:04A1"], at=world.clock.now())
    assert tina.get("/staff").status_code == 303


def test_people_are_added_from_the_command_line(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    """The `booth cloud` commands in this process (the password piped on stdin), and
    once through the `booth` entry point itself."""
    from console.commands import cloud as cloud_cli

    db = f"sqlite:///{tmp_path / 'cloud.sqlite3'}"

    def cloud(*args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
        monkeypatch.setattr(sys, "stdin", io.StringIO(stdin))
        code = cloud_cli.main(["cloud", *args])
        said = capsys.readouterr()
        return subprocess.CompletedProcess(list(args), code, said.out, said.err)

    assert cloud("admin", "add-site", "--db", db, SITE).returncode == 0
    assert cloud("admin", "building", "--db", db, SITE, "tower-a", "--cars", "1,2").returncode == 0
    overlap = cloud("admin", "building", "--db", db, SITE, "tower-b", "--cars", "2,3")
    assert overlap.returncode == 2 and "belong to building tower-a" in overlap.stderr
    early = cloud("user", "add", "--db", db, "fred", "--role", "franchise_manager", "--grant", "volt", stdin=PASSWORD + "\n")
    assert early.returncode == 0 and "does not know volt yet" in early.stderr
    added = cloud("user", "add", "--db", db, "bea", "--role", "building_manager", "--grant", "tower-a", stdin=PASSWORD + "\n")
    assert added.returncode == 0, added.stderr
    tenant = cloud("user", "add", "--db", db, "tina", "--role", "tenant", "--grant", f"{SITE}:04-a1", stdin=PASSWORD + "\n")
    assert tenant.returncode == 0, tenant.stderr
    short = cloud("user", "add", "--db", db, "tom", "--role", "tenant", "--grant", f"{SITE}:04A1", stdin="short\n")
    assert short.returncode == 2 and "at least 10 characters" in short.stderr and "Traceback" not in short.stderr
    bad_grant = cloud("user", "add", "--db", db, "tom", "--role", "landlord", "--grant", "P-1", stdin=PASSWORD + "\n")
    assert bad_grant.returncode == 2 and "SITE:PILE" in bad_grant.stderr
    listed = subprocess.run([sys.executable, "-m", "console.cli", "cloud", "user", "list", "--db", db, "--json"], capture_output=True, text=True,
                            cwd=ROOT, env={**os.environ, "BOOTH_DATA_DIR": str(tmp_path)}, timeout=60)
    people = {p["name"]: p for p in json.loads(listed.stdout)["people"]}
    assert people["bea"]["grants"] == ["tower-a"] and people["tina"]["grants"] == [f"{SITE}:04A1"] and "tom" not in people
    assert "does not know" not in added.stderr
    assert cloud("user", "disable", "--db", db, "bea").returncode == 0
    assert cloud("user", "disable", "--db", db, "nobody").returncode == 2
    assert cloud("admin", "franchise", "--db", db, "volt", "--webhook", "ftp://x").returncode == 2
    first = cloud("admin", "franchise", "--db", db, "volt", "--webhook", "https://volt.example/hooks")
    assert first.returncode == 0 and re.fullmatch(r"[0-9a-f]{64}\n", first.stdout) and "signed" in first.stderr
    same = cloud("admin", "franchise", "--db", db, "volt", "--webhook", "https://volt.example/hooks2")
    assert same.returncode == 0 and "signed" not in same.stderr  # the secret stays
    rotated = cloud("admin", "franchise", "--db", db, "volt", "--webhook", "https://volt.example/hooks2", "--new-secret")
    assert rotated.stdout.strip() not in ("", first.stdout.strip())


def test_ride_and_fault_events_the_books_cannot_read_are_refused_with_a_reason(world: World) -> None:
    import uuid

    at = "2026-11-03T07:00:00+00:00"
    events = [
        {"id": str(uuid.uuid4()), "type": "elevator.ride", "occurred_at": at, "payload": {"ride_id": "r-1", "car": 1, "floor": 3}},
        {"id": str(uuid.uuid4()), "type": "elevator.ride", "occurred_at": at, "payload": {
            "ride_id": "r-2", "car": 1, "floor": 3, "doors_open_at": at, "fee_minor": 80, "currency": "EUR",
            "snapshot_jpeg_b64": "not base64!", "timezone": "Mars/Olympus"}},
        {"id": str(uuid.uuid4()), "type": "charging.fault_raised", "occurred_at": at, "payload": {"subject": "f-1", "pile": "P-1", "code": "5"}},
    ]
    answer = httpx.post(f"{world.url}/v1/sites/{SITE}/events", json={"booth_id": "booth-1", "events": events},
                        headers={"Authorization": f"Bearer {world.token}"}).json()
    assert answer["acknowledged"] == [] and len(answer["rejected"]) == 3
    reasons = " ".join(r["error"] for r in answer["rejected"])
    assert "doors_open_at" in reasons and "base64" in reasons and "Mars/Olympus" in reasons and "franchise" in reasons
    assert world.rides() == 0
