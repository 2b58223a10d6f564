"""What the other booths of the site did, read from the audit chain.

Every entry, exit (with its payment) and barrier moved by hand is an audit entry that
names the booth that wrote it (`detail["booth"]`). A booth follows the site by reading
the entries after the last one it has seen: the chain's numbers are given under the
site's write lock and committed in that order, so "after the last seen number" never
skips an entry that commits late. The change feed (NOTIFY or the SQLite poll) only says
when to read; the entries themselves are read here, so a lost notification loses nothing.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, func, select
from sqlmodel import Session

from console.store.tables import AuditRow
from console.store.types import table_of

__all__ = ["PAGE", "SITE_EVENT_ACTIONS", "SiteActivity", "activity_after", "first_entry", "last_seq"]

# What every booth's event log shows of the others: vehicles in and out, money taken,
# barriers moved by hand.
SITE_EVENT_ACTIONS = ("visit.entry", "visit.entry_manual", "visit.exit", "gate.manual_open", "gate.manual_close")

# Entries read at most at once: a booth that falls far behind catches up page by page.
PAGE = 500

_TABLE = table_of(AuditRow)
_LAST_SEQ = select(func.coalesce(func.max(_TABLE.c.seq), 0))
_AFTER = (
    select(_TABLE.c.seq, _TABLE.c.at, _TABLE.c.actor, _TABLE.c.action, _TABLE.c.subject, _TABLE.c.detail)
    .where(_TABLE.c.seq > bindparam("after"), _TABLE.c.action.in_(SITE_EVENT_ACTIONS))
    .order_by(_TABLE.c.seq)
    .limit(bindparam("limit"))
)


@dataclass(frozen=True, slots=True)
class SiteActivity:
    """One audited entry, exit or manual barrier move, with the booth that made it
    ("" for entries written before booths named themselves, or by a command)."""

    seq: int
    at: datetime
    actor: str
    action: str
    subject: str
    detail: dict[str, Any]

    @property
    def booth(self) -> str:
        """The booth that wrote the entry ("" when unknown)."""
        value = self.detail.get("booth")
        return value if isinstance(value, str) else ""


def last_seq(db: Session) -> int:
    """The number of the chain's last entry (0 for an empty chain)."""
    return int(db.connection().execute(_LAST_SEQ).scalar_one())


def activity_after(db: Session, seq: int, *, limit: int = PAGE) -> list[SiteActivity]:
    """The site events recorded after entry `seq`, oldest first, at most `limit`."""
    found: list[SiteActivity] = []
    for row in db.connection().execute(_AFTER, {"after": seq, "limit": limit}):
        try:
            detail = json.loads(row.detail or "{}")
        except ValueError:
            detail = {}
        found.append(SiteActivity(int(row.seq), row.at, row.actor, row.action, row.subject,
                                  detail if isinstance(detail, dict) else {}))
    return found


def first_entry(db: Session, action: str) -> SiteActivity | None:
    """The chain's first entry of `action` (of any booth), or None."""
    row = db.connection().execute(
        select(_TABLE.c.seq, _TABLE.c.at, _TABLE.c.actor, _TABLE.c.action, _TABLE.c.subject, _TABLE.c.detail)
        .where(_TABLE.c.action == action).order_by(_TABLE.c.seq).limit(1)
    ).first()
    if row is None:
        return None
    try:
        detail = json.loads(row.detail or "{}")
    except ValueError:
        detail = {}
    return SiteActivity(int(row.seq), row.at, row.actor, row.action, row.subject, detail if isinstance(detail, dict) else {})
