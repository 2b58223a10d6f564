"""`booth charging ...` on a real SQLite file that the site's charging service wrote with
real sessions on the e-bike simulator: bind, block, top up, usage, landlords' piles. Each
change leaves its audit entry; a refusal changes nothing and exits 1."""

from __future__ import annotations

import json
from pathlib import Path

from sqlalchemy import select

from console.cli import main
from console.site.charging import ChargingService
from console.store.database import Store
from console.store.tables import AuditRow
from drivers.charger.epile_sim import EPileSimulator
from tests.conftest import site_text
from tests.sync.test_people_site import charging_toml

from .conftest import Seen


def _site(tmp_path: Path, pile_url: str) -> str:
    path = tmp_path / "site.toml"
    path.write_text(site_text(50, charging_toml(pile_url)), encoding="utf-8")
    return str(path)


def _audit(store: Store, action: str) -> list[tuple[str, str]]:
    """(subject, actor) of the audit entries of one action."""
    with store.read() as s:
        return [tuple(r) for r in s.execute(select(AuditRow.subject, AuditRow.actor).where(AuditRow.action == action)).all()]


def test_charging_cli_bind_block_top_up_usage_and_landlord_piles(
    charging: tuple[ChargingService, Seen], pile: EPileSimulator, store: Store, db_url: str, tmp_path: Path, capsys,  # type: ignore[no-untyped-def]
) -> None:
    service, seen = charging
    pile.plug(2)
    seen.wait_for(lambda: any(p.plugged for p in service.ports() if p.port == 2))
    rec = service.start_session(pile_id="E1", port=2, card_id="C-BOB")
    seen.wait_for(lambda: any(p.session_id == rec.id and p.energy_wh > 0 and p.elapsed_s > 70 for p in service.ports()))
    bill = service.stop_session(rec.id).bill
    common = ["--site", _site(tmp_path, pile.url), "--db", db_url, "--by", "mgr-anna"]

    # Bind a tenant card by its QR text; the same card again, or to another account, is refused.
    assert main(["charging", "bind", "booth-card:?card=C-BOB2", "--account", "bob", *common]) == 0
    assert "C-BOB2" in capsys.readouterr().out
    assert main(["charging", "bind", "C-BOB2", "--account", "alice", *common]) == 1
    assert "another account" in capsys.readouterr().err
    assert main(["charging", "bind", "booth-charge:?user=bob&pile=E1&port=1", "--account", "bob", *common]) == 1
    assert "not a charging card" in capsys.readouterr().err
    bound = _audit(store, "charging.card_bound")
    assert bound == [("C-BOB2", "mgr-anna (booth charging)")]

    # Usage and what is owed: bob's own session, nobody else's.
    assert main(["charging", "usage", "--card", "C-BOB2", "--json", *common]) == 0
    usage = json.loads(capsys.readouterr().out)
    assert usage["account"] == "bob" and usage["owed_minor"] == bill.minor > 0
    assert [c["card"] for c in usage["cards"]] == ["C-BOB", "C-BOB2"]
    assert [(s["id"], s["fee_minor"]) for s in usage["sessions"]] == [(rec.id, bill.minor)]
    assert [(r["pile"], r["sessions"]) for r in usage["by_pile"]] == [("E1", 1)]

    # A lost card is blocked; the account and its other card stay, and the site refuses it.
    assert main(["charging", "block", "C-BOB", "--reason", "lost on the bus", *common]) == 0
    assert "blocked" in capsys.readouterr().out
    assert main(["charging", "block", "C-BOB", "--reason", "again", *common]) == 1
    capsys.readouterr()
    assert service.account("bob") is not None and service.account("bob").owed == bill  # type: ignore[union-attr]
    assert _audit(store, "charging.card_blocked") == [("C-BOB", "mgr-anna (booth charging)")]

    # Top-up: a real amount only.
    assert main(["charging", "top-up", "alice", "12.50", *common]) == 0
    assert service.account("alice").balance.minor == 1000 + 1250  # type: ignore[union-attr]
    assert main(["charging", "top-up", "alice", "-3", *common]) == 1
    assert main(["charging", "top-up", "alice", "twelve", *common]) == 1
    capsys.readouterr()
    assert len(_audit(store, "charging.top_up")) == 1

    # Landlords: authorize piles of this site only, then see their usage.
    assert main(["charging", "authorize", "C-LORD", "E7", *common]) == 1
    assert "no pile E7" in capsys.readouterr().err
    assert main(["charging", "authorize", "C-BOB2", "E1", *common]) == 1
    capsys.readouterr()
    assert main(["charging", "authorize", "C-LORD", "E1", *common]) == 0
    assert main(["charging", "piles", "C-LORD", "--json", *common]) == 0
    out = capsys.readouterr().out.strip().splitlines()[-1]
    assert [(r["pile"], r["sessions"], r["fees_minor"]) for r in json.loads(out)] == [("E1", 1, bill.minor)]
    assert main(["charging", "piles", "C-BOB2", *common]) == 1
    assert "landlord" in capsys.readouterr().err
    assert main(["charging", "authorize", "C-LORD", "E1", "--remove", *common]) == 0
    assert len(_audit(store, "charging.piles_authorized")) == 2
    assert main(["charging", "piles", "C-LORD", *common]) == 0
    assert "no sessions" in capsys.readouterr().out


def test_charging_cli_prints_the_pile_qr_addresses(tmp_path: Path, db_url: str, capsys) -> None:  # type: ignore[no-untyped-def]
    pile_url = "socket://127.0.0.1:9"  # never opened: the command only reads the site file
    plain = _site(tmp_path, pile_url)
    assert main(["charging", "qr", "E1", "--site", plain, "--db", db_url]) == 1
    assert "no cloud" in capsys.readouterr().err
    cloud = tmp_path / "cloud.toml"
    cloud.write_text(site_text(50, '\n[cloud]\nurl = "https://cloud.example"\nsite_id = "garage-1"\n' + charging_toml(pile_url)),
                     encoding="utf-8")
    assert main(["charging", "qr", "E1", "2", "--site", str(cloud), "--db", db_url]) == 0
    assert capsys.readouterr().out.splitlines() == ["https://cloud.example/staff/charge/garage-1/E1/2?modes=prepaid,postpaid"]
    assert main(["charging", "qr", "E1", "9", "--site", str(cloud), "--db", db_url]) == 1
    assert main(["charging", "qr", "E1", "--site", str(cloud), "--db", db_url]) == 0
    assert len(capsys.readouterr().out.splitlines()) == 4
