"""The audit trail: every entry carries the digest of the previous one, so an edited or
deleted row breaks the chain and `verify_chain` names the first broken link.

Unkeyed, anyone who can write the database can also rewrite the chain after an edit.
So a site seals its chain with a secret key kept outside the database (the site's secret
store): from the entry `since` on, each digest is an HMAC-SHA256 under that key, and the
database records only the key's fingerprint and `since`. Without the key an edit cannot
be re-sealed; a deleted tail is caught by the anchors (heads copied outside the booth:
the cloud, the printed Z report, a local anchor file)."""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any
from weakref import WeakKeyDictionary

from sqlalchemy import bindparam, inspect, select
from sqlalchemy.engine import Connection, Engine
from sqlmodel import Session

from console.i18n import _
from console.store.changes import announce
from console.store.errors import StoreError
from console.store.locks import lock_site_writes
from console.store.prepared import Prepared
from console.store.tables import AuditRow, AuditSealRow
from console.store.types import table_of

GENESIS = "0" * 64

# Built once: statement construction costs more than the SQL itself on the hot path.
_TABLE = table_of(AuditRow)
_LAST_ENTRY = Prepared(select(_TABLE.c.seq, _TABLE.c.hash).order_by(_TABLE.c.seq.desc()).limit(1))
_COLUMNS = ("seq", "at", "actor", "action", "subject", "detail", "prev_hash", "hash")
_INSERT = Prepared(_TABLE.insert().values({name: bindparam(name) for name in _COLUMNS}))


@dataclass(frozen=True, slots=True)
class AuditSeal:
    """The site's audit key and the first entry it seals."""

    key: bytes
    since: int

    @property
    def fingerprint(self) -> str:
        """Names the key without revealing it (stored in the database, shown by the doctor)."""
        return hmac.new(self.key, b"booth audit key", hashlib.sha256).hexdigest()[:16]


@dataclass(frozen=True, slots=True)
class Anchor:
    """A chain head copied outside the database: entry `seq` had digest `digest`.

    `digest` may be a prefix (a printed Z report shows 16 hex digits)."""

    seq: int
    digest: str
    source: str = ""


# The seal each open database writes with. Kept by engine, not by session: every
# writer on the engine (site, CLI, reports) must seal, or its entries would stand out.
_SEALS: WeakKeyDictionary[Engine, AuditSeal] = WeakKeyDictionary()


def seal_audit(engine: Engine, seal: AuditSeal | None) -> None:
    """From now on, entries written through `engine` are sealed with `seal` (None: unkeyed)."""
    _UNSEALED.pop(engine, None)
    if seal is None:
        _SEALS.pop(engine, None)
    else:
        _SEALS[engine] = seal


# Engines checked once for a seal they do not hold (True: the database is not sealed).
_UNSEALED: WeakKeyDictionary[Engine, bool] = WeakKeyDictionary()


def _seal_of(db: Session) -> AuditSeal | None:
    """The seal to write with; refuses a sealed database opened without its key."""
    bind = db.get_bind()
    engine = bind.engine if isinstance(bind, Connection) else bind
    if not isinstance(engine, Engine):
        return None
    seal = _SEALS.get(engine)
    if seal is None and engine not in _UNSEALED:
        recorded = recorded_seal(db)
        if recorded is not None:
            raise StoreError(_("this database's audit chain is sealed with key {fingerprint}, which this program was not given; "
                               "nothing was recorded (import the key with `booth audit key import`)").format(fingerprint=recorded.fingerprint))
        _UNSEALED[engine] = True
    return seal


def _digest(prev_hash: str, seq: int, at: datetime, actor: str, action: str, subject: str, detail: str,
            key: bytes | None = None) -> str:
    material = json.dumps(
        [prev_hash, seq, at.isoformat(), actor, action, subject, detail],
        ensure_ascii=False,
        separators=(",", ":"),
    ).encode("utf-8")
    if key is None:
        return hashlib.sha256(material).hexdigest()
    return hmac.new(key, material, hashlib.sha256).hexdigest()


