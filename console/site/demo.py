"""What `booth demo` adds to the simulated site so that every part can be tried at once:
a manager and an attendant with PINs (the README gives them), and cars that are already
parked when the demo opens, so the first paying exit comes within seconds, not after the
free period of the first arrivals."""

from __future__ import annotations

import json
import os
import random
import socket
import time
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Callable

from console.site.config import SiteConfig
from console.sync.server.listen import bind

if TYPE_CHECKING:  # the site and its database stack load after the console's first frame
    from console.domain.clock import ScaledClock
    from console.site.site import Site
    from console.store.database import Store
    from drivers.gate.simworld import Traffic

# The demo cloud's name for the demo site.
DEMO_SITE_ID = "demo"
# Beside the demo's cloud database while that cloud runs: where it listens.
DEMO_CLOUD_NOTE = "demo-cloud.json"


# The README's "Demo identities" decision names these; the demo database is fresh on
# every start, so they are created each time.
DEMO_MANAGER = ("demo", "246810")
DEMO_ATTENDANT = ("ann", "1357")
DEMO_CARD_PIN = "2580"  # the demo's charging cards: typed on the pile's phone page with their number


@dataclass(frozen=True, slots=True)
class Parked:
    """The cars the demo starts with."""

    count: int
    first_exit_s: float  # real seconds from start to the first of them leaving


def add_demo_staff(site: Site) -> None:
    """The demo's manager and attendant, unless the database has users already (--keep);
    and the demo's charging cards' PIN."""
    from console.domain.staff import Role
    from console.site.errors import SiteError

    add_demo_card_pins(site)
    if not site.staff.needs_first_manager():
        return
    try:
        site.staff.add_user(DEMO_MANAGER[0], Role.MANAGER, DEMO_MANAGER[1], actor="booth demo")
        site.staff.add_user(DEMO_ATTENDANT[0], Role.ATTENDANT, DEMO_ATTENDANT[1], actor="booth demo")
    except SiteError:
        # Another booth of a shared demo, starting at the same moment, added them first.
        if site.staff.needs_first_manager():
            raise


def add_demo_card_pins(site: Site) -> None:
    """Give the site file's charging cards the demo PIN (those without one), so a phone
    can start them by number and PIN from a pile's QR page."""
    charging = site.charging
    if charging is None:
        return
    charging.seed()
    for card in charging.section.cards:
        if not charging.has_pin(card.card_id):
            charging.set_pin(card.card_id, DEMO_CARD_PIN, "booth demo")


def park_demo_cars(site: Site, traffic: Traffic, *, count: int = 45, seed: int | None = None) -> Parked:
    """Record `count` cars that entered between 40 minutes and 6 hours ago (demo time) and
    let them leave one after another, every 6 to 24 s (the first after 5 s), so exits reach
    the desk within seconds of auto-pay going off until the cars that arrive meanwhile
    start leaving (45 cars: about 11 minutes). Entries are written in time order,
    oldest first, before the lanes start, like lane entries (audited, outbox)."""
    from console.store import visits

    rng = random.Random(seed)
    now = site.clock.now()
    entry_lanes = [lane for lane in site.config.lanes if lane.direction == "entry"]
    if not entry_lanes or count <= 0:
        return Parked(0, 0.0)
    ages = sorted((rng.uniform(40, 360) for _ in range(count)), reverse=True)
    leave_in = 5.0
    first = 0.0
    started = time.monotonic()
    parked = 0
    for index, minutes in enumerate(ages):
        plate = traffic.new_plate()
        lane = entry_lanes[index % len(entry_lanes)]
        try:
            with site.store.write() as tx:
                visits.record_entry(tx, plate=plate, zone=lane.zone, lane=lane.id, at=now - timedelta(minutes=minutes),
                                    currency=site.currency, booth_id=site.config.site.booth_id)
        except visits.AlreadyInside:
            continue  # the same plate drawn twice: one car fewer
        traffic.parked(plate, now=started, stay=leave_in)
        first = first or leave_in
        parked += 1
        leave_in += rng.uniform(6, 24)
    return Parked(parked, first)


DEMO_CLOCK_ACTION = "demo.clock"


