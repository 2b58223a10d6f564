"""A receipt printer that lives in software, for tests, demos and a booth without hardware.

`PrinterModel` is the printer: it records every byte it is sent and answers DLE EOT status
requests according to its state (ok, paper near end, paper out, cover open, cutter jam,
offline, stalled). It is reached over a real transport:

- `NetworkPrinterSimulator`: a TCP server on 127.0.0.1 (port 0 = any free port), like a
  printer's port 9100. When offline it refuses connections, like a printer that is off.
- `SerialPrinterSimulator`: a pseudo-terminal; the driver opens its path as a serial port.
- the driver's `dummy://` backend talks to a `PrinterModel` in the same process.

"stalled" models a printer that hangs: it accepts the connection but stops reading and never
answers, so the driver's timeouts are what ends the job.

    python -m drivers.printer.simulator --port 9100     # then print to tcp://127.0.0.1:9100
"""

from __future__ import annotations

import argparse
import os
import select
import socket
import sys
import threading
import time
import tty
from enum import Enum
from typing import Callable

from drivers.printer.escpos_decode import Decoded, Tokenizer, decode
from drivers.printer.status import FIXED_BITS


class PrinterState(str, Enum):
    OK = "ok"
    PAPER_NEAR_END = "paper_near_end"
    PAPER_OUT = "paper_out"
    COVER_OPEN = "cover_open"
    CUTTER_JAM = "cutter_jam"
    OFFLINE = "offline"  # switched off: network refuses connections, serial stays silent
    STALLED = "stalled"  # hung: accepts, but reads nothing and answers nothing


def status_reply(state: PrinterState, n: int) -> int | None:
    """The byte a printer in `state` answers to DLE EOT n (None: it does not answer)."""
    if state in (PrinterState.OFFLINE, PrinterState.STALLED):
        return None
    stopped = state in (PrinterState.PAPER_OUT, PrinterState.COVER_OPEN, PrinterState.CUTTER_JAM)
    value = FIXED_BITS
    if n == 1 and stopped:
        value |= 0x08
    elif n == 2:
        if state is PrinterState.COVER_OPEN:
            value |= 0x04
        elif state is PrinterState.PAPER_OUT:
            value |= 0x20
        elif state is PrinterState.CUTTER_JAM:
            value |= 0x40
    elif n == 3 and state is PrinterState.CUTTER_JAM:
        value |= 0x08
    elif n == 4:
        if state is PrinterState.PAPER_OUT:
            value |= 0x6C
        elif state is PrinterState.PAPER_NEAR_END:
            value |= 0x0C
    return value


class PrinterModel:
    """The simulated printer: state, the bytes it received, its status answers. Thread-safe."""

    def __init__(self, state: PrinterState = PrinterState.OK) -> None:
        self._cond = threading.Condition()
        self._state = PrinterState(state)
        self._received = bytearray()
        self.status_requests = 0

    @property
    def state(self) -> PrinterState:
        return self._state

    def set_state(self, state: PrinterState | str) -> None:
        """Change the printer's state (takes effect for the next request)."""
        with self._cond:
            self._state = PrinterState(state)
            self._cond.notify_all()

    @property
    def received(self) -> bytes:
        """Every byte received so far, status requests included."""
        with self._cond:
            return bytes(self._received)

    def clear(self) -> None:
        """Forget what was received."""
        with self._cond:
            self._received.clear()

    def decode(self, profile: str | None = None) -> Decoded:
        """What was received, decoded."""
        return decode(self.received, profile=profile)

    def wait_for(self, predicate: Callable[[bytes], bool], timeout: float = 5.0) -> bool:
        """Wait until `predicate(received)` holds; False on timeout."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while not predicate(bytes(self._received)):
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self._cond.wait(left)
            return True

    def session(self) -> ModelSession:
        """A connection to the printer; each has its own command parser."""
        return ModelSession(self)

    def _record(self, data: bytes) -> None:
        with self._cond:
            self._received += data
            self._cond.notify_all()


class ModelSession:
    """One connection's byte stream into the printer."""

    def __init__(self, model: PrinterModel) -> None:
        self.model = model
        self._tokens = Tokenizer()

    def receive(self, data: bytes) -> bytes:
        """Take bytes from the host; return the printer's answers to any requests in them."""
        self.model._record(data)
        replies = bytearray()
        for token, raw in self._tokens.feed(data):
            if token.kind == "DLE EOT":
                self.model.status_requests += 1
                answer = status_reply(self.model.state, raw[2])
                if answer is not None:
                    replies.append(answer)
            elif token.kind == "GS r" and self.model.state not in (PrinterState.OFFLINE, PrinterState.STALLED):
                # Transmit status: n=1 paper sensor (bits 0-1 near end, 2-3 paper out).
                state = self.model.state
                value = 0x0F if state is PrinterState.PAPER_OUT else 0x03 if state is PrinterState.PAPER_NEAR_END else 0
                replies.append(value if raw[2] in (1, 49) else 0)
        return bytes(replies)


