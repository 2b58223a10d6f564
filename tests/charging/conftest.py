"""Charging fixtures: simulated piles on real ptys, a real SQLite store, a fast clock."""

from __future__ import annotations

import threading
import time
from typing import Any, Callable, Iterator
from zoneinfo import ZoneInfo

import pytest

from console.domain.clock import ScaledClock
from console.site.charging import ChargingService
from console.site.charging_config import ChargingSection
from console.store.database import Store
from drivers.charger.epile_sim import EPileSimulator

SPEED = 60.0  # one real second is a simulated minute


class Seen:
    """Collects what the service publishes and reports; waits for conditions."""

    def __init__(self) -> None:
        self.events: list[Any] = []
        self.log: list[tuple[str, str]] = []
        self._cv = threading.Condition()

    def publish(self, event: Any) -> None:
        with self._cv:
            self.events.append(event)
            self._cv.notify_all()

    def report(self, level: str, text: str) -> None:
        with self._cv:
            self.log.append((level, text))

    def of(self, kind: type) -> list[Any]:
        with self._cv:
            return [e for e in self.events if isinstance(e, kind)]

    def wait_for(self, predicate: Callable[[], Any], timeout: float = 10.0) -> Any:
        deadline = time.monotonic() + timeout
        while True:
            value = predicate()
            if value:
                return value
            if time.monotonic() > deadline:
                raise AssertionError("condition not reached in time")
            time.sleep(0.02)


def section_for(pile_url: str, **extra: Any) -> ChargingSection:
    data: dict[str, Any] = {
        "models": [{"id": "eb16", "min_a": 16, "max_a": 18, "leak_a": 0.1, "start_grace_s": 3}],
        "epiles": [{"id": "E1", "url": pile_url, "address": 1, "ports": 4, "model": "eb16", "region": "north",
                    "franchise": "F-Acme", "plan": "kwh", "poll_s": 0.05}],
        "plans": [{"id": "kwh", "basis": "energy", "rate": 500, "free_seconds": 60}],
        "accounts": [
            {"id": "alice", "name": "Alice", "kind": "user", "balance": 1000},
            {"id": "bob", "name": "Bob (tenant)", "kind": "tenant", "credit_limit": 300},
            {"id": "lord", "name": "Landlord", "kind": "landlord"},
        ],
        "cards": [
            {"card_id": "C-ALICE", "account": "alice"},
            {"card_id": "C-BOB", "account": "bob"},
            {"card_id": "C-LORD", "account": "lord", "kind": "landlord", "piles": ["E1"]},
        ],
        "default_mode": "postpaid",
        "save_every_s": 5,
    }
    data.update(extra)
    return ChargingSection.model_validate(data)


@pytest.fixture
def pile() -> Iterator[EPileSimulator]:
    start = time.monotonic()
    sim = EPileSimulator(ports=4, address=1, clock=lambda: start + (time.monotonic() - start) * SPEED).start()
    yield sim
    sim.stop()


@pytest.fixture
def charging(store: Store, pile: EPileSimulator) -> Iterator[tuple[ChargingService, Seen]]:
    seen = Seen()
    service = ChargingService(store, section_for(pile.url), ZoneInfo("Europe/Berlin"), "EUR", ScaledClock(SPEED),
                              report=seen.report, publish=seen.publish)
    service.start()
    seen.wait_for(lambda: all(p.online for p in service.ports()))
    yield service, seen
    service.stop()
