"""The serial lane driver against the simulated controller on a real pseudo-terminal
(and behind a loopback serial-over-IP converter): events, commands and their
acknowledgement, retries, duplicates, heartbeats, faults, unplugging and replugging."""

from __future__ import annotations

import time
from typing import Any

from drivers.gate import open_gate
from drivers.gate.base import GateEventKind as K
from drivers.gate.base import LaneRole
from drivers.gate.protocol import FaultCode, MsgType
from drivers.gate.serial_driver import SerialGate
from drivers.gate.sim_serial import TcpLaneSimulator
from drivers.gate.simlane import FAST_TIMING, SimTiming
from drivers.gate.simulated import InProcessGate
from drivers.gate.simworld import Traffic
from drivers.health import HealthState

CYCLE = [K.VEHICLE_PRESENT, K.PLATE_READ, K.BARRIER_OPENED, K.VEHICLE_PASSED, K.VEHICLE_GONE, K.BARRIER_CLOSED]


def lane_kinds(rec: Any) -> list[K]:
    return [e.kind for e in rec.events]


def test_vehicle_cycle_matches_the_in_process_simulator(serial_lane: Any, recorder_type: Any) -> None:
    sim, driver, rec = serial_lane(open_on_plate=True)
    rec.wait_event(K.BARRIER_CLOSED)  # position reported after connecting
    sim.arrive("AB1234C")
    rec.wait_event(K.BARRIER_CLOSED, 2)

    ref = recorder_type()
    local = InProcessGate("ref", LaneRole.EXIT, Traffic(seed=11), timing=FAST_TIMING)
    ref.responder = lambda e: local.open_barrier() if e.kind is K.PLATE_READ else None
    local.start(ref.on_event)
    ref.wait_event(K.BARRIER_CLOSED)
    local.lane.arrive("AB1234C")
    ref.wait_event(K.BARRIER_CLOSED, 2)
    local.stop()

    assert lane_kinds(rec) == lane_kinds(ref) == [K.BARRIER_CLOSED, *CYCLE]
    plates = [(e.kind, e.plate, e.confidence) for e in rec.events if e.plate]
    assert plates == [(e.kind, e.plate, e.confidence) for e in ref.events if e.plate]
    assert rec.kinds(K.PLATE_READ)[0].confidence == 0.97
    assert [k for _, k in sim.executed] == [MsgType.OPEN]
    assert driver.health_snapshot().state is HealthState.OK


def test_unplug_and_replug_while_vehicles_arrive(serial_lane: Any, fast_link: str) -> None:
    # Default reconnect back-off (up to 1 s between attempts), and an outage long
    # enough for it to reach its longest step.
    sim, driver, rec = serial_lane(open_on_plate=True, options=fast_link.replace("&reconnect_max=0.2", ""))
    assert driver.config.reconnect_max == 1.0
    sim.arrive("PRE0001")
    rec.wait_event(K.VEHICLE_PASSED)
    before_pts = sim.device_path

    sim.unplug()
    rec.wait_state(driver, HealthState.OFFLINE, timeout=3)
    sim.arrive("WAIT001")  # drives up while the cable is out: its frames go nowhere
    time.sleep(2.0)
    replugged = time.monotonic()
    sim.replug()
    back = rec.wait_for(lambda: driver.link_up, timeout=5, what="link up after replug")
    print(f"\nlane controller back {back * 1000:.0f} ms after replug (new pty {sim.device_path}, was {before_pts})")
    assert back < 2.0

    # The vehicle that came during the outage is reported from the controller's STATUS,
    # gets its barrier opened, and traffic flows on.
    rec.wait_for(lambda: any(e.plate == "WAIT001" for e in rec.kinds(K.PLATE_READ)), what="WAIT001 read")
    rec.wait_for(lambda: any(e.plate == "WAIT001" for e in rec.kinds(K.VEHICLE_PASSED)), what="WAIT001 passed")
    sim.arrive("POST001")
    rec.wait_for(lambda: any(e.plate == "POST001" for e in rec.kinds(K.VEHICLE_PASSED)), what="POST001 passed")
    health = driver.health_snapshot()
    assert health.state is HealthState.OK
    assert health.counters["reconnects"] >= 1
    assert time.monotonic() - replugged < 10


def test_repeated_unplug_cycles(serial_lane: Any) -> None:
    sim, driver, rec = serial_lane(open_on_plate=True)
    times = []
    for i in range(3):
        sim.unplug()
        rec.wait_state(driver, HealthState.OFFLINE, timeout=3)
        sim.replug()
        times.append(rec.wait_for(lambda: driver.link_up, timeout=5))
        sim.arrive(f"CYC{i:04d}")
        rec.wait_for(lambda: len(rec.kinds(K.VEHICLE_PASSED)) == i + 1, what=f"cycle {i}")
    print(f"\nreconnect times: {', '.join(f'{t * 1000:.0f} ms' for t in times)}")
    assert max(times) < 2.0
    assert driver.health_snapshot().counters["reconnects"] >= 3


