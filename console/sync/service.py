"""The sync service: one background thread that sends the outbox up and pulls the
cloud's configuration down, so the console never waits for the network.

What it promises:
- an event is marked sent only when the cloud acknowledged its id (at-least-once; the
  cloud deduplicates by id, so the effect is exactly once);
- memory stays bounded whatever the backlog: the outbox is read one page at a time,
  by id;
- failures wait with exponential backoff and jitter, and never less than a server's
  Retry-After;
- the latest occupancy snapshot is pushed within about a second of a change, older
  snapshots that were not sent yet are dropped (coalesced);
- `status()` answers at once from memory; listeners hear every change of it.
"""

from __future__ import annotations

import logging
import random
import re
import threading
import time
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any, Callable, Protocol, Sequence

from console.domain.clock import Clock
from console.domain.occupancy import ZoneOccupancy
from console.i18n import N_, _
from console.store import outbox
from console.store.database import Store
from console.store.engine import StoreError
from console.store.locks import outbox_drain_turn
from console.sync import protocol as p
from console.sync.backoff import Backoff
from console.sync.client import (
    Ack,
    AuthError,
    CloudClient,
    CloudConfigError,
    CloudError,
    TooLarge,
)
from console.sync.pull import (
    CHARGING_COMMANDS,
    COMMANDS,
    REMOTE_PAYMENTS,
    Applied,
    apply_accounts,
    apply_commands,
    apply_members,
    apply_remote_payments,
    apply_tariff,
    read_states,
)


class CloudSettings(Protocol):
    """Where the cloud is and which CA bundle to trust (the site file's `[cloud]`)."""

    @property
    def url(self) -> str: ...

    @property
    def ca_bundle(self) -> str | None: ...


log = logging.getLogger(__name__)

# How soon a booth looks at the shared outbox again after another booth was sending it:
# soon enough that an event written just after that booth's last page waits little.
_ELSEWHERE_RECHECK_S = 1.0

# The link's states, marked for translation (SyncStatus.state holds the English word).
STATES = (N_("connecting"), N_("online"), N_("offline"), N_("refused"), N_("error"), N_("stopped"),
          N_("not configured"), N_("no token"))

StatusListener = Callable[["SyncStatus"], None]


