"""A simulated lane controller on a real wire: a `SimLane` behind the framed lane protocol,
reachable through a pseudo-terminal (or a loopback TCP socket, like a serial-over-IP
converter).

The console's real `SerialGate` driver talks to it exactly as to hardware. The pty is
published under a stable symlink, as udev publishes `/dev/serial/by-id/...`: `unplug()`
closes the pty and removes the link (the console sees the device vanish), `replug()`
makes a brand-new pty and points the same link at it, so the driver finds the device
again by reopening the path it was configured with.
"""

from __future__ import annotations

import itertools
import os
import select
import shutil
import socket
import tempfile
import threading
import time
import tty
from collections import Counter

from drivers.gate.base import GateEvent, GateEventKind, LaneRole
from drivers.gate.link import Endpoint, TraceFn
from drivers.gate.protocol import (
    CONSOLE_SENDS,
    PROTOCOL_VERSION,
    FaultCode,
    Frame,
    MsgType,
    NakCode,
    PlateRead,
    Status,
    encode_plate,
    fault_payload,
    plate_read_payload,
)
from drivers.gate.simlane import SimLane, SimTiming
from drivers.gate.simworld import Traffic

_ids = itertools.count(1)
_WRITE_STALL = 1.0  # a console that reads nothing for this long loses the bytes


class _Wire:
    """The device side of a byte link. Only the simulator's I/O thread plugs, unplugs
    and reads; any thread may write."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.fd: int | None = None  # what carries the bytes now, or None

    def plug(self) -> None:
        raise NotImplementedError

    def unplug(self) -> None:
        raise NotImplementedError

    def read_fds(self) -> list[int]:
        """Descriptors to wait on (data and, for TCP, new connections)."""
        return [self.fd] if self.fd is not None else []

    def on_readable(self, fd: int) -> bytes | None:
        """Bytes from the console; None when there were none this time; b"" at end of
        stream."""
        with self.lock:
            if fd != self.fd or self.fd is None:
                return None
            try:
                return os.read(fd, 4096)
            except (BlockingIOError, InterruptedError):
                return None
            except OSError:
                self._lost()
                return None

    def _lost(self) -> None:
        """The console side went away (overridden where that matters)."""

    def write(self, data: bytes) -> bool:
        with self.lock:
            fd = self.fd
            if fd is None:
                return False
            view = memoryview(data)
            deadline = time.monotonic() + _WRITE_STALL
            while view:
                try:
                    n = os.write(fd, view)
                    view = view[n:]
                except (BlockingIOError, InterruptedError):
                    left = deadline - time.monotonic()
                    if left <= 0:
                        return False
                    select.select([], [fd], [], left)
                except OSError:
                    self._lost()
                    return False
            return True


class PtyWire(_Wire):
    """A pseudo-terminal published under a stable symlink."""

    def __init__(self, link_path: str) -> None:
        super().__init__()
        self.link_path = link_path
        self._slave: int | None = None
        self.device_path: str | None = None  # the pty behind the link now

    def plug(self) -> None:
        master, slave = os.openpty()
        # Raw on both ends: no echo, no line editing, no XON/XOFF eating 0x11/0x13.
        tty.setraw(master)
        tty.setraw(slave)
        os.set_blocking(master, False)
        path = os.ttyname(slave)
        tmp = f"{self.link_path}.new"
        if os.path.lexists(tmp):
            os.unlink(tmp)
        os.symlink(path, tmp)
        os.replace(tmp, self.link_path)  # atomic re-point, as udev does
        with self.lock:
            # Holding the slave open keeps the master readable while the console has
            # the port closed (a pty with no slave open returns EIO).
            self.fd, self._slave, self.device_path = master, slave, path

    def unplug(self) -> None:
        with self.lock:
            fds = (self.fd, self._slave)
            self.fd = self._slave = None
            self.device_path = None
        if os.path.lexists(self.link_path):
            os.unlink(self.link_path)
        for fd in fds:
            if fd is not None:
                os.close(fd)


class TcpWire(_Wire):
    """A loopback TCP listener taking one console at a time, like a serial-over-IP
    converter in raw TCP mode. `unplug()` drops the connection and stops listening."""

    def __init__(self, host: str = "127.0.0.1") -> None:
        super().__init__()
        self.host = host
        self.port = 0  # chosen by the OS at the first plug, kept across replugs
        self._listener: socket.socket | None = None
        self._conn: socket.socket | None = None

    def plug(self) -> None:
        listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind((self.host, self.port))
        listener.listen(1)
        listener.setblocking(False)
        self.port = listener.getsockname()[1]
        self._listener = listener

    def unplug(self) -> None:
        with self.lock:
            self._drop_conn()
        if self._listener is not None:
            self._listener.close()
            self._listener = None

    def read_fds(self) -> list[int]:
        fds = [self._listener.fileno()] if self._listener is not None else []
        return fds + super().read_fds()

    def on_readable(self, fd: int) -> bytes | None:
        if self._listener is not None and fd == self._listener.fileno():
            try:
                conn, _ = self._listener.accept()
            except (BlockingIOError, InterruptedError):
                return None
            conn.setblocking(False)
            conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            with self.lock:
                self._drop_conn()  # a converter serves one client: the newest wins
                self._conn, self.fd = conn, conn.fileno()
            return None
        data = super().on_readable(fd)
        if data == b"":
            with self.lock:
                # End of stream: the console closed the connection.
                if fd == self.fd:
                    self._drop_conn()
            return None
        return data

    def _lost(self) -> None:
        self._drop_conn()

    def _drop_conn(self) -> None:
        if self._conn is not None:
            try:
                self._conn.close()
            except OSError:
                pass
        self._conn, self.fd = None, None


class _SimEndpoint(Endpoint):
    """The controller's endpoint, with the "acknowledgement lost" fault switch."""

    lose_answers = 0

    def _drop_answer(self, frame: Frame) -> bool:
        if self.lose_answers > 0:
            self.lose_answers -= 1
            return True
        return False


