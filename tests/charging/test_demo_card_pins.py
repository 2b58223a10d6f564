"""The demo's charging cards take the PIN the README gives, so a phone can start one by
its number and PIN from a pile's QR page; a kept demo database keeps the PINs it has."""

from __future__ import annotations

import re
from pathlib import Path

from sqlalchemy import select

from console.domain.clock import FixedClock
from console.site.build import build_site
from console.site.config import default_site
from console.site.demo import DEMO_CARD_PIN, add_demo_staff
from console.store.charging_cards import verify_secret
from console.store.charging_tables import charge_card
from console.store.database import Store
from drivers.gate.simworld import Traffic

ROOT = Path(__file__).resolve().parents[2]


def test_the_demo_cards_take_the_pin_the_readme_gives(store: Store, clock: FixedClock) -> None:
    config = default_site()
    assert config.charging.cards, "the demo site has charging cards"
    site = build_site(config, store, clock=clock, traffic=Traffic(seed=1))
    add_demo_staff(site)
    with store.read() as s:
        first = dict(s.execute(select(charge_card.c.card_id, charge_card.c.pin_hash)).all())
    add_demo_staff(site)  # kept: the same hashes, no new PIN
    with store.read() as s:
        again = dict(s.execute(select(charge_card.c.card_id, charge_card.c.pin_hash)).all())
    assert set(first) == {c.card_id for c in config.charging.cards} and again == first
    assert all(h is not None and verify_secret(h, DEMO_CARD_PIN) for h in first.values())
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert re.search(rf"charging cards[^\n]*`{DEMO_CARD_PIN}`", readme), "the README gives the demo cards' PIN"