@dataclass(frozen=True, slots=True)
class SyncStatus:
    """The cloud link as the console shows it. Times are booth-clock times.

    `state` is one of: not configured, no token, connecting, online, offline,
    refused (the cloud refused the token), error (configuration or protocol problem),
    stopped.
    """

    state: str = "connecting"
    online: bool = False
    site_id: str | None = None
    backlog: int = 0
    oldest_unsent_at: datetime | None = None
    oldest_unsent_age: timedelta | None = None
    last_success_at: datetime | None = None
    last_error: str | None = None
    last_error_at: datetime | None = None
    retry_in: float | None = None
    sent: int = 0
    duplicates: int = 0
    rejected: int = 0
    refused: int = 0  # events parked after the cloud refused them (console.store.outbox.park)
    occupancy_sent_at: datetime | None = None
    last_pull_at: datetime | None = None
    tariff_version: str | None = None
    members_version: str | None = None
    accounts_version: str | None = None
    config_error: str | None = None

    def summary(self) -> str:
        """One line for a status bar: "online, 0 waiting" / "offline, 312 waiting (2 h)"."""
        text = _("{state}, {count} waiting").format(state=_(self.state), count=self.backlog)
        if self.backlog and self.oldest_unsent_age is not None:
            minutes = int(self.oldest_unsent_age.total_seconds() // 60)
            text += (_(" (oldest {hours} h {minutes:02d} min)").format(hours=minutes // 60, minutes=minutes % 60) if minutes >= 60
                     else _(" (oldest {minutes} min)").format(minutes=minutes))
        if self.refused:
            text += _(", {count} refused by the cloud").format(count=self.refused)
        if self.retry_in:
            text += _(", retry in {seconds:.0f} s").format(seconds=self.retry_in)
        return text


@dataclass(frozen=True, slots=True)
class SyncTuning:
    """Intervals and sizes. The defaults suit a real site; tests shorten them."""

    batch_size: int = 500
    poll_interval: float = 30.0  # look at the outbox even if nobody called wake()
    config_interval: float = 60.0  # tariff, members, accounts
    remote_payment_interval: float = 10.0
    # While a vehicle waits at an exit, phone payments are pulled this often: this sets
    # how soon a payment made at the barrier opens it (docs/phones.md).
    remote_payment_waiting_interval: float = 2.0
    occupancy_interval: float = 1.0  # at most one occupancy push per interval
    backoff_base: float = 1.0
    backoff_cap: float = 300.0
    connect_timeout: float = 5.0
    read_timeout: float = 20.0
    backlog_refresh: float = 1.0  # how often a long drain re-counts the backlog
    stop_timeout: float = 10.0
    # Events the cloud acknowledged are deleted this long after (the cloud holds them),
    # checked at most once per prune_interval.
    sent_retention: float = 30 * 86400.0
    prune_interval: float = 3600.0
    rng: random.Random = field(default_factory=random.Random, compare=False)


class SyncService:
    """Keeps one booth's database in step with its cloud.

    `validate_tariff(text)` must raise on a tariff the booth cannot use (the booth's
    tariff parser); `token_provider()` returns the site token or None (read from the
    keyring each cycle, so a new login applies without restart). An empty `site_id`
    means "the site the token belongs to", asked of the cloud (`GET /v1/whoami`).
    """

    def __init__(
        self,
        store: Store,
        config: CloudSettings,
        site_id: str,
        clock: Clock,
        validate_tariff: Callable[[str], None],
        token_provider: Callable[[], str | None],
        *,
        booth_id: str = "booth-1",
        tuning: SyncTuning | None = None,
        tariff_versions: Callable[[], list[tuple[str, str]]] | None = None,
        on_commands: Callable[[list[str]], None] | None = None,
    ) -> None:
        self._store = store
        self._on_commands = on_commands  # told the faults whose maintenance the cloud closed
        # The charging service's hook for starts and stops asked from phones.
        self.on_charging_commands: Callable[[list[p.SiteCommandDoc]], None] | None = None
        self._config = config
        self._site_id = site_id
        self._discover_site = not site_id
        self._clock = clock
        self._validate = validate_tariff
        self._token_provider = token_provider
        self._booth_id = booth_id
        self._tariff_versions = tariff_versions
        self._tariffs_sent: tuple[str, ...] | None = None
        self._exit_waiting = False
        self._tuning = tuning or SyncTuning()
        self._pruned_at: float | None = None
        self._backoff = Backoff(self._tuning.backoff_base, self._tuning.backoff_cap, rng=self._tuning.rng)
        self._batch_size = max(1, min(self._tuning.batch_size, p.MAX_BATCH_EVENTS))

        self._cv = threading.Condition(threading.RLock())
        self._listeners: list[StatusListener] = []
        self._status = SyncStatus(state="connecting" if config.url else "not configured", site_id=site_id or None)
        self._thread: threading.Thread | None = None
        self._stopping = False
        self._woken = False
        self._forced = False
        self._passes_started = 0
        self._passes_done = 0
        # The last pass found another booth sending the shared outbox.
        self._drained_elsewhere = False
        self._occupancy: dict[str, Any] | None = None
        self._occupancy_next = 0.0
        self._next_config_pull = 0.0
        self._next_remote_pull = 0.0
        self._backlog_checked = 0.0
        self._client: CloudClient | None = None
        self._setup_error: str | None = None
        if config.url and site_id and not re.match(p.SITE_ID_PATTERN, site_id):
            self._setup_error = f"site id {site_id!r} is not valid (1 to 64 letters, digits, _ . -)"
            self._status = replace(self._status, state="error", last_error=self._setup_error)

    # -- public API ----------------------------------------------------------------------
    def start(self) -> None:
        """Start the background thread (once). Returns at once."""
        with self._cv:
            if self._thread is not None:
                return
            self._stopping = False
            self._thread = threading.Thread(target=self._run, name="booth-cloud-sync", daemon=True)
            self._thread.start()

    def stop(self) -> None:
        """Stop the thread; an unsent event stays in the outbox for next time."""
        with self._cv:
            self._stopping = True
            self._cv.notify_all()
            thread = self._thread
        if thread is not None and thread is not threading.current_thread():
            thread.join(self._tuning.stop_timeout)
        with self._cv:
            self._thread = None
        self._set(state="stopped", online=False, retry_in=None)

    def status(self) -> SyncStatus:
        """The latest status, from memory (never waits for the network or the disk)."""
        with self._cv:
            status = self._status
        if status.oldest_unsent_at is not None:
            status = replace(status, oldest_unsent_age=max(timedelta(0), self._clock.now() - status.oldest_unsent_at))
        return status

    def subscribe(self, listener: StatusListener) -> Callable[[], None]:
        """Call `listener(status)` on every change, from the sync thread. Keep it quick.
        Returns a function that unsubscribes."""
        with self._cv:
            self._listeners.append(listener)

        def unsubscribe() -> None:
            with self._cv:
                if listener in self._listeners:
                    self._listeners.remove(listener)

        return unsubscribe

    def wake(self) -> None:
        """Something was committed: send it as soon as the link allows (not during a
        backoff wait, which a server may have asked for)."""
        with self._cv:
            self._woken = True
            self._cv.notify_all()

    def retry_now(self) -> None:
        """Cut a backoff wait short (after `booth cloud login`, or the attendant asks)."""
        with self._cv:
            self._forced = True
            self._woken = True
            self._cv.notify_all()

    def set_exit_waiting(self, waiting: bool) -> None:
        """A vehicle is (or no longer is) waiting at an exit: pull phone payments at the
        shorter interval meanwhile, starting now."""
        with self._cv:
            if waiting and not self._exit_waiting:
                self._next_remote_pull = 0.0
                self._woken = True
                self._cv.notify_all()
            self._exit_waiting = waiting

    def pull_now(self) -> None:
        """Pull configuration and remote payments at the next chance (for example when
        a car is at the exit and a phone payment may just have been made)."""
        with self._cv:
            self._next_config_pull = 0.0
            self._next_remote_pull = 0.0
            self._woken = True
            self._cv.notify_all()

    def push_occupancy(self, zones: Sequence[ZoneOccupancy], at: datetime | None = None) -> None:
        """Offer the latest occupancy. Only the newest snapshot is kept and sent."""
        body = {
            "booth_id": self._booth_id,
            "observed_at": p.utc_text(at or self._clock.now()),
            "zones": [{"zone": z.zone, "name": z.name, "capacity": z.capacity, "occupied": z.occupied} for z in zones],
        }
        with self._cv:
            self._occupancy = body
            self._woken = True
            self._cv.notify_all()

    def flush(self, timeout: float) -> bool:
        """Wait until every event committed before this call is acknowledged by the
        cloud. True when done, False when `timeout` (seconds) ran out or sync is not
        running. Blocks: call it from a worker, not the UI thread."""
        limit = self._max_unsent_id()
        if limit is None:
            return True
        deadline = time.monotonic() + timeout
        with self._cv:
            if self._thread is None:
                return False
            target = self._passes_started + 1
            self._woken = True
            self._cv.notify_all()
        while True:
            with self._cv:
                while self._passes_done < target:
                    left = deadline - time.monotonic()
                    if left <= 0 or self._thread is None:
                        return False
                    self._cv.wait(left)
                target = self._passes_started + 1
            if self._unsent_up_to(limit) == 0:
                return True
            if self._drained_elsewhere:  # another booth is sending them: give it time
                time.sleep(max(0.0, min(_ELSEWHERE_RECHECK_S, deadline - time.monotonic())))
            with self._cv:
                self._woken = True
                self._cv.notify_all()

    # -- status --------------------------------------------------------------------------
    def _set(self, **changes: Any) -> None:
        with self._cv:
            new = replace(self._status, **changes)
            if new == self._status:
                return
            self._status = new
            listeners = list(self._listeners)
        snapshot = self.status()
        for listener in listeners:
            try:
                listener(snapshot)
            except Exception:  # a broken listener must not stop the sync
                log.exception("sync status listener failed")

    def _fail(self, message: str, **changes: Any) -> None:
        log.warning("cloud sync: %s", message)
        self._set(last_error=message, last_error_at=self._clock.now(), **changes)

    # -- the thread ----------------------------------------------------------------------
    def _run(self) -> None:
        try:
            self._refresh_backlog(force=True)
            self._load_versions()
        except StoreError as exc:
            self._fail(str(exc))
        if not self._config.url:
            self._set(state="not configured")
        try:
            while not self._stopped():
                delay, interruptible = self._cycle()
                self._sleep(delay, interruptible)
        finally:
            if self._client is not None:
                self._client.close()
                self._client = None

    def _stopped(self) -> bool:
        with self._cv:
            return self._stopping

    def _sleep(self, seconds: float, interruptible: bool) -> None:
        """Wait `seconds`; a wake() ends the wait early unless it is a backoff wait."""
        deadline = time.monotonic() + seconds
        with self._cv:
            while not self._stopping:
                if self._forced or (interruptible and self._woken):
                    self._forced = False
                    return
                left = deadline - time.monotonic()
                if left <= 0:
                    return
                self._cv.wait(left)

    def _ensure_client(self) -> CloudClient | None:
        if self._client is None:
            try:
                t = self._tuning
                self._client = CloudClient(
                    self._config.url,
                    self._site_id,
                    ca_bundle=self._config.ca_bundle,
                    connect_timeout=t.connect_timeout,
                    read_timeout=t.read_timeout,
                )
            except CloudConfigError as exc:
                # The settings cannot change while running: report once, not every cycle.
                self._setup_error = str(exc)
                self._fail(str(exc), state="error", online=False)
                return None
        return self._client

    def _cycle(self) -> tuple[float, bool]:
        """One round of work. Returns how long to wait and whether wake() may cut it short."""
        with self._cv:
            self._woken = False
        try:
            return self._work()
        except AuthError as exc:
            if self._discover_site:
                self._site_id = ""  # a new token may belong to another site: ask again
            delay = self._backoff.give_up_delay()
            self._fail(str(exc), state="refused", online=True, retry_in=delay)
        except CloudError as exc:
            if exc.retryable:
                delay = self._backoff.next_delay(exc.retry_after)
                self._fail(str(exc), state="offline", online=False, retry_in=delay)
            else:
                # A refusal that retrying will not fix soon (an incompatible server): wait long.
                delay = max(exc.retry_after or 0.0, self._backoff.give_up_delay())
                self._fail(str(exc), state="error", online=True, retry_in=delay)
        except StoreError as exc:
            delay = self._backoff.next_delay()
            self._fail(f"database: {exc}", retry_in=delay)
        except Exception as exc:  # never let the sync thread die
            log.exception("cloud sync failed unexpectedly")
            delay = self._backoff.next_delay()
            self._fail(f"unexpected error: {exc}", retry_in=delay)
        return delay, False

    def _work(self) -> tuple[float, bool]:
        idle = self._tuning.poll_interval
        if not self._config.url or self._setup_error:
            self._refresh_backlog(force=True)
            return idle, True
        client = self._ensure_client()
        if client is None:
            return idle, True
        token = self._token_provider()
        if not token:
            self._set(state="no token", online=False, retry_in=None)
            self._refresh_backlog(force=True)
            return idle, True
        client.set_token(token)
        if not self._site_id:
            self._site_id = self._whoami(client)
        client.site_id = self._site_id
        self._send_occupancy(client)
        self._send_tariff_versions(client)
        self._push_pass(client)
        self._prune_sent()
        self._pull(client)
        self._backoff.reset()
        self._set(state="online", online=True, retry_in=None, last_success_at=self._clock.now())
        return self._idle_wait(), True

    def _prune_sent(self) -> None:
        """Delete long-acknowledged events, so the outbox does not grow for ever."""
        now = time.monotonic()
        if self._pruned_at is not None and now - self._pruned_at < self._tuning.prune_interval:
            return
        self._pruned_at = now
        cutoff = self._clock.now() - timedelta(seconds=self._tuning.sent_retention)
        total, batch = 0, 5000  # short transactions: the lanes write in between
        while True:
            with self._store.write() as s:
                pruned = outbox.prune_sent(s, sent_before=cutoff, limit=batch)
            total += pruned
            if pruned < batch:
                break
        if total:
            log.info("cloud sync: %d acknowledged event(s) older than %s deleted from the outbox", total, cutoff)

    def _whoami(self, client: CloudClient) -> str:
        site_id = client.whoami().get("site_id")
        if not isinstance(site_id, str) or not re.match(p.SITE_ID_PATTERN, site_id):
            raise CloudError(_("the cloud named no usable site for this token ({site_id!r})").format(site_id=site_id), retryable=False)
        self._set(site_id=site_id)
        return site_id

    def _idle_wait(self) -> float:
        now = time.monotonic()
        with self._cv:
            waits = [self._tuning.poll_interval, self._next_config_pull - now, self._next_remote_pull - now]
            if self._drained_elsewhere:
                waits.append(_ELSEWHERE_RECHECK_S)
            if self._occupancy is not None:
                waits.append(self._occupancy_next - now)
        return max(0.0, min(waits))

    # -- tariff versions -------------------------------------------------------------------
    def _send_tariff_versions(self, client: CloudClient) -> None:
        """Send the booth's tariff versions when the set changed since the last send
        (the cloud quotes drivers with them)."""
        if self._tariff_versions is None:
            return
        versions = self._tariff_versions()
        ids = tuple(sorted(tid for tid, _text in versions))
        if not versions or ids == self._tariffs_sent:
            return
        client.put_tariff_versions(versions)
        self._tariffs_sent = ids

    # -- occupancy -------------------------------------------------------------------------
    def _send_occupancy(self, client: CloudClient) -> None:
        with self._cv:
            body = self._occupancy
            if body is None or time.monotonic() < self._occupancy_next:
                return
        client.put_occupancy(body)
        with self._cv:
            if self._occupancy is body:  # a newer snapshot may have come meanwhile
                self._occupancy = None
            self._occupancy_next = time.monotonic() + self._tuning.occupancy_interval
        now = self._clock.now()
        self._set(occupancy_sent_at=now, last_success_at=now, online=True, state="online")

    # -- outbox ------------------------------------------------------------------------------
    def _push_pass(self, client: CloudClient) -> None:
        """Send every unsent event, unless another booth of a shared database is sending
        them (`outbox_drain_turn`)."""
        with self._cv:
            self._passes_started += 1
        try:
            with outbox_drain_turn(self._store.engine) as mine:
                if not mine:
                    # Another booth is sending the shared outbox, this booth's events
                    # with it; look again soon, in case it finished just before them.
                    self._drained_elsewhere = True
                    return
                self._drained_elsewhere = False
                self._drain(client)
        finally:
            self._refresh_backlog(force=True)
            with self._cv:
                self._passes_done += 1
                self._cv.notify_all()

    def _drain(self, client: CloudClient) -> None:
        """Send the unsent events, one page at a time, oldest first."""
        after: str | None = None
        while not self._stopped():
            self._send_occupancy(client)  # a long drain must not delay occupancy
            with self._store.read() as s:
                page = outbox.unsent_page(s, self._batch_size, after)
            events, broken = page.events, page.broken
            if broken:
                self._fail(f"{len(broken)} outbox event(s) have an unreadable payload and cannot be sent (first {broken[0]})")
            last_id = page.last_id
            if last_id is None:
                break
            if events:
                try:
                    ack = client.post_events(self._booth_id, self._clock.now(), events)
                except TooLarge:
                    if self._batch_size > 1:
                        self._batch_size = max(1, self._batch_size // 2)
                        log.info("cloud sync: batch size lowered to %d", self._batch_size)
                        continue
                    self._fail(f"the cloud refuses event {events[0].id} as too large; it stays in the outbox")
                    after = last_id
                    continue
                self._settle(events, ack)
            after = last_id
            if len(page) < self._batch_size:
                break

    def _settle(self, events: list[outbox.OutboxEvent], ack: Ack) -> None:
        sent_ids = [e.id for e in events if e.id in ack.acknowledged]
        rejected_ids = [rid for rid, _ in ack.rejected if rid not in ack.acknowledged]
        reasons = dict(ack.rejected)
        with self._store.write() as s:
            outbox.mark_sent(s, sent_ids, self._clock.now())
            # Refused for itself, an event would be refused again: it is parked for the
            # manager (`booth cloud refused`) and the events after it go on.
            outbox.park(s, [(rid, reasons[rid]) for rid in rejected_ids], self._clock.now())
        with self._cv:
            status = self._status
        self._set(
            sent=status.sent + len(sent_ids),
            duplicates=status.duplicates + ack.duplicates,
            rejected=status.rejected + len(rejected_ids),
            online=True,
            state="online",
            last_success_at=self._clock.now(),
        )
        if ack.rejected:
            rid, why = ack.rejected[0]
            log.warning("the cloud refused %d event(s), parked for the manager (first %s: %s)", len(ack.rejected), rid, why)
            self._set(last_error=_("the cloud refused {count} event(s); parked for the manager (first {id}: {why})").format(
                count=len(ack.rejected), id=rid, why=why), last_error_at=self._clock.now())
        self._refresh_backlog()

    def _refresh_backlog(self, force: bool = False) -> None:
        now = time.monotonic()
        if not force and now - self._backlog_checked < self._tuning.backlog_refresh:
            return
        self._backlog_checked = now
        with self._store.read() as s:
            count, oldest = outbox.backlog(s)
            parked = outbox.refused_count(s)
        self._set(backlog=count, oldest_unsent_at=oldest, refused=parked)

    def _max_unsent_id(self) -> str | None:
        with self._store.read() as s:
            return outbox.newest_unsent_id(s)

    def _unsent_up_to(self, limit: str) -> int:
        with self._store.read() as s:
            return outbox.unsent_up_to(s, limit)

    # -- pull ---------------------------------------------------------------------------------
    def _load_versions(self) -> None:
        states = read_states(self._store)
        self._set(
            tariff_version=states["tariff"].version if "tariff" in states else None,
            members_version=states["members"].version if "members" in states else None,
            accounts_version=states["accounts"].version if "accounts" in states else None,
        )

    def _pull(self, client: CloudClient) -> None:
        now = time.monotonic()
        with self._cv:
            config_due = now >= self._next_config_pull
            remote_due = now >= self._next_remote_pull
        if not (config_due or remote_due):
            return
        states = read_states(self._store)
        if config_due:
            for kind in p.DOCUMENT_KINDS:
                state = states.get(kind)
                fetched = client.get_document(kind, state.etag if state else None)
                if fetched.outcome != "changed":
                    continue
                self._report(self._apply(kind, fetched.body, fetched.etag))
            with self._cv:
                self._next_config_pull = time.monotonic() + self._tuning.config_interval
        if remote_due:
            state = states.get(REMOTE_PAYMENTS)
            cursor = state.cursor if state else None
            for _ in range(1000):  # bounded: a misbehaving server cannot keep us here
                page = client.get_remote_payments(cursor)
                apply_remote_payments(self._store, page, self._clock.now())
                if page.cursor is None or page.cursor == cursor or not page.more:
                    break
                cursor = page.cursor
            # The cloud's commands (a fault closed there) come with the remote payments.
            state = states.get(COMMANDS)
            cursor = state.cursor if state else None
            for _ in range(100):
                commands = client.get_commands(cursor)
                charging = [c for c in commands.commands if c.kind in CHARGING_COMMANDS]
                if charging and self.on_charging_commands is not None:
                    # Carried out before the cursor moves: a crash in between repeats them,
                    # and the charging service knows a start it has made already.
                    self.on_charging_commands(charging)
                    self.wake()  # their answers are in the outbox now
                closed = apply_commands(self._store, commands, self._clock.now())
                if closed:
                    self.wake()  # their maintenance_closed events are in the outbox now
                    if self._on_commands is not None:
                        self._on_commands(closed)
                if commands.cursor is None or commands.cursor == cursor or not commands.more:
                    break
                cursor = commands.cursor
            with self._cv:
                interval = self._tuning.remote_payment_interval
                if self._exit_waiting:
                    interval = min(interval, self._tuning.remote_payment_waiting_interval)
                self._next_remote_pull = time.monotonic() + interval
        self._set(last_pull_at=self._clock.now())

    def _apply(self, kind: str, body: dict[str, Any], etag: str | None) -> Applied:
        now = self._clock.now()
        if kind == "tariff":
            return apply_tariff(self._store, body, etag, now, self._validate)
        if kind == "members":
            return apply_members(self._store, body, etag, now)
        return apply_accounts(self._store, body, etag, now)

    def _report(self, applied: Applied) -> None:
        if applied.outcome == "refused":
            version = f" {applied.version}" if applied.version else ""
            self._fail(f"{applied.kind}{version} from the cloud refused, the previous one stays in force: {applied.error}", config_error=f"{applied.kind}: {applied.error}")
            self.wake()
            return
        if applied.outcome == "applied":
            self._set(**{f"{applied.kind}_version": applied.version, "config_error": None})
            self.wake()  # its config.applied event is in the outbox now

