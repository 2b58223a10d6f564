"""The site without a screen: for `booth demo --headless` and unattended test runs."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass

from console.site.errors import SiteError
from console.site.events import ExitPending
from console.site.site import Site
from console.store import visits


class AutoAttendant:
    """Pays every waiting exit in exact cash, as a stand-in for the person at the desk.

    Payments are taken on its own thread, like a person reacting, not inside the lane's
    event callback."""

    def __init__(self, site: Site, name: str = "auto-attendant") -> None:
        self.site = site
        self.name = name
        self.paid = 0
        self.failures: list[str] = []
        self._queue: list[str] = []
        self._cv = threading.Condition()
        self._enabled = True
        self._stop = False
        self._thread = threading.Thread(target=self._run, daemon=True, name="auto-attendant")

    @property
    def enabled(self) -> bool:
        """Whether exits are paid automatically."""
        return self._enabled

    @enabled.setter
    def enabled(self, value: bool) -> None:
        was, self._enabled = self._enabled, value
        if value and not was:
            # Turned back on: what already waits is paid too, first come first served.
            with self._cv:
                for ticket in self.site.board.queue():
                    if ticket.id not in self._queue:
                        self._queue.append(ticket.id)
                self._cv.notify()

    def start(self) -> None:
        """Take over the drawer (a shift with a 100.00 float) and start answering exits."""
        if self.site.staff.current_shift() is None:
            self.site.staff.open_shift(self.name, "100")
        self.site.bus.on(ExitPending, self._on_exit)
        self._thread.start()

    def stop(self) -> None:
        with self._cv:
            self._stop = True
            self._cv.notify()
        self._thread.join(timeout=5)

    def _on_exit(self, event: ExitPending) -> None:
        if self.enabled:
            with self._cv:
                self._queue.append(event.ticket.id)
                self._cv.notify()

    def _run(self) -> None:
        while True:
            with self._cv:
                while not self._queue and not self._stop:
                    self._cv.wait()
                if self._stop:
                    return
                ticket_id = self._queue.pop(0)
            ticket = self.site.board.ticket(ticket_id)
            if ticket is None or not self.enabled:
                continue  # auto-pay turned off meanwhile: the exit waits for the desk
            try:
                self.site.desk.pay_cash(ticket_id, ticket.due.decimal_text(), attendant=self.name)
                self.paid += 1
            except SiteError as exc:
                self.failures.append(str(exc))


@dataclass(frozen=True, slots=True)
class HeadlessSummary:
    entries: int
    exits: int
    occupied: int
    capacity: int
    revenue_minor: int
    currency: str
    seconds: float

    def to_json(self) -> dict[str, object]:
        return {
            "entries": self.entries,
            "exits": self.exits,
            "occupied": self.occupied,
            "capacity": self.capacity,
            "revenue_minor": self.revenue_minor,
            "currency": self.currency,
            "seconds": round(self.seconds, 3),
        }


def run_headless(site: Site, seconds: float, *, auto_pay: bool = True) -> HeadlessSummary:
    """Run the site for `seconds`, then stop it and report what the database holds."""
    attendant = AutoAttendant(site) if auto_pay else None
    started = time.monotonic()
    if attendant:
        attendant.start()
    site.start()
    try:
        time.sleep(max(0.0, seconds))
    finally:
        site.stop()
        if attendant:
            attendant.stop()
    with site.store.read() as tx:
        totals = visits.totals(tx)
        occupied = sum(visits.occupancy_counts(tx).values())
    return HeadlessSummary(
        entries=totals["entries"],
        exits=totals["exits"],
        occupied=occupied,
        capacity=sum(z.capacity for z in site.config.zones),
        revenue_minor=totals["revenue_minor"],
        currency=site.currency,
        seconds=time.monotonic() - started,
    )
