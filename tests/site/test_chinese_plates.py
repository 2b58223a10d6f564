"""A mainland Chinese site (`plate_regions = ["cn"]`): Chinese plates enter and leave
through the running site. The lane controllers are the simulators on real
pseudo-terminals, so every plate travels as UTF-8 in the lane protocol's frames; the
visits go to a real SQLite file."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import pytest

from console.domain.clock import FixedClock
from console.domain.money import Money
from console.site.build import build_site
from console.site.config import parse_site
from console.site.errors import PlateNotFound, SiteError
from console.site.events import (
    ExitPending,
    ExitSettled,
    LaneChanged,
    LogEntry,
    PlateNeedsConfirmation,
)
from console.site.site import Site
from console.store import visits
from console.store.database import Store
from drivers.gate.base import LaneRole
from drivers.gate.simlane import FAST_TIMING
from drivers.gate.simulators import LaneSimulator, start_simulated_lane
from drivers.gate.simworld import Traffic
from tests.conftest import Recorder, site_text


@dataclass
class Lanes:
    site: Site
    rec: Recorder
    entry: LaneSimulator
    exit: LaneSimulator


def _mainland_site_text(entry_url: str, exit_url: str) -> str:
    text = site_text()
    for old, new in (
        ('currency = "EUR"\n', 'currency = "EUR"\nplate_regions = ["cn"]\nplate_province = "粤"\n'),
        ('gate = "sim://?timing=fast&rate=0"', f'gate = "{entry_url}"'),
        ('gate = "sim://?timing=fast"', f'gate = "{exit_url}"'),
    ):
        assert old in text
        text = text.replace(old, new, 1)
    return text


@pytest.fixture
def lanes(store: Store, clock: FixedClock) -> Iterator[Lanes]:
    traffic = Traffic(seed=11)
    entry, entry_url = start_simulated_lane("serial", LaneRole.ENTRY, traffic, timing=FAST_TIMING)
    exit_, exit_url = start_simulated_lane("serial", LaneRole.EXIT, traffic, timing=FAST_TIMING)
    site = build_site(parse_site(_mainland_site_text(entry_url, exit_url), "cn-site.toml"), store, clock=clock, traffic=traffic)
    rec = Recorder()
    site.bus.subscribe(rec)
    site.start()
    site.staff.open_shift("ann", "0")
    rec.wait_for(lambda: site.board.lane("IN1").health == "ok" and site.board.lane("OUT1").health == "ok", timeout=10)
    yield Lanes(site, rec, entry, exit_)
    site.stop()
    entry.stop()
    exit_.stop()


def _enter(lanes: Lanes, read: str, stored: str) -> None:
    lanes.entry.arrive(read)
    lanes.rec.wait_for(lambda: lanes.site.store.query(visits.open_visit_for, stored) is not None)


def _opened(rec: Recorder, lane_id: str) -> bool:
    return any(e.lane.id == lane_id and e.lane.gate == "open" for e in rec.of(LaneChanged))


def test_a_new_energy_plate_enters_and_leaves(lanes: Lanes, clock: FixedClock) -> None:
    site, rec = lanes.site, lanes.rec
    _enter(lanes, "粤B·D12345", "粤BD12345")
    rec.wait_for(lambda: _opened(rec, "IN1"))
    assert site.board.occupancy()[0].occupied == 1
    clock.advance(hours=2, minutes=10)
    lanes.exit.arrive("粤B D12345")  # the exit camera spaces it differently
    rec.wait_for(lambda: bool(rec.of(ExitPending)))
    ticket = rec.of(ExitPending)[0].ticket
    assert (ticket.visit.plate, ticket.due) == ("粤BD12345", Money(750, "EUR"))
    assert site.board.lane("OUT1").gate == "closed"
    settled = site.desk.pay_cash(ticket.id, "10", attendant="ann")
    assert settled.change == Money(250, "EUR")
    rec.wait_for(lambda: _opened(rec, "OUT1") and site.board.occupancy()[0].occupied == 0)
    assert len(rec.of(ExitSettled)) == 1
    last = site.store.query(visits.latest_visit_for, "粤BD12345")
    assert last is not None and last.exit_at is not None
    assert site.plates.display(last.plate) == "粤B·D12345"


def test_regular_and_special_plates_enter_in_canonical_form(lanes: Lanes) -> None:
    for read, stored in (("京A12345", "京A12345"), ("沪AD12345", "沪AD12345"), ("粤Z·1234港", "粤Z1234港"), ("使224·009", "使224009")):
        _enter(lanes, read, stored)
    assert sorted(lanes.site.store.query(visits.open_plates)) == sorted(["京A12345", "沪AD12345", "粤Z1234港", "使224009"])


def test_what_is_not_a_mainland_plate_is_refused_with_its_reason(lanes: Lanes) -> None:
    site, rec = lanes.site, lanes.rec
    lanes.entry.arrive("泸A12345")
    rec.wait_for(lambda: any("not a province abbreviation" in e.text for e in rec.of(LogEntry)))
    assert "plate not read" in site.board.lane("IN1").status
    lanes.entry.arrive("AB1234C")  # letters only: not read at a mainland site
    rec.wait_for(lambda: any("starts with a province abbreviation" in e.text for e in rec.of(LogEntry)))
    assert site.store.query(visits.open_plates) == []
    assert site.store.query(visits.totals)["entries"] == 0
    assert not _opened(rec, "IN1")


def test_a_misread_at_the_exit_is_offered_never_charged(lanes: Lanes, clock: FixedClock) -> None:
    site, rec = lanes.site, lanes.rec
    _enter(lanes, "京A12340", "京A12340")
    _enter(lanes, "沪AD12345", "沪AD12345")
    clock.advance(hours=1)
    # O never stands after the letter on a mainland plate: the read is no plate, but
    # the attendant is offered the open plate it resembles.
    lanes.exit.arrive("京A1234O")
    rec.wait_for(lambda: bool(rec.of(PlateNeedsConfirmation)))
    offer = rec.of(PlateNeedsConfirmation)[0]
    assert (offer.read_plate, offer.candidates) == ("京A1234O", ("京A12340",))
    assert rec.of(ExitPending) == [] and site.store.query(visits.totals)["exits"] == 0
    # A read that lost its province character, and look-alike provinces (沪 read as 津).
    with pytest.raises(PlateNotFound) as lost:
        site.exits.open_exit("OUT1", "AD12345")
    assert lost.value.candidates == ("沪AD12345",)
    with pytest.raises(PlateNotFound) as lookalike:
        site.exits.open_exit("OUT1", "津AD12345")
    assert lookalike.value.candidates == ("沪AD12345",)
    # The attendant confirms: now it is priced.
    ticket = site.exits.open_exit("OUT1", "京A12340")
    assert ticket is not None and ticket.visit.plate == "京A12340"
    assert site.store.query(visits.totals)["exits"] == 0


def test_typed_plates_at_the_exit(lanes: Lanes, clock: FixedClock) -> None:
    site = lanes.site
    _enter(lanes, "川A·1234学", "川A1234学")
    clock.advance(hours=1)
    ticket = site.exits.open_exit("OUT1", "川a 1234 學")  # lower case, traditional 學
    assert ticket is not None and ticket.visit.plate == "川A1234学"
    with pytest.raises(SiteError, match="new-energy plates have"):
        site.exits.open_exit("OUT1", "粤BD1234X")
    # A plate with no visit at all: recorded by hand with the lost-ticket fee.
    # OUT1 still holds the first ticket: the attendant confirms the typed plate replaces it.
    unknown = site.exits.exit_with_unknown_entry("OUT1", "粤b·f12345", actor="ann", reason="no ticket", lost_ticket=True, replace_waiting=True)
    assert unknown is not None and unknown.visit.plate == "粤BF12345"
    with pytest.raises(SiteError, match="is not a province abbreviation"):
        site.exits.exit_with_unknown_entry("OUT1", "泸A12345", actor="ann", reason="no ticket", lost_ticket=True)
    assert site.plates.typed_candidates("b f12345")[0].text == "粤BF12345"  # the site's own province
