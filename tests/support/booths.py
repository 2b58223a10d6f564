"""Several booths of one site on one shared database, for the multi-booth tests and the
benchmark: each booth is a real `Site` with its own `Store` (its own connection pool),
in a thread or in a process of its own.

Booth k has the entry lane INk and the exit lane OUTk; every booth shares the zone P1.
All booths read one clock, `SiteClock`: the test's start time T0 plus the real seconds
since a shared epoch, so booths in different processes agree on the time.
"""

from __future__ import annotations

import time
import traceback
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

from console.domain.clock import Clock
from console.site.build import build_site, open_store
from console.site.config import SiteConfig, parse_site
from console.site.errors import SettledElsewhere, SiteError
from console.site.lanes import EntryOutcome
from console.site.site import Site
from drivers.gate.simworld import Traffic

T0 = datetime(2026, 3, 2, 8, 0, tzinfo=timezone.utc)
HOURLY_TARIFF = Path(__file__).resolve().parent.parent / "fixtures" / "hourly.toml"
# An exit this long after the entry costs 7.50 on the hourly tariff (three started hours).
STAY = timedelta(hours=2, minutes=10)

SHARED_SITE = """
[site]
name = "Shared Garage"
booth_id = "booth-{n}"
timezone = "Europe/Berlin"
currency = "EUR"

[database]
url = "{url}"
busy_timeout_ms = {busy_ms}

[tariff]
file = "{tariff}"

[[zones]]
id = "P1"
name = "Deck"
capacity = {capacity}

[[lanes]]
id = "IN{n}"
direction = "entry"
zone = "P1"
gate = "sim://?timing=fast&rate=0"

[[lanes]]
id = "OUT{n}"
direction = "exit"
zone = "P1"
gate = "sim://?timing=fast"
"""


class SiteClock(Clock):
    """T0 plus the real time since `epoch` (a `time.time()` value every booth shares)."""

    def __init__(self, epoch: float) -> None:
        self.epoch = epoch

    def now(self) -> datetime:
        return T0 + timedelta(seconds=time.time() - self.epoch)


def booth_config(url: str, n: int, *, capacity: int = 10_000, busy_ms: int = 20_000) -> SiteConfig:
    """Booth `n`'s site file: lanes INn and OUTn on the shared zone P1."""
    text = SHARED_SITE.format(n=n, url=url, capacity=capacity, tariff=HOURLY_TARIFF, busy_ms=busy_ms)
    return parse_site(text, f"booth-{n}.toml")


def start_booth(url: str, n: int, *, epoch: float, capacity: int = 10_000, migrate: bool = False,
                attendant: str | None = None) -> Site:
    """Booth `n`, started, with a shift open (cash needs a drawer)."""
    config = booth_config(url, n, capacity=capacity)
    store = open_store(url, settings=config.engine_settings, migrate=migrate)
    site = build_site(config, store, clock=SiteClock(epoch), traffic=Traffic(seed=n))
    site.start()
    site.staff.open_shift(attendant or f"att{n}", "0")
    return site


def stop_booth(site: Site) -> None:
    """Stop the booth and close its connections."""
    site.stop()
    site.store.dispose()


def plate(booth: int, index: int) -> str:
    """The plate of booth `booth`'s `index`-th vehicle (distinct across booths)."""
    return f"B{booth}V{index:04d}"


def pay_exit(site: Site, lane: str, plate_text: str, method: str, *, attendant: str) -> str:
    """Drive `plate_text` out at `lane` after a paid stay and settle it with `method`
    ("cash", "card", "override": a lowered fee then card). Returns "paid",
    "settled_elsewhere:<message>" or "left:<message>" (the exit found it already gone)."""
    now = site.clock.now() + STAY
    try:
        ticket = site.exits.open_exit(lane, plate_text, now=now, from_reader=True)  # as the lane reads it
    except SettledElsewhere as exc:
        return f"settled_elsewhere:{exc}"
    except SiteError as exc:
        return f"left:{exc}"
    if ticket is None:
        raise AssertionError(f"{plate_text} left without paying")
    try:
        if method == "cash":
            site.desk.pay_cash(ticket.id, "10", attendant=attendant)
        elif method == "override":
            changed = site.desk.override(ticket.id, "fee_change", reason="regular customer", actor=attendant, new_amount_text="5.00")
            site.desk.pay(changed.id, [_card()], attendant=attendant)
        else:
            site.desk.pay(ticket.id, [_card()], attendant=attendant)
    except SettledElsewhere as exc:
        return f"settled_elsewhere:{exc}"
    return "paid"


