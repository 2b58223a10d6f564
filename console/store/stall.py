"""A server that stops answering mid-transaction must not hold the booth forever.

PostgreSQL's own timeouts (statement_timeout, lock_timeout) run on the server: a server
that is frozen, overloaded past answering, or behind a dead network link never fires
them, and the booth's thread waits on its socket indefinitely (the exit desk would show
"recording payment…" for ever). So every transaction a `Store` opens on PostgreSQL is
watched: when it is still running after `stall_timeout_s`, its connection's socket is
shut down from here. The waiting call then fails at once, the transaction is rolled
back by the server, and the caller gets a StoreError it can show and retry (payments
are idempotent by their ticket, so a retry never pays twice).

One thread watches every open transaction (no thread per transaction on the lanes' hot
path); SQLite needs none (its busy timeout runs in the booth's own process)."""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
from dataclasses import dataclass, field
from typing import Any
from weakref import WeakKeyDictionary

from sqlalchemy import event
from sqlalchemy.engine import Engine
from sqlalchemy.exc import DisconnectionError

log = logging.getLogger(__name__)


@dataclass(eq=False)
class Watch:
    """One open transaction: its deadline and, once it has talked to the server, its socket."""

    deadline: float
    fd: int | None = None
    fired: bool = False
    lock: threading.Lock = field(default_factory=threading.Lock)


_current = threading.local()  # the Watch of the transaction this thread has open


class StallWatchdog:
    """Shuts down the socket of any watched transaction past its deadline."""

    def __init__(self, period_s: float = 0.25) -> None:
        self._period = period_s
        self._watches: set[Watch] = set()
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None

    def arm(self, timeout_s: float) -> Watch:
        """Start watching the calling thread's next transaction."""
        watch = Watch(time.monotonic() + timeout_s)
        with self._lock:
            self._watches.add(watch)
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="db-stall-watchdog", daemon=True)
                self._thread.start()
        _current.watch = watch
        return watch

    def disarm(self, watch: Watch) -> None:
        """The transaction ended (committed, rolled back or failed)."""
        with self._lock:
            self._watches.discard(watch)
        with watch.lock:
            watch.fd = None  # never touch a socket the pool may hand to someone else
        if getattr(_current, "watch", None) is watch:
            _current.watch = None

    def _run(self) -> None:
        while True:
            time.sleep(self._period)
            now = time.monotonic()
            with self._lock:
                late = [w for w in self._watches if w.deadline <= now and not w.fired]
            for watch in late:
                _cut(watch)


def _cut(watch: Watch) -> None:
    with watch.lock:
        watch.fired = True
        fd = watch.fd
        if fd is None:
            return
        try:
            # A duplicate of the descriptor, so closing it here leaves the driver's own
            # descriptor to the driver: shutdown() acts on the shared connection.
            sock = socket.socket(fileno=os.dup(fd))
        except OSError:
            return
        try:
            sock.shutdown(socket.SHUT_RDWR)
            log.warning("the database has not answered in time; its connection was cut so the booth can go on")
        except OSError:
            pass
        finally:
            sock.close()


WATCHDOG = StallWatchdog()


# The stall timeout of each watched engine (Store reads it when it is made).
_TIMEOUTS: WeakKeyDictionary[Engine, float] = WeakKeyDictionary()


def stall_timeout_of(engine: Engine) -> float:
    """The stall timeout `engine` was made with (0: not watched)."""
    return _TIMEOUTS.get(engine, 0.0)


def watch_engine(engine: Engine, timeout_s: float) -> None:
    """Let the watchdog find the socket of each watched transaction on `engine`, and ping
    each connection the pool hands out under the watch (the engine is made without
    SQLAlchemy's own pre-ping, which would wait unwatched on a frozen server)."""
    _TIMEOUTS[engine] = timeout_s

    @event.listens_for(engine, "do_connect")
    def _connect_within_the_watch(dialect: Any, record: Any, cargs: Any, cparams: dict[str, Any]) -> None:
        # A fresh connection made for a watched transaction (the pool replacing one cut
        # or lost) has only what is left of the watch to connect: a socket being opened
        # cannot be cut, and a link that froze would otherwise hold the booth for the
        # whole connect timeout on top of the stall timeout.
        watch: Watch | None = getattr(_current, "watch", None)
        if watch is None:
            return
        left = max(1, int(watch.deadline - time.monotonic() + 0.999))
        if watch.fired:
            left = 1
        cparams["connect_timeout"] = min(int(cparams.get("connect_timeout") or left), left)

    @event.listens_for(engine, "checkout")
    def _ping_watched(dbapi_connection: Any, record: Any, proxy: Any) -> None:
        watch: Watch | None = getattr(_current, "watch", None)
        if watch is not None:
            try:
                fd = int(dbapi_connection.pgconn.socket)
            except Exception:  # noqa: BLE001 - not a psycopg connection: nothing to watch
                fd = None
            with watch.lock:
                watch.fd = fd
            if watch.fired:
                _cut(watch)
        try:
            _ping(dbapi_connection)
        except Exception as exc:  # noqa: BLE001 - any failure: this connection is gone
            if watch is not None:
                with watch.lock:
                    watch.fd = None
            raise DisconnectionError(str(exc)) from exc  # the pool tries a fresh connection


def _ping(dbapi_connection: Any) -> None:
    """One round trip that proves the connection answers, and leaves no transaction open
    (isolation and autocommit stay settable for whoever uses it next). The ping runs in
    autocommit: switching it on and off on an idle psycopg connection is a client-side
    flag, where a ping inside a transaction would cost a second round trip to roll back."""
    manual = not getattr(dbapi_connection, "autocommit", True)
    if manual:
        dbapi_connection.autocommit = True
    try:
        cursor = dbapi_connection.cursor()
        try:
            cursor.execute("SELECT 1")
        finally:
            cursor.close()
    finally:
        if manual:
            dbapi_connection.autocommit = False