def shared_demo_clock(store: Store, speed: float) -> ScaledClock:
    """The clock of a demo site shared by several booths: every booth's demo time must be
    the same, or a car entering at one booth could leave another before it came in.

    The first booth records (audited) the real instant its demo clock started and its
    speed; every booth then runs at that speed from that instant, whenever it starts.
    The recorded speed wins over this booth's `speed`."""
    from console.domain.clock import ScaledClock
    from console.store.audit import append_audit
    from console.store.locks import lock_site_writes
    from console.store.site_events import first_entry

    real_now = datetime.now(timezone.utc)
    with store.write() as tx:
        lock_site_writes(tx)  # two booths starting together record one start
        found = first_entry(tx, DEMO_CLOCK_ACTION)
        if found is None:
            append_audit(tx, at=real_now, actor="booth demo", action=DEMO_CLOCK_ACTION, subject="",
                         detail={"real_start": real_now.isoformat(), "speed": speed})
            anchor, recorded = real_now, speed
        else:
            anchor = datetime.fromisoformat(str(found.detail.get("real_start")))
            value = found.detail.get("speed")
            recorded = float(value) if isinstance(value, (int, float)) and value > 0 else speed
    elapsed = datetime.now(timezone.utc) - anchor
    return ScaledClock(recorded, start=anchor + elapsed * recorded)


def has_visits(site: Site) -> bool:
    """Whether the site's database holds any visit (a booth of a shared demo parks the
    demo's cars only in a database that has none)."""
    from console.store import visits

    return site.store.query(visits.totals)["entries"] > 0


class DemoCloud:
    """The reference cloud on a loopback port with a database of its own, for the demo's
    phone payments (ctrl+r at the desk) and the cloud link in the status bar. Its clock
    is the demo's, so it quotes the demo's stays as the booth does."""

    def __init__(self, db_path: Path, site_id: str, name: str, currency: str, now: Callable[[], datetime], *,
                 fresh: bool = True, sock: socket.socket | None = None) -> None:
        """`fresh`: a new database (as the demo's own is); False keeps the last run's books,
        for `booth demo --keep`, whose events the cloud already has. `sock`: the listening
        socket reserved for it (`demo_cloud_socket`), else a free port is bound."""
        from console.sync.server.admin import register_site
        from console.sync.server.app import create_app
        from console.sync.server.db import open_cloud_db
        from console.sync.server.run import ServerThread

        if fresh:
            from console.store.companions import remove_database_files

            remove_database_files(db_path)
        self.engine = open_cloud_db(f"sqlite:///{db_path}")
        self.note = db_path.parent / DEMO_CLOUD_NOTE
        self.site_id = site_id
        self.token = register_site(self.engine, site_id, name=name, currency=currency)
        self.server = ServerThread(create_app(self.engine, now=now), sock=sock)

    @property
    def url(self) -> str:
        return self.server.url

    def start(self) -> DemoCloud:
        self.server.start()
        try:  # for `booth charging qr` in another terminal: the demo's cloud has no fixed port
            self.note.write_text(json.dumps({"url": self.url, "site_id": self.site_id, "pid": os.getpid()}), encoding="utf-8")
        except OSError:
            pass
        return self

    def stop(self) -> None:
        self.note.unlink(missing_ok=True)
        self.server.stop()
        self.engine.dispose()


def running_demo_cloud(folder: Path) -> tuple[str, str] | None:
    """The (url, site id) of the demo's own cloud while a demo in the data folder `folder`
    runs it; None when none runs (a note left by a demo that died is ignored)."""
    try:
        note = json.loads((folder / DEMO_CLOUD_NOTE).read_text(encoding="utf-8"))
        url, site_id, pid = note["url"], note["site_id"], note["pid"]
    except (OSError, ValueError, KeyError, TypeError):
        return None
    if not (isinstance(url, str) and isinstance(site_id, str) and isinstance(pid, int)):
        return None
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return None
    except PermissionError:
        pass  # alive, another user's
    return url, site_id


def with_demo_cloud(config: SiteConfig, cloud: DemoCloud) -> SiteConfig:
    """The demo site linked to its own cloud (the site file's `[cloud]` otherwise kept)."""
    return linked_to(config, cloud.url, cloud.site_id)


def linked_to(config: SiteConfig, url: str, site_id: str) -> SiteConfig:
    """The site linked to the cloud at `url` as `site_id`."""
    section = config.cloud.model_copy(update={"url": url, "site_id": site_id})
    return config.model_copy(update={"cloud": section})


def demo_cloud_socket() -> tuple[socket.socket, str]:
    """A loopback port for the demo's cloud, reserved (listening) before the console's first
    frame, and its URL: the site file can name it at once, while the cloud itself (the web
    stack, its database) starts later with the site, off the screen's path."""
    sock = bind("127.0.0.1", 0)
    return sock, f"http://127.0.0.1:{sock.getsockname()[1]}"
