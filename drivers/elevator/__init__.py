"""Elevator controllers: card swipes in the car, arrivals and door movements, per car."""

from drivers.elevator.base import ElevatorDriver, ElevatorEvent, ElevatorEventKind, ElevatorListener
from drivers.elevator.factory import SimulatedElevator, open_elevator
from drivers.elevator.serial_link import ElevatorURLError, LinkTiming, SerialElevator
from drivers.elevator.simulator import FAST_TIMING, ElevatorSimulator, SimTiming

__all__ = [
    "FAST_TIMING",
    "ElevatorDriver",
    "ElevatorEvent",
    "ElevatorEventKind",
    "ElevatorListener",
    "ElevatorSimulator",
    "ElevatorURLError",
    "LinkTiming",
    "SerialElevator",
    "SimTiming",
    "SimulatedElevator",
    "open_elevator",
]
