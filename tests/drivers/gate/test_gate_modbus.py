"""The Modbus relay board driver against pymodbus's own server (RTU framing over a
loopback socket) with a device model running the simulated lane."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from drivers.gate import open_gate
from drivers.gate.base import GateEventKind as K
from drivers.gate.base import LaneRole
from drivers.gate.modbus_driver import ModbusRelayGate
from drivers.gate.sim_modbus import BoardWiring, ModbusLaneSimulator
from drivers.gate.simlane import SimTiming
from drivers.gate.simulators import start_simulated_lane
from drivers.gate.simworld import Traffic
from drivers.health import HealthState

# Mechanical timings slow enough for a 20 ms input poll to see every edge.
TIMING = SimTiming(plate_delay=0.05, barrier_travel=0.15, drive_through=0.2, entry_patience=5.0, poll=0.01)
DRIVER_OPTIONS = "&poll=0.02&timeout=0.2&retries=0&offline_after=2&pulse=0.2&barrier_timeout=1&reconnect_max=0.2"

Board = tuple[ModbusLaneSimulator, ModbusRelayGate, Any]


@pytest.fixture
def board(recorder_type: Any) -> Iterator[Callable[..., Board]]:
    made: list[tuple[ModbusLaneSimulator, ModbusRelayGate]] = []

    def make(
        plate_line: bool = True,
        wiring: BoardWiring | None = None,
        options: str = DRIVER_OPTIONS,
        open_on: K | None = K.PLATE_READ,
        wait_ok: bool = True,
    ) -> Board:
        sim = ModbusLaneSimulator(LaneRole.EXIT, Traffic(seed=3), timing=TIMING, plate_line=plate_line, wiring=wiring)
        sim.start()
        driver = open_gate(sim.url + options, name="mb lane", role=LaneRole.EXIT)
        assert isinstance(driver, ModbusRelayGate)
        rec = recorder_type()
        if open_on is not None:
            rec.responder = lambda e: driver.open_barrier() if e.kind is open_on else None
        made.append((sim, driver))
        driver.start(rec.on_event, rec.on_health)
        if wait_ok:
            rec.wait_state(driver, HealthState.OK)
        return sim, driver, rec

    yield make
    for sim, driver in made:
        driver.stop()
        sim.stop()


def test_vehicle_cycle_with_a_plate_reader_line(board: Callable[..., Board]) -> None:
    sim, driver, rec = board()
    rec.wait_event(K.BARRIER_CLOSED)  # position from the closed limit switch
    sim.arrive("MB1234X")
    rec.wait_event(K.BARRIER_CLOSED, 2)
    kinds = [e.kind for e in rec.events]
    assert sorted(kinds, key=str) == sorted(
        [K.BARRIER_CLOSED, K.VEHICLE_PRESENT, K.PLATE_READ, K.BARRIER_OPENED, K.VEHICLE_PASSED, K.VEHICLE_GONE, K.BARRIER_CLOSED],
        key=str,
    )
    # Loop and barrier come from the board's inputs, in the order they happened.
    assert [k for k in kinds if k is not K.PLATE_READ] == [
        K.BARRIER_CLOSED, K.VEHICLE_PRESENT, K.BARRIER_OPENED, K.VEHICLE_PASSED, K.VEHICLE_GONE, K.BARRIER_CLOSED,
    ]
    assert rec.kinds(K.PLATE_READ)[0].plate == "MB1234X"
    assert sim.presses == ["open"]
    assert driver.health_snapshot().state is HealthState.OK


def test_open_contact_is_pulsed_not_held(board: Callable[..., Board]) -> None:
    sim, driver, rec = board(open_on=None)
    sim.coil_writes.clear()
    driver.open_barrier()
    rec.wait_event(K.BARRIER_OPENED)
    rec.wait_for(lambda: any(not on for _, c, on in sim.coil_writes if c == 0), what="contact released")
    (t_on, _, on), (t_off, _, off) = [w for w in sim.coil_writes if w[1] == 0][:2]
    assert on and not off
    print(f"\nopen contact held {1000 * (t_off - t_on):.0f} ms (pulse=200 ms)")
    assert 0.18 <= t_off - t_on < 0.6


def test_without_plate_reader_the_attendant_types_the_plate(board: Callable[..., Board]) -> None:
    sim, driver, rec = board(plate_line=False, open_on=K.VEHICLE_PRESENT)  # the attendant opens
    sim.arrive("NOREAD1")
    rec.wait_event(K.BARRIER_CLOSED, 2)
    assert rec.kinds(K.PLATE_READ) == []
    assert [e.kind for e in rec.events].count(K.VEHICLE_PASSED) == 1
    assert "plates" not in sim.url


def test_jammed_barrier_faults(board: Callable[..., Board]) -> None:
    sim, driver, rec = board(open_on=None)
    rec.wait_event(K.BARRIER_CLOSED)
    sim.lane.jammed = True
    driver.open_barrier()
    rec.wait_event(K.BARRIER_FAULT, 2)
    details = [e.detail for e in rec.kinds(K.BARRIER_FAULT)]
    assert "barrier controller fault input active" in details
    assert "barrier did not confirm open within 1 s" in details
    assert rec.kinds(K.BARRIER_OPENED) == []
    rec.wait_state(driver, HealthState.FAULT)


def test_close_without_a_close_contact_fails_clearly(board: Callable[..., Board]) -> None:
    sim, driver, rec = board(wiring=BoardWiring(close_coil=None), open_on=None)
    driver.close_barrier()
    failed = rec.wait_event(K.COMMAND_FAILED)[0]
    assert failed.detail == "close: no close contact wired; the barrier closes by itself"
    assert sim.presses == []


def test_limit_switches_not_wired_means_no_position_events(board: Callable[..., Board]) -> None:
    sim, driver, rec = board(wiring=BoardWiring(open_limit=None, closed_limit=None, fault_input=None), open_on=None)
    driver.open_barrier()
    rec.wait_for(lambda: sim.presses == ["open"], what="contact pressed")
    time.sleep(1.3)  # longer than barrier_timeout: nothing to time out without read-back
    assert rec.kinds(K.BARRIER_OPENED) == [] and rec.kinds(K.BARRIER_FAULT) == []
    assert sim.lane.barrier_open


def test_board_unplugged_and_back(board: Callable[..., Board]) -> None:
    sim, driver, rec = board()
    sim.unplug()
    rec.wait_state(driver, HealthState.OFFLINE, timeout=5)
    driver.open_barrier()
    assert rec.wait_event(K.COMMAND_FAILED)[0].detail == "open: relay board offline"
    sim.coil_writes.clear()
    sim.replug()
    back = rec.wait_for(lambda: driver.link_up, timeout=5, what="board back")
    print(f"\nrelay board back {back * 1000:.0f} ms after replug")
    assert back < 2.0
    assert sim.coil_writes[0][1:] == (0, False)  # first thing after reconnecting: release the contact
    assert sim.presses == []  # the OPEN refused during the outage was not sent later
    sim.arrive("AFTER01")
    rec.wait_event(K.VEHICLE_PASSED)
    assert driver.health_snapshot().counters["reconnects"] >= 1


def test_board_refusing_an_address_degrades_health(board: Callable[..., Board]) -> None:
    # The last fault_input= wins: an input the board does not have.
    sim, driver, rec = board(open_on=None, options=DRIVER_OPTIONS + "&fault_input=100", wait_ok=False)
    rec.wait_state(driver, HealthState.DEGRADED)
    assert "exception 2" in driver.health_snapshot().detail  # illegal data address
    assert driver.link_up


def test_demo_helper_starts_every_kind() -> None:
    for kind in ("serial", "tcp", "modbus", "modbus-noplates"):
        sim, url = start_simulated_lane(kind, LaneRole.ENTRY, Traffic(seed=1), 0.0, TIMING)
        try:
            driver = open_gate(url, name=kind, role=LaneRole.ENTRY)
            seen: list[Any] = []
            driver.start(seen.append)
            deadline = time.monotonic() + 5
            while driver.health_snapshot().state is not HealthState.OK and time.monotonic() < deadline:
                time.sleep(0.02)
            assert driver.health_snapshot().state is HealthState.OK, (kind, driver.health_snapshot())
            driver.stop()
        finally:
            sim.stop()
    with pytest.raises(ValueError):
        start_simulated_lane("carrier-pigeon", LaneRole.ENTRY, Traffic(), 0.0, None)
