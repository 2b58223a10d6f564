"""People of the cloud: site, building and franchise managers, landlords and tenants.

Each person has one role and a list of grants (the sites, buildings, franchises, piles or
cards the role covers) and sees nothing else. Passwords are hashed with argon2id, the way
the booth hashes PINs, with the booth's lock-out after wrong passwords; a signed-in
person holds a session cookie (only its SHA-256 is stored), never a site's token.
"""

from __future__ import annotations

import hashlib
import re
import secrets
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Iterable

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import delete, insert, select, update
from sqlalchemy.engine import Connection

from console.domain.staff import MAX_FAILED_ATTEMPTS, lockout_after
from console.i18n import N_, _
from console.sync.server import db

# The same argon2id parameters as the booth's PINs (console/store/staff.py).
_HASHER = PasswordHasher(time_cost=2, memory_cost=19 * 1024, parallelism=1)
_NOBODY_HASH = _HASHER.hash("no such person")

SESSION_COOKIE = "booth_staff"
SESSION_LIFETIME = timedelta(hours=12)
MIN_PASSWORD = 10

ROLES: dict[str, str] = {
    "site_manager": N_("site manager"),
    "building_manager": N_("building manager"),
    "franchise_manager": N_("franchise manager"),
    "landlord": N_("landlord"),
    "tenant": N_("tenant"),
}
# What each role is granted: a site manager sites, a building manager buildings, ...
GRANT_KIND = {"site_manager": "site", "building_manager": "building", "franchise_manager": "franchise", "landlord": "pile", "tenant": "card"}
_WRONG = N_("Wrong name or password.")
_NAME = re.compile(r"^[A-Za-z0-9_.@-]{2,64}$")


class AccountError(ValueError):
    """A person not added, or a sign-in refused, with what to do."""


@dataclass(frozen=True)
class Scope:
    """What one signed-in person may see."""

    person: str
    role: str
    display_name: str = ""
    sites: frozenset[str] = frozenset()
    buildings: frozenset[str] = frozenset()
    franchises: frozenset[str] = frozenset()
    piles: frozenset[tuple[str, str]] = frozenset()  # (site, pile)
    cards: frozenset[tuple[str, str]] = frozenset()  # (site, card)
    csrf: str = field(default="", repr=False)

    @property
    def sees_rides(self) -> bool:
        return bool(self.sites or self.buildings or self.cards)

    @property
    def sees_faults(self) -> bool:
        return bool(self.sites or self.franchises or self.piles)

    def may_see_portrait(self, site_id: str, building_id: str | None) -> bool:
        """Portraits are for the managers of the ride's site or building only."""
        return site_id in self.sites or (building_id is not None and building_id in self.buildings)

    def may_see_ride(self, site_id: str, building_id: str | None, card: str | None) -> bool:
        return self.may_see_portrait(site_id, building_id) or (card is not None and (site_id, card) in self.cards)

    def may_see_fault(self, site_id: str, franchise: str, pile_id: str) -> bool:
        return site_id in self.sites or franchise in self.franchises or (site_id, pile_id) in self.piles

    def may_close_fault(self, site_id: str, franchise: str) -> bool:
        """The site's manager or the franchise's manager closes a fault."""
        return site_id in self.sites or franchise in self.franchises


def hash_password(password: str) -> str:
    return _HASHER.hash(password)


def _verify(password_hash: str, password: str) -> bool:
    try:
        return bool(_HASHER.verify(password_hash, password))
    except (VerificationError, InvalidHashError):
        return False


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def parse_grant(role: str, text: str) -> tuple[str, str, str]:
    """A grant as typed for `role`: "SITE" (site manager), "BUILDING" (building manager),
    "FRANCHISE" (franchise manager), "SITE:PILE" or "SITE:card:CARD" (landlord: a pile, or
    their landlord card), "SITE:CARD" (tenant).
    Returns (kind, site, ref). Raises AccountError."""
    kind = GRANT_KIND[role]
    text = text.strip()
    site, colon, ref = text.partition(":")
    if role == "landlord" and ref.startswith("card:"):
        # A landlord's own landlord card (SITE:card:CARD): the piles they authorize are on it.
        kind, text = "card", f"{site}:{ref[len('card:'):]}"
    if kind in ("pile", "card"):
        site, colon, ref = text.partition(":")
        if not colon or not site or not ref:
            raise AccountError(_("{text!r}: a {kind} is given as SITE:{upper}").format(text=text, kind=kind, upper=kind.upper()))
        if kind == "card":
            ref = re.sub(r"[\s:-]", "", ref).upper()
        return kind, site, ref
    if not text:
        raise AccountError(_("an empty {kind} was given").format(kind=kind))
    return kind, (text if kind == "site" else ""), text


