"""The gate charges what `booth quote` says: re-entries and member plans through the running
site (a real SQLite file, simulated lanes, a fixed clock) against the quote command itself.

The tariff (tests/fixtures/plans.toml): the first hour free once per stay, a re-entry within
30 minutes continues the visit, 2.00 an hour by day, 1.00 at night (at most 4.00 a night),
at most 25.00 a calendar day; a morning-only pass, staff at 50 %, a pass for zone P1 only.
"""

from __future__ import annotations

import json
import random
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Iterator

import pytest

from console.cli import main as booth
from console.domain.clock import FixedClock
from console.domain.money import Money
from console.site.build import build_site
from console.site.config import parse_site
from console.site.events import ExitPending, ExitSettled
from console.site.site import Site
from console.store import cloud_copies, visits
from console.store.database import Store
from drivers.gate.simulated import InProcessGate
from drivers.gate.simworld import Traffic
from tests.conftest import HOURLY_TARIFF, SMALL_SITE, T0, Recorder

PLANS_TARIFF = Path(__file__).resolve().parents[1] / "fixtures" / "plans.toml"

# The small test site (zone P1, lanes IN1/OUT1) with a second zone and its lanes.
ROOF = """
[[zones]]
id = "P2"
name = "Roof"
capacity = 50

[[lanes]]
id = "IN2"
direction = "entry"
zone = "P2"
gate = "sim://?timing=fast&rate=0"

[[lanes]]
id = "OUT2"
direction = "exit"
zone = "P2"
gate = "sim://?timing=fast"
"""

# Plates, the memberships the cloud lists for them, and the plan `booth quote --member` is
# asked with: an explicit plan id, a plan-less member billed by the tariff's only member
# plan, a whitelist entry naming its zone-limited plan, and plates without any.
MEMBERS = {
    "PASS1": ("pass", "Morning commuter", "morning-pass"),
    "STAFF1": ("member", "Staff canteen", None),
    "DECK1": ("whitelist", "Deck tenant", "deck-pass"),
}
PLAN_OF = {"PASS1": "morning-pass", "STAFF1": "staff", "DECK1": "deck-pass"}
PLATES = ("PASS1", "STAFF1", "DECK1", "AB1234", "CD5678")


class Booth:
    """One running site on its own store and clock, driven through its simulated lanes."""

    def __init__(self, store: Store, tariff: Path) -> None:
        self.clock = FixedClock(T0)
        self.site: Site = build_site(
            parse_site(SMALL_SITE.format(capacity=50, tariff=tariff) + ROOF, "plans-site.toml"), store, clock=self.clock,
            traffic=Traffic(seed=3),
        )
        self.rec = Recorder()
        self.site.bus.subscribe(self.rec)
        self.site.start()
        self.site.staff.open_shift("ann", "0")

    def members(self, listed: dict[str, tuple[str, str, str | None]]) -> None:
        rows = [{"plate": plate, "kind": kind, "name": name, "plan": plan} for plate, (kind, name, plan) in listed.items()]
        with self.site.store.write() as tx:
            cloud_copies.replace_members(tx, rows)

    def enter(self, plate: str, at: datetime, lane: str = "IN1") -> None:
        self.clock.set(at)
        gate = self.site.lanes.gates[lane]
        assert isinstance(gate, InProcessGate)
        gate.arrive(plate)
        self.rec.wait_for(lambda: self.site.store.query(visits.open_visit_for, plate) is not None)

    def leave(self, plate: str, at: datetime, lane: str = "OUT1") -> tuple[int, list[tuple[str, int]], str]:
        """Drive `plate` out at `at`, paying cash for what is due. Returns the quoted total,
        its itemized lines and how the stay was closed."""
        self.clock.set(at)
        settled_before = len(self.rec.of(ExitSettled))
        pending_before = len(self.rec.of(ExitPending))
        gate = self.site.lanes.gates[lane]
        assert isinstance(gate, InProcessGate)
        gate.arrive(plate)
        self.rec.wait_for(
            lambda: len(self.rec.of(ExitSettled)) > settled_before or len(self.rec.of(ExitPending)) > pending_before
        )
        pending = self.rec.of(ExitPending)[pending_before:]
        if pending:
            ticket = pending[0].ticket
            settled = self.site.desk.pay_cash(ticket.id, ticket.due.decimal_text(), attendant="ann")
        else:
            settled = self.rec.of(ExitSettled)[settled_before]
        self.rec.wait_for(lambda: self.site.store.query(visits.open_visit_for, plate) is None)
        quote = settled.ticket.quote
        lines = [(item.label, item.amount.minor) for item in quote.items]
        return quote.total.minor, lines, settled.closed.visit.close_reason or ""


