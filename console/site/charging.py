"""The charging piles at work: driver events -> domain rules -> store -> site events.

One worker thread handles the e-bike piles' readings (so a driver thread never waits for
the database); OCPP calls are answered from the central system's worker threads. Both go
through one lock, so a port's running session sees its readings in order.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from dataclasses import dataclass, field
from datetime import datetime, tzinfo
from typing import Any, Callable
from urllib.parse import parse_qsl, urlsplit

from console.domain.charging import (
    ChargingError,
    CurrentLimits,
    FaultCode,
    PayMode,
    PortWatch,
    Preset,
    PresetKind,
    PricePlan,
    add_line,
    assess_current,
    check_meter,
    cutoff_reason,
    local_time_of,
    prepaid_hold,
    price_interval,
    session_fee,
)
from console.domain.clock import Clock
from console.domain.money import Money
from console.i18n import _
from console.site.bus import Level
from console.site.charging_config import ChargingSection
from console.site.events import (
    ChargerFault,
    DeviceHealthChanged,
    MaintenanceClosed,
    PortView,
    SessionChanged,
    SessionClosed,
    SiteEvent,
)
from console.store import charging as records
from console.store.charging import (
    AccountView,
    CardView,
    FaultRecord,
    NewSession,
    SessionRecord,
    Settlement,
    UsageRow,
)
from console.store.charging_cards import AccountUsage
from console.store.database import Store, StoreError
from drivers.charger import (
    EPileDriver,
    EPileEvent,
    PlugChanged,
    PortsReported,
    PortStatus,
    PowerDone,
    open_epile,
)
from drivers.health import DeviceHealth

log = logging.getLogger(__name__)


# -- running state -----------------------------------------------------------------------------


@dataclass(slots=True)
class _Running:
    record: SessionRecord
    plan: PricePlan
    limit_minor: int | None  # prepaid hold or postpaid credit left; None: no limit
    last_at: datetime
    last_meter: int | None
    elapsed_s: int = 0
    energy_wh: int = 0
    lines: dict[str, int] = field(default_factory=dict)
    fee_minor: int = 0
    powered: bool = False  # the pile confirmed power on / the charger started
    saved_at: datetime | None = None
    current_ma: int = 0


@dataclass(slots=True)
class _Port:
    pile_id: str
    port: int
    kind: str
    region: str
    franchise: str
    plan_id: str
    limits: CurrentLimits
    max_power_w: int
    online: bool = False
    plugged: bool = False
    powered: bool = False
    current_ma: int = 0
    meter_wh: int | None = None
    watch: PortWatch = field(default_factory=PortWatch)
    running: _Running | None = None
    fault: str = ""


@dataclass(frozen=True, slots=True)
class _PortDue:
    """A port of a pile has a reading waiting in `_pending`."""

    key: tuple[str, int]


@dataclass(frozen=True, slots=True)
class _RosterDue:
    """A pile's list of reporting ports is waiting in `_rosters`."""

    pile: str


_Item = tuple[EPileEvent, float] | _PortDue | _RosterDue


QR_PREFIX = "booth-charge:"


def parse_qr(text: str) -> dict[str, str]:
    """A charging QR code: `booth-charge:?user=U&pile=P&port=N[&preset=energy:1000][&mode=prepaid]`."""
    text = text.strip()
    if not text.startswith(QR_PREFIX):
        raise ChargingError(_("not a charging QR code"))
    fields = dict(parse_qsl(urlsplit(text[len(QR_PREFIX):]).query))
    for key in ("user", "pile", "port"):
        if not fields.get(key):
            raise ChargingError(_("the QR code has no {key}").format(key=key))
    return fields


def parse_preset(text: str | None) -> Preset | None:
    """`energy:1500` (Wh), `time:3600` (s), `amount:500` (minor units); empty: none."""
    if not text:
        return None
    kind, _colon, value = text.partition(":")
    try:
        return Preset(PresetKind(kind), int(value))
    except ValueError:
        raise ChargingError(_("bad preset {text!r}: use energy:<Wh>, time:<s> or amount:<minor units>").format(text=text)) from None