def add_person(conn: Connection, *, name: str, role: str, password: str, grants: Iterable[str], at: datetime,
               display_name: str = "", email: str = "") -> None:
    """Create a person (or, for a name that exists, replace their role, password and
    grants). Raises AccountError naming the problem; nothing is changed then."""
    if not _NAME.match(name):
        raise AccountError(_("name {name!r}: use 2 to 64 letters, digits, _ . @ -").format(name=name))
    if role not in ROLES:
        raise AccountError(_("unknown role {role!r} (one of {roles})").format(role=role, roles=", ".join(ROLES)))
    if len(password) < MIN_PASSWORD:
        raise AccountError(_("a password has at least {count} characters").format(count=MIN_PASSWORD))
    if email and not re.fullmatch(r"[^@\s]+@[^@\s]+\.[^@\s]+", email):
        raise AccountError(_("{email!r} is not an e-mail address").format(email=email))
    parsed = sorted({parse_grant(role, g) for g in grants})
    if not parsed:
        raise AccountError(_("a {role} sees nothing without at least one grant").format(role=_(ROLES[role])))
    values = {"display_name": display_name[:80], "role": role, "password_hash": hash_password(password), "email": email,
              "active": True, "failed_attempts": 0, "lockouts": 0, "locked_until": None}
    if conn.execute(select(db.person.c.name).where(db.person.c.name == name)).first():
        conn.execute(update(db.person).where(db.person.c.name == name).values(**values))
        conn.execute(delete(db.grant).where(db.grant.c.person == name))
        # A new password or role ends the sessions opened with the old ones.
        conn.execute(update(db.person_session).where(db.person_session.c.person == name, db.person_session.c.ended_at.is_(None)).values(ended_at=at))
    else:
        conn.execute(insert(db.person).values(name=name, created_at=at, **values))
    conn.execute(insert(db.grant), [{"person": name, "kind": k, "site_id": s, "ref": r} for k, s, r in parsed])
    audit(conn, at, "cloud admin", "person.saved", subject=name, detail=f"role={role} grants={len(parsed)}")


def unknown_grants(conn: Connection, name: str) -> list[str]:
    """A person's grants this cloud knows nothing of yet (a site, building or franchise
    not defined, a site not registered): shown as a warning, since they may come later."""
    unknown = []
    for g in conn.execute(select(db.grant).where(db.grant.c.person == name)).mappings():
        if g["kind"] == "building":
            known = conn.execute(select(db.building.c.building_id).where(db.building.c.building_id == g["ref"])).first()
        elif g["kind"] == "franchise":
            known = conn.execute(select(db.franchise.c.franchise_id).where(db.franchise.c.franchise_id == g["ref"])).first()
        else:
            known = conn.execute(select(db.site.c.site_id).where(db.site.c.site_id == g["site_id"])).first()
        if known is None:
            unknown.append(f"{g['site_id']}:{g['ref']}" if g["kind"] in ("pile", "card") else g["ref"])
    return unknown


def deactivate(conn: Connection, name: str, at: datetime) -> bool:
    """Stop a person signing in (their sessions end now). False when not known."""
    done = conn.execute(update(db.person).where(db.person.c.name == name).values(active=False))
    conn.execute(update(db.person_session).where(db.person_session.c.person == name, db.person_session.c.ended_at.is_(None)).values(ended_at=at))
    if done.rowcount:
        audit(conn, at, "cloud admin", "person.deactivated", subject=name)
    return bool(done.rowcount)


def people(conn: Connection) -> list[dict[str, Any]]:
    """Every person with their grants (for `booth cloud user list`)."""
    grants: dict[str, list[str]] = {}
    for g in conn.execute(select(db.grant).order_by(db.grant.c.seq)).mappings():
        grants.setdefault(g["person"], []).append(f"{g['site_id']}:{g['ref']}" if g["kind"] in ("pile", "card") else g["ref"])
    return [
        {"name": r["name"], "role": r["role"], "email": r["email"], "active": r["active"], "grants": grants.get(r["name"], [])}
        for r in conn.execute(select(db.person).order_by(db.person.c.name)).mappings()
    ]


def sign_in(conn: Connection, name: str, password: str, at: datetime, client: str) -> str:
    """Check a password and open a session; returns the cookie's value. Wrong passwords
    are counted and lock the name like the booth's PINs; unknown names get the same
    answer in the same time. Raises AccountError (the caller commits the counting)."""
    key = name.strip()[:64]
    row = conn.execute(select(db.person).where(db.person.c.name == key)).mappings().first()
    if row is None or not row["active"]:
        _verify(_NOBODY_HASH, password)
        audit(conn, at, key, "person.sign_in", outcome="refused", client=client, detail="unknown or inactive name")
        raise AccountError(_(_WRONG))
    locked = _paused(row["locked_until"], at)
    if locked:
        _verify(_NOBODY_HASH, password)
        audit(conn, at, key, "person.sign_in", outcome="refused", client=client, detail="locked")
        raise AccountError(locked)
    if not _verify(row["password_hash"], password):
        failed, lockouts, until = row["failed_attempts"] + 1, row["lockouts"], row["locked_until"]
        if failed >= MAX_FAILED_ATTEMPTS:
            lockouts, failed = lockouts + 1, 0
            until = at + lockout_after(lockouts)
        conn.execute(update(db.person).where(db.person.c.name == key).values(failed_attempts=failed, lockouts=lockouts, locked_until=until))
        audit(conn, at, key, "person.sign_in", outcome="refused", client=client, detail="wrong password" + (" (locked)" if until and not row["locked_until"] else ""))
        raise AccountError(_(_WRONG))
    conn.execute(update(db.person).where(db.person.c.name == key).values(failed_attempts=0, lockouts=0, locked_until=None))
    token = secrets.token_urlsafe(32)
    conn.execute(insert(db.person_session).values(token_hash=_token_hash(token), person=key, csrf=secrets.token_urlsafe(24),
                                                  created_at=at, expires_at=at + SESSION_LIFETIME))
    audit(conn, at, key, "person.sign_in", outcome="ok", client=client)
    return token


