"""Card PINs, bind codes and payments of what is owed, from `booth charging ...` and the
F12 cards line, on a real SQLite file the site's charging service runs on: a PIN is kept
only as its argon2id hash (its own salt) and goes to the cloud as that hash; an easy or
mistyped PIN is refused and changes nothing; a bind code binds its card once; a payment
never takes more than is owed. Every change is audited."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest
from sqlalchemy import select

from console.cli import main
from console.domain.charging import ChargingError
from console.domain.money import Money
from console.site.charging import ChargingService
from console.store.charging_cards import verify_secret
from console.store.charging_tables import charge_card
from console.store.database import Store
from console.store.tables import OutboxRow
from console.ui.screens.charging_cards import run_card_command
from drivers.charger.epile_sim import EPileSimulator

from .conftest import Seen
from .test_charging_cli import _audit, _site


def _pin_hash(store: Store, card: str) -> str | None:
    with store.read() as s:
        return s.execute(select(charge_card.c.pin_hash).where(charge_card.c.card_id == card)).scalar()


def _events(store: Store, kind: str) -> list[dict[str, object]]:
    with store.read() as s:
        return [json.loads(p) for p in s.execute(select(OutboxRow.payload).where(OutboxRow.type == kind)).scalars()]


def test_cli_bind_with_a_pin_change_it_codes_and_payments(charging: tuple[ChargingService, Seen], pile: EPileSimulator, store: Store,
                                                           db_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    common = ["--site", _site(tmp_path, pile.url), "--db", db_url, "--by", "mgr-anna"]

    def with_stdin(text: str, argv: list[str]) -> int:
        monkeypatch.setattr("sys.stdin", io.StringIO(text))
        return main(argv)

    assert with_stdin("1234\n", ["charging", "bind", "C-NEW", "--account", "bob", "--pin", *common]) == 1  # too easy
    assert "too easy" in capsys.readouterr().err and _pin_hash(store, "C-NEW") is None
    assert with_stdin("4827\n", ["charging", "bind", "C-NEW", "--account", "bob", "--pin", *common]) == 0
    first = _pin_hash(store, "C-NEW")
    assert first is not None and first.startswith("$argon2id$") and "4827" not in first and verify_secret(first, "4827")
    assert with_stdin("9051\n", ["charging", "pin", "C-NEW", *common]) == 0
    second = _pin_hash(store, "C-NEW")
    assert second is not None and verify_secret(second, "9051") and not verify_secret(second, "4827")
    assert with_stdin("9051\n", ["charging", "pin", "C-NOBODY", *common]) == 1
    assert _audit(store, "charging.card_pin_set") == [("C-NEW", "mgr-anna (booth charging)")] * 2
    assert [e["pin_hash"] for e in _events(store, "charging.card_pin")] == [first, second]  # the cloud gets the hash only

    capsys.readouterr()
    assert main(["charging", "bind-code", "booth-card:?card=C-FRESH", "--account", "bob", *common]) == 0
    out = capsys.readouterr().out
    code = out.split(": ")[1].split()[0]
    assert len(code) == 8 and code.isdigit()
    sent = _events(store, "charging.bind_code")
    assert [e["subject"] for e in sent] == ["C-FRESH"] and verify_secret(str(sent[0]["code_hash"]), code) and code not in json.dumps(sent)
    assert main(["charging", "bind-code", "C-NEW", "--account", "bob", *common]) == 1  # bound already: no code
    service, _seen = charging
    bound = service.bind_by_code("C-FRESH", "cloud:tina")
    assert (bound.account_id, bound.kind) == ("bob", "tenant")
    with pytest.raises(ChargingError, match="bind code"):
        service.bind_by_code("C-FRESH", "cloud:tina")  # used up

    # What bob owes goes down by a payment, never below zero.
    with store.write() as s:
        from console.store.charging_tables import charge_account

        s.execute(charge_account.update().where(charge_account.c.id == "bob").values(owed_minor=250))
    assert main(["charging", "pay", "bob", "1.00", *common]) == 0
    assert main(["charging", "pay", "bob", "2.00", *common]) == 1
    assert main(["charging", "pay", "bob", "-1", *common]) == 1
    account = service.account("bob")
    assert account is not None and account.owed == Money(150, "EUR")
    assert [(e["amount_minor"], e["owed_minor"]) for e in _events(store, "charging.owed_paid")] == [(100, 150)]


def test_the_cards_line_sets_pins_prints_codes_and_takes_payments(charging: tuple[ChargingService, Seen], store: Store) -> None:
    service, _seen = charging
    said = run_card_command(service, "bind C-LINE bob 6093", "ann")
    assert "PIN set" in said and "6093" not in said
    hashed = _pin_hash(store, "C-LINE")
    assert hashed is not None and verify_secret(hashed, "6093")
    assert "PIN set" in run_card_command(service, "pin C-LINE 7184", "ann")
    with pytest.raises(ChargingError, match="digits"):
        run_card_command(service, "pin C-LINE 12ab", "ann")
    said = run_card_command(service, "code C-LINE2 bob", "ann")
    assert "bind code for card C-LINE2" in said
    with pytest.raises(ChargingError, match="owes only"):
        run_card_command(service, "pay bob 5", "ann")
    assert _audit(store, "charging.bind_code_issued") == [("C-LINE2", "ann")]