_EVENT_FRAMES = {
    GateEventKind.VEHICLE_PRESENT: MsgType.VEHICLE_PRESENT,
    GateEventKind.VEHICLE_GONE: MsgType.VEHICLE_GONE,
    GateEventKind.VEHICLE_PASSED: MsgType.VEHICLE_PASSED,
    GateEventKind.PLATE_READ: MsgType.PLATE_READ,
    GateEventKind.BARRIER_OPENED: MsgType.BARRIER_OPENED,
    GateEventKind.BARRIER_CLOSED: MsgType.BARRIER_CLOSED,
    GateEventKind.BARRIER_FAULT: MsgType.BARRIER_FAULT,
}


class WireLaneSimulator:
    """A simulated lane controller speaking the lane protocol on a `_Wire`.

    `only` limits what the device reports (a plate-reader box sends only plate reads);
    `lane` may be shared with another simulator, e.g. the Modbus relay board of the same
    lane, in which case the caller runs the lane and forwards its events to `report`.
    """

    def __init__(
        self,
        wire: _Wire,
        lane: SimLane | None,
        *,
        role: LaneRole = LaneRole.ENTRY,
        traffic: Traffic | None = None,
        arrival_rate: float = 0.0,
        timing: SimTiming | None = None,
        heartbeat: float = 1.0,
        heartbeat_timeout: float = 3.0,
        ack_timeout: float = 0.25,
        retries: int = 3,
        only: frozenset[GateEventKind] | None = None,
        accepts_commands: bool = True,
    ) -> None:
        self.wire = wire
        self._own_lane = lane is None
        self.lane = lane or SimLane(role, traffic or Traffic(), self.report, arrival_rate=arrival_rate, timing=timing)
        self.heartbeat_timeout = heartbeat_timeout
        self._only = only
        self.stats: Counter[str] = Counter()
        self._stats_lock = threading.Lock()
        self.mute = False  # a hung controller: sends nothing at all, still reads
        self._drop_acks = 0
        self.trace: TraceFn | None = None  # ("rx" | "tx", frame, monotonic time)
        self.executed: list[tuple[float, MsgType]] = []  # commands carried out, once each
        accept = CONSOLE_SENDS if accepts_commands else frozenset({MsgType.HELLO})
        self.endpoint = _SimEndpoint(
            write=self._write,
            accept=accept,
            deliver=self._on_frame,
            judge=self._judge,
            count=self._count,
            ack_timeout=ack_timeout,
            retries=retries,
            heartbeat_interval=heartbeat,
            trace=self._trace,
        )
        self._requests: list[tuple[str, threading.Event]] = []
        self._req_lock = threading.Lock()
        self._wake_r, self._wake_w = os.pipe()
        os.set_blocking(self._wake_w, False)
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.plugged = False

    # -- life cycle ------------------------------------------------------------------
    def start(self) -> None:
        """Plug the device in and start the lane."""
        if self._thread is not None:
            return
        self.wire.plug()
        self.plugged = True
        self._thread = threading.Thread(target=self._io_loop, name="sim-lane-io", daemon=True)
        self._thread.start()
        if self._own_lane:
            self.lane.start()

    def stop(self) -> None:
        """Stop the lane and unplug for good. Idempotent."""
        if self._own_lane:
            self.lane.stop()
        if self._thread is not None:
            self._stop.set()
            self._wake()
            self._thread.join(timeout=2.0)
            self._thread = None
        if self.plugged:
            self.wire.unplug()
            self.plugged = False
        for fd in (self._wake_r, self._wake_w):
            try:
                os.close(fd)
            except OSError:
                pass
        self._wake_r = self._wake_w = -1

    def unplug(self) -> None:
        """Pull the cable: the console's port fails; the lane keeps running."""
        self._request("unplug")

    def replug(self) -> None:
        """Plug back in, as a new device behind the same stable name."""
        self._request("plug")

    def _request(self, what: str) -> None:
        done = threading.Event()
        with self._req_lock:
            self._requests.append((what, done))
        self._wake()
        if not done.wait(timeout=2.0):
            raise RuntimeError(f"simulated lane did not {what} in time")

    def _wake(self) -> None:
        try:
            os.write(self._wake_w, b"x")
        except OSError:
            pass

    # -- test and demo hooks ---------------------------------------------------------
    def arrive(self, plate: str) -> None:
        """A vehicle with this plate drives up to the lane."""
        self.lane.arrive(plate)

    def drop_acks(self, count: int = 1) -> None:
        """Lose the next `count` acknowledgements this controller sends."""
        with self._stats_lock:
            self._drop_acks += count

    def lose_answers(self, count: int = 1) -> None:
        """Lose the next `count` ACK/NAK answers from the console (the controller then
        retransmits, and the console must see the duplicate for what it is)."""
        self.endpoint.lose_answers += count

    def send_raw(self, data: bytes) -> bool:
        """Put bytes on the line as they are (noise, corrupt or cut frames)."""
        return self.endpoint.send_raw(data)

    def report_fault(self, code: int = FaultCode.MOTOR, text: str = "") -> None:
        """The controller reports a barrier fault."""
        self.endpoint.submit(MsgType.BARRIER_FAULT, fault_payload(code, text))

    def reboot(self) -> None:
        """A controller power cycle: HELLO (new numbering), then its STATUS."""
        self.endpoint.cancel_all()
        self.endpoint.submit(MsgType.HELLO, bytes((PROTOCOL_VERSION,)))
        self.endpoint.submit(MsgType.STATUS, self.status().payload())

    def status(self) -> Status:
        """What the controller's STATUS frame says right now."""
        lane = self.lane
        plate = None
        if lane.vehicle_on_loop and lane.plate_on_loop:
            plate = PlateRead(lane.plate_on_loop, lane.plate_confidence)
        # A device that reports no barrier events (a plate reader box) has no limit
        # switches to report either.
        barrier = self._only is None or GateEventKind.BARRIER_OPENED in self._only
        settled = barrier and not lane.moving
        return Status(
            loop_occupied=lane.vehicle_on_loop,
            open_limit=settled and lane.barrier_open,
            closed_limit=settled and not lane.barrier_open,
            fault=barrier and lane.jammed and lane.moving,
            plate=plate,
        )

    def console_alive(self, now: float | None = None) -> bool:
        """Has the console been heard from recently?"""
        now = time.monotonic() if now is None else now
        return now - self.endpoint.last_rx < self.heartbeat_timeout

    # -- lane events -> frames -----------------------------------------------------
    def report(self, event: GateEvent) -> None:
        """Send a lane event to the console (from the lane's threads)."""
        kind = _EVENT_FRAMES.get(event.kind)
        if kind is None or (self._only is not None and event.kind not in self._only):
            return  # COMMAND_FAILED travels as a NAK; filtered kinds have no wire here
        if not self.plugged or not self.console_alive():
            # Nobody listening: the console gets the lane's state in STATUS after HELLO.
            self._count("events_dropped_offline")
            return
        try:
            payload = self._payload(kind, event)
        except ValueError:
            self._count("events_unencodable")
            return
        self.endpoint.submit(kind, payload)

    @staticmethod
    def _payload(kind: MsgType, event: GateEvent) -> bytes:
        if kind is MsgType.PLATE_READ:
            return plate_read_payload(event.plate or "", event.confidence or 0.0)
        if kind in (MsgType.VEHICLE_GONE, MsgType.VEHICLE_PASSED):
            return encode_plate(event.plate) if event.plate else b""
        if kind is MsgType.BARRIER_FAULT:
            return fault_payload(FaultCode.OTHER, event.detail[:24])
        return b""

    # -- frames from the console -------------------------------------------------------
    def _judge(self, frame: Frame, kind: MsgType) -> NakCode | None:
        if kind is MsgType.CLOSE and self.lane.vehicle_on_loop:
            return NakCode.REFUSED_VEHICLE_ON_LOOP
        return None

    def _on_frame(self, frame: Frame, kind: MsgType) -> None:
        if kind is MsgType.HELLO:
            # Events queued for a console that has since restarted are stale: the
            # STATUS that follows tells it the truth.
            self.endpoint.cancel_all()
            self.endpoint.submit(MsgType.STATUS, self.status().payload())
        elif kind is MsgType.STATUS_REQUEST:
            self.endpoint.submit(MsgType.STATUS, self.status().payload())
        elif kind is MsgType.OPEN:
            self.executed.append((time.monotonic(), kind))
            self.lane.open_barrier()
        elif kind is MsgType.CLOSE:
            self.executed.append((time.monotonic(), kind))
            self.lane.close_barrier()

    # -- I/O thread ------------------------------------------------------------------
    def _io_loop(self) -> None:
        while not self._stop.is_set():
            self._serve_requests()
            deadline = self.endpoint.poll() if self.plugged else time.monotonic() + 0.05
            timeout = min(max(deadline - time.monotonic(), 0.0), 0.05)
            fds = [self._wake_r, *self.wire.read_fds()]
            try:
                ready, _, _ = select.select(fds, [], [], timeout)
            except (OSError, ValueError):
                continue  # a descriptor closed under us by unplug: look again
            for fd in ready:
                if fd == self._wake_r:
                    try:
                        os.read(self._wake_r, 512)
                    except OSError:
                        pass
                    continue
                data = self.wire.on_readable(fd)
                if data:
                    self.endpoint.feed(data, time.monotonic())

    def _serve_requests(self) -> None:
        with self._req_lock:
            requests, self._requests = self._requests, []
        for what, done in requests:
            if what == "unplug" and self.plugged:
                self.wire.unplug()
                self.plugged = False
                self.endpoint.cancel_all()
                self.endpoint.restart_stream()
            elif what == "plug" and not self.plugged:
                self.wire.plug()
                self.plugged = True
            done.set()

    def _write(self, data: bytes, frame: Frame) -> bool:
        if self.mute:
            self._count("muted_frames")
            return False
        if frame.kind == MsgType.ACK:
            with self._stats_lock:
                if self._drop_acks > 0:
                    self._drop_acks -= 1
                    self.stats["acks_dropped"] += 1
                    return True  # "sent", and lost on the way
        return self.wire.write(data)

    def _trace(self, direction: str, frame: Frame, at: float) -> None:
        hook = self.trace
        if hook is not None:
            hook(direction, frame, at)

    def _count(self, name: str) -> None:
        with self._stats_lock:
            self.stats[name] += 1


