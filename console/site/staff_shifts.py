"""Users signing in with PINs, and the cash drawer's shifts."""

from __future__ import annotations

from typing import Any

from console.domain.cash import CountError, parse_count
from console.domain.money import Money, MoneyError
from console.domain.staff import Role, StaffError, User
from console.site.errors import SiteError
from console.store import shifts, staff
from console.store.shifts import Shift


class StaffShiftsMixin:
    """Sign-in, users, shifts open/close/hand-over. Mixed into `Site`."""

    def needs_first_manager(self) -> bool:
        """True on a fresh installation: nobody can sign in yet."""
        with self.store.transaction() as s:
            return not staff.has_users(s)

    def add_user(self, name: str, role: Role, pin: str, *, actor: str) -> User:
        """Create an attendant or manager (audited)."""
        try:
            with self.store.transaction() as s:
                return staff.add_user(s, name=name, role=role, pin=pin, at=self.clock.now(), actor=actor)
        except StaffError as exc:
            raise SiteError(str(exc)) from None

    def sign_in(self, name: str, pin: str) -> User:
        """Check a user's PIN. Wrong PINs are counted (and lock the user) even though the
        sign-in fails, so the count is committed before the refusal is raised."""
        refusal: StaffError | None = None
        with self.store.transaction() as s:
            try:
                user = staff.verify_pin(s, name=name, pin=pin, now=self.clock.now())
            except StaffError as exc:
                refusal = exc
        if refusal is not None:
            self._log("warning", f"sign-in refused for {name.strip()!r}: {refusal}")
            raise SiteError(str(refusal))
        return user

    def _push_before_close(self) -> int | None:
        """Send what the cloud has not got yet before a shift closes (a few seconds at most);
        returns how many events are still unsent, or None when the site has no cloud."""
        if self.sync is None:
            return None
        self.sync.flush(5.0)
        return int(self.sync.status().backlog)

    def sync_status(self) -> Any:
        """The cloud link's status, or None when the site has no cloud."""
        return self.sync.status() if self.sync is not None else None

    def current_shift(self) -> Shift | None:
        with self.store.transaction() as s:
            return shifts.current_shift(s, self.config.site.booth_id)

    def open_shift(self, attendant: str, float_text: str) -> Shift:
        """Open the drawer with a counted float (audited)."""
        try:
            opening = Money.parse(float_text or "0", self.currency)
            with self.store.transaction() as s:
                shift = shifts.open_shift(s, booth_id=self.config.site.booth_id, attendant=attendant, opening_float=opening, at=self.clock.now())
        except (MoneyError, shifts.ShiftError) as exc:
            raise SiteError(str(exc)) from None
        self._log("info", f"shift opened by {attendant} with a float of {opening}")
        return shift

    def close_shift(self, counted_text: str, *, actor: str, note: str = "", hand_over_to: str | None = None) -> Shift:
        """Close the booth's shift with the drawer count ("50x2 20x5 1x3"). With
        `hand_over_to`, the next attendant's shift opens with the counted cash as its
        float in the same transaction, so the drawer never belongs to nobody."""
        if self.pending_tickets():
            lanes = ", ".join(sorted({t.lane_id for t in self.pending_tickets()}))
            raise SiteError(f"a vehicle is waiting at {lanes}: settle it before closing the shift")
        self.unsent_at_close = self._push_before_close()
        now = self.clock.now()
        try:
            counted = parse_count(counted_text, self.currency)
            with self.store.transaction() as s:
                current = shifts.current_shift(s, self.config.site.booth_id)
                if current is None:
                    raise shifts.ShiftError("no shift is open at this booth")
                closed = shifts.close_shift(s, shift_id=current.id, counted=counted, closed_by=actor, note=note, at=now)
                if hand_over_to:
                    shifts.open_shift(s, booth_id=self.config.site.booth_id, attendant=hand_over_to, opening_float=closed.counted_cash or Money.zero(self.currency), at=now)
        except (CountError, shifts.ShiftError) as exc:
            raise SiteError(str(exc)) from None
        diff = closed.difference
        if self.unsent_at_close:
            self._log("warning", f"{self.unsent_at_close} events of this shift are not in the cloud yet; they are kept and sent when the link is back")
        self._log("warning" if diff and not diff.is_zero else "info",
                  f"shift of {closed.attendant} closed by {actor}: expected {closed.expected_cash}, counted {closed.counted_cash}, difference {diff}"
                  + (f"; handed over to {hand_over_to}" if hand_over_to else ""))
        return closed
