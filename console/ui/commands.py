"""Booth actions in the command palette (ctrl+p)."""

from __future__ import annotations

from functools import partial

from textual.command import DiscoveryHit, Hit, Hits, Provider

_COMMANDS = [
    ("Exit by plate", "exit_by_plate", "Find a vehicle's visit by plate and take its fee"),
    ("Pay next waiting exit", "pay_next", "Open the exit desk for the vehicle waiting longest"),
    ("Move a barrier by hand", "manual_gate", "Open or close a barrier with a reason (audited)"),
    ("Repair occupancy", "occupancy", "Correct a zone's count or close stale visits (audited)"),
    ("Last receipts / reprint", "receipts", "The newest receipts and their print state; Enter reprints"),
    ("Close shift / hand over", "close_shift", "Count the drawer, close the shift, see the Z report"),
    ("Manager reports", "manager_reports", "Revenue, occupancy, dwell times, overrides (managers)"),
    ("Lock the console", "lock", "Lock until someone signs in with a PIN"),
    ("Elevator snapshots and rides", "elevator", "Latest exit portraits, ride log, open a ride (audited)"),
    ("Charging piles", "charging", "Ports, running sessions, faults and maintenance records"),
    ("Next theme", "next_theme", "Switch between the dark and the high-contrast daylight theme"),
    ("Toggle demo auto-pay", "toggle_autopay", "Demo only: pay every exit automatically"),
]


class BoothCommands(Provider):
    """Palette entries for the booth's own actions."""

    async def discover(self) -> Hits:
        for name, action, help_text in _COMMANDS:
            yield DiscoveryHit(name, partial(self.app.run_action, action), help=help_text)

    async def search(self, query: str) -> Hits:
        matcher = self.matcher(query)
        for name, action, help_text in _COMMANDS:
            score = matcher.match(name)
            if score > 0:
                yield Hit(score, matcher.highlight(name), partial(self.app.run_action, action), help=help_text)
