"""The barrier confirmation state machine both wire lane drivers share: a command waits
for its limit switch, and one that is not confirmed in time is a fault."""

from __future__ import annotations

from drivers.gate.barrier import Barrier
from drivers.gate.base import GateEventKind as K


def test_an_unconfirmed_command_faults_exactly_at_its_deadline() -> None:
    b = Barrier(confirm_within=6.0)
    b.expect("open", now=100.0)
    assert b.overdue(105.999) is None and b.fault is None
    fault = b.overdue(106.0)
    assert fault is not None and fault.kind is K.BARRIER_FAULT
    assert fault.detail == "barrier did not confirm open within 6 s"
    assert b.fault == fault.detail and b.expected is None
    assert b.overdue(200.0) is None  # reported once


def test_reaching_the_limit_in_time_confirms_and_clears_a_fault() -> None:
    b = Barrier(confirm_within=0.5)
    b.faulted("controller reports obstruction")
    b.expect("open", now=0.0)
    event = b.reached("open")
    assert event.kind is K.BARRIER_OPENED and b.position == "open"
    assert b.fault is None and b.expected is None
    assert b.overdue(10.0) is None
    assert b.reached("closed").kind is K.BARRIER_CLOSED


def test_the_other_limit_does_not_confirm_a_command() -> None:
    b = Barrier(confirm_within=1.5)
    b.expect("closed", now=0.0)
    b.reached("open")  # still open: the close has not happened
    fault = b.overdue(1.5)
    assert fault is not None and fault.detail == "barrier did not confirm closed within 1.5 s"


def test_a_later_command_replaces_the_deadline_and_withdrawing_stops_the_clock() -> None:
    b = Barrier(confirm_within=2.0)
    b.expect("open", now=0.0)
    b.expect("closed", now=1.0)
    assert b.overdue(2.5) is None  # the open's deadline no longer counts
    b.withdraw("open")  # a failed OPEN does not cancel the CLOSE in flight
    assert b.expected is not None and b.expected.position == "closed"
    b.withdraw()  # link lost: nothing can be read back
    assert b.overdue(100.0) is None and b.fault is None


def test_leaving_a_limit_makes_the_position_unknown() -> None:
    b = Barrier(confirm_within=1.0)
    b.reached("closed")
    b.moving()
    assert b.position is None