def test_lost_ack_is_retried_and_the_command_runs_once(serial_lane: Any) -> None:
    sim, driver, rec = serial_lane()
    sim.drop_acks(1)
    driver.open_barrier()
    rec.wait_event(K.BARRIER_OPENED)
    rec.wait_for(lambda: driver.health_snapshot().counters.get("retries", 0) >= 1, what="retry counted")
    time.sleep(0.3)
    assert [k for _, k in sim.executed] == [MsgType.OPEN]  # the retransmission was a duplicate
    assert sim.stats["duplicates"] == 1 and sim.stats["acks_dropped"] == 1
    assert rec.kinds(K.COMMAND_FAILED) == []


def test_command_never_acknowledged_fails(serial_lane: Any) -> None:
    sim, driver, rec = serial_lane()
    sim.drop_acks(10)
    driver.open_barrier()
    failed = rec.wait_event(K.COMMAND_FAILED)[0]
    assert failed.detail == "open: not acknowledged after 4 attempts"
    assert driver.health_snapshot().counters["timeouts"] == 1


def test_close_refused_with_a_vehicle_on_the_loop(serial_lane: Any) -> None:
    sim, driver, rec = serial_lane()
    sim.arrive("LOOP001")
    rec.wait_event(K.PLATE_READ)
    driver.close_barrier()
    failed = rec.wait_event(K.COMMAND_FAILED)[0]
    assert failed.detail == "close: refused: vehicle on the loop"
    assert sim.executed == []
    driver.open_barrier()  # let it go, so the lane is idle at teardown
    rec.wait_event(K.VEHICLE_GONE)


def test_retransmitted_events_are_reported_once(serial_lane: Any) -> None:
    sim, driver, rec = serial_lane(open_on_plate=True)
    sim.lose_answers(2)  # the console's ACKs to the next two frames get lost
    sim.arrive("DUP0001")
    rec.wait_event(K.BARRIER_CLOSED, 2)
    time.sleep(0.3)
    assert lane_kinds(rec) == [K.BARRIER_CLOSED, *CYCLE]
    assert driver.health_snapshot().counters["duplicates"] == 2


def test_heartbeat_loss_goes_offline_and_recovers(serial_lane: Any) -> None:
    sim, driver, rec = serial_lane()
    sim.mute = True  # the controller hangs: no heartbeats, no answers
    took = rec.wait_state(driver, HealthState.OFFLINE, timeout=3)
    health = driver.health_snapshot()
    assert "no heartbeat" in health.detail
    assert health.counters["heartbeats_lost"] == 1
    print(f"\nheartbeat loss noticed after {took * 1000:.0f} ms (timeout 1.0 s)")
    driver.open_barrier()  # refused at once while offline
    assert rec.wait_event(K.COMMAND_FAILED)[0].detail == "open: lane controller offline"
    sim.mute = False
    rec.wait_state(driver, HealthState.OK, timeout=5)
    assert sim.executed == []


def test_jammed_barrier_raises_fault_from_missing_readback(serial_lane: Any, fast_link: str) -> None:
    slow = SimTiming(plate_delay=0.0, barrier_travel=0.1, drive_through=0.0, entry_patience=2.0, poll=0.01)
    sim, driver, rec = serial_lane(timing=slow, options=fast_link.replace("barrier_timeout=2", "barrier_timeout=0.5"))
    sim.lane.jammed = True
    driver.open_barrier()
    fault = rec.wait_event(K.BARRIER_FAULT)[0]
    assert fault.detail == "barrier did not confirm open within 0.5 s"
    rec.wait_state(driver, HealthState.FAULT)
    assert rec.kinds(K.BARRIER_OPENED) == []  # no timer pretends the barrier opened
    sim.lane.jammed = False
    driver.open_barrier()
    rec.wait_event(K.BARRIER_OPENED)
    rec.wait_state(driver, HealthState.OK)


def test_fault_reported_by_the_controller(serial_lane: Any) -> None:
    sim, driver, rec = serial_lane()
    sim.report_fault(FaultCode.OBSTRUCTION, "photocell blocked")
    fault = rec.wait_event(K.BARRIER_FAULT)[0]
    assert fault.detail == "controller reports obstruction: photocell blocked"
    assert rec.wait_state(driver, HealthState.FAULT) >= 0