class PtyLaneSimulator(WireLaneSimulator):
    """A simulated lane controller on a pseudo-terminal.

    `url` is the stable path (a symlink to the current pty) to give the console's driver.
    """

    def __init__(
        self,
        role: LaneRole,
        traffic: Traffic,
        arrival_rate: float = 0.0,
        timing: SimTiming | None = None,
        *,
        link_dir: str | None = None,
        name: str | None = None,
        heartbeat: float = 1.0,
        heartbeat_timeout: float = 3.0,
        ack_timeout: float = 0.25,
        retries: int = 3,
    ) -> None:
        self._tmpdir = None if link_dir else tempfile.mkdtemp(prefix="booth-lane-")
        directory = link_dir or self._tmpdir
        assert directory is not None
        link = os.path.join(directory, name or f"lane-{role.value}-{next(_ids)}")
        super().__init__(
            PtyWire(link),
            None,
            role=role,
            traffic=traffic,
            arrival_rate=arrival_rate,
            timing=timing,
            heartbeat=heartbeat,
            heartbeat_timeout=heartbeat_timeout,
            ack_timeout=ack_timeout,
            retries=retries,
        )

    @property
    def url(self) -> str:
        """The stable device path for the driver (valid while plugged in)."""
        assert isinstance(self.wire, PtyWire)
        return self.wire.link_path

    @property
    def device_path(self) -> str | None:
        """The pty the stable path points at now."""
        assert isinstance(self.wire, PtyWire)
        return self.wire.device_path

    def stop(self) -> None:
        super().stop()
        if self._tmpdir is not None:
            shutil.rmtree(self._tmpdir, ignore_errors=True)
            self._tmpdir = None


class TcpLaneSimulator(WireLaneSimulator):
    """A simulated lane controller behind a serial-over-IP converter (raw TCP on
    127.0.0.1, port chosen by the OS). `url` is `socket://127.0.0.1:PORT`."""

    def __init__(
        self,
        role: LaneRole,
        traffic: Traffic,
        arrival_rate: float = 0.0,
        timing: SimTiming | None = None,
        *,
        heartbeat: float = 1.0,
        heartbeat_timeout: float = 3.0,
        ack_timeout: float = 0.25,
        retries: int = 3,
    ) -> None:
        super().__init__(
            TcpWire(),
            None,
            role=role,
            traffic=traffic,
            arrival_rate=arrival_rate,
            timing=timing,
            heartbeat=heartbeat,
            heartbeat_timeout=heartbeat_timeout,
            ack_timeout=ack_timeout,
            retries=retries,
        )

    @property
    def url(self) -> str:
        assert isinstance(self.wire, TcpWire)
        return f"socket://{self.wire.host}:{self.wire.port}"

