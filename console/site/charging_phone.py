"""Charging asked from a phone: the cloud's `charging.start` and `charging.stop` commands
carried out on the piles, and the running figures of those sessions sent back.

The phone never talks to the booth: the cloud queues the command, the booth's sync pulls
it and hands it here. A start is answered once per request (started, or refused with the
reason); a refusal caused by the pile is fault 3, as a failed QR scan at the booth. A
session that opened and then could not be powered closes at zero, releasing its hold
(`ChargingService._close`), and is fault 3 as well.
"""

from __future__ import annotations

import logging
import threading
import time
from typing import TYPE_CHECKING, Any, Callable, Sequence

from console.domain.charging import ChargingError, FaultCode, PayMode
from console.i18n import _
from console.site.events import SessionChanged, SiteEvent
from console.store import charging_phone as phone_records
from console.store.database import StoreError

if TYPE_CHECKING:
    from console.site.charging import ChargingService

log = logging.getLogger(__name__)

PHONE_SOURCE = "phone"
PROGRESS_EVERY_S = 1.0  # real seconds between two progress events of one session


class PhoneCharging:
    """The charging service's side of phone starts."""

    def __init__(self, service: ChargingService) -> None:
        self.service = service
        self.sessions: dict[str, str] = {}  # session id -> request id, for sessions started from a phone
        self._sent: dict[str, float] = {}
        self._lock = threading.Lock()

    def resume(self, open_session_ids: list[str]) -> None:
        """After a restart: the open sessions a phone started keep reporting to it."""
        found = self.service.store.query(phone_records.phone_sessions, open_session_ids)
        with self._lock:
            self.sessions.update(found)

    def follow(self, publish: Callable[[SiteEvent], None]) -> Callable[[SiteEvent], None]:
        """Wrap the service's publisher so a phone session's figures also go to the cloud."""
        def publish_and_report(event: SiteEvent) -> None:
            publish(event)
            if isinstance(event, SessionChanged) and event.port.session_id in self.sessions:
                self._progress(event)
        return publish_and_report

    def carry_out(self, commands: Sequence[Any]) -> None:
        """Run the cloud's charging commands (sync thread). Each outcome is recorded for
        the cloud; a problem of the database raises StoreError, and the sync pulls the
        same commands again (its cursor has not moved)."""
        for command in commands:
            try:
                if command.kind == "charging.start":
                    self._start(command)
                elif command.kind == "charging.stop":
                    self._stop(command)
                elif command.kind == "charging.block_card" and command.card:
                    self._block(command)
                elif command.kind in ("charging.bind_card", "charging.authorize_piles"):
                    self._change(command)
                elif command.kind == "charging.scan_failed" and command.pile and self.service.knows_pile(command.pile):
                    # Reported from the pile's page: fault 3, once while it stays open.
                    self.service.raise_fault(command.pile, command.port or None, FaultCode.QR_START_FAILED.value,
                                             f"scan failure reported from a phone: {command.note}"[:300])
            except StoreError as exc:
                log.warning("charging command %s not carried out: %s", command.id, exc)
                raise

    def _start(self, command: Any) -> None:
        s = self.service
        request = command.request_id or command.id
        if s.store.query(phone_records.answered, request):
            return  # a command pulled again after a restart
        pile, port = command.pile or "", int(command.port or 0)
        try:
            from console.site.charging import parse_preset

            preset = parse_preset(command.preset)
            if command.mode and command.mode not in ("prepaid", "postpaid"):
                raise ChargingError(_("unknown pay mode {mode!r}").format(mode=command.mode[:16]))
            mode = PayMode(command.mode) if command.mode else None
            allowed = s.modes_of(pile)
            if mode is not None and mode.value not in allowed:
                raise ChargingError(_("pile {pile_id} does not take {mode} sessions").format(pile_id=pile, mode=mode.value))
            rec = s.start_session(pile_id=pile, port=port, card_id=command.card or None, preset=preset, mode=mode, source=PHONE_SOURCE)
        except ChargingError as exc:
            s.store.apply(phone_records.answer, s.clock.now(), request, started=False, detail={
                "pile": pile, "port": port, "card": command.card, "error": str(exc), "cause": exc.cause or ""})
            if exc.cause == "pile" and s.knows_pile(pile):
                s.raise_fault(pile, port, FaultCode.QR_START_FAILED.value, f"phone start failed: {exc}")
            return
        with self._lock:
            self.sessions[rec.id] = request
        s.store.apply(phone_records.answer, s.clock.now(), request, started=True, detail={
            "pile": pile, "port": port, "card": command.card, "session": rec.id, "mode": rec.mode, "hold_minor": rec.hold_minor,
            "currency": rec.currency, "proof": command.proof or ""})  # how the phone proved the card (owner or PIN)

    def _block(self, command: Any) -> None:
        """A tenant blocked their lost card in the cloud: blocked here, audited with them."""
        try:
            self.service.block_card(command.card, command.actor[:64], command.note or "blocked in the cloud")
        except ChargingError as exc:  # blocked already, or not a card of this site
            log.info("cloud block of card %s: %s", command.card, exc)

    def _change(self, command: Any) -> None:
        """A card bound or a pile authorized from the cloud: carried out with the same
        service calls as `booth charging bind|authorize`, answered once per request."""
        s = self.service
        request = command.request_id or command.id
        if s.store.query(phone_records.answered, request):
            return  # pulled again after a restart
        card = command.card or ""
        actor = (command.actor or "cloud")[:64]
        detail: dict[str, Any] = {"kind": command.kind, "card": card}
        try:
            if command.kind == "charging.bind_card":
                bound = s.bind_by_code(card, actor) if command.proof == "code" else s.claim_card(card, actor)
                detail.update(account=bound.account_id, card_kind=bound.kind, piles=list(bound.piles))
            else:
                changed = s.authorize_piles(card, list(command.piles), actor, remove=bool(command.remove))
                detail.update(account=changed.account_id, piles=list(changed.piles), asked=list(command.piles),
                              remove=bool(command.remove))
        except ChargingError as exc:
            s.store.apply(phone_records.answer_change, s.clock.now(), request, actor, ok=False, detail={**detail, "error": str(exc)})
            return
        s.store.apply(phone_records.answer_change, s.clock.now(), request, actor, ok=True, detail=detail)

    def _stop(self, command: Any) -> None:
        if not command.session_id:
            return
        try:
            self.service.stop_session(command.session_id, "stopped from the phone")
        except ChargingError as exc:
            log.info("phone stop of %s: %s", command.session_id, exc)

    def _progress(self, event: SessionChanged) -> None:
        port = event.port
        sid = port.session_id
        assert sid is not None
        now = time.monotonic()
        with self._lock:
            if now - self._sent.get(sid, 0.0) < PROGRESS_EVERY_S:
                return
            self._sent[sid] = now
        fee = port.fee
        try:
            self.service.store.apply(phone_records.progress, self.service.clock.now(), sid, energy_wh=port.energy_wh,
                                     seconds=port.elapsed_s, fee_minor=fee.minor if fee else 0,
                                     currency=fee.currency if fee else self.service.currency)
        except StoreError as exc:  # progress is not a decision: the next one will do
            log.info("charging progress of %s not recorded: %s", sid, exc)
