"""Attendants, managers and what each may do; PIN rules and lock-out policy."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import Enum

from console.domain.errors import DomainError
from console.i18n import _


class Role(str, Enum):
    ATTENDANT = "attendant"
    MANAGER = "manager"


class StaffError(DomainError):
    """A sign-in or staff change that is refused, with a message for people."""


# Actions only a manager may take (or approve with a PIN).
MANAGER_ACTIONS = frozenset({"override.approve", "shift.close_other", "user.add", "report.manager", "audit.verify"})

MAX_FAILED_ATTEMPTS = 5
# Each lock after MAX_FAILED_ATTEMPTS wrong PINs lasts longer (the last step repeats) until
# a right PIN or a manager resets it: about 100 guesses a day instead of 1,440.
LOCKOUT_STEPS = (timedelta(minutes=5), timedelta(minutes=15), timedelta(minutes=60))
MAX_PIN_DIGITS = 12


@dataclass(frozen=True, slots=True)
class PinPolicy:
    """How long PINs must be, per role (the site file's [operations] section)."""

    attendant_digits: int = 4
    manager_digits: int = 6

    def min_digits(self, role: Role) -> int:
        return self.manager_digits if role is Role.MANAGER else self.attendant_digits


def lockout_after(lockouts: int) -> timedelta:
    """How long the `lockouts`-th lock in a row lasts (1 for the first)."""
    return LOCKOUT_STEPS[min(max(lockouts, 1), len(LOCKOUT_STEPS)) - 1]


def check_pin_rules(pin: str, min_digits: int = 4) -> None:
    """A PIN is `min_digits` to 12 digits and not one repeated digit or a plain run (1234)."""
    if not re.fullmatch(r"\d+", pin) or not min_digits <= len(pin) <= MAX_PIN_DIGITS:
        raise StaffError(_("a PIN is {low} to {high} digits").format(low=min_digits, high=MAX_PIN_DIGITS))
    if len(set(pin)) == 1 or pin in "0123456789" or pin in "9876543210":
        raise StaffError(_("that PIN is too easy to guess"))


def check_name(name: str) -> str:
    """A user name: 1-64 printable characters, trimmed."""
    cleaned = name.strip()
    if not cleaned or len(cleaned) > 64 or not cleaned.isprintable():
        raise StaffError(_("a name is 1 to 64 printable characters"))
    return cleaned


def may(role: Role, action: str) -> bool:
    """Whether `role` may take `action` without a manager's approval."""
    return role is Role.MANAGER or action not in MANAGER_ACTIONS


@dataclass(frozen=True, slots=True)
class User:
    id: str
    name: str
    role: Role
    active: bool = True

    @property
    def is_manager(self) -> bool:
        return self.role is Role.MANAGER


def lock_state(locked_until: datetime | None, now: datetime) -> str | None:
    """The refusal while sign-in for a name is paused at `now`, else None. It is the same
    for a name nobody has, so the answer does not tell who exists."""
    if locked_until is not None and now < locked_until:
        minutes = max(1, -int(-(locked_until - now).total_seconds() // 60))  # rounded up
        return _("sign-in paused after {count} wrong PINs; try again in {minutes} min or ask a manager").format(
            count=MAX_FAILED_ATTEMPTS, minutes=minutes)
    return None
