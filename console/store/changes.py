"""Telling every booth of a site that another booth changed something.

Each audited change announces itself (`announce`, called by `append_audit`): on PostgreSQL
a NOTIFY on the site's channel, delivered to every listening booth when the change
commits (never before, never for a rollback). `ChangeFeed` is how a booth waits for
them: on PostgreSQL a LISTEN on a connection of its own that is opened again whenever it
is lost (reporting the reconnection as a change, since notifications sent meanwhile are
gone); on SQLite, whose booths share a file and have no notifications, a poll.
"""

from __future__ import annotations

import logging
import threading
from typing import Any

from sqlalchemy import text
from sqlalchemy.engine import Engine
from sqlmodel import Session

__all__ = ["CHANNEL", "ChangeFeed", "announce"]

log = logging.getLogger(__name__)

# One channel per database: booths of one site share a database, and NOTIFY reaches only
# the listeners connected to the database it was sent in.
CHANNEL = "booth_site_changes"
_NOTIFY = text("SELECT pg_notify(:channel, :what)")


def announce(db: Session, what: str) -> None:
    """Inside a write transaction: tell every booth, once it commits, that `what` (an
    audit action such as "visit.entry") changed. Nothing on SQLite (its booths poll)."""
    conn = db.connection()
    if conn.dialect.name == "postgresql":
        conn.execute(_NOTIFY, {"channel": CHANNEL, "what": what[:200]})


class ChangeFeed:
    """Waits for changes made by any booth of the site (this one included).

    `wait(timeout)` returns True when something may have changed: a notification came,
    the listening connection was opened again after a loss, or (SQLite) a poll interval
    passed. One thread waits and closes; `interrupt()` may come from any thread.
    """

    def __init__(self, engine: Engine, *, poll_s: float = 0.5, retry_max_s: float = 5.0) -> None:
        self.engine = engine
        self.poll_s = poll_s
        self.retry_max_s = retry_max_s
        self.listening = engine.dialect.name == "postgresql"
        self.reconnects = 0  # how often the listening connection was opened again
        self._conn: Any = None  # the psycopg connection that LISTENs
        self._retry_s = 0.2
        self._closed = threading.Event()

    @property
    def backend_pid(self) -> int | None:
        """The server process of the listening connection (None when not connected)."""
        conn = self._conn
        return int(conn.info.backend_pid) if conn is not None else None

    def wait(self, timeout: float) -> bool:
        """Wait up to `timeout` seconds for a change; True if there may have been one."""
        if self._closed.is_set():
            return False
        if not self.listening:
            return not self._closed.wait(min(timeout, self.poll_s))
        if self._conn is None:
            return self._connect(timeout)
        try:
            got = any(True for _ in self._conn.notifies(timeout=timeout, stop_after=1))
            if got:  # several commits in a burst make one change for the listener
                for _ in self._conn.notifies(timeout=0.01):
                    pass
            return got
        except Exception as exc:  # the connection was lost: the server restarted, the link dropped
            if self._closed.is_set():
                return False
            log.warning("the site's change feed lost its connection (%s); opening it again", exc)
            self._drop()
            return self._connect(timeout)

    def _connect(self, timeout: float) -> bool:
        """Open the listening connection; True once listening (a change: what was sent
        while not listening is lost), False after waiting out a failed attempt."""
        try:
            raw = self.engine.raw_connection()
            conn: Any = raw.driver_connection
            raw.detach()  # its own connection for as long as the feed runs, not the pool's
            if conn is None:
                raise RuntimeError("no driver connection")
            conn.autocommit = True
            conn.execute(f"LISTEN {CHANNEL}")
        except Exception as exc:
            log.warning("the site's change feed cannot listen (%s); trying again in %.1f s", exc, self._retry_s)
            self._closed.wait(min(timeout, self._retry_s))
            self._retry_s = min(self._retry_s * 2, self.retry_max_s)
            return False
        self._conn = conn
        self._retry_s = 0.2
        self.reconnects += 1
        return True

    def _drop(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            try:
                conn.close()
            except Exception:
                pass

    def interrupt(self) -> None:
        """Make `wait` return False from now on (from any thread; the waiting thread
        returns within its timeout and then calls `close`)."""
        self._closed.set()

    def close(self) -> None:
        """Close the listening connection (by the thread that waits: a psycopg
        connection must not be closed under a thread blocked in it)."""
        self._closed.set()
        self._drop()
