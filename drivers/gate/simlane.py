"""Device-side behaviour of one simulated lane: loop detector, plate reader and barrier.

`SimLane` is what the hardware does. The in-process driver hands its events straight to
the site; the serial simulators encode the same events as frames on a wire.
"""

from __future__ import annotations

import queue
import threading
import time
from dataclasses import dataclass
from typing import Callable

from drivers.gate.base import GateEvent, GateEventKind, LaneRole
from drivers.gate.simworld import Traffic


@dataclass(frozen=True, slots=True)
class SimTiming:
    """Mechanical timings of a simulated lane, in real seconds."""

    plate_delay: float = 0.3  # loop occupied -> plate read
    barrier_travel: float = 0.8  # command -> limit switch
    drive_through: float = 1.2  # barrier open -> vehicle passed
    entry_patience: float = 20.0  # a refused car turns away after this
    exit_patience: float | None = None  # None: waits for the attendant forever
    poll: float = 0.2


FAST_TIMING = SimTiming(0.0, 0.0, 0.0, 2.0, None, 0.01)


class SimLane:
    """One simulated lane. Vehicles come from the traffic world (at `arrival_rate` per
    second for entry lanes) or are injected with `arrive(plate)`."""

    def __init__(
        self,
        role: LaneRole,
        traffic: Traffic,
        emit: Callable[[GateEvent], None],
        arrival_rate: float = 0.0,
        timing: SimTiming | None = None,
    ) -> None:
        self.role = role
        self.traffic = traffic
        self.arrival_rate = arrival_rate
        self.timing = timing or SimTiming()
        self._emit = emit
        self._queue: queue.Queue[str] = queue.Queue()
        self._open_event = threading.Event()
        self._stop = threading.Event()
        self._barrier_lock = threading.Lock()
        self.barrier_open = False
        self.moving = False  # between limit switches (a jammed barrier stays "moving")
        self.jammed = False  # a jammed barrier never reaches its limit switch
        self.vehicle_on_loop = False
        self.plate_on_loop: str | None = None  # what the reader made of the vehicle on the loop
        self.plate_confidence = 0.0
        self.misread_rate = 0.0  # chance that the reader confuses O/0, I/1, B/8 in a plate
        self._thread: threading.Thread | None = None

    # -- commands from the controller side ---------------------------------------------
    def open_barrier(self) -> None:
        """Drive the barrier up; the limit switch reports after the travel time."""
        self._move(True)

    def close_barrier(self) -> bool:
        """Drive the barrier down unless a vehicle is on the loop (safety). Returns False
        (and reports COMMAND_FAILED) when it refuses."""
        if self.vehicle_on_loop:
            self._emit(GateEvent(GateEventKind.COMMAND_FAILED, detail="vehicle on loop: barrier kept open"))
            return False
        self._move(False)
        return True

    def _move(self, up: bool) -> None:
        self.moving = True

        def travel() -> None:
            if self.timing.barrier_travel:
                time.sleep(self.timing.barrier_travel)
            if self.jammed:
                return  # no limit switch ever reached: the driver's timeout catches it
            with self._barrier_lock:
                self.barrier_open = up
                self.moving = False
            if up:
                self._open_event.set()
                self._emit(GateEvent(GateEventKind.BARRIER_OPENED))
            else:
                self._open_event.clear()
                self._emit(GateEvent(GateEventKind.BARRIER_CLOSED))

        if self.timing.barrier_travel:
            threading.Thread(target=travel, daemon=True, name="sim-barrier").start()
        else:
            travel()

    # -- vehicles ------------------------------------------------------------------------
    def arrive(self, plate: str) -> None:
        """Put a vehicle with this plate in the lane's queue."""
        self._queue.put(plate)

    def start(self) -> None:
        """Report the barrier's position (controllers do on power-up) and start serving."""
        self._emit(GateEvent(GateEventKind.BARRIER_OPENED if self.barrier_open else GateEventKind.BARRIER_CLOSED))
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, daemon=True, name=f"sim-lane-{self.role.value}")
            self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._open_event.set()
        if self._thread is not None:
            self._thread.join(timeout=2)
            self._thread = None

    def _next_vehicle(self, next_arrival: float) -> tuple[str | None, float]:
        try:
            return self._queue.get(timeout=self.timing.poll), next_arrival
        except queue.Empty:
            pass
        now = time.monotonic()
        if self.role is LaneRole.ENTRY:
            if self.arrival_rate > 0 and now >= next_arrival:
                return self.traffic.new_plate(), now + self.traffic.random_interval(self.arrival_rate)
            return None, next_arrival
        return self.traffic.next_departure(now), next_arrival

    def _run(self) -> None:
        next_arrival = time.monotonic() + (
            self.traffic.random_interval(self.arrival_rate) if self.arrival_rate > 0 else 0
        )
        while not self._stop.is_set():
            plate, next_arrival = self._next_vehicle(next_arrival)
            if plate is not None:
                self._serve(plate)

    def _serve(self, plate: str) -> None:
        t = self.timing
        self.vehicle_on_loop = True
        self._emit(GateEvent(GateEventKind.VEHICLE_PRESENT))
        if t.plate_delay:
            time.sleep(t.plate_delay)
        seen, confidence = plate, 0.97
        if self.misread_rate and self.traffic.chance(self.misread_rate):
            seen, confidence = self.traffic.misread(plate), 0.71
        self.plate_on_loop, self.plate_confidence = seen, confidence
        self._emit(GateEvent(GateEventKind.PLATE_READ, plate=seen, confidence=confidence))
        patience = t.entry_patience if self.role is LaneRole.ENTRY else t.exit_patience
        opened = self._open_event.wait(timeout=patience)
        if self._stop.is_set():
            return
        if opened:
            if t.drive_through:
                time.sleep(t.drive_through)
            self._emit(GateEvent(GateEventKind.VEHICLE_PASSED, plate=plate))
            if self.role is LaneRole.ENTRY:
                self.traffic.parked(plate)
            else:
                self.traffic.left(plate)
        elif self.role is LaneRole.EXIT:
            self.traffic.requeue(plate)
        self.vehicle_on_loop = False
        self.plate_on_loop = None
        self._emit(GateEvent(GateEventKind.VEHICLE_GONE, plate=plate))
        if opened:
            self.close_barrier()  # controllers close behind the vehicle by themselves
            if not t.barrier_travel:
                return
            deadline = time.monotonic() + t.barrier_travel * 3
            while self._open_event.is_set() and time.monotonic() < deadline and not self._stop.is_set():
                time.sleep(t.poll)