class NetworkPrinterSimulator:
    """A printer on a loopback TCP port. Use as a context manager or call start()/stop()."""

    def __init__(self, model: PrinterModel | None = None, *, host: str = "127.0.0.1", port: int = 0) -> None:
        self.model = model or PrinterModel()
        self.host = host
        self.port = port
        self.connections = 0
        self._lock = threading.Lock()
        self._listener: socket.socket | None = None
        self._conns: set[socket.socket] = set()
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []

    # -- lifecycle --

    def start(self) -> NetworkPrinterSimulator:
        self._listen()
        thread = threading.Thread(target=self._accept_loop, name="printer-sim-accept", daemon=True)
        thread.start()
        self._threads.append(thread)
        return self

    def stop(self) -> None:
        self._stop.set()
        self._drop_all()
        for thread in self._threads:
            thread.join(timeout=2)

    def __enter__(self) -> NetworkPrinterSimulator:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- what tests use --

    @property
    def url(self) -> str:
        return f"tcp://{self.host}:{self.port}"

    @property
    def state(self) -> PrinterState:
        return self.model.state

    def set_state(self, state: PrinterState | str) -> None:
        """Change state; going offline closes the port and drops connections, coming back
        opens the same port again."""
        state = PrinterState(state)
        was_offline = self.model.state is PrinterState.OFFLINE
        self.model.set_state(state)
        if state is PrinterState.OFFLINE and not was_offline:
            self._drop_all()
        elif was_offline and state is not PrinterState.OFFLINE and not self._stop.is_set():
            self._listen()

    @property
    def received(self) -> bytes:
        return self.model.received

    def decode(self, profile: str | None = None) -> Decoded:
        return self.model.decode(profile)

    # -- internals --

    def _listen(self) -> None:
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((self.host, self.port))
        sock.listen(8)
        sock.settimeout(0.05)
        with self._lock:
            self.port = sock.getsockname()[1]
            self._listener = sock

    def _drop_all(self) -> None:
        with self._lock:
            listener, self._listener = self._listener, None
            conns = list(self._conns)
            self._conns.clear()
        if listener is not None:
            try:
                listener.shutdown(socket.SHUT_RDWR)  # stop listening now, even mid-accept()
            except OSError:
                pass
            listener.close()
        for conn in conns:
            try:
                conn.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            conn.close()

    def _accept_loop(self) -> None:
        while not self._stop.is_set():
            with self._lock:
                listener = self._listener
            if listener is None:
                time.sleep(0.02)
                continue
            try:
                conn, _ = listener.accept()
            except (socket.timeout, OSError):
                continue
            with self._lock:
                if self._listener is None:
                    conn.close()
                    continue
                self._conns.add(conn)
                self.connections += 1
            thread = threading.Thread(target=self._serve, args=(conn,), name="printer-sim-conn", daemon=True)
            thread.start()
            self._threads = [t for t in self._threads if t.is_alive()] + [thread]

    def _serve(self, conn: socket.socket) -> None:
        session = self.model.session()
        conn.settimeout(0.05)
        try:
            while not self._stop.is_set():
                if self.model.state is PrinterState.STALLED:
                    time.sleep(0.02)  # hung printer: leave the bytes in the socket
                    continue
                try:
                    data = conn.recv(65536)
                except socket.timeout:
                    continue
                if not data:
                    break
                replies = session.receive(data)
                if replies:
                    conn.sendall(replies)
        except OSError:
            pass
        finally:
            with self._lock:
                self._conns.discard(conn)
            conn.close()


