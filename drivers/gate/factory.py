"""Choose a lane controller driver from the lane's device URL."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

from drivers.gate.base import GateDriver, LaneRole
from drivers.gate.simlane import FAST_TIMING, SimTiming
from drivers.gate.simulated import InProcessGate
from drivers.gate.simworld import Traffic


class GateURLError(ValueError):
    """A lane device URL this build cannot open."""


def open_gate(url: str, *, name: str, role: LaneRole, traffic: Traffic | None = None) -> GateDriver:
    """Build (not start) the driver for `url`.

    `sim://?rate=0.2&timing=fast` is the in-process simulator; `rate` is arrivals per
    second for an entry lane.
    """
    parts = urlsplit(url)
    query = {k: v[-1] for k, v in parse_qs(parts.query).items()}
    if parts.scheme == "sim":
        try:
            rate = float(query.get("rate", "0"))
        except ValueError:
            raise GateURLError(f"{url}: rate must be a number") from None
        if rate < 0:
            raise GateURLError(f"{url}: rate must not be negative")
        timing = FAST_TIMING if query.get("timing") == "fast" else SimTiming()
        return InProcessGate(name, role, traffic or Traffic(), arrival_rate=rate, timing=timing)
    raise GateURLError(f"{url}: unsupported lane device URL scheme {parts.scheme!r}")
