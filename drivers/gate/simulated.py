"""In-process simulated lane controller (`sim://` URLs): the SimLane's events go straight
to the site, with no wire in between. Fast, and what unit tests of the site use."""

from __future__ import annotations

from drivers.gate.base import GateDriver, LaneRole
from drivers.gate.simlane import SimLane, SimTiming
from drivers.gate.simworld import Traffic
from drivers.health import HealthState


class InProcessGate(GateDriver):
    """A `GateDriver` wired directly to a `SimLane`."""

    def __init__(
        self,
        name: str,
        role: LaneRole,
        traffic: Traffic,
        arrival_rate: float = 0.0,
        timing: SimTiming | None = None,
    ) -> None:
        super().__init__(name)
        self.lane = SimLane(role, traffic, self._emit, arrival_rate=arrival_rate, timing=timing)

    def _start(self) -> None:
        self.lane.start()
        self.health.set(HealthState.OK, "simulated")

    def stop(self) -> None:
        self.lane.stop()
        self.health.set(HealthState.OFFLINE, "stopped")

    def open_barrier(self) -> None:
        self.lane.open_barrier()

    def close_barrier(self) -> None:
        self.lane.close_barrier()

    def arrive(self, plate: str) -> None:
        """Test and demo hook: a vehicle with this plate drives onto the loop."""
        self.lane.arrive(plate)
