"""Charging piles: e-bike piles on serial / RS-485, EV chargers over OCPP 1.6J.

Factories keep the console from naming implementation modules. The OCPP parts import
the `ocpp` and `websockets` packages only when used.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from drivers.charger.epile_driver import EPileDriver, EPileEvent, PlugChanged, PortsReported, PowerDone
from drivers.charger.epile_protocol import PortStatus

if TYPE_CHECKING:
    from drivers.charger.ocpp_central import OcppCentral, OcppHandler

__all__ = ["EPileDriver", "EPileEvent", "PlugChanged", "PortStatus", "PortsReported", "PowerDone", "open_epile", "open_ocpp_central"]


def open_epile(name: str, url: str, *, address: int = 1, poll_interval: float = 1.0, **options: Any) -> EPileDriver:
    """A driver for the e-bike pile at `url` (any pyserial URL: /dev/ttyUSB0, socket://...)."""
    return EPileDriver(name, url, address=address, poll_interval=poll_interval, **options)


def open_ocpp_central(handler: OcppHandler, host: str = "127.0.0.1", port: int = 0, **options: Any) -> OcppCentral:
    """The site's OCPP 1.6J central system (not yet listening: call `start()`)."""
    from drivers.charger.ocpp_central import OcppCentral

    return OcppCentral(handler, host, port, **options)
