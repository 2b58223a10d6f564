"""Users of the booth: PINs hashed with argon2id, failed attempts and lock-out."""

from __future__ import annotations

from datetime import datetime

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlmodel import Session, func, select

from console.domain.staff import (
    LOCKOUT,
    MAX_FAILED_ATTEMPTS,
    Role,
    StaffError,
    User,
    check_name,
    check_pin_rules,
    lock_state,
)
from console.i18n import _
from console.store.audit import append_audit
from console.store.ids import new_id
from console.store.outbox import enqueue
from console.store.tables import UserRow

# argon2id at the OWASP minimum (19 MiB, 2 passes): a memory-hard hash that still
# checks a PIN in a few tens of milliseconds on the booth PC.
_HASHER = PasswordHasher(time_cost=2, memory_cost=19 * 1024, parallelism=1)


def _user(row: UserRow) -> User:
    return User(row.id, row.name, Role(row.role), row.active)


def has_users(session: Session) -> bool:
    return session.exec(select(func.count()).select_from(UserRow)).one() > 0


def list_users(session: Session) -> list[User]:
    return [_user(r) for r in session.exec(select(UserRow).order_by(UserRow.name)).all()]


def add_user(session: Session, *, name: str, role: Role, pin: str, at: datetime, actor: str) -> User:
    """Create a user inside the caller's transaction (audited; the PIN is never stored)."""
    name = check_name(name)
    check_pin_rules(pin)
    if session.exec(select(UserRow).where(UserRow.name == name)).first() is not None:
        raise StaffError(_("there is already a user called {name}").format(name=name))
    row = UserRow(id=new_id(), name=name, role=role.value, pin_hash=_HASHER.hash(pin), created_at=at)
    session.add(row)
    append_audit(session, at=at, actor=actor, action="user.add", subject=row.id, detail={"name": name, "role": role.value})
    enqueue(session, type="user.added", occurred_at=at, payload={"id": row.id, "name": name, "role": role.value})
    return _user(row)


def verify_pin(session: Session, *, name: str, pin: str, now: datetime) -> User:
    """Check a PIN. Wrong PINs are counted; after MAX_FAILED_ATTEMPTS the user is locked for
    LOCKOUT. Raises StaffError with what to do; the caller commits the counting either way."""
    row = session.exec(select(UserRow).where(UserRow.name == name.strip())).first()
    if row is None or not row.active:
        raise StaffError(_("unknown user or wrong PIN"))
    locked = lock_state(row.failed_attempts, row.locked_until, now)
    if locked:
        raise StaffError(_("{name} is {locked}").format(name=row.name, locked=locked))
    try:
        _HASHER.verify(row.pin_hash, pin)
    except (VerificationError, InvalidHashError):
        row.failed_attempts += 1
        left = MAX_FAILED_ATTEMPTS - row.failed_attempts
        if left <= 0:
            row.locked_until = now + LOCKOUT
            row.failed_attempts = 0
            append_audit(session, at=now, actor=row.name, action="user.locked", subject=row.id, detail={})
            session.add(row)
            raise StaffError(_("wrong PIN; {name} is locked for {value} min").format(name=row.name, value=int(LOCKOUT.total_seconds() // 60))) from None
        session.add(row)
        raise StaffError(_("unknown user or wrong PIN ({left} tries left)").format(left=left)) from None
    if row.failed_attempts or row.locked_until:
        row.failed_attempts, row.locked_until = 0, None
        session.add(row)
    return _user(row)