@pytest.fixture
def booth_at(store: Store) -> Iterator[Booth]:
    b = Booth(store, PLANS_TARIFF)
    b.members(MEMBERS)
    yield b
    b.site.stop()


def quoted(capsys: pytest.CaptureFixture[str], entry: datetime, exit_: datetime, *, plan: str | None = None,
           zone: str = "P1", previous: tuple[datetime, datetime, int] | None = None,
           tariff: Path = PLANS_TARIFF) -> tuple[int, list[tuple[str, int]]]:
    """What `booth quote --json` says for the stay: total and itemized lines in minor units."""
    argv = ["quote", "--tariff", str(tariff), "--entry", entry.isoformat(), "--exit", exit_.isoformat(),
            "--zone", zone, "--json"]
    if plan is not None:
        argv += ["--member", plan]
    if previous is not None:
        argv += ["--previous-entry", previous[0].isoformat(), "--previous-exit", previous[1].isoformat(),
                 "--previous-paid", Money(previous[2], "EUR").decimal_text()]
    capsys.readouterr()
    assert booth(argv) == 0
    out = json.loads(capsys.readouterr().out)
    return int(out["total_minor"]), [(i["label"], int(i["amount_minor"])) for i in out["items"]]


# -- hand-worked cases -------------------------------------------------------------------------
# T0 is Monday 2026-03-02 08:00 UTC, 09:00 in Berlin.


def test_a_re_entry_within_the_window_pays_its_continuation(booth_at: Booth, capsys: pytest.CaptureFixture[str]) -> None:
    # 09:00-09:50 is inside the free hour; back at 10:00 and out at 11:30: one stay 09:00-11:30,
    # the free hour counted once: 10:00-11:30 is two started hours, 4.00.
    booth_at.enter("AB1234", T0)
    total, _lines, _reason = booth_at.leave("AB1234", T0 + timedelta(minutes=50))
    assert total == 0
    booth_at.enter("AB1234", T0 + timedelta(hours=1))
    total, lines, _reason = booth_at.leave("AB1234", T0 + timedelta(hours=2, minutes=30))
    assert total == 400
    assert (total, lines) == quoted(capsys, T0 + timedelta(hours=1), T0 + timedelta(hours=2, minutes=30),
                                    previous=(T0, T0 + timedelta(minutes=50), 0))


def test_two_trips_out_are_still_one_stay(booth_at: Booth) -> None:
    # Out at 09:40 (free), back 09:50, out 10:30 (one hour after the free one: 2.00 paid),
    # back 10:45, out 11:15: from 09:00, the free hour once, 10:00-11:15 is 2 hours = 4.00,
    # less the 2.00 already paid.
    booth_at.enter("CD5678", T0)
    assert booth_at.leave("CD5678", T0 + timedelta(minutes=40))[0] == 0
    booth_at.enter("CD5678", T0 + timedelta(minutes=50))
    assert booth_at.leave("CD5678", T0 + timedelta(hours=1, minutes=30))[0] == 200
    booth_at.enter("CD5678", T0 + timedelta(hours=1, minutes=45))
    assert booth_at.leave("CD5678", T0 + timedelta(hours=2, minutes=15))[0] == 200


def test_a_re_entry_after_the_window_is_a_new_stay(booth_at: Booth) -> None:
    booth_at.enter("AB1234", T0)
    booth_at.leave("AB1234", T0 + timedelta(minutes=30))
    booth_at.enter("AB1234", T0 + timedelta(minutes=61))  # 31 minutes outside
    total, lines, reason = booth_at.leave("AB1234", T0 + timedelta(minutes=110))
    assert total == 0 and reason  # inside its own free hour again


def test_a_morning_pass_pays_for_the_afternoon(booth_at: Booth, capsys: pytest.CaptureFixture[str]) -> None:
    # 09:00-15:30: the free hour, morning 10:00-12:00 covered by the pass, afternoon 4 hours = 8.00.
    booth_at.enter("PASS1", T0)
    total, lines, _reason = booth_at.leave("PASS1", T0 + timedelta(hours=6, minutes=30))
    assert total == 800
    assert (total, lines) == quoted(capsys, T0, T0 + timedelta(hours=6, minutes=30), plan="morning-pass")
    assert any("Morning pass" in label for label, _amount in lines)


def test_a_morning_pass_leaves_free_in_the_morning(booth_at: Booth) -> None:
    booth_at.enter("PASS1", T0)
    total, _lines, reason = booth_at.leave("PASS1", T0 + timedelta(hours=2, minutes=50))  # until 11:50
    assert total == 0
    assert "Morning commuter" in reason


