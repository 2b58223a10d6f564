"""A simulated building whose elevator controller speaks the real protocol on a pty.

The simulator is the device side of the link: it owns the master end of a
pseudo-terminal and publishes the slave end under a stable path (a symlink, like the
`/dev/serial/by-id/...` names udev gives real adapters), so the real `SerialElevator`
opens it like any serial port and keeps reopening it across `unplug()` / `replug()`.

Tests script it (`swipe(car, card, floor)`: the car travels, arrives, opens and closes
its doors; `call(car, floor)`: a landing call, so the doors open at a floor nobody chose
by card). The demo turns on random traffic (`traffic_rate` rides per second).
The simulator behaves like a controller: it repeats events until the console
acknowledges them (stop-and-wait), sends a heartbeat every second and a HELLO when it
(re)starts. Floors are the building's numbers: basements negative, no floor 0 by default.
"""

from __future__ import annotations

import errno
import os
import queue
import random
import select
import shutil
import tempfile
import threading
import time
import tty
from collections.abc import Callable
from dataclasses import dataclass

from drivers.elevator.protocol import (
    FrameDecoder,
    MsgType,
    body_car_floor,
    body_card_swiped,
    body_heartbeat,
    body_hello,
    card_bytes,
    encode_frame,
)


@dataclass(frozen=True, slots=True)
class SimTiming:
    """Timings of the simulated building and controller, in real seconds."""

    per_floor: float = 1.2  # car travel per floor
    door_open_delay: float = 0.6  # car stopped -> doors fully open
    dwell: float = 3.0  # doors open -> doors closed
    heartbeat: float = 1.0
    ack_timeout: float = 0.3  # wait for the console's ACK before repeating a frame
    retries: int = 3  # repeats after the first send; then the event is given up
    boarding: float = 1.0  # traffic: doors open -> rider swipes


FAST_TIMING = SimTiming(
    per_floor=0.01, door_open_delay=0.005, dwell=0.02, heartbeat=0.5, ack_timeout=0.2, retries=3, boarding=0.01
)


@dataclass(slots=True)
class SimStats:
    """What the simulated controller did on the wire."""

    frames_sent: int = 0
    retransmissions: int = 0
    given_up: int = 0  # events never acknowledged
    acks: int = 0
    console_heartbeats: int = 0
    dropped_bytes: int = 0  # written while nobody listened (unplugged, buffer full)
    rides: int = 0  # traffic rides started


class PtyLink:
    """The device end of a pseudo-terminal, published under a stable symlink."""

    def __init__(self, link_path: str) -> None:
        self.link_path = link_path
        self._lock = threading.Lock()  # guards the fds (close vs read/write)
        self._master: int | None = None
        self._slave: int | None = None
        self.generation = 0
        self._wake_r, self._wake_w = os.pipe()
        os.set_blocking(self._wake_r, False)

    @property
    def plugged(self) -> bool:
        return self._master is not None

    @property
    def device_path(self) -> str | None:
        """The pty's own path (/dev/pts/N) while plugged."""
        slave = self._slave
        return os.ttyname(slave) if slave is not None else None

    def plug(self) -> None:
        """Create a fresh pty and point the symlink at it."""
        with self._lock:
            if self._master is not None:
                return
            master, slave = os.openpty()
            # Raw on the slave: no echo of our own frames, no line editing of binary data.
            # We keep the slave open so the master never sees EIO while no console listens.
            tty.setraw(slave)
            os.set_blocking(master, False)
            tmp = self.link_path + ".new"
            if os.path.lexists(tmp):
                os.unlink(tmp)
            os.symlink(os.ttyname(slave), tmp)
            os.replace(tmp, self.link_path)
            self._master, self._slave = master, slave
            self.generation += 1

    def unplug(self) -> None:
        """Remove the device: the symlink goes, the console's open port starts failing."""
        with self._lock:
            if self._master is None:
                return
            if os.path.lexists(self.link_path):
                os.unlink(self.link_path)
            os.close(self._master)
            if self._slave is not None:
                os.close(self._slave)
            self._master = self._slave = None
            self.generation += 1
        os.write(self._wake_w, b"x")

    def close(self) -> None:
        self.unplug()
        for fd in (self._wake_r, self._wake_w):
            try:
                os.close(fd)
            except OSError:
                pass

    def write(self, data: bytes, patience: float = 0.5) -> int:
        """Write all of `data` unless the device is gone or nobody reads for `patience`
        seconds. Returns the number of bytes dropped."""
        view = memoryview(data)
        deadline = time.monotonic() + patience
        while view:
            with self._lock:
                fd = self._master
                if fd is None:
                    return len(view)
                try:
                    n = os.write(fd, view)
                except BlockingIOError:
                    n = 0
                except OSError:
                    return len(view)
            view = view[n:]
            if view:
                if time.monotonic() > deadline:
                    return len(view)
                try:
                    select.select([], [fd], [], 0.02)
                except (OSError, ValueError):
                    time.sleep(0.02)
        return 0

    def read(self, timeout: float) -> bytes:
        """Bytes the console sent, or b"" after `timeout`."""
        with self._lock:
            fd, gen = self._master, self.generation
        if fd is None:
            try:
                select.select([self._wake_r], [], [], timeout)
                os.read(self._wake_r, 64)
            except (BlockingIOError, OSError):
                pass
            return b""
        try:
            ready, _, _ = select.select([fd, self._wake_r], [], [], timeout)
        except (OSError, ValueError):
            return b""
        if self._wake_r in ready:
            try:
                os.read(self._wake_r, 64)
            except (BlockingIOError, OSError):
                pass
        if fd not in ready:
            return b""
        with self._lock:
            if self.generation != gen or self._master is None:
                return b""  # closed (and maybe reused) while we waited
            try:
                return os.read(fd, 4096)
            except BlockingIOError:
                return b""
            except OSError as exc:
                if exc.errno == errno.EIO:
                    return b""
                raise


