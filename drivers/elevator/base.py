"""The interface every elevator controller driver offers to the site.

The controller reports what happens in its cars: a card swiped at the car's reader with
the floor the rider chose, the car stopping at a floor, the doors opening and closing.
The driver only reports; pairing a swipe with the door opening at its floor (and billing
the ride) is the site's job. Events reach the listener from a driver thread, in the order
the controller sent them; the listener must return quickly (post a message, queue work).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from enum import Enum

from drivers.device import EventDevice


class ElevatorEventKind(str, Enum):
    CARD_SWIPED = "card_swiped"  # a rider swiped `card` in car `car` and chose `floor`
    CAR_ARRIVED = "car_arrived"  # car `car` stopped at `floor`
    DOORS_OPENED = "doors_opened"  # car `car`'s doors opened at `floor`
    DOORS_CLOSED = "doors_closed"  # car `car`'s doors closed at `floor`
    CONTROLLER_RESTARTED = "controller_restarted"  # the controller rebooted: rides in progress may be lost


@dataclass(frozen=True, slots=True)
class ElevatorEvent:
    """One thing the elevator controller reported.

    `floor` is the chosen floor for CARD_SWIPED and the car's floor otherwise (negative
    numbers are basements). `card` is the card's UID as upper-case hex, only for
    CARD_SWIPED. `car` is 0 only for CONTROLLER_RESTARTED.
    """

    kind: ElevatorEventKind
    car: int
    floor: int | None = None
    card: str | None = None
    seq: int | None = None  # the controller's frame sequence number, for tracing
    monotonic: float = field(default_factory=time.monotonic)


ElevatorListener = Callable[[ElevatorEvent], None]


class ElevatorDriver(EventDevice[ElevatorEvent]):
    """An elevator controller link. Implementations: the serial framed protocol (any
    pyserial URL) and, for the demo, the same driver attached to a building simulator.
    Chosen by URL through `drivers.elevator.open_elevator`. `start(on_event, on_health)`
    returns at once; events come from a driver thread (see `drivers.device.EventDevice`)."""