def test_controller_reboot_restarts_numbering(serial_lane: Any) -> None:
    sim, driver, rec = serial_lane(open_on_plate=True)
    sim.arrive("BOOT001")
    rec.wait_event(K.VEHICLE_PASSED)
    sim.reboot()
    rec.wait_for(lambda: driver.health_snapshot().counters.get("controller_restarts", 0) == 1, what="restart seen")
    sim.arrive("BOOT002")
    rec.wait_event(K.VEHICLE_PASSED, 2)
    assert [e.plate for e in rec.kinds(K.PLATE_READ)] == ["BOOT001", "BOOT002"]


def test_rs485_option_on_a_pty_is_handled(serial_lane: Any, fast_link: str) -> None:
    sim, driver, rec = serial_lane(options=fast_link + "&rs485=1", open_on_plate=True)
    health = driver.health_snapshot()
    assert health.counters["rs485_unsupported"] == 1
    assert "RS-485 mode not available" in health.detail
    sim.arrive("R485001")
    rec.wait_event(K.VEHICLE_PASSED)


def test_open_never_blocks_and_fails_fast_without_a_device(tmp_path: Any, recorder_type: Any, fast_link: str) -> None:
    driver = SerialGate.from_url("nowhere", f"{tmp_path}/no-such-tty?{fast_link}")
    rec = recorder_type()
    driver.start(rec.on_event, rec.on_health)
    try:
        rec.wait_state(driver, HealthState.OFFLINE)
        assert "cannot open" in driver.health_snapshot().detail
        start = time.perf_counter()
        for _ in range(100):
            driver.open_barrier()
        elapsed = time.perf_counter() - start
        assert elapsed < 0.05  # only queued: no I/O in the caller's thread
        rec.wait_event(K.COMMAND_FAILED, 100)
    finally:
        driver.stop()
    assert driver.health_snapshot().detail == "stopped"


def test_slow_listener_does_not_stall_the_link(serial_lane: Any) -> None:
    sim, driver, rec = serial_lane()

    def sluggish(event):  # type: ignore[no-untyped-def]
        if event.kind is K.PLATE_READ:
            time.sleep(2.5)  # longer than the heartbeat timeout

    rec.responder = sluggish
    sim.arrive("SLOW001")
    rec.wait_event(K.PLATE_READ)
    time.sleep(0.5)
    assert driver.link_up and driver.health_snapshot().counters.get("heartbeats_lost", 0) == 0
    rec.responder = None
    driver.open_barrier()
    rec.wait_event(K.VEHICLE_GONE, timeout=8)
    assert driver.health_snapshot().state is HealthState.OK


def test_second_console_on_the_same_port_is_locked_out(serial_lane: Any, recorder_type: Any, fast_link: str) -> None:
    sim, driver, rec = serial_lane()
    intruder = SerialGate.from_url("intruder", f"{sim.url}?{fast_link}")
    other = recorder_type()
    intruder.start(other.on_event, other.on_health)
    try:
        other.wait_state(intruder, HealthState.OFFLINE)
        assert "lock" in intruder.health_snapshot().detail
        assert driver.health_snapshot().state is HealthState.OK
    finally:
        intruder.stop()


def test_misread_plates_from_the_simulator(serial_lane: Any) -> None:
    sim, driver, rec = serial_lane(open_on_plate=True)
    sim.lane.misread_rate = 1.0
    sim.arrive("OB1234I")
    read = rec.wait_event(K.PLATE_READ)[0]
    assert read.plate != "OB1234I" and read.confidence == 0.71
    assert sum(a != b for a, b in zip(read.plate or "", "OB1234I")) == 1
    assert set(read.plate or "") - set("OB1234I") <= set("0I81B")


def test_serial_over_ip_converter_and_its_reconnection(recorder_type: Any, fast_link: str) -> None:
    sim = TcpLaneSimulator(LaneRole.ENTRY, Traffic(seed=5), timing=FAST_TIMING, heartbeat=0.2, heartbeat_timeout=1.0, ack_timeout=0.1)
    sim.start()
    driver = open_gate(f"{sim.url}?{fast_link}", name="tcp lane", role=LaneRole.ENTRY)
    assert isinstance(driver, SerialGate)
    rec = recorder_type()
    rec.responder = lambda e: driver.open_barrier() if e.kind is K.PLATE_READ else None
    driver.start(rec.on_event, rec.on_health)
    try:
        rec.wait_state(driver, HealthState.OK)
        sim.arrive("NET0001")
        rec.wait_event(K.VEHICLE_PASSED)
        sim.unplug()
        rec.wait_state(driver, HealthState.OFFLINE, timeout=3)
        sim.replug()
        back = rec.wait_for(lambda: driver.link_up, timeout=5)
        print(f"\nconverter link back {back * 1000:.0f} ms after replug")
        assert back < 2.0
        sim.arrive("NET0002")
        rec.wait_event(K.VEHICLE_PASSED, 2)
    finally:
        driver.stop()
        sim.stop()
