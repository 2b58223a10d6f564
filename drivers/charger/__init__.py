"""Charging piles: e-bike piles on serial / RS-485, EV chargers over OCPP 1.6J.

Factories keep the console from naming implementation modules. The OCPP parts import
the `ocpp` and `websockets` packages only when used.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl, urlsplit

from drivers.charger.epile_driver import EPileDriver, EPileEvent, PlugChanged, PortsReported, PowerDone
from drivers.charger.epile_protocol import PortStatus

if TYPE_CHECKING:
    from drivers.charger.epile_sim import EPileSimulator
    from drivers.charger.ocpp_central import OcppCentral, OcppHandler

__all__ = ["EPileDriver", "EPileEvent", "PlugChanged", "PortStatus", "PortsReported", "PowerDone", "open_epile", "open_ocpp_central"]


class SimulatedEPile(EPileDriver):
    """The real pile driver attached to a simulated pile on a pseudo-terminal (the demo
    speaks the same wire protocol as a site). `simulator` is exposed for scripting."""

    def __init__(self, name: str, simulator: EPileSimulator, *, address: int, poll_interval: float, **options: Any) -> None:
        super().__init__(name, simulator.url, address=address, poll_interval=poll_interval, **options)
        self.simulator = simulator

    def _start(self) -> None:
        self.simulator.start()
        super()._start()

    def stop(self) -> None:
        super().stop()
        self.simulator.stop()


def open_epile(name: str, url: str, *, address: int = 1, poll_interval: float = 1.0, ports: int = 10, **options: Any) -> EPileDriver:
    """A driver for the e-bike pile at `url` (any pyserial URL: /dev/ttyUSB0, socket://...).

    `sim://?plugged=3` is a simulated pile of `ports` ports on a pseudo-terminal with
    bikes plugged into its first 3 ports, driven by the real driver. Raises ValueError
    for a `sim://` option it does not know."""
    parts = urlsplit(url)
    if parts.scheme != "sim":
        return EPileDriver(name, url, address=address, poll_interval=poll_interval, **options)
    query = dict(parse_qsl(parts.query))
    unknown = set(query) - {"plugged"}
    if unknown:
        raise ValueError(f"{url}: unknown option(s) {', '.join(sorted(unknown))}")
    try:
        plugged = int(query.get("plugged", "0"))
    except ValueError:
        raise ValueError(f"{url}: plugged must be a number of ports") from None
    if not 0 <= plugged <= ports:
        raise ValueError(f"{url}: plugged must be 0..{ports}")
    from drivers.charger.epile_sim import EPileSimulator

    simulator = EPileSimulator(ports=ports, address=address)
    for port in range(1, plugged + 1):
        simulator.plug(port)
    return SimulatedEPile(name, simulator, address=address, poll_interval=poll_interval, **options)


def open_ocpp_central(handler: OcppHandler, host: str = "127.0.0.1", port: int = 0, **options: Any) -> OcppCentral:
    """The site's OCPP 1.6J central system (not yet listening: call `start()`)."""
    from drivers.charger.ocpp_central import OcppCentral

    return OcppCentral(handler, host, port, **options)