def append_audit(
    db: Session,
    *,
    at: datetime,
    actor: str,
    action: str,
    subject: str = "",
    detail: dict[str, Any] | None = None,
) -> str:
    """Add an entry inside the caller's transaction. Returns the entry's digest.

    The chain cannot fork between two writers: on SQLite the transaction holds the
    database's write lock; on PostgreSQL the site's write lock is taken here, before the
    chain's head is read, and held until the caller commits (so every booth's entries
    join one chain per site). Sealed with the site's key when the database has one."""
    # The JSON is written before the chain's head is read: only the digest needs the head.
    detail_text = json.dumps(detail or {}, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
    at_utc = at.astimezone(timezone.utc)
    announce(db, action)  # every booth's listener hears of it when this commits
    seal = _seal_of(db)
    lock_site_writes(db)  # held to the commit: as little as possible after it
    last = _LAST_ENTRY.first(db)  # prepared statements on the session's transaction: the hot path
    prev_hash = last[1] if last else GENESIS
    seq = last[0] + 1 if last else 1
    digest = _digest(prev_hash, seq, at_utc, actor, action, subject, detail_text, seal.key if seal else None)
    _INSERT.execute(db, seq=seq, at=at_utc, actor=actor, action=action, subject=subject, detail=detail_text, prev_hash=prev_hash, hash=digest)
    return digest


def head(db: Session) -> tuple[int, str] | None:
    """The chain's last entry: (seq, digest), or None for an empty chain."""
    last = _LAST_ENTRY.first(db)
    return (int(last[0]), str(last[1])) if last else None


def recorded_seal(db: Session) -> AuditSealRow | None:
    """The database's record of the key that seals its chain (fingerprint and since).

    None as well for a schema older than the seal (a backup of an older database)."""
    if not inspect(db.connection()).has_table(AuditSealRow.__tablename__):
        return None
    return db.get(AuditSealRow, 1)


def establish_seal(db: Session, key: bytes, *, at: datetime) -> AuditSeal:
    """Seal the chain with `key` from its next entry on, once per database.

    Under the site's write lock, so two booths starting together cannot both do it.
    Returns the seal in force; raises ValueError if another key already seals the chain."""
    lock_site_writes(db)
    existing = recorded_seal(db)
    fingerprint = AuditSeal(key, 0).fingerprint
    if existing is not None:
        if existing.fingerprint != fingerprint:
            raise ValueError(_("the audit chain is sealed with another key (fingerprint {fingerprint})").format(fingerprint=existing.fingerprint))
        return AuditSeal(key, existing.since)
    last = head(db)
    seal = AuditSeal(key, (last[0] + 1) if last else 1)
    db.add(AuditSealRow(id=1, fingerprint=fingerprint, since=seal.since, created_at=at))
    db.flush()
    return seal


@dataclass(frozen=True, slots=True)
class ChainReport:
    """The result of checking the audit chain.

    `sealed_from` is the first entry checked against the site's key (None: the chain is
    not sealed, or this check had no key). `anchored` is the newest anchor the chain
    reached."""

    entries: int
    ok: bool
    first_bad_seq: int | None = None
    problem: str = ""
    sealed_from: int | None = None
    anchored: int | None = None
    warnings: tuple[str, ...] = ()


def verify_chain(session: Session, batch: int = 20000, *, seal: AuditSeal | None = None,
                 anchors: Iterable[Anchor] = ()) -> ChainReport:
    """Walk the chain in order; report the first missing, edited, re-linked or re-sealed
    entry, and a chain that ends before an anchored head.

    With `seal`, entries from `seal.since` on must carry the key's HMAC: an entry
    recomputed without the key (or with a plain hash) is reported. Without it, a sealed
    database is checked link by link only, and the report says so. Reads plain rows in
    batches (no ORM objects): a year of entries checks in seconds."""
    recorded = recorded_seal(session)
    warnings: list[str] = []
    if seal is not None:
        if recorded is None:
            return ChainReport(0, False, seal.since, _("the database's record of the audit key was removed (the key seals entries from {since} on)").format(since=seal.since))
        if recorded.fingerprint != seal.fingerprint or recorded.since != seal.since:
            return ChainReport(0, False, min(recorded.since, seal.since), _("the database's record of the audit key was changed (it says entry {recorded}, the key says {since})").format(recorded=recorded.since, since=seal.since))
    elif recorded is not None:
        warnings.append(_("entries from {since} on are sealed with key {fingerprint}, which this computer does not hold: they were checked link by link only").format(since=recorded.since, fingerprint=recorded.fingerprint))
    wanted = sorted(anchors, key=lambda a: a.seq)
    key = seal.key if seal else None
    since = seal.since if seal else None
    unkeyed_sealed = recorded.since if (seal is None and recorded is not None) else None
    table = _TABLE
    columns = select(table.c.seq, table.c.at, table.c.actor, table.c.action, table.c.subject, table.c.detail, table.c.prev_hash, table.c.hash)
    utc = timezone.utc
    prev_hash = GENESIS
    expected_seq = 1
    count = 0
    last_seq = 0
    reached: int | None = None
    pending = list(wanted)

    def report(ok: bool, bad: int | None = None, problem: str = "") -> ChainReport:
        return ChainReport(count, ok, bad, problem, since, reached, tuple(warnings))

    while True:
        rows = session.execute(columns.where(table.c.seq > last_seq).order_by(table.c.seq).limit(batch)).all()
        if not rows:
            break
        for seq, at, actor, action, subject, detail, row_prev, row_hash in rows:
            if seq != expected_seq:
                return report(False, expected_seq, _("entry {seq} is missing").format(seq=expected_seq))
            if row_prev != prev_hash:
                return report(False, seq, _("entry {seq} does not link to entry {prev}").format(seq=seq, prev=seq - 1))
            moment = at if at.tzinfo is not None else at.replace(tzinfo=utc)
            sealed = since is not None and seq >= since
            checkable = unkeyed_sealed is None or seq < unkeyed_sealed  # no key here: links only
            if checkable and _digest(row_prev, seq, moment, actor, action, subject, detail, key if sealed else None) != row_hash:
                if sealed and _digest(row_prev, seq, moment, actor, action, subject, detail) == row_hash:
                    return report(False, seq, _("entry {seq} was written without the site's audit key (rewritten, or by a booth that lacks the key)").format(seq=seq))
                return report(False, seq, _("entry {seq} was altered after it was written").format(seq=seq))
            while pending and pending[0].seq == seq:
                anchor = pending.pop(0)
                if not row_hash.startswith(anchor.digest.lower()):
                    return report(False, seq, _("entry {seq} differs from the head anchored {source}").format(seq=seq, source=anchor.source or _("outside the booth")))
                reached = seq
            prev_hash = row_hash
            expected_seq += 1
            count += 1
            last_seq = seq
    if pending:
        lost = pending[-1]
        return report(False, last_seq + 1, _("the chain ends at entry {last} but entry {seq} was anchored {source}: entries were deleted from its end").format(last=last_seq, seq=lost.seq, source=lost.source or _("outside the booth")))
    return report(True)
