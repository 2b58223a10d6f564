"""A threshold breach reaches the screen's feed in under a second with the site file's
defaults, even while 200 ports report and a burst of readings floods the service."""

from __future__ import annotations

import threading
import time
from typing import Any, Iterator
from zoneinfo import ZoneInfo

import pytest

from console.domain.clock import SystemClock
from console.site.charging import ChargerFault, ChargingService
from console.site.charging_config import ChargingSection
from console.store.database import Store
from drivers.charger import PortsReported, PortStatus
from drivers.charger.epile_sim import EPileSimulator

from .conftest import Seen

PILES = 10
PORTS = 20  # 200 ports in all
RUNNING = 3  # ports per pile with a running session (readings that bill and publish)


class TimedSeen(Seen):
    """Also notes when each fault was published (perf_counter)."""

    def __init__(self) -> None:
        super().__init__()
        self.fault_at: dict[tuple[str, int | None], float] = {}

    def publish(self, event: Any) -> None:
        if isinstance(event, ChargerFault):
            self.fault_at.setdefault((event.fault.pile_id, event.fault.port), time.perf_counter())
        super().publish(event)


@pytest.fixture
def site(store: Store) -> Iterator[tuple[ChargingService, TimedSeen, list[EPileSimulator]]]:
    sims = [EPileSimulator(ports=PORTS, address=1).start() for _ in range(PILES)]
    section = ChargingSection.model_validate({
        # No poll_s: the site file's default is what is measured.
        "epiles": [{"id": f"P{i}", "url": sim.url, "ports": PORTS, "franchise": "F-Acme", "plan": "kwh"} for i, sim in enumerate(sims)],
        "plans": [{"id": "kwh", "basis": "energy", "rate": 500}],
        "accounts": [{"id": "fleet", "name": "Fleet", "kind": "tenant", "credit_limit": 10**9}],
    })
    seen = TimedSeen()
    service = ChargingService(store, section, ZoneInfo("Europe/Berlin"), "EUR", SystemClock(), report=seen.report, publish=seen.publish)
    service.start()
    try:
        seen.wait_for(lambda: all(p.online for p in service.ports()))
        for sim in sims:
            for port in range(1, RUNNING + 1):
                sim.plug(port)
        seen.wait_for(lambda: all(p.plugged for p in service.ports() if p.port <= RUNNING))
        for i in range(PILES):
            for port in range(1, RUNNING + 1):
                service.start_session(pile_id=f"P{i}", port=port, user_id="fleet")
        yield service, seen, sims
    finally:
        service.stop()
        for sim in sims:
            sim.stop()


def test_default_poll_interval_is_half_a_second() -> None:
    pile = ChargingSection.model_validate({"epiles": [{"id": "P", "url": "loop://", "plan": "kwh"}],
                                           "plans": [{"id": "kwh", "basis": "energy", "rate": 1}]}).epiles[0]
    assert pile.poll_s == 0.5


def _breach_latency(seen: TimedSeen, sim: EPileSimulator, pile: str, port: int) -> float:
    start = time.perf_counter()
    sim.set_leak(port, 1_500)  # an unpowered port drawing current: fault 2 at the first reading
    seen.wait_for(lambda: (pile, port) in seen.fault_at, timeout=5)
    return seen.fault_at[(pile, port)] - start


def test_breach_is_reported_within_a_second_while_200_ports_report(site: tuple[ChargingService, TimedSeen, list[EPileSimulator]]) -> None:
    service, seen, sims = site
    time.sleep(1.0)  # steady state: every pile polled a few times
    latencies = [_breach_latency(seen, sims[i], f"P{i}", PORTS - i) for i in (0, 4, 9)]
    print(f"breach to fault (s): {[round(x, 3) for x in latencies]}")
    assert max(latencies) < 1.0
    assert all(p.online for p in service.ports())


def test_burst_of_readings_cannot_delay_a_fault(site: tuple[ChargingService, TimedSeen, list[EPileSimulator]]) -> None:
    service, seen, sims = site
    stop = threading.Event()
    sent = [0]
    backlog = [0]

    def flood() -> None:
        # Idle ports (not running, not the breached ones) reporting as fast as a thread can:
        # far more readings than the worker could take one by one.
        idle = tuple(PortStatus(n, False, False, 0, 0) for n in range(RUNNING + 1, PORTS - 1))
        while not stop.is_set():
            for i in range(PILES):
                service._on_epile(PortsReported(f"P{i}", idle, time.monotonic()))
                sent[0] += len(idle)
            backlog[0] = max(backlog[0], service.backlog())

    thread = threading.Thread(target=flood, daemon=True)
    thread.start()
    try:
        time.sleep(1.0)
        latencies = [_breach_latency(seen, sims[i], f"P{i}", PORTS - 1) for i in (1, 7)]
    finally:
        stop.set()
        thread.join(timeout=5)
    print(f"burst: {sent[0]} readings sent, largest backlog {backlog[0]}, breach to fault (s): {[round(x, 3) for x in latencies]}")
    assert sent[0] > 10 * PILES * PORTS  # it was a burst
    # One waiting reading per port (plus plug / power events and one roster per pile).
    assert backlog[0] <= PILES * PORTS + 2 * PILES
    assert max(latencies) < 1.0
    # Running sessions kept being metered through the burst.
    assert all(p.energy_wh >= 0 and p.session_id for p in service.ports() if p.port <= RUNNING)