class SerialPrinterSimulator:
    """A printer on the far end of a pseudo-terminal; `url` is `serial://<pty path>`."""

    def __init__(self, model: PrinterModel | None = None) -> None:
        self.model = model or PrinterModel()
        self._master = -1
        self._slave = -1
        self.path = ""
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> SerialPrinterSimulator:
        self._master, self._slave = os.openpty()
        tty.setraw(self._master)
        tty.setraw(self._slave)
        self.path = os.ttyname(self._slave)
        self._thread = threading.Thread(target=self._run, name="printer-sim-serial", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=2)
        for fd in (self._master, self._slave):
            if fd >= 0:
                os.close(fd)
        self._master = self._slave = -1

    def __enter__(self) -> SerialPrinterSimulator:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def url(self) -> str:
        return f"serial://{self.path}"

    def set_state(self, state: PrinterState | str) -> None:
        self.model.set_state(state)

    @property
    def received(self) -> bytes:
        return self.model.received

    def decode(self, profile: str | None = None) -> Decoded:
        return self.model.decode(profile)

    def _run(self) -> None:
        session = self.model.session()
        while not self._stop.is_set():
            if self.model.state is PrinterState.STALLED:
                time.sleep(0.02)  # not reading: the host's writes back up and time out
                continue
            ready, _, _ = select.select([self._master], [], [], 0.05)
            if not ready:
                continue
            try:
                data = os.read(self._master, 65536)
            except OSError:  # no process has the port open right now
                time.sleep(0.02)
                continue
            if not data:
                continue
            if self.model.state is PrinterState.OFFLINE:
                continue  # switched off: the bytes are lost
            replies = session.receive(data)
            if replies:
                os.write(self._master, replies)


def main(argv: list[str] | None = None) -> int:
    """Run a network printer simulator and show each job it prints."""
    parser = argparse.ArgumentParser(prog="python -m drivers.printer.simulator",
                                     description="A loopback ESC/POS printer that prints to the terminal.")
    parser.add_argument("--port", type=int, default=9100, help="TCP port on 127.0.0.1 (0 = any free port)")
    parser.add_argument("--state", default="ok", choices=[s.value for s in PrinterState])
    parser.add_argument("--profile", default=None, help="python-escpos profile for decoding")
    parser.add_argument("--width", type=int, default=42)
    args = parser.parse_args(argv)
    from drivers.printer.escpos_decode import render_text

    try:
        sim = NetworkPrinterSimulator(PrinterModel(PrinterState(args.state)), port=args.port).start()
    except OSError as exc:
        print(f"cannot listen on 127.0.0.1:{args.port}: {exc.strerror or exc}", file=sys.stderr)
        return 2
    print(f"printer simulator at {sim.url} (state {args.state}); Ctrl-C to stop", flush=True)
    shown = 0
    last_size = 0
    try:
        while True:
            time.sleep(0.5)
            data = sim.received
            if len(data) != last_size:  # still arriving: wait until the line goes quiet
                last_size = len(data)
                continue
            jobs = decode(data, profile=args.profile).jobs()
            for job in jobs[shown:]:
                print(render_text(job, args.width), flush=True)
            shown = len(jobs)
    except KeyboardInterrupt:
        pass
    finally:
        sim.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