def test_staff_pay_half(booth_at: Booth, capsys: pytest.CaptureFixture[str]) -> None:
    # A plan-less "member" entry is billed by the tariff's only member plan, staff at 50 %:
    # 09:00-12:30, the free hour, then 3 started hours = 6.00, half is 3.00.
    booth_at.enter("STAFF1", T0)
    total, lines, _reason = booth_at.leave("STAFF1", T0 + timedelta(hours=3, minutes=30))
    assert total == 300
    assert (total, lines) == quoted(capsys, T0, T0 + timedelta(hours=3, minutes=30), plan="staff")


def test_a_zone_pass_covers_its_zone_only(booth_at: Booth) -> None:
    booth_at.enter("DECK1", T0, lane="IN1")
    assert booth_at.leave("DECK1", T0 + timedelta(hours=4), lane="OUT1")[0] == 0
    booth_at.enter("DECK1", T0 + timedelta(hours=5), lane="IN2")
    # The roof (P2) is not covered: 14:00-18:00, the free hour, then 3 hours = 6.00.
    assert booth_at.leave("DECK1", T0 + timedelta(hours=9), lane="OUT2")[0] == 600


def test_without_plans_a_pass_leaves_free_and_a_member_pays(store: Store) -> None:
    # The hourly tariff declares no plans: the cloud's pass means free, a bare "member" entry
    # names no benefit the tariff knows, so it pays the fee (2 h 10 min: 3 started hours).
    b = Booth(store, HOURLY_TARIFF)
    try:
        b.members({"PASS9": ("pass", "Season", None), "MEMB9": ("member", "Club", None)})
        b.enter("PASS9", T0)
        b.enter("MEMB9", T0)
        total, _lines, reason = b.leave("PASS9", T0 + timedelta(hours=2, minutes=10))
        assert total == 0
        assert "Season" in reason
        assert b.leave("MEMB9", T0 + timedelta(hours=2, minutes=10))[0] == 750
    finally:
        b.site.stop()


# -- random stays through the site and through `booth quote` ----------------------------------


@dataclass
class Stay:
    plate: str
    entry: datetime
    exit: datetime
    zone: str
    paid: int = 0


@dataclass
class Scenario:
    """Random stays of a few plates, one car inside at a time, many coming back soon."""

    seed: int
    stays: list[Stay] = field(default_factory=list)

    def generate(self, count: int) -> None:
        rng = random.Random(self.seed)
        at = T0 + timedelta(minutes=rng.randrange(0, 24 * 60), seconds=rng.randrange(60))
        plate = rng.choice(PLATES)
        for _n in range(count):
            zone = rng.choice(("P1", "P2"))
            minutes = rng.choice((rng.randrange(1, 80), rng.randrange(60, 600), rng.randrange(600, 3000)))
            leave = at + timedelta(minutes=minutes, seconds=rng.randrange(60))
            self.stays.append(Stay(plate, at, leave, zone))
            if rng.random() < 0.5:  # the same car back soon: sometimes within 30 minutes, sometimes not
                at = leave + timedelta(minutes=rng.randrange(0, 45), seconds=rng.randrange(60))
            else:
                plate = rng.choice(PLATES)
                at = leave + timedelta(minutes=rng.randrange(1, 600), seconds=rng.randrange(60))

    def continued(self, index: int) -> tuple[datetime, datetime, int] | None:
        """The earlier stays of the same plate that stay `index` continues (the rate sheet's
        rule: back within 30 whole minutes of leaving), folded into one previous visit."""
        stay = self.stays[index]
        chain: tuple[datetime, datetime, int] | None = None
        entry = stay.entry
        for earlier in reversed(self.stays[:index]):
            if earlier.plate != stay.plate:
                continue
            gap = int(entry.replace(second=0).timestamp() - earlier.exit.replace(second=0).timestamp()) // 60
            if gap > 30:
                break
            chain = (earlier.entry, chain[1] if chain else earlier.exit, (chain[2] if chain else 0) + earlier.paid)
            entry = earlier.entry
        return chain


@pytest.mark.parametrize("seed", [11, 12, 13])
def test_random_stays_cost_at_the_gate_what_booth_quote_says(
    booth_at: Booth, capsys: pytest.CaptureFixture[str], seed: int
) -> None:
    scenario = Scenario(seed)
    scenario.generate(24)
    continued_stays = 0
    for index, stay in enumerate(scenario.stays):
        lane = "1" if stay.zone == "P1" else "2"
        booth_at.enter(stay.plate, stay.entry, lane="IN" + lane)
        total, lines, _reason = booth_at.leave(stay.plate, stay.exit, lane="OUT" + lane)
        previous = scenario.continued(index)
        continued_stays += previous is not None
        expected = quoted(capsys, stay.entry, stay.exit, plan=PLAN_OF.get(stay.plate), zone=stay.zone, previous=previous)
        assert (total, lines) == expected, f"seed {seed}, stay {index}: {stay}, continuing {previous}"
        stay.paid = total
    assert continued_stays >= 3  # the scenario did exercise re-entry
