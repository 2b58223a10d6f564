"""What the lane drivers on a real wire share (the serial lane protocol and the Modbus
relay board): their worker threads and command queue, the state of the link, the barrier's
confirmation (`drivers.gate.barrier`), and how all of it becomes the lane's health.

Events and health changes reach the site from the driver's dispatch thread, so listeners
never run inside an I/O thread or under the driver's lock, and a slow listener never
delays acknowledgements, heartbeats or polls.
"""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Callable
from enum import Enum

from drivers.gate.barrier import Barrier, Position
from drivers.gate.base import GateDriver, GateEvent, GateEventKind
from drivers.health import HealthState

BARRIER_FAULTS = "barrier_faults"
COMMANDS = "commands"
COMMANDS_FAILED = "commands_failed"


class Link(Enum):
    CONNECTING = "connecting"  # reaching the device, nothing heard yet
    UP = "up"
    DOWN = "down"


class Command(Enum):
    OPEN = "open"
    CLOSE = "close"
    STATUS = "status"


class WireGate(GateDriver):
    """A lane driver whose work runs in its own threads (see the module's docstring).

    Subclasses list their worker loops in `_workers()`, watch `self._stopping`, take
    commands from `self._commands`, and say why the lane is degraded in `_degraded()`.
    `self._state` guards the link fields and `self.barrier`.
    """

    def __init__(self, name: str, *, link_url: str, barrier_timeout: float, clock: Callable[[], float] = time.monotonic) -> None:
        super().__init__(name, dispatch=True)
        self._clock = clock
        self._link_url = link_url
        self._stopping = threading.Event()
        self._threads: list[threading.Thread] = []
        self._commands: queue.Queue[Command | None] = queue.Queue()
        self._state = threading.Lock()
        self._link = Link.CONNECTING
        self._link_detail = "starting"
        self._ever_up = False
        self._port_note = ""
        self.barrier = Barrier(barrier_timeout)

    # -- GateDriver ------------------------------------------------------------------
    def _workers(self) -> list[tuple[str, Callable[[], None]]]:
        """(role, loop) of each worker thread."""
        raise NotImplementedError

    def _start(self) -> None:
        if self._threads:
            return
        self._stopping.clear()
        for role, target in self._workers():
            thread = threading.Thread(target=target, name=f"gate-{self.name}-{role}", daemon=True)
            self._threads.append(thread)
            thread.start()

    def stop(self) -> None:
        """Stop the threads and release the device. Idempotent."""
        if not self._threads:
            return
        self._stopping.set()
        self._commands.put(None)  # wakes a worker waiting for commands
        for thread in self._threads:
            if thread is not threading.current_thread():
                thread.join(timeout=2.0)
        self._threads = []
        self._after_stop()
        self._stop_dispatch()
        with self._state:
            self._link, self._link_detail = Link.DOWN, "stopped"
        self.health.set(HealthState.OFFLINE, "stopped")

    def _after_stop(self) -> None:
        """Release what the workers held."""

    def open_barrier(self) -> None:
        """Queue OPEN; BARRIER_OPENED, COMMAND_FAILED or BARRIER_FAULT follows."""
        self._commands.put(Command.OPEN)

    def close_barrier(self) -> None:
        """Queue CLOSE; BARRIER_CLOSED, COMMAND_FAILED or BARRIER_FAULT follows."""
        self._commands.put(Command.CLOSE)

    @property
    def link_up(self) -> bool:
        """Whether the device answers now."""
        with self._state:
            return self._link is Link.UP

    # -- commands and the barrier ----------------------------------------------------
    def _fail(self, cmd: Command, why: str) -> None:
        """Report a command that did not reach the barrier."""
        self.health.count(COMMANDS_FAILED)
        self._emit(GateEvent(GateEventKind.COMMAND_FAILED, detail=f"{cmd.value}: {why}"))

    def _reached(self, position: Position) -> None:
        with self._state:
            event = self.barrier.reached(position)
        self._emit(event)
        self._refresh_health()

    def _barrier_fault(self, detail: str) -> None:
        with self._state:
            event = self.barrier.faulted(detail)
        self._report_fault(event)

    def _watch_barrier(self, now: float) -> None:
        with self._state:
            event = self.barrier.overdue(now)
        if event is not None:
            self._report_fault(event)

    def _report_fault(self, event: GateEvent) -> None:
        self.health.count(BARRIER_FAULTS)
        self._emit(event)
        self._refresh_health()

    # -- health ----------------------------------------------------------------------
    def _mark_up(self) -> None:
        """The device answered."""
        if self._link is not Link.UP:
            with self._state:
                self._link = Link.UP
                self._ever_up = True
                self._link_detail = self._link_url
            self._refresh_health()

    def _set_down(self, detail: str) -> None:
        with self._state:
            self._link, self._link_detail = Link.DOWN, detail
        self._refresh_health()

    def _degraded(self, now: float) -> str | None:
        """Why a working lane is not quite well, or None. Called under `self._state`."""
        return None

    def _refresh_health(self) -> None:
        now = self._clock()
        with self._state:
            degraded = self._degraded(now)
            if self._link is Link.DOWN:
                state, detail = HealthState.OFFLINE, self._link_detail
            elif self._link is Link.CONNECTING:
                state, detail = HealthState.CONNECTING, self._link_detail
            elif self.barrier.fault is not None:
                state, detail = HealthState.FAULT, self.barrier.fault
            elif degraded is not None:
                state, detail = HealthState.DEGRADED, degraded
            else:
                state, detail = HealthState.OK, self._link_detail
                if self._port_note:
                    detail = f"{detail}; {self._port_note}"
        self.health.set(state, detail)