class ChargingService:
    """Sessions, money and faults of every pile of the site."""

    def __init__(
        self,
        store: Store,
        section: ChargingSection,
        tz: tzinfo,
        currency: str,
        clock: Clock,
        *,
        report: Callable[[Level, str], None],
        publish: Callable[[SiteEvent], None],
    ) -> None:
        self.section = section
        self.tz = tz
        self.currency = currency
        self.clock = clock
        self.store = store
        self._report = report
        from console.site.charging_phone import PhoneCharging

        self.phone = PhoneCharging(self)
        self._publish = self.phone.follow(publish)
        self._lock = threading.RLock()
        # The worker's queue holds order-sensitive events (plug, power) as they come, and
        # for port readings only a marker: the reading itself waits in `_pending`, where a
        # newer reading of the same port replaces it. A burst of readings therefore cannot
        # pile up in front of a fault: each port has at most one reading waiting.
        self._queue: queue.Queue[_Item | None] = queue.Queue()
        self._pending_lock = threading.Lock()
        self._pending: dict[tuple[str, int], tuple[PortStatus, float]] = {}
        self._rosters: dict[str, frozenset[int]] = {}
        self._worker: threading.Thread | None = None
        self.plans: dict[str, PricePlan] = {p.id: p.build(currency) for p in section.plans}
        self.drivers: dict[str, EPileDriver] = {}
        self.central: Any = None
        self._ports: dict[tuple[str, int], _Port] = {}
        self._unknown_ports: set[tuple[str, int]] = set()
        self._piles: dict[str, Any] = {}
        for pile in section.epiles:
            self._piles[pile.id] = pile
            model = section.model(pile.model)
            for n in range(1, pile.ports + 1):
                self._ports[(pile.id, n)] = _Port(pile.id, n, "epile", pile.region, pile.franchise, pile.plan, model.limits(), model.max_power_w)
        for charger in section.chargers:
            self._piles[charger.id] = charger
            model = section.model(charger.model)
            for n in range(1, charger.connectors + 1):
                self._ports[(charger.id, n)] = _Port(charger.id, n, "ocpp", charger.region, charger.franchise, charger.plan, model.limits(), model.max_power_w)

    # -- life cycle -------------------------------------------------------------------------------
    def seed(self) -> int:
        """Create the site file's accounts and cards that do not exist yet (start does)."""
        return self.store.apply(
            records.seed,
            [dict(id=a.id, name=a.name, kind=a.kind, currency=self.currency, balance_minor=a.balance, credit_limit_minor=a.credit_limit) for a in self.section.accounts],
            [dict(card_id=c.card_id, account_id=c.account, kind=c.kind, piles=",".join(c.piles)) for c in self.section.cards],
            self.clock.now(),
        )

    def start(self) -> None:
        """Seed accounts and cards, resume open sessions, start the drivers and the server."""
        self.seed()
        now = self.clock.now()
        self._resume(now)
        self._worker = threading.Thread(target=self._work, name="charging", daemon=True)
        self._worker.start()
        for pile in self.section.epiles:
            try:
                driver = open_epile(pile.id, pile.url, address=pile.address, poll_interval=pile.poll_s, ports=pile.ports)
            except ValueError as exc:  # a sim:// option it does not know: that pile stays off
                self._report("error", _("pile {id}: {exc}").format(id=pile.id, exc=exc))
                continue
            self.drivers[pile.id] = driver
            driver.start(self._on_epile, self._on_health)
        if self.section.ocpp.enabled:
            from drivers.charger import open_ocpp_central

            self.central = open_ocpp_central(self, self.section.ocpp.host, self.section.ocpp.port, heartbeat_interval=self.section.ocpp.heartbeat_s)
            try:
                self.central.start(self._on_health)
            except OSError as exc:
                self._report("error", str(exc))
                self.central = None

    def stop(self) -> None:
        """Stop drivers, server and worker. Open sessions stay open and resume on start."""
        for driver in self.drivers.values():
            driver.stop()
        if self.central is not None:
            self.central.stop()
        self._queue.put(None)
        if self._worker is not None:
            self._worker.join(timeout=5)
            self._worker = None
        with self._lock:
            now = self.clock.now()
            for p in self._ports.values():
                if p.running is not None:
                    self._save(p, now)

    def _resume(self, now: datetime) -> None:
        resumed = self.store.query(records.open_sessions)
        self.phone.resume([rec.id for rec in resumed])
        for rec in resumed:
            port = self._ports.get((rec.pile_id, rec.port))
            plan = self.plans.get(rec.plan_id)
            if port is None or plan is None:
                self._report("warning", _("open charging session {id} on {pile_id}/{port} has no configured pile or plan").format(id=rec.id, pile_id=rec.pile_id, port=rec.port))
                continue
            port.running = _Running(rec, plan, self._limit(rec), rec.started_at, rec.last_meter_wh, rec.seconds, rec.energy_wh,
                                    dict(rec.lines), rec.fee_minor, powered=True)
            port.meter_wh = rec.last_meter_wh

    def _limit(self, rec: SessionRecord) -> int | None:
        # A prepaid preset is bounded by its hold (priced at the highest rate, and the bill
        # is capped at it), so only postpaid credit needs a limit of its own.
        if rec.mode == PayMode.PREPAID.value:
            return None
        return self.store.query(records.credit_left, rec.account_id)

    # -- commands -----------------------------------------------------------------------------------
    def start_session(self, *, pile_id: str, port: int, card_id: str | None = None, user_id: str | None = None,
                      preset: Preset | None = None, mode: PayMode | None = None, source: str = "card") -> SessionRecord:
        """Start charging for a card or a user (QR). Raises ChargingError with a message
        for the attendant; nothing is recorded then."""
        with self._lock:
            key = (pile_id, port)
            p = self._ports.get(key)
            if p is None:
                raise ChargingError(_("no pile {pile_id} port {port}").format(pile_id=pile_id, port=port), cause="pile")
            if p.running is not None:
                raise ChargingError(_("{pile_id} port {port} is already charging").format(pile_id=pile_id, port=port), cause="pile")
            account_id, card = self._who(card_id, user_id, pile_id)
            if p.kind == "epile":
                if not p.online:
                    raise ChargingError(_("pile {pile_id} is offline").format(pile_id=pile_id), cause="pile")
                if not p.plugged:
                    raise ChargingError(_("nothing is plugged into {pile_id} port {port}").format(pile_id=pile_id, port=port), cause="pile")
            elif self.central is None or pile_id not in self.central.connected():
                raise ChargingError(_("charger {pile_id} is not connected").format(pile_id=pile_id), cause="pile")
            acc = self.store.query(records.account, account_id)
            assert acc is not None
            landlord = card is not None and card.kind == "landlord"
            mode = PayMode.POSTPAID if landlord else (mode or PayMode(self.section.default_mode))
            plan = self.plans[p.plan_id]
            hold = prepaid_hold(plan, preset) if mode is PayMode.PREPAID and preset is not None else Money.zero(self.currency)
            if mode is PayMode.PREPAID and preset is None:
                raise ChargingError(_("a prepaid session needs a preset (energy, time or amount)"))
            now = self.clock.now()
            rec = self.store.apply(records.open_session, NewSession(
                pile_id, port, p.kind, p.region, p.franchise, account_id, card_id, source, mode, preset, plan.id, hold,
                now.astimezone(self.tz).hour, p.meter_wh,
            ), now)
            p.running = _Running(rec, plan, self._limit(rec) if not landlord else None, now, p.meter_wh)
            p.running.saved_at = now
        if p.kind == "epile":
            self.drivers[pile_id].set_power(port, True)
        else:
            future = self.central.remote_start(pile_id, port, card_id or f"user:{account_id}")
            future.add_done_callback(lambda f, sid=rec.id, src=source: self._remote_started(sid, src, f))
        self._publish(SessionChanged(self._view(p)))
        return rec

    def scan_qr(self, text: str) -> SessionRecord:
        """Start a session from a user's QR code; a failure caused by the pile raises fault 3."""
        fields = parse_qr(text)
        try:
            port = int(fields["port"])
        except ValueError:
            raise ChargingError(_("the QR code's port is not a number")) from None
        preset = parse_preset(fields.get("preset"))
        mode = PayMode(fields["mode"]) if fields.get("mode") in ("prepaid", "postpaid") else None
        try:
            return self.start_session(pile_id=fields["pile"], port=port, user_id=fields["user"], preset=preset, mode=mode, source="qr")
        except ChargingError as exc:
            if exc.cause == "pile" and fields["pile"] in self._piles:
                self._fault(fields["pile"], port, FaultCode.QR_START_FAILED.value, f"QR start failed: {exc}")
            raise

    def stop_session(self, session_id: str, reason: str = "stopped by the user") -> Settlement:
        """Cut power and settle now."""
        with self._lock:
            p = next((x for x in self._ports.values() if x.running and x.running.record.id == session_id), None)
            if p is None:
                rec = self.store.query(records.session, session_id)
                if rec is None:
                    raise ChargingError(_("unknown session {session_id}").format(session_id=session_id))
                return self.store.apply(records.close_session, session_id, at=self.clock.now(), reason=reason, bill=Money(rec.bill_minor or 0, rec.currency),
                                                  energy_wh=rec.energy_wh, seconds=rec.seconds, lines=rec.lines, meter_wh=rec.last_meter_wh)
            return self._cut(p, reason)

    def close_maintenance(self, fault_id: str, note: str, actor: str) -> None:
        """Close a fault's maintenance record with a note saying what was done; the port
        then shows its next open fault, if any. Raises ChargingError (nothing closed) when
        the note is missing or the database cannot be written."""
        try:
            self.store.apply(records.close_maintenance, fault_id, note, self.clock.now(), actor)
        except StoreError as exc:
            raise ChargingError(_("maintenance record NOT closed: {why}").format(why=_(str(exc)))) from None
        self._faults_closed([fault_id], actor)

    def faults_closed_elsewhere(self, fault_ids: list[str]) -> None:
        """Maintenance records the cloud closed (already committed by the sync): the
        ports show their next open fault, if any."""
        try:
            self._faults_closed(fault_ids, "cloud")
        except StoreError as exc:
            self._report("error", _("charging: faults closed in the cloud not shown yet ({exc})").format(exc=exc))

    def _faults_closed(self, fault_ids: list[str], actor: str) -> None:
        still_open = self.store.query(records.faults, open_only=True)
        changed: list[PortView] = []
        with self._lock:
            for p in self._ports.values():
                if p.fault:
                    mine = [f for f in still_open if f.pile_id == p.pile_id and f.port == p.port]
                    fault = f"fault {mine[0].code}: {mine[0].detail}" if mine else ""
                    if fault != p.fault:
                        p.fault = fault
                        changed.append(self._view(p))
        for view in changed:
            self._publish(SessionChanged(view))
        for fault_id in fault_ids:
            self._publish(MaintenanceClosed(fault_id, actor))

    def block_card(self, card_id: str, actor: str, reason: str) -> None:
        self.store.apply(records.block_card, card_id, self.clock.now(), actor, reason)
        self._push_local_lists()

    def top_up(self, account_id: str, amount: Money, actor: str) -> Money:
        return self.store.apply(records.top_up, account_id, amount, self.clock.now(), actor)

    def bind_card(self, qr_text: str, account_id: str, actor: str, pin: str | None = None) -> CardView:
        """Bind the card whose QR text this is to an account (audited), with its PIN when
        given; the chargers get the new card in their local list."""
        from console.domain.charging_cards import card_from_qr, check_card_pin
        from console.store.charging_cards import bind_card, hash_secret

        card_id = card_from_qr(qr_text)
        pin_hash = hash_secret(check_card_pin(pin)) if pin is not None else None
        bound = self.store.apply(bind_card, card_id, account_id, self.clock.now(), actor, pin_hash)
        self._push_local_lists()
        return bound

    def has_pin(self, card_id: str) -> bool:
        """Has the card a PIN (a phone can then start it by number and PIN)?"""
        from console.store.charging_cards import has_pin

        return bool(self.store.query(has_pin, card_id))

    def set_pin(self, card_id: str, pin: str, actor: str) -> None:
        """Give a card its PIN or a new one (audited; only its hash is kept)."""
        from console.domain.charging_cards import check_card_pin
        from console.store.charging_cards import hash_secret, set_pin

        self.store.apply(set_pin, card_id, hash_secret(check_card_pin(pin)), self.clock.now(), actor)

    def issue_bind_code(self, qr_text: str, account_id: str, actor: str, hours: int = 72) -> tuple[str, datetime]:
        """A one-time code to print for the holder of a new card, who binds it to
        `account_id` from the cloud. Returns the code (shown once) and its expiry."""
        from console.domain.charging_cards import card_from_qr
        from console.store.charging_cards import hash_secret, issue_bind_code, new_bind_code

        code = new_bind_code()
        expires = self.store.apply(issue_bind_code, card_from_qr(qr_text), account_id, hash_secret(code), self.clock.now(), actor, hours=hours)
        return code, expires

    def bind_by_code(self, card_id: str, actor: str) -> CardView:
        """Bind a new card to the account of its printed code (the cloud checked the code)."""
        from console.store.charging_cards import bind_by_code

        bound = self.store.apply(bind_by_code, card_id, self.clock.now(), actor)
        self._push_local_lists()
        return bound

    def claim_card(self, card_id: str, actor: str) -> CardView:
        """A person of the cloud proved with its PIN that a card is theirs (audited)."""
        from console.store.charging_cards import claim_card

        return self.store.apply(claim_card, card_id, self.clock.now(), actor)

    def pay_owed(self, account_id: str, amount: Money, actor: str) -> Money:
        """Record a payment of what a postpaid account owes; returns what it still owes."""
        from console.store.charging_cards import pay_owed

        return self.store.apply(pay_owed, account_id, amount, self.clock.now(), actor)

    def authorize_piles(self, card_id: str, piles: list[str], actor: str, *, remove: bool = False) -> CardView:
        """Piles a landlord's card authorizes, added or taken away (audited)."""
        from console.store.charging_cards import authorize_piles

        unknown = [p for p in piles if p not in self._piles]
        if unknown and not remove:
            raise ChargingError(_("no pile {piles} on this site").format(piles=", ".join(unknown)))
        return self.store.apply(authorize_piles, card_id, piles, self.clock.now(), actor, remove=remove)

    def account_usage(self, card_id: str) -> AccountUsage:
        """The account of a card as its holder may see it: balance, owed, cards, sessions."""
        from console.store.charging_cards import account_of_card, account_usage

        return self.store.query(account_usage, self.store.query(account_of_card, card_id))

    def phone_commands(self, commands: list[Any]) -> None:
        """Starts and stops asked from phones, pulled from the cloud (sync thread)."""
        self.phone.carry_out(commands)

    def knows_pile(self, pile_id: str) -> bool:
        return pile_id in self._piles

    def modes_of(self, pile_id: str) -> tuple[str, ...]:
        """The pay modes a pile takes (its `modes` in the site file)."""
        pile = self._piles.get(pile_id)
        return tuple(getattr(pile, "modes", ("prepaid", "postpaid")))

    def raise_fault(self, pile_id: str, port: int | None, code: str, detail: str) -> FaultRecord | None:
        """Record a fault (no duplicate while the same one is open) and show it."""
        return self._fault(pile_id, port, code, detail)

    # -- read models --------------------------------------------------------------------------------
    def ports(self) -> list[PortView]:
        with self._lock:
            return [self._view(p) for p in self._ports.values()]

    def account(self, account_id: str) -> AccountView | None:
        """A charging account with its balance and what it owes."""
        return self.store.query(records.account, account_id)

    def session(self, session_id: str) -> SessionRecord | None:
        """A charging session as stored (open or closed)."""
        return self.store.query(records.session, session_id)

    def ledger(self, account_id: str) -> list[tuple[str, int, str | None]]:
        """An account's money movements: (kind, amount_minor, session id), oldest first."""
        return self.store.query(records.ledger, account_id)

    def anomalies(self, kind: str | None = None) -> list[tuple[str, int | None, str, str]]:
        """Refused bad input from the piles: (pile, port, kind, detail)."""
        return self.store.query(records.anomalies, kind)

    def faults(self, open_only: bool = False) -> list[FaultRecord]:
        return self.store.query(records.faults, open_only=open_only)

    def usage(self, by: str, **kw: Any) -> list[UsageRow]:
        return self.store.query(records.usage, by, **kw)

    def usage_by_hour(self, **kw: Any) -> list[int]:
        """Energy by the site's local hour of day, spread over the hours sessions ran."""
        return self.store.query(records.usage_by_hour, tz=self.tz, **kw)

    def landlord_usage(self, card_id: str) -> list[UsageRow]:
        """What a landlord's privilege card may see: usage of the piles it authorizes."""
        card = self.store.query(records.card, card_id)
        if card is None or card.kind != "landlord":
            raise ChargingError(_("only a landlord card sees pile usage"))
        return self.store.query(records.usage, "pile", piles=card.piles)

    def _view(self, p: _Port) -> PortView:
        r = p.running
        if r is None:
            return PortView(p.pile_id, p.port, p.kind, p.region, p.franchise, p.online, p.plugged, p.powered, p.current_ma, fault=p.fault)
        return PortView(p.pile_id, p.port, p.kind, p.region, p.franchise, p.online, p.plugged, p.powered, p.current_ma, r.record.id,
                        r.record.account_id, r.energy_wh, r.elapsed_s, Money(r.fee_minor, self.currency), r.record.preset, p.fault)

    # -- who is charging ------------------------------------------------------------------------------
    def _who(self, card_id: str | None, user_id: str | None, pile_id: str) -> tuple[str, Any]:
        if card_id:
            card = self.store.query(records.card, card_id)
            if card is None:
                raise ChargingError(_("unknown card {card_id}").format(card_id=card_id))
            if card.state != "active":
                raise ChargingError(_("card {card_id} is blocked").format(card_id=card_id))
            if card.kind == "landlord" and pile_id not in card.piles:
                raise ChargingError(_("landlord card {card_id} does not authorize pile {pile_id}").format(card_id=card_id, pile_id=pile_id))
            return card.account_id, card
        if user_id:
            if self.store.query(records.account, user_id) is None:
                raise ChargingError(_("unknown user {user_id}").format(user_id=user_id))
            return user_id, None
        raise ChargingError(_("a session needs a card or a user"))

    # -- e-bike piles ----------------------------------------------------------------------------------
    def _on_epile(self, event: EPileEvent) -> None:
        """Driver thread: hand the event to the worker without waiting for the database."""
        received = time.perf_counter()
        if not isinstance(event, PortsReported):
            self._queue.put((event, received))
            return
        due: list[_Item] = []
        with self._pending_lock:
            for st in event.ports:
                key = (event.pile, st.port)
                waiting = self._pending.get(key)
                # Keep the newest values but the oldest arrival time: the latency figure of a
                # fault then counts from the first reading that was waiting, never less.
                self._pending[key] = (st, waiting[1] if waiting is not None else received)
                if waiting is None:
                    due.append(_PortDue(key))
            if event.pile not in self._rosters:
                due.append(_RosterDue(event.pile))
            self._rosters[event.pile] = frozenset(st.port for st in event.ports)
        for item in due:
            self._queue.put(item)

    def backlog(self) -> int:
        """How many items wait for the worker (readings of a port count once)."""
        return self._queue.qsize()

    def _on_health(self, health: DeviceHealth) -> None:
        pile_id = health.device.removeprefix("pile ")
        with self._lock:
            for p in self._ports.values():
                if p.pile_id == pile_id and p.kind == "epile":
                    p.online = health.state.value in ("ok", "degraded")
        self._publish(DeviceHealthChanged(health))

    def _work(self) -> None:
        while True:
            item = self._queue.get()
            if item is None:
                return
            try:
                if isinstance(item, _PortDue):
                    with self._pending_lock:
                        st, received = self._pending.pop(item.key)
                    with self._lock:
                        self._port_reading(item.key[0], st, received)
                elif isinstance(item, _RosterDue):
                    with self._pending_lock:
                        roster = self._rosters.pop(item.pile)
                    with self._lock:
                        # A port that stopped reporting is recorded again if it comes back.
                        self._unknown_ports -= {k for k in self._unknown_ports if k[0] == item.pile and k[1] not in roster}
                else:
                    event, received = item
                    with self._lock:
                        self._handle(event, received)
            except Exception:  # a bad event must not stop charging supervision
                log.exception("charging event failed: %r", item)

    def _port_reading(self, pile_id: str, st: PortStatus, received: float) -> None:
        now = self.clock.now()
        key = (pile_id, st.port)
        p = self._ports.get(key)
        if p is None:
            if key not in self._unknown_ports:
                self._unknown_ports.add(key)
                self.store.apply(records.record_anomaly, pile_id=pile_id, port=st.port, kind="unknown_port",
                                            detail=f"reading from port {st.port}, which is not configured (removed?); ignored", at=now)
            return
        p.online = True
        self._reading(p, now, st.powered, st.plugged, st.current_ma, st.energy_wh, received)

    def _handle(self, event: EPileEvent, received: float) -> None:
        if isinstance(event, PortsReported):  # readings normally arrive split per port
            for st in event.ports:
                self._port_reading(event.pile, st, received)
        elif isinstance(event, PlugChanged):
            p = self._ports.get((event.pile, event.port))
            if p is not None:
                p.plugged = event.plugged
                if not event.plugged and p.running is not None:
                    self._cut(p, "unplugged")
        elif isinstance(event, PowerDone):
            p = self._ports.get((event.pile, event.port))
            if p is None or p.running is None:
                return
            if event.on and event.ok:
                p.running.powered = True
            elif event.on and not event.ok:
                run = p.running
                self._close(p, f"pile refused power: {event.detail}", zero=True)
                if run.record.card_id is None or run.record.id in self.phone.sessions:  # a QR or phone start the pile could not serve
                    self._fault(p.pile_id, p.port, FaultCode.QR_START_FAILED.value, f"QR start failed: pile refused power ({event.detail})")

    def _reading(self, p: _Port, now: datetime, powered: bool, plugged: bool, current_ma: int, meter_wh: int | None, received: float) -> None:
        p.powered, p.plugged, p.current_ma = powered, plugged, current_ma
        watch, code, detail = assess_current(p.limits, p.watch, powered, current_ma, now.timestamp())
        p.watch = watch
        if code is not None:
            self._fault(p.pile_id, p.port, code.value, detail, received)
            if p.running is not None:
                self._cut(p, f"fault {code.value}: {detail}")
            elif code is FaultCode.CURRENT_WHEN_OFF and p.kind == "epile":
                self.drivers[p.pile_id].set_power(p.port, False)  # try to release a stuck relay
        run = p.running
        if meter_wh is not None:
            if run is None:
                verdict = check_meter(p.meter_wh, meter_wh, 1.0, p.max_power_w * 3600)
                if verdict.problem and "backwards" in verdict.problem:
                    self.store.apply(records.record_anomaly, pile_id=p.pile_id, port=p.port, kind="meter_backwards", detail=verdict.problem, at=now)
                p.meter_wh = meter_wh
            else:
                self._advance(p, run, now, meter_wh, current_ma)
        if p.running is not None:
            self._publish(SessionChanged(self._view(p)))

    def _advance(self, p: _Port, run: _Running, now: datetime, meter_wh: int, current_ma: int) -> None:
        """One metered interval of a running session: price it, check the preset."""
        elapsed = max(run.elapsed_s, int((now - run.record.started_at).total_seconds()))
        dsec = elapsed - run.elapsed_s
        dt = max((now - run.last_at).total_seconds(), 0.0)
        # OCPP chargers sample every minute or more and may send a backlog at once after a
        # link loss: judge their jumps over at least a minute.
        verdict = check_meter(run.last_meter, meter_wh, max(dt, 60.0) if p.kind == "ocpp" else dt, p.max_power_w)
        if verdict.problem:
            self.store.apply(records.record_anomaly, pile_id=p.pile_id, port=p.port, kind="meter", detail=f"session {run.record.id}: {verdict.problem}", at=now)
        line = price_interval(run.plan, local_time_of(run.last_at, self.tz), dsec, verdict.delta_wh)
        run.lines = add_line(run.lines, line)
        run.energy_wh += verdict.delta_wh
        run.elapsed_s = elapsed
        run.last_at = now
        run.last_meter = meter_wh
        run.current_ma = current_ma
        p.meter_wh = meter_wh
        cap = run.record.hold_minor if run.record.mode == PayMode.PREPAID.value else None
        fee = session_fee(run.plan, run.lines, run.elapsed_s, cap)
        run.fee_minor = fee.minor
        reason = cutoff_reason(run.record.preset, run.energy_wh, run.elapsed_s, fee, run.limit_minor)
        if reason is not None:
            self._cut(p, reason)
        elif run.saved_at is None or (now - run.saved_at).total_seconds() >= self.section.save_every_s:
            self._save(p, now)

    def _save(self, p: _Port, now: datetime) -> None:
        run = p.running
        if run is None or run.last_meter is None:
            return
        self.store.apply(records.save_progress, run.record.id, meter_wh=run.last_meter, energy_wh=run.energy_wh, seconds=run.elapsed_s,
                                   lines=run.lines, fee_minor=run.fee_minor, at=now, current_ma=run.current_ma)
        run.saved_at = now

    def _cut(self, p: _Port, reason: str) -> Settlement:
        """Cut power (or ask the charger to stop) and settle with the running figures."""
        run = p.running
        assert run is not None
        if p.kind == "epile":
            driver = self.drivers.get(p.pile_id)
            if driver is not None:
                driver.set_power(p.port, False)
        elif self.central is not None and run.record.ocpp_tx_id is not None:
            self.central.remote_stop(p.pile_id, run.record.ocpp_tx_id)
        return self._close(p, reason)

    def _close(self, p: _Port, reason: str, *, zero: bool = False) -> Settlement:
        run = p.running
        assert run is not None
        if zero:
            run.fee_minor = 0
        bill = Money(run.fee_minor, self.currency)
        # The last running figure the attendant sees is the bill, to the cent.
        self._publish(SessionChanged(self._view(p)))
        now = self.clock.now()
        settlement = self.store.apply(records.close_session, run.record.id, at=now, reason=reason, bill=bill, energy_wh=run.energy_wh,
                                                seconds=run.elapsed_s, lines=run.lines, meter_wh=run.last_meter)
        p.running = None
        self._publish(SessionClosed(run.record.id, p.pile_id, p.port, reason, run.energy_wh, settlement.bill, settlement.refund))
        self._publish(SessionChanged(self._view(p)))
        self._report("info", _("charging {pile_id}/{port} ended ({reason}): {energy_wh} Wh, {bill}, refund {refund}").format(pile_id=p.pile_id, port=p.port, reason=reason, energy_wh=run.energy_wh, bill=settlement.bill, refund=settlement.refund))
        return settlement

    def _fault(self, pile_id: str, port: int | None, code: str, detail: str, received: float = 0.0) -> FaultRecord | None:
        pile = self._piles.get(pile_id)
        region = getattr(pile, "region", "default")
        franchise = getattr(pile, "franchise", "default")
        fault = self.store.apply(records.raise_fault, pile_id=pile_id, port=port, code=code, detail=detail, region=region, franchise=franchise, at=self.clock.now())
        if fault is None:
            return None
        p = self._ports.get((pile_id, port or 0))
        if p is not None:
            p.fault = f"fault {code}: {detail}"
        self._publish(ChargerFault(fault, received))
        self._report("error", _("{pile_id} port {port}: fault {code}: {detail}").format(pile_id=pile_id, port=port, code=code, detail=detail))
        return fault

    # -- OCPP (called by the central system's worker threads) ----------------------------------------------
    def _remote_started(self, session_id: str, source: str, future: Any) -> None:
        try:
            ok = bool(future.result())
            detail = "" if ok else "charger rejected the remote start"
        except Exception as exc:  # noqa: BLE001 - any link failure means no start
            ok, detail = False, f"remote start failed: {exc}"
        if ok:
            return
        with self._lock:
            p = next((x for x in self._ports.values() if x.running and x.running.record.id == session_id), None)
            if p is None:
                return
            self._close(p, detail, zero=True)
            if source == "qr":
                self._fault(p.pile_id, p.port, FaultCode.QR_START_FAILED.value, f"QR start failed: {detail}")

    def _push_local_lists(self) -> None:
        if self.central is None:
            return
        entries = self.store.query(records.active_cards)
        version = int(self.clock.now().timestamp())
        for charger in self.central.connected():
            self.central.send_local_list(charger, version, entries)

    def on_boot(self, charger: str, vendor: str, model: str) -> None:
        if charger not in self._piles:
            self._report("warning", _("unknown OCPP charger {charger} ({vendor} {model}) connected").format(charger=charger, vendor=vendor, model=model))
            return
        with self._lock:
            for p in self._ports.values():
                if p.pile_id == charger:
                    p.online = True
        self._report("info", _("charger {charger} ({vendor} {model}) booted").format(charger=charger, vendor=vendor, model=model))

    def after_boot(self, charger: str) -> None:
        """The charger has its BootNotification answer: send it the local authorization list."""
        if charger not in self._piles or self.central is None:
            return
        try:
            entries = self.store.query(records.active_cards)
        except StoreError as exc:
            self._report("warning", _("{charger}: local authorization list not sent: {why}").format(charger=charger, why=_(str(exc))))
            return
        self.central.send_local_list(charger, int(self.clock.now().timestamp()), entries)

    def on_status(self, charger: str, connector: int, status: str, error_code: str, info: str) -> None:
        with self._lock:
            p = self._ports.get((charger, connector))
            if p is not None:
                p.plugged = status in ("Preparing", "Charging", "SuspendedEV", "SuspendedEVSE", "Finishing")
            if error_code and error_code != "NoError":
                self._fault(charger, connector if connector else None, f"ocpp:{error_code}", f"{status}: {error_code} {info}".strip())
                if p is not None and p.running is not None:
                    self._cut(p, f"charger fault {error_code}")

    def authorize(self, charger: str, id_tag: str) -> str:
        card = self.store.query(records.card, id_tag)
        if card is None:
            if id_tag.startswith("user:") and self.store.query(records.account, id_tag[5:]) is not None:
                return "Accepted"
            return "Invalid"
        if card.state != "active":
            return "Blocked"
        if any(p.running and p.running.record.card_id == id_tag and p.pile_id != charger for p in self._ports.values()):
            return "ConcurrentTx"
        return "Accepted"

    def start_transaction(self, charger: str, connector: int, id_tag: str, meter_start: int, at: datetime) -> tuple[int, str]:
        with self._lock:
            p = self._ports.get((charger, connector))
            if p is None:
                return 0, "Invalid"
            run = p.running
            if run is not None and run.record.ocpp_tx_id is not None:
                if run.powered:
                    # A repeated StartTransaction (the charger missed our answer): same id,
                    # recorded, never a second session.
                    self.store.apply(records.record_anomaly, pile_id=charger, port=connector, kind="duplicate_transaction",
                                                detail=f"StartTransaction repeated for transaction {run.record.ocpp_tx_id}", at=self.clock.now())
                    return run.record.ocpp_tx_id, "Accepted"
                run.powered = True
                run.last_meter = meter_start
                p.meter_wh = meter_start
                return run.record.ocpp_tx_id, "Accepted"
            status = self.authorize(charger, id_tag)
            if status != "Accepted":
                return 0, status
            try:
                card_id = None if id_tag.startswith("user:") else id_tag
                user_id = id_tag[5:] if card_id is None else None
                p.meter_wh = meter_start
                rec = self._open_at_charger(p, card_id, user_id, meter_start)
            except ChargingError as exc:
                self._report("warning", _("charger {charger}: start for {id_tag} refused: {exc}").format(charger=charger, id_tag=id_tag, exc=exc))
                return 0, "Blocked" if exc.cause == "credit" else "Invalid"
            return rec.ocpp_tx_id or 0, "Accepted"

    def _open_at_charger(self, p: _Port, card_id: str | None, user_id: str | None, meter_start: int) -> SessionRecord:
        """A card swiped at the charger itself: a postpaid session without a preset."""
        account_id, card = self._who(card_id, user_id, p.pile_id)
        now = self.clock.now()
        plan = self.plans[p.plan_id]
        rec = self.store.apply(records.open_session, NewSession(
            p.pile_id, p.port, "ocpp", p.region, p.franchise, account_id, card_id, "charger", PayMode.POSTPAID, None, plan.id,
            Money.zero(self.currency), now.astimezone(self.tz).hour, meter_start,
        ), now)
        landlord = card is not None and card.kind == "landlord"
        p.running = _Running(rec, plan, None if landlord else self._limit(rec), now, meter_start, powered=True, saved_at=now)
        self._publish(SessionChanged(self._view(p)))
        return rec

    def meter_values(self, charger: str, connector: int, transaction_id: int | None, samples: list[Any]) -> None:
        with self._lock:
            p = self._ports.get((charger, connector))
            if p is None:
                return
            if transaction_id is not None and (p.running is None or p.running.record.ocpp_tx_id != transaction_id):
                self.store.apply(records.record_anomaly, pile_id=charger, port=connector, kind="stale_transaction",
                                            detail=f"meter values for transaction {transaction_id}, which is not running here; not billed",
                                            at=self.clock.now())
                return
            for s in samples:
                current = s.current_ma if s.current_ma is not None else p.current_ma
                self._reading(p, self.clock.now(), p.running is not None, True, current, s.energy_wh, 0.0)

    def stop_transaction(self, charger: str, transaction_id: int, meter_stop: int, at: datetime, reason: str) -> None:
        with self._lock:
            p = self._ports.get((charger, 0))
            p = next((x for x in self._ports.values() if x.pile_id == charger and x.running and x.running.record.ocpp_tx_id == transaction_id), None)
            if p is None:
                rec = self.store.query(records.session_by_tx, charger, transaction_id)
                kind = "late_stop" if rec is not None else "unknown_transaction"
                self.store.apply(records.record_anomaly, pile_id=charger, port=None, kind=kind,
                                            detail=f"StopTransaction for transaction {transaction_id} ({reason}) with no running session; nothing billed",
                                            at=self.clock.now())
                return
            run = p.running
            assert run is not None
            self._advance(p, run, self.clock.now(), meter_stop, run.current_ma)
            if p.running is not None:
                self._close(p, f"charger stopped ({reason})")

    def on_disconnect(self, charger: str) -> None:
        with self._lock:
            for p in self._ports.values():
                if p.pile_id == charger:
                    p.online = False
        self._report("warning", _("charger {charger} disconnected").format(charger=charger))
