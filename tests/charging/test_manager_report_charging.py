"""`booth report manager` carries the charging the F11/F12 screens compute: per user, pile
and region by franchise, the hourly curve, and each user's own curve. Sessions run on the
e-bike simulator through the site's charging service into a real SQLite file."""

from __future__ import annotations

import argparse
import csv
import io
import json
from datetime import timedelta
from pathlib import Path

from console.commands.reports import EXIT_OK, register
from console.domain.charging import PayMode, Preset, PresetKind
from console.reports.queries import build_manager_report
from console.site.charging import ChargingService, SessionClosed
from console.store.database import Store
from drivers.charger.epile_sim import EPileSimulator

from .conftest import Seen

SITE = """
[site]
name = "Test Garage"
booth_id = "booth-1"
timezone = "Europe/Berlin"
currency = "EUR"

[[zones]]
id = "P1"
capacity = 50

[[lanes]]
id = "IN1"
direction = "entry"
zone = "P1"
gate = "sim://"
"""


def _cli(*argv: str) -> int:
    parser = argparse.ArgumentParser(prog="booth")
    register(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(list(argv))
    return int(args.func(args))


def _run_sessions(service: ChargingService, seen: Seen, pile: EPileSimulator) -> None:
    for port in (1, 2, 3):
        pile.plug(port)
    seen.wait_for(lambda: sum(p.plugged for p in service.ports()) >= 3)
    service.start_session(pile_id="E1", port=1, card_id="C-ALICE", preset=Preset(PresetKind.ENERGY, 150), mode=PayMode.PREPAID)
    bob = service.start_session(pile_id="E1", port=2, card_id="C-BOB")
    lord = service.start_session(pile_id="E1", port=3, card_id="C-LORD")
    seen.wait_for(lambda: seen.of(SessionClosed))  # alice's preset reached
    seen.wait_for(lambda: all(p.energy_wh > 0 for p in service.ports() if p.session_id in (bob.id, lord.id)))
    service.stop_session(bob.id)
    service.stop_session(lord.id)


def test_manager_report_charging_per_user_pile_region_and_hour(
    charging: tuple[ChargingService, Seen], pile: EPileSimulator, store: Store, db_url: str, tmp_path: Path, capsys,  # type: ignore[no-untyped-def]
) -> None:
    service, seen = charging
    _run_sessions(service, seen, pile)
    today = service.clock.now().astimezone(service.tz).date()
    start, end = today - timedelta(days=1), today + timedelta(days=1)
    report = build_manager_report(store.engine, start, end, service.tz, currency="EUR")
    c = report.charging

    # The same figures as the charging service's own usage (what F12 and F11 show).
    for by, rows in (("user", c.by_user), ("pile", c.by_pile), ("region", c.by_region)):
        assert [(r.franchise, r.key, r.sessions, r.energy_wh, r.fees.minor) for r in rows] == [
            (u.franchise, u.key, u.sessions, u.energy_wh, u.fees_minor) for u in service.usage(by)]
    assert [r.key for r in c.by_user] == ["alice", "bob", "lord"]
    assert [(r.key, r.sessions) for r in c.by_pile] == [("E1", 3)]
    assert [(r.franchise, r.key) for r in c.by_region] == [("F-Acme", "north")]
    assert list(c.energy_by_hour) == service.usage_by_hour()
    # Each user's curve, and together they make the site's curve.
    assert [u.account for u in c.user_curves] == ["alice", "bob", "lord"]
    assert [sum(col) for col in zip(*(u.energy_by_hour for u in c.user_curves))] == list(c.energy_by_hour)
    for u, row in zip(c.user_curves, c.by_user):
        assert sum(u.energy_by_hour) == row.energy_wh > 0

    site = tmp_path / "site.toml"
    site.write_text(SITE, encoding="utf-8")
    common = ["--from", start.isoformat(), "--to", end.isoformat(), "--site", str(site), "--db", db_url]
    assert _cli("report", "manager", "--format", "json", *common) == EXIT_OK
    data = json.loads(capsys.readouterr().out)["charging"]
    assert data["sessions"] == 3 and data["energy_wh"] == c.energy_wh
    assert [(r["user"], r["energy_wh"], r["fees"]["minor"]) for r in data["by_user"]] == [
        (r.key, r.energy_wh, r.fees.minor) for r in c.by_user]
    assert [r["pile"] for r in data["by_pile"]] == ["E1"] and [r["region"] for r in data["by_region"]] == ["north"]
    assert [h["energy_wh"] for h in data["energy_by_hour"]] == list(c.energy_by_hour)
    assert {u["user"]: u["energy_wh_by_hour"] for u in data["users_by_hour"]} == {u.account: list(u.energy_by_hour) for u in c.user_curves}

    assert _cli("report", "manager", "--format", "csv", *common) == EXIT_OK
    rows = list(csv.DictReader(io.StringIO(capsys.readouterr().out)))
    users = {r["item"]: r for r in rows if r["section"] == "charging_user"}
    assert set(users) == {"alice", "bob", "lord"}
    assert users["bob"]["amount"] == c.by_user[1].fees.decimal_text() and users["bob"]["currency"] == "EUR"
    assert sum(int(r["note"].split("=")[1]) for r in rows if r["section"] == "charging_hour") == c.energy_wh
    per_user_hours = [r for r in rows if r["section"] == "charging_user_hour"]
    assert sum(int(r["note"].split("=")[1]) for r in per_user_hours) == c.energy_wh
    assert {r["item"].split()[0] for r in per_user_hours} == {"alice", "bob", "lord"}

    assert _cli("report", "manager", *common) == EXIT_OK
    text = capsys.readouterr().out
    assert "Charging: 3 sessions" in text and "F-Acme" in text and "north" in text
    hours = text[text.index("Charging kWh by hour of day"):].splitlines()
    assert hours[1].split() == ["all", "alice", "bob", "lord"] and len(hours) == 2 + 24
