"""Users signing in with PINs, and the cash drawer's shifts."""

from __future__ import annotations

import logging
from typing import Callable

from console.domain.cash import parse_count
from console.domain.clock import Clock
from console.domain.money import Money
from console.domain.staff import PinPolicy, Role, StaffError, User
from console.i18n import N_, _
from console.site.board import LaneBoard
from console.site.bus import EventBus
from console.site.config import SiteConfig
from console.site.errors import SiteError, command
from console.store import shifts, staff
from console.store.database import Store
from console.store.shifts import Shift

log = logging.getLogger(__name__)

# Sends what the cloud has not got yet; returns how many events are still unsent, or
# None when the site has no cloud.
Flush = Callable[[], int | None]


class StaffService:
    """Sign-in, users, and the booth's shifts: open, close, hand over."""

    def __init__(self, config: SiteConfig, store: Store, clock: Clock, board: LaneBoard, bus: EventBus, *, flush: Flush | None = None,
                 anchor: Callable[[], object] | None = None) -> None:
        self.config = config
        self.store = store
        self.clock = clock
        self.board = board
        self.bus = bus
        self.booth_id = config.site.booth_id
        self.currency = config.site.currency
        self._flush = flush
        self._anchor = anchor  # the Z report's audit head goes out of the booth at once
        self.unsent_at_close: int | None = None
        ops = config.operations
        self.pin_policy = PinPolicy(ops.attendant_pin_digits, ops.manager_pin_digits)

    @command(N_("cannot read the users"))
    def needs_first_manager(self) -> bool:
        """True on a fresh installation: nobody can sign in yet."""
        return not self.store.query(staff.has_users)

    @command(N_("user NOT added"))
    def add_user(self, name: str, role: Role, pin: str, *, actor: str) -> User:
        """Create an attendant or manager (audited)."""
        return self.store.apply(staff.add_user, name=name, role=role, pin=pin, at=self.clock.now(), actor=actor,
                                min_digits=self.pin_policy.min_digits(role))

    @command("user NOT unlocked")
    def unlock_user(self, name: str, *, actor: User) -> User:
        """A manager lifts a user's sign-in lock (audited)."""
        if not actor.is_manager:
            raise SiteError(_("only a manager can unlock a user"))
        return self.store.apply(staff.unlock_user, name=name, at=self.clock.now(), actor=actor.name)

    @command(N_("cannot check the PIN"))
    def sign_in(self, name: str, pin: str) -> User:
        """Check a user's PIN. Wrong PINs are counted (and lock the user) even though the
        sign-in fails, so the count is committed before the refusal is raised."""
        refusal: StaffError | None = None
        with self.store.write() as tx:
            try:
                user = staff.verify_pin(tx, name=name, pin=pin, now=self.clock.now())
            except StaffError as exc:
                refusal = exc
        if refusal is not None:
            self.bus.report("warning", _("sign-in refused for {value!r}: {refusal}").format(value=name.strip(), refusal=refusal))
            raise SiteError(str(refusal))
        return user

    @command(N_("cannot read the shift"))
    def current_shift(self) -> Shift | None:
        """The booth's open shift, if any."""
        return self.store.query(shifts.current_shift, self.booth_id)

    @command(N_("shift NOT opened"))
    def open_shift(self, attendant: str, float_text: str) -> Shift:
        """Open the drawer with a counted float (audited)."""
        opening = Money.parse(float_text or "0", self.currency)
        shift = self.store.apply(shifts.open_shift, booth_id=self.booth_id, attendant=attendant, opening_float=opening, at=self.clock.now())
        self.bus.report("info", _("shift opened by {attendant} with a float of {opening}").format(attendant=attendant, opening=opening))
        return shift

    @command(N_("shift NOT closed"))
    def close_shift(self, counted_text: str, *, actor: str, note: str = "", hand_over_to: str | None = None) -> Shift:
        """Close the booth's shift with the drawer count ("50x2 20x5 1x3"). With
        `hand_over_to`, the next attendant's shift opens with the counted cash as its
        float in the same transaction, so the drawer never belongs to nobody."""
        waiting = self.board.pending_tickets()
        # A hand-over may leave vehicles waiting: the next attendant's drawer takes their
        # fees. Closing with nobody after must settle them first.
        if waiting and not hand_over_to:
            lanes = ", ".join(sorted({t.lane_id for t in waiting}))
            raise SiteError(_("a vehicle is waiting at {lanes}: settle it before closing the shift").format(lanes=lanes))
        self.unsent_at_close = self._flush() if self._flush is not None else None
        now = self.clock.now()
        counted = parse_count(counted_text, self.currency)
        with self.store.write() as tx:
            current = shifts.current_shift(tx, self.booth_id)
            if current is None:
                raise shifts.ShiftError(_("no shift is open at this booth"))
            closed = shifts.close_shift(tx, shift_id=current.id, counted=counted, closed_by=actor, note=note, at=now)
            if hand_over_to:
                shifts.open_shift(tx, booth_id=self.booth_id, attendant=hand_over_to, opening_float=closed.counted_cash or Money.zero(self.currency), at=now)
        diff = closed.difference
        if self._anchor is not None:
            try:
                self._anchor()
            except Exception:  # the periodic anchor catches up; the close itself is done
                log.exception("audit anchor at shift close failed")
        if self.unsent_at_close:
            self.bus.report("warning", _("{unsent_at_close} events of this shift are not in the cloud yet; they are kept and sent when the link is back").format(unsent_at_close=self.unsent_at_close))
        self.bus.report(
            "warning" if diff and not diff.is_zero else "info",
            f"shift of {closed.attendant} closed by {actor}: expected {closed.expected_cash}, counted {closed.counted_cash}, difference {diff}"
            + (f"; handed over to {hand_over_to}" if hand_over_to else ""),
        )
        return closed
