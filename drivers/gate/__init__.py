"""Lane controllers: barrier gate, loop detector and plate reader of one lane."""

from drivers.gate.base import GateDriver, GateEvent, GateEventKind, LaneRole
from drivers.gate.factory import open_gate

__all__ = ["GateDriver", "GateEvent", "GateEventKind", "LaneRole", "open_gate"]
