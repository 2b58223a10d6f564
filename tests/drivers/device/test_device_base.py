"""The device base every driver shares: listeners that fail are logged and counted, never
fatal, and a dispatch thread keeps the driver's own threads from waiting for them."""

from __future__ import annotations

import threading
import time

from drivers.device import Dispatcher, EventDevice, guarded
from drivers.health import DeviceHealth, HealthState, HealthTracker


class Counter(EventDevice[int]):
    """The smallest event device: `fire(n)` reports n from a thread of its own."""

    def __init__(self, dispatch: bool) -> None:
        super().__init__("counter", dispatch=dispatch)
        self.started = False

    def _start(self) -> None:
        self.started = True

    def stop(self) -> None:
        self._stop_dispatch()

    def report(self, n: int) -> None:
        """What a driver thread does when its device says `n`."""
        self._emit(n)

    def fire(self, n: int) -> None:
        thread = threading.Thread(target=self.report, args=(n,))
        thread.start()
        thread.join()


def test_guarded_listener_failures_are_counted_not_raised() -> None:
    health = HealthTracker("dev")
    seen: list[int] = []

    def flaky(n: int) -> None:
        seen.append(n)
        if n == 2:
            raise RuntimeError("listener bug")

    call = guarded(flaky, "dev", health)
    assert call is not None and guarded(None, "dev") is None
    for n in (1, 2, 3):
        call(n)
    assert seen == [1, 2, 3] and health.counter("listener_errors") == 1


def test_direct_delivery_from_the_driver_thread() -> None:
    dev = Counter(dispatch=False)
    got: list[tuple[int, str]] = []
    dev.start(lambda n: got.append((n, threading.current_thread().name)))
    assert dev.started
    dev.fire(7)
    assert [n for n, _ in got] == [7] and got[0][1] != threading.current_thread().name


def test_dispatch_keeps_order_and_never_makes_the_driver_wait() -> None:
    dev = Counter(dispatch=True)
    got: list[int] = []
    health: list[DeviceHealth] = []
    done = threading.Event()

    def slow(n: int) -> None:
        time.sleep(0.05)
        got.append(n)
        if n == 9:
            done.set()
        if n == 3:
            raise RuntimeError("listener bug")

    dev.start(slow, health.append)
    start = time.monotonic()
    for n in range(10):
        dev.report(n)
    assert time.monotonic() - start < 0.05  # queued, not delivered, in the caller's thread
    dev.health.set(HealthState.OK, "fine")
    assert done.wait(5)
    deadline = time.monotonic() + 2
    while not health and time.monotonic() < deadline:
        time.sleep(0.01)
    assert got == list(range(10)) and [h.detail for h in health] == ["fine"]
    assert dev.health.counter("listener_errors") == 1
    dev.stop()
    dev.health.set(HealthState.OFFLINE, "stopped")  # after stop: straight to the listener
    assert health[-1].detail == "stopped"


def test_what_is_queued_at_stop_is_dropped() -> None:
    d = Dispatcher("d")
    gate = threading.Event()
    got: list[int] = []
    d.start()
    d.call(lambda _n: gate.wait(5), 0)
    for n in range(1, 5):
        d.call(got.append, n)
    stopper = threading.Thread(target=d.stop)
    stopper.start()
    time.sleep(0.05)
    gate.set()
    stopper.join(5)
    assert got == []  # the site stopped listening
    d.start()  # and it starts again
    d.call(got.append, 9)
    deadline = time.monotonic() + 2
    while not got and time.monotonic() < deadline:
        time.sleep(0.01)
    d.stop()
    assert got == [9]