def _card() -> Any:
    from console.site.tender import Tender

    return Tender("card", "", "", reference="AUTH1234")


@dataclass
class BoothResult:
    """What one booth process saw."""

    booth: int
    shift_id: str = ""
    outcomes: dict[str, int] = field(default_factory=dict)
    contests: dict[str, int] = field(default_factory=dict)
    elsewhere_messages: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    seconds: float = 0.0


def booth_process(url: str, n: int, booths: int, vehicles: int, epoch: float, barrier: Any, results: Any) -> None:
    """One booth of the soak: `vehicles` entries at INn, each earlier vehicle paid at OUTn
    (cash, card or a lowered fee, in turn), every fifth kept for the contest; then every
    booth tries to settle every booth's contest vehicles at once. Migrates the database
    on start (all booths start together). Puts a BoothResult on `results`."""
    result = BoothResult(n)
    site: Site | None = None
    try:
        site = start_booth(url, n, epoch=epoch, migrate=True)
        shift = site.staff.current_shift()
        assert shift is not None
        result.shift_id = shift.id
        barrier.wait(timeout=120)
        started = time.perf_counter()
        methods = ("cash", "card", "override")
        waiting: list[str] = []
        for i in range(vehicles):
            own = plate(n, i)
            outcome = site.lanes.enter(f"IN{n}", own)
            result.outcomes[outcome.value] = result.outcomes.get(outcome.value, 0) + 1
            if outcome is not EntryOutcome.ENTERED or i % 5 == 0:
                continue  # every fifth vehicle waits for the contest below
            waiting.append(own)
            if len(waiting) > 2:
                paid = pay_exit(site, f"OUT{n}", waiting.pop(0), methods[i % 3], attendant=f"att{n}")
                key = paid.split(":", 1)[0]
                result.outcomes[f"exit_{key}"] = result.outcomes.get(f"exit_{key}", 0) + 1
        for own in waiting:
            pay_exit(site, f"OUT{n}", own, "card", attendant=f"att{n}")
            result.outcomes["exit_paid"] = result.outcomes.get("exit_paid", 0) + 1
        barrier.wait(timeout=300)
        # The contest: every booth settles every booth's kept vehicles, in the same order.
        for i in range(0, vehicles, 5):
            for b in range(1, booths + 1):
                outcome_text = pay_exit(site, f"OUT{n}", plate(b, i), "card", attendant=f"att{n}")
                key = outcome_text.split(":", 1)[0]
                result.contests[key] = result.contests.get(key, 0) + 1
                if key == "settled_elsewhere" and len(result.elsewhere_messages) < 5:
                    result.elsewhere_messages.append(outcome_text.split(":", 1)[1])
        result.seconds = time.perf_counter() - started
        barrier.wait(timeout=300)
        site.staff.close_shift("", actor=f"att{n}")
    except Exception:
        result.errors.append(traceback.format_exc())
        try:
            barrier.abort()
        except Exception:
            pass
    finally:
        if site is not None:
            stop_booth(site)
        results.put(result)


def outbox_drainer(url: str, cloud_url: str, token: str, site_id: str, n: int, batch: int, ready: Any, stop: Any) -> None:
    """Booth `n`'s outbox pump, alone in a process: sends the shared database's unsent
    events to the cloud in batches of `batch` until `stop` is set (or the process is
    killed). Sets `ready` once its pump runs."""
    from console.domain.clock import SystemClock
    from console.site.config import CloudSection
    from console.sync.service import SyncService, SyncTuning

    store = open_store(url, migrate=False)
    tuning = SyncTuning(batch_size=batch, poll_interval=0.2, config_interval=30.0, remote_payment_interval=30.0,
                        occupancy_interval=30.0, backoff_base=0.2, backoff_cap=1.0, connect_timeout=2.0, read_timeout=10.0,
                        backlog_refresh=0.1)
    service = SyncService(store, CloudSection(url=cloud_url), site_id, SystemClock(), lambda _text: None, lambda: token,
                          booth_id=f"booth-{n}", tuning=tuning)
    service.start()
    ready.set()
    try:
        stop.wait(timeout=300)
    finally:
        service.stop()
        store.dispose()
