"""The floor of a database figure: the very statements the console sent, replayed on the
raw driver (sqlite3 or psycopg) with the parameters they were sent with.

`StatementLog` records, per transaction, every statement an engine sends to its driver
(BEGIN included on SQLite) and how the transaction ended. `replay` sends one recorded
transaction again on a raw connection and returns its wall time: no SQLAlchemy, no
parameter building, no hashing, no JSON, only the driver and the database. For writes the
replay goes to a copy of the database taken before the run, so every insert finds the
same state it found the first time.
"""

from __future__ import annotations

import sqlite3
import threading
import time
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import Engine


@dataclass
class Transaction:
    """One transaction as the driver saw it."""

    statements: list[tuple[str, Any, bool]] = field(default_factory=list)  # (sql, parameters, executemany)
    end: str = ""  # "commit" or "rollback"


class StatementLog:
    """Records what an engine sends to its driver while `recording` is true, from the
    thread that set it (the site's own threads keep using the engine meanwhile)."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._thread: int | None = None
        self.done: list[Transaction] = []
        self._current = Transaction()
        event.listen(engine, "before_cursor_execute", self._statement)
        event.listen(engine, "commit", self._commit)
        event.listen(engine, "rollback", self._rollback)

    @property
    def recording(self) -> bool:
        return self._thread is not None

    @recording.setter
    def recording(self, on: bool) -> None:
        self._thread = threading.get_ident() if on else None
        self._current = Transaction()

    def _mine(self) -> bool:
        return self._thread is not None and threading.get_ident() == self._thread

    def _statement(self, _conn: Any, _cursor: Any, statement: str, parameters: Any, context: Any, executemany: bool) -> None:
        if self._mine():
            # A multi-row INSERT (SQLAlchemy's "insertmanyvalues") is one execute of its own
            # batch, though the context says executemany.
            style = getattr(getattr(context, "execute_style", None), "name", "")
            self._current.statements.append((statement, parameters, executemany and style != "INSERTMANYVALUES"))

    def _end(self, how: str) -> None:
        if not self._mine():
            return
        if self._current.statements:
            self._current.end = how
            self.done.append(self._current)
        self._current = Transaction()

    def _commit(self, _conn: Any) -> None:
        self._end("commit")

    def _rollback(self, _conn: Any) -> None:
        self._end("rollback")

    def take(self) -> list[Transaction]:
        """The transactions recorded since the last call."""
        done, self.done = self.done, []
        return done

    def close(self) -> None:
        event.remove(self.engine, "before_cursor_execute", self._statement)
        event.remove(self.engine, "commit", self._commit)
        event.remove(self.engine, "rollback", self._rollback)


def raw_sqlite(path: str, busy_timeout_ms: int = 5000) -> sqlite3.Connection:
    """A raw sqlite3 connection with the console's durability settings (WAL, FULL)."""
    conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    conn.execute(f"PRAGMA busy_timeout={busy_timeout_ms}")
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=FULL")
    conn.execute("PRAGMA foreign_keys=ON")
    conn.execute("PRAGMA secure_delete=ON")
    return conn


def replay(conn: Any, tx: Transaction) -> float:
    """Send `tx` again on the raw connection `conn`; its wall time in seconds. Every row
    a statement returns is fetched, as the console fetches it."""
    cursor = conn.cursor()
    start = time.perf_counter()
    for sql, parameters, many in tx.statements:
        if many:
            cursor.executemany(sql, parameters)
        else:
            cursor.execute(sql, parameters)
            if cursor.description is not None:
                cursor.fetchall()
    if tx.end == "commit":
        conn.commit()
    else:
        conn.rollback()
    elapsed = time.perf_counter() - start
    cursor.close()
    return elapsed


def percentile(values: list[float], share: float) -> float:
    """The value below which `share` of `values` lie."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, int(len(ordered) * share) - 1))]
