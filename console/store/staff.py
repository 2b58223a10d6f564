"""Users of the booth: PINs hashed with argon2id, failed attempts and lock-out."""

from __future__ import annotations

import threading
from datetime import datetime

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, func, select

from console.domain.staff import (
    MAX_FAILED_ATTEMPTS,
    Role,
    StaffError,
    User,
    check_name,
    check_pin_rules,
    lock_state,
    lockout_after,
)
from console.i18n import N_, _
from console.store.audit import append_audit
from console.store.ids import new_id
from console.store.integrity import violates
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


def add_user(session: Session, *, name: str, role: Role, pin: str, at: datetime, actor: str, min_digits: int = 4) -> User:
    """Create a user inside the caller's transaction (audited; the PIN is never stored)."""
    name = check_name(name)
    check_pin_rules(pin, min_digits)
    if session.exec(select(UserRow).where(UserRow.name == name)).first() is not None:
        raise StaffError(_("there is already a user called {name}").format(name=name))
    row = UserRow(id=new_id(), name=name, role=role.value, pin_hash=_HASHER.hash(pin), created_at=at)
    session.add(row)
    try:
        # Another booth adding the same name at this moment: the name's unique index decides.
        session.flush()
    except IntegrityError as exc:
        if violates(exc, index="booth_user_name_key", table=UserRow.__tablename__, column="name"):
            raise StaffError(_("there is already a user called {name}").format(name=name)) from None
        raise
    append_audit(session, at=at, actor=actor, action="user.add", subject=row.id, detail={"name": name, "role": role.value})
    enqueue(session, type="user.added", occurred_at=at, payload={"id": row.id, "name": name, "role": role.value})
    return _user(row)


# A hash of a PIN nobody has: an unknown name is checked against it, so that it takes as
# long as a known name with a wrong PIN (timing would otherwise tell who exists).
_NOBODY_HASH = _HASHER.hash("no such user")


class _UnknownNames:
    """Wrong-PIN counts of names nobody has, kept like a user's, so that the answers (and
    the lock after MAX_FAILED_ATTEMPTS) are the same whether the name exists or not."""

    def __init__(self, limit: int = 1000) -> None:
        self._limit = limit
        self._lock = threading.Lock()
        self._state: dict[str, tuple[int, datetime | None, int]] = {}

    def check(self, name: str, now: datetime) -> None:
        with self._lock:
            failed, until, lockouts = self._state.get(name, (0, None, 0))
        locked = lock_state(until, now)
        if locked:
            raise StaffError(locked)
        failed += 1
        if failed >= MAX_FAILED_ATTEMPTS:
            lockouts += 1
            failed, until = 0, now + lockout_after(lockouts)
        with self._lock:
            if len(self._state) >= self._limit and name not in self._state:
                self._state.pop(next(iter(self._state)))
            self._state[name] = (failed, until, lockouts)


_unknown_names = _UnknownNames()
_WRONG = N_("unknown user or wrong PIN")


def verify_pin(session: Session, *, name: str, pin: str, now: datetime) -> User:
    """Check a PIN. Wrong PINs are counted; after MAX_FAILED_ATTEMPTS the user is locked,
    each lock in a row longer (5, 15, then 60 minutes) until a right PIN or a manager's
    unlock. Unknown names get the same answers in the same time. Raises StaffError with
    what to do; the caller commits the counting either way."""
    key = name.strip()
    row = session.exec(select(UserRow).where(UserRow.name == key)).first()
    if row is None or not row.active:
        _verify(_NOBODY_HASH, pin)
        _unknown_names.check(key, now)
        raise StaffError(_(_WRONG))
    locked = lock_state(row.locked_until, now)
    if locked:
        _verify(_NOBODY_HASH, pin)
        raise StaffError(locked)
    if not _verify(row.pin_hash, pin):
        row.failed_attempts += 1
        if row.failed_attempts >= MAX_FAILED_ATTEMPTS:
            row.lockouts += 1
            row.locked_until = now + lockout_after(row.lockouts)
            row.failed_attempts = 0
            append_audit(session, at=now, actor=row.name, action="user.locked", subject=row.id,
                         detail={"lockouts": row.lockouts, "until": row.locked_until.isoformat()})
        session.add(row)
        raise StaffError(_(_WRONG))
    if row.failed_attempts or row.locked_until or row.lockouts:
        row.failed_attempts, row.locked_until, row.lockouts = 0, None, 0
        session.add(row)
    return _user(row)


def _verify(pin_hash: str, pin: str) -> bool:
    try:
        return bool(_HASHER.verify(pin_hash, pin))
    except (VerificationError, InvalidHashError):
        return False


def unlock_user(session: Session, *, name: str, at: datetime, actor: str) -> User:
    """A manager lifts a user's sign-in lock and forgets its wrong PINs (audited)."""
    row = session.exec(select(UserRow).where(UserRow.name == name.strip())).first()
    if row is None:
        raise StaffError(_("there is no user called {name}").format(name=name.strip()))
    append_audit(session, at=at, actor=actor, action="user.unlocked", subject=row.id,
                 detail={"name": row.name, "was_locked_until": row.locked_until.isoformat() if row.locked_until else None,
                         "lockouts": row.lockouts})
    row.failed_attempts, row.locked_until, row.lockouts = 0, None, 0
    session.add(row)
    return _user(row)
