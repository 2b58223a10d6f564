"""Choose an elevator controller driver from its device URL."""

from __future__ import annotations

from urllib.parse import parse_qsl, urlsplit

from drivers.elevator.base import ElevatorDriver
from drivers.elevator.serial_link import ElevatorURLError, LinkTiming, SerialElevator
from drivers.elevator.simulator import FAST_TIMING, ElevatorSimulator, SimTiming
from drivers.health import HealthState


class SimulatedElevator(SerialElevator):
    """The real serial driver attached to a simulated building on a pty: the demo runs
    the same wire protocol as a site. `simulator` is exposed for scripting."""

    def __init__(self, name: str, simulator: ElevatorSimulator, timing: LinkTiming | None = None) -> None:
        super().__init__(name, simulator.url, timing)
        self.simulator = simulator

    def _start(self) -> None:
        self.simulator.start()
        super()._start()

    def stop(self) -> None:
        super().stop()
        self.simulator.stop()
        self.health.set(HealthState.OFFLINE, "stopped")


def open_elevator(url: str, *, name: str = "elevator", timing: LinkTiming | None = None) -> ElevatorDriver:
    """Build (not start) the driver for `url`. Raises ElevatorURLError for a URL it cannot use.

    - `/dev/ttyUSB2?baud=9600&parity=N&stopbits=1&bytesize=8&rs485=0`: a serial port.
    - `socket://host:port`, `rfc2217://host:port`, `loop://`: other pyserial transports.
    - `sim://?cars=2&lowest=-2&highest=10&lobby=1&rate=0.05&seed=7&timing=fast`: a
      simulated building on a pseudo-terminal, driven by the real serial driver; `rate`
      is random rides per second (0: scripted only, through `driver.simulator`);
      `cards=04A1B2C3,04B2C3D4` are the riders' cards (default: 40 random ones).
    """
    parts = urlsplit(url)
    if parts.scheme != "sim":
        return SerialElevator(name, url, timing)
    try:
        query = dict(parse_qsl(parts.query, strict_parsing=bool(parts.query)))
    except ValueError:
        raise ElevatorURLError(f"{url}: malformed query string") from None
    unknown = set(query) - {"cars", "lowest", "highest", "lobby", "rate", "seed", "timing", "cards"}
    if unknown:
        raise ElevatorURLError(f"{url}: unknown option(s) {', '.join(sorted(unknown))}")
    try:
        cars = int(query.get("cars", "2"))
        lowest = int(query.get("lowest", "-2"))
        highest = int(query.get("highest", "10"))
        lobby = int(query.get("lobby", "1"))
        rate = float(query.get("rate", "0"))
        seed = int(query["seed"]) if "seed" in query else None
    except ValueError:
        raise ElevatorURLError(
            f"{url}: cars, lowest, highest, lobby, seed must be integers and rate a number"
        ) from None
    if rate < 0:
        raise ElevatorURLError(f"{url}: rate must not be negative")
    sim_timing = FAST_TIMING if query.get("timing") == "fast" else SimTiming()
    cards = tuple(card.strip().upper() for card in query.get("cards", "").split(",") if card.strip())
    try:
        simulator = ElevatorSimulator(
            cars, lowest, highest, lobby=lobby, timing=sim_timing, seed=seed, traffic_rate=rate, cards=cards
        )
    except ValueError as exc:
        raise ElevatorURLError(f"{url}: {exc}") from None
    return SimulatedElevator(name, simulator, timing)
