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
LOCKOUT = timedelta(minutes=5)


def check_pin_rules(pin: str) -> None:
    """A PIN is 4 to 8 digits and not one repeated digit or a plain run (1234)."""
    if not re.fullmatch(r"\d{4,8}", pin):
        raise StaffError(_("a PIN is 4 to 8 digits"))
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


def lock_state(failed_attempts: int, locked_until: datetime | None, now: datetime) -> str | None:
    """A message when the account is locked at `now`, else None."""
    if locked_until is not None and now < locked_until:
        minutes = int((locked_until - now).total_seconds() // 60) + 1
        return f"locked after {MAX_FAILED_ATTEMPTS} wrong PINs; try again in {minutes} min"
    return None