class SimCar:
    """One car: a list of stops served in the direction of travel (the usual collective
    control), with arrival and door events reported through `emit`."""

    def __init__(
        self, number: int, floors: list[int], start: int, timing: SimTiming, emit: Callable[[int, bytes], None]
    ) -> None:
        self.number = number
        self._floors = floors
        self._timing = timing
        self._emit = emit
        self._cond = threading.Condition()
        self._stops: set[int] = set()
        self._openings: dict[int, int] = {}
        self.floor = start
        self.direction = 0  # +1 up, -1 down, 0 idle
        self.busy = False
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True, name=f"sim-car-{number}")

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        with self._cond:
            self._cond.notify_all()
        if self._thread.is_alive():
            self._thread.join(timeout=2)

    def add_stop(self, floor: int) -> None:
        with self._cond:
            self._stops.add(floor)
            self._cond.notify_all()

    @property
    def idle(self) -> bool:
        with self._cond:
            return not self._stops and not self.busy

    def openings(self, floor: int) -> int:
        """How many times the doors have opened at `floor` so far."""
        with self._cond:
            return self._openings.get(floor, 0)

    def wait_opening(self, floor: int, after: int, timeout: float) -> bool:
        """Wait until the doors open at `floor` for the (after+1)-th time."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while self._openings.get(floor, 0) <= after:
                left = deadline - time.monotonic()
                if left <= 0 or self._stop.is_set():
                    return False
                self._cond.wait(left)
            return True

    def _next_target(self) -> int | None:
        if not self._stops:
            return None
        here = self._floors.index(self.floor)
        above = [f for f in self._stops if self._floors.index(f) > here]
        below = [f for f in self._stops if self._floors.index(f) < here]
        if self.floor in self._stops:
            return self.floor
        if self.direction >= 0 and above:
            return min(above, key=self._floors.index)
        if below:
            return max(below, key=self._floors.index)
        return min(above, key=self._floors.index) if above else None

    def _run(self) -> None:
        t = self._timing
        while not self._stop.is_set():
            with self._cond:
                target = self._next_target()
                if target is None:
                    self.direction = 0
                    self.busy = False
                    self._cond.wait(0.2)
                    continue
                self.busy = True
            if target != self.floor:
                step = 1 if self._floors.index(target) > self._floors.index(self.floor) else -1
                self.direction = step
                if self._stop.wait(t.per_floor):
                    return
                with self._cond:
                    self.floor = self._floors[self._floors.index(self.floor) + step]
                    stopping = self.floor in self._stops
                if not stopping:
                    continue
                self._emit(MsgType.CAR_ARRIVED, body_car_floor(self.number, self.floor))
                if self._stop.wait(t.door_open_delay):
                    return
            # At the stop (or a request for the floor we stand at): open, dwell, close.
            self._emit(MsgType.DOORS_OPENED, body_car_floor(self.number, self.floor))
            with self._cond:
                self._openings[self.floor] = self._openings.get(self.floor, 0) + 1
                self._cond.notify_all()
            if self._stop.wait(t.dwell):
                return
            with self._cond:
                # Riders who chose this floor while the doors stood open are served too.
                self._stops.discard(self.floor)
            self._emit(MsgType.DOORS_CLOSED, body_car_floor(self.number, self.floor))


_Outgoing = tuple[str, int, bytes, int | None, bool]  # kind ("frame"/"raw"), type, body/bytes, seq, wants ack


class ElevatorSimulator:
    """A building with `cars` elevator cars serving floors `lowest`..`highest`."""

    def __init__(
        self,
        cars: int = 2,
        lowest: int = -2,
        highest: int = 10,
        *,
        lobby: int = 1,
        skip_zero: bool = True,
        timing: SimTiming | None = None,
        seed: int | None = None,
        traffic_rate: float = 0.0,
        link_path: str | None = None,
        cards: tuple[str, ...] = (),
    ) -> None:
        if not 1 <= cars <= 255:
            raise ValueError("cars must be 1..255")
        if not -128 <= lowest < highest <= 127:
            raise ValueError("floors must satisfy -128 <= lowest < highest <= 127")
        self.floors = [f for f in range(lowest, highest + 1) if not (skip_zero and f == 0)]
        if lobby not in self.floors:
            raise ValueError(f"lobby {lobby} is not one of the floors")
        self.lobby = lobby
        self.timing = timing or SimTiming()
        self.traffic_rate = traffic_rate
        self.stats = SimStats()
        self._rng = random.Random(seed)
        self._tmpdir: str | None = None
        if link_path is None:
            self._tmpdir = tempfile.mkdtemp(prefix="booth-elevator-")
            link_path = os.path.join(self._tmpdir, "controller")
        self.link = PtyLink(link_path)
        self.cars = {n: SimCar(n, self.floors, lobby, self.timing, self._event) for n in range(1, cars + 1)}
        # The building's riders: the given cards (a demo site bills them to accounts), or
        # 40 random ones. Given cards are checked here, before a ride ever uses one.
        for card in cards:
            card_bytes(card)
        self.cards = list(cards) or [self._new_card() for _ in range(40)]
        self._out: queue.Queue[_Outgoing] = queue.Queue()
        self._seq_lock = threading.Lock()
        self._tx_lock = threading.Lock()  # one frame at a time on the wire
        self._seq = 0
        self._ack_cond = threading.Condition()
        self._acked: set[int] = set()
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self._boot_id = self._rng.getrandbits(32)
        self._started = False
        self.wire: bytearray | None = None  # see record_wire()

    # -- lifecycle ------------------------------------------------------------------------
    @property
    def url(self) -> str:
        """The path to give the console's driver (stable across unplug/replug)."""
        return self.link.link_path

    def start(self) -> None:
        """Plug the link in, power the controller up (HELLO) and start the cars."""
        if self._started:
            return
        self._started = True
        self.link.plug()
        self.send_packet(MsgType.HELLO, body_hello(self._boot_id), want_ack=True)
        for target, name in (
            (self._writer, "sim-elevator-tx"),
            (self._reader, "sim-elevator-rx"),
            (self._beat, "sim-elevator-hb"),
        ):
            th = threading.Thread(target=target, daemon=True, name=name)
            th.start()
            self._threads.append(th)
        th = threading.Thread(target=self._traffic, daemon=True, name="sim-elevator-traffic")
        th.start()
        self._threads.append(th)
        for car in self.cars.values():
            car.start()

    def stop(self) -> None:
        """Stop everything and remove the pty. Idempotent."""
        self._stop.set()
        with self._ack_cond:
            self._ack_cond.notify_all()
        for car in self.cars.values():
            car.stop()
        self.link.unplug()
        for th in self._threads:
            th.join(timeout=2)
        self._threads.clear()
        self.link.close()
        if self._tmpdir is not None:
            shutil.rmtree(self._tmpdir, ignore_errors=True)
            self._tmpdir = None

    def unplug(self) -> None:
        """Pull the cable: the device node disappears; cars keep running, events are lost."""
        self.link.unplug()

    def replug(self) -> None:
        """Plug a (new) cable in: a new pty appears under the same path."""
        self.link.plug()

    def restart_controller(self) -> None:
        """Reboot the controller: sequence numbers start over and a HELLO is sent."""
        with self._seq_lock:
            self._seq = 0
            self._boot_id = self._rng.getrandbits(32)
        self.send_packet(MsgType.HELLO, body_hello(self._boot_id), want_ack=True)

    # -- scripting --------------------------------------------------------------------------
    def swipe(self, car: int, card: str, floor: int) -> None:
        """A rider in `car` swipes `card` and chooses `floor`: the event goes out at once,
        then the car travels there, arrives and opens its doors."""
        sim_car = self._car(car)
        card_bytes(card)  # ValueError for a malformed id before anything happens
        self._check_floor(floor)
        self._event(MsgType.CARD_SWIPED, body_card_swiped(car, floor, card))
        sim_car.add_stop(floor)

    def call(self, car: int, floor: int) -> None:
        """A landing call: `car` comes to `floor` and opens its doors though no card chose it."""
        sim_car = self._car(car)
        self._check_floor(floor)
        sim_car.add_stop(floor)

    def send_raw(self, data: bytes) -> None:
        """Put raw bytes on the line, in order with the events (noise, cut frames)."""
        self._out.put(("raw", 0, bytes(data), None, False))

    def send_packet(self, msg_type: int, body: bytes, *, seq: int | None = None, want_ack: bool = False) -> None:
        """Send one well-formed frame of any type (a given `seq` is reused as is)."""
        self._out.put(("frame", msg_type, bytes(body), seq, want_ack))

    def wait_idle(self, timeout: float = 5.0) -> bool:
        """Wait until every car stands still and every queued frame is on the wire."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self._out.unfinished_tasks == 0 and all(c.idle for c in self.cars.values()):
                return True
            time.sleep(0.01)
        return False

    def car_floor(self, car: int) -> int:
        return self._car(car).floor

    def _car(self, car: int) -> SimCar:
        try:
            return self.cars[car]
        except KeyError:
            raise ValueError(f"no car {car}; the building has cars 1..{len(self.cars)}") from None

    def _check_floor(self, floor: int) -> None:
        if floor not in self.floors:
            raise ValueError(f"no floor {floor} in this building ({self.floors[0]}..{self.floors[-1]})")

    def _new_card(self) -> str:
        size = self._rng.choice((4, 4, 4, 7))
        return bytes(self._rng.getrandbits(8) for _ in range(size)).hex().upper()

    # -- the wire ----------------------------------------------------------------------------
    def _event(self, msg_type: int, body: bytes) -> None:
        self._out.put(("frame", msg_type, body, None, True))

    def _next_seq(self) -> int:
        with self._seq_lock:
            seq = self._seq
            self._seq = (self._seq + 1) & 0xFF
            return seq

    def record_wire(self, on: bool = True) -> None:
        """Start (or stop) keeping a copy of every byte put on the line, in `wire`."""
        with self._tx_lock:
            self.wire = bytearray() if on else None

    def _put_on_wire(self, data: bytes, frames: int = 0) -> None:
        with self._tx_lock:
            dropped = self.link.write(data)
            self.stats.dropped_bytes += dropped
            self.stats.frames_sent += frames
            if self.wire is not None:
                self.wire += data[: len(data) - dropped]

    def _writer(self) -> None:
        while not self._stop.is_set():
            try:
                kind, msg_type, payload, seq, wants_ack = self._out.get(timeout=0.1)
            except queue.Empty:
                continue
            try:
                if kind == "raw":
                    self._put_on_wire(payload)
                    continue
                seq = self._next_seq() if seq is None else seq
                frame = encode_frame(seq, msg_type, payload)
                with self._ack_cond:
                    self._acked.discard(seq)
                for attempt in range(self.timing.retries + 1 if wants_ack else 1):
                    if attempt:
                        self.stats.retransmissions += 1
                    self._put_on_wire(frame, frames=1)
                    if not wants_ack or self._wait_ack(seq):
                        break
                else:
                    self.stats.given_up += 1
            finally:
                self._out.task_done()

    def _wait_ack(self, seq: int) -> bool:
        deadline = time.monotonic() + self.timing.ack_timeout
        with self._ack_cond:
            while seq not in self._acked:
                left = deadline - time.monotonic()
                if left <= 0 or self._stop.is_set():
                    return False
                self._ack_cond.wait(left)
            self._acked.discard(seq)
            return True

    def _reader(self) -> None:
        decoder = FrameDecoder()
        while not self._stop.is_set():
            data = self.link.read(0.05)
            for packet in decoder.feed(data, time.monotonic()):
                if packet.msg_type == MsgType.ACK and len(packet.body) == 1:
                    self.stats.acks += 1
                    with self._ack_cond:
                        self._acked.add(packet.body[0])
                        self._ack_cond.notify_all()
                elif packet.msg_type == MsgType.CONSOLE_HEARTBEAT:
                    self.stats.console_heartbeats += 1

    def _beat(self) -> None:
        while not self._stop.wait(self.timing.heartbeat):
            # Heartbeats bypass the event queue, as a controller's timer would.
            self._put_on_wire(
                encode_frame(self._next_seq(), MsgType.HEARTBEAT, body_heartbeat(len(self.cars))), frames=1
            )

    # -- random traffic ----------------------------------------------------------------------
    def set_traffic(self, rides_per_second: float) -> None:
        """Change the rate of random rides (0 stops them; rides under way finish)."""
        if rides_per_second < 0:
            raise ValueError("the traffic rate must not be negative")
        self.traffic_rate = rides_per_second

    def _traffic(self) -> None:
        rng = self._rng
        while not self._stop.is_set():
            rate = self.traffic_rate
            if rate <= 0:
                self._stop.wait(0.2)
                continue
            if self._stop.wait(rng.expovariate(rate)) or self.traffic_rate <= 0:
                continue
            car = rng.choice(list(self.cars))
            roll = rng.random()
            if roll < 0.15:
                self.call(car, rng.choice(self.floors))  # nobody boards: doors open unchosen
                continue
            parking = [f for f in self.floors if f < 0] or [self.lobby]
            upper = [f for f in self.floors if f > 0] or [self.lobby]
            if roll < 0.6:
                origin, dest = rng.choice(parking), rng.choice(upper)
            else:
                origin, dest = rng.choice(upper), rng.choice(parking)
            if origin == dest:
                continue
            card = rng.choice(self.cards)
            self.stats.rides += 1
            threading.Thread(target=self._ride, args=(car, card, origin, dest), daemon=True, name="sim-rider").start()

    def _ride(self, car: int, card: str, origin: int, dest: int) -> None:
        sim_car = self.cars[car]
        seen = sim_car.openings(origin)
        self.call(car, origin)
        if not sim_car.wait_opening(origin, seen, timeout=120):
            return
        if self._stop.wait(self.timing.boarding):
            return
        self.swipe(car, card, dest)


def main(argv: list[str] | None = None) -> None:
    """Run a simulated building until interrupted and print the port to connect to:
    `python -m drivers.elevator --cars 2 --rate 0.1`."""
    import argparse

    parser = argparse.ArgumentParser(description="Simulated elevator controller on a pseudo-terminal.")
    parser.add_argument("--cars", type=int, default=2)
    parser.add_argument("--lowest", type=int, default=-2)
    parser.add_argument("--highest", type=int, default=10)
    parser.add_argument("--rate", type=float, default=0.1, help="random rides per second")
    parser.add_argument("--link", help="path of the symlink to create (default: a temporary one)")
    parser.add_argument("--seed", type=int)
    args = parser.parse_args(argv)
    sim = ElevatorSimulator(
        args.cars, args.lowest, args.highest, seed=args.seed, traffic_rate=args.rate, link_path=args.link
    )
    sim.start()
    print(f"elevator controller on {sim.url} (9600 8N1); Ctrl-C to stop", flush=True)
    try:
        while True:
            time.sleep(5)
            s = sim.stats
            print(f"rides {s.rides}  frames {s.frames_sent}  acks {s.acks}  given up {s.given_up}", flush=True)
    except KeyboardInterrupt:
        pass
    finally:
        sim.stop()