def _paused(locked_until: datetime | None, now: datetime) -> str | None:
    """The refusal while a name's sign-in is paused (the booth's rule, in a password's words)."""
    if locked_until is not None and now < locked_until:
        minutes = max(1, -int(-(locked_until - now).total_seconds() // 60))  # rounded up
        return _("Sign-in paused after {count} wrong passwords; try again in {minutes} min.").format(count=MAX_FAILED_ATTEMPTS, minutes=minutes)
    return None


def sign_out(conn: Connection, token: str, at: datetime) -> None:
    conn.execute(update(db.person_session).where(db.person_session.c.token_hash == _token_hash(token)).values(ended_at=at))


def scope_for_session(conn: Connection, token: str, at: datetime) -> Scope | None:
    """The person a session cookie belongs to and what they may see; None when the
    cookie is unknown, ended or expired, or the person was deactivated."""
    s = conn.execute(select(db.person_session).where(db.person_session.c.token_hash == _token_hash(token))).mappings().first()
    if s is None or s["ended_at"] is not None or s["expires_at"] <= at:
        return None
    return scope_of(conn, s["person"], csrf=s["csrf"])


def scope_of(conn: Connection, name: str, csrf: str = "") -> Scope | None:
    row = conn.execute(select(db.person).where(db.person.c.name == name)).mappings().first()
    if row is None or not row["active"]:
        return None
    kinds: dict[str, set[Any]] = {"site": set(), "building": set(), "franchise": set(), "pile": set(), "card": set()}
    for g in conn.execute(select(db.grant).where(db.grant.c.person == name)).mappings():
        kinds.setdefault(g["kind"], set()).add((g["site_id"], g["ref"]) if g["kind"] in ("pile", "card") else g["ref"])
    return Scope(
        person=name, role=row["role"], display_name=row["display_name"] or name,
        sites=frozenset(kinds["site"]), buildings=frozenset(kinds["building"]), franchises=frozenset(kinds["franchise"]),
        piles=frozenset(kinds["pile"]), cards=frozenset(kinds["card"]), csrf=csrf,
    )


def franchise_emails(conn: Connection, franchise_id: str) -> list[str]:
    """The e-mail addresses of the franchise's active managers."""
    q = (
        select(db.person.c.email)
        .join(db.grant, db.grant.c.person == db.person.c.name)
        .where(db.grant.c.kind == "franchise", db.grant.c.ref == franchise_id, db.person.c.active.is_(True),
               db.person.c.role == "franchise_manager", db.person.c.email != "")
        .order_by(db.person.c.email)
    )
    return sorted(set(conn.execute(q).scalars()))


def audit(conn: Connection, at: datetime, person: str, action: str, *, site_id: str = "", subject: str = "",
          outcome: str = "", client: str = "", detail: str = "") -> None:
    """One entry of the people's audit trail."""
    conn.execute(insert(db.person_audit).values(at=at, person=person[:64], action=action, site_id=site_id[:64], subject=subject[:64],
                                                outcome=outcome, client=client[:64], detail=detail))


def audit_trail(conn: Connection, *, subject: str | None = None, action: str | None = None, limit: int = 200) -> list[dict[str, Any]]:
    """The newest entries first, optionally of one subject or action."""
    q = select(db.person_audit).order_by(db.person_audit.c.seq.desc()).limit(limit)
    if subject is not None:
        q = q.where(db.person_audit.c.subject == subject)
    if action is not None:
        q = q.where(db.person_audit.c.action == action)
    return [dict(r) for r in conn.execute(q).mappings()]


def site_audit(conn: Connection, scope: Scope, *, person: str | None = None, limit: int = 200) -> list[dict[str, Any]]:
    """The audit of the sites a site manager runs (portraits shown or refused, faults
    closed), newest first; empty for everyone else."""
    if not scope.sites:
        return []
    q = select(db.person_audit).where(db.person_audit.c.site_id.in_(sorted(scope.sites))).order_by(db.person_audit.c.seq.desc()).limit(limit)
    if person:
        q = q.where(db.person_audit.c.person == person)
    return [dict(r) for r in conn.execute(q).mappings()]
