"""Statements of the lanes' hot path, compiled once and sent straight to the driver.

SQLAlchemy builds an execution context, a cache key and a result object for every
statement; on the exit lane's lookup and the entry's commit that costs several times what
SQLite itself takes. A `Prepared` statement is compiled once per database dialect; each
run binds its parameters with the columns' own type processors (UTC times, for one),
sends the SQL on the caller's transaction's connection in one round trip, and converts
the rows with the columns' result processors. It runs inside the session's transaction
(begun the usual way, so SQLite's BEGIN / BEGIN IMMEDIATE and PostgreSQL's locks hold;
rows the session holds unwritten are flushed first, as before any query of the session),
the engine's `before_cursor_execute` listeners still hear it, and a driver error becomes
SQLAlchemy's own error, which the store turns into a message for people.
"""

from __future__ import annotations

from collections import namedtuple
from typing import Any, Callable, NamedTuple, cast
from weakref import WeakKeyDictionary

from sqlalchemy.engine import Connection, Dialect
from sqlalchemy.exc import DBAPIError
from sqlalchemy.sql import ClauseElement
from sqlalchemy.sql.compiler import SQLCompiler
from sqlmodel import Session

__all__ = ["Prepared"]


class _Compiled(NamedTuple):
    sql: str
    names: tuple[str, ...] | None  # parameter order for positional drivers (sqlite3's "?")
    defaults: dict[str, Any]  # values fixed in the statement (a LIMIT 1)
    binds: dict[str, Callable[[Any], Any]]  # name -> the column type's bind processor
    results: tuple[Callable[[Any], Any] | None, ...]  # per result column
    row: Any  # the named tuple class of a result row (None for statements without rows)


_CONNECTION = "booth_prepared_connection"  # session.info key: (transaction, its connection)


def _connection(db: Session) -> Connection:
    """The connection of the session's transaction (begun if not yet), looked up once
    per transaction: asking the session each time costs more than SQLite's answer."""
    held = db.info.get(_CONNECTION)
    transaction = db.get_transaction()
    if held is not None and transaction is not None and held[0] is transaction:
        return held[1]  # type: ignore[no-any-return]
    conn = db.connection()  # begins the session's transaction if not yet begun
    db.info[_CONNECTION] = (db.get_transaction(), conn)
    return conn


def _close_quietly(cursor: Any) -> None:
    try:
        cursor.close()
    except Exception:  # noqa: BLE001 - the statement's own error is the one to report
        pass


class Prepared:
    """One Core statement, compiled once per dialect and run on the raw driver."""

    def __init__(self, statement: ClauseElement) -> None:
        self.statement = statement
        self._compiled: WeakKeyDictionary[Dialect, _Compiled] = WeakKeyDictionary()

    def _compile(self, dialect: Dialect) -> _Compiled:
        compiled = cast(SQLCompiler, self.statement.compile(dialect=dialect))
        binds: dict[str, Callable[[Any], Any]] = {}
        # Every parameter is a bindparam of the statement; an INSERT names each column it
        # fills (`values({column: bindparam(column)})`), defaults included.
        for name, bind in compiled.binds.items():
            processor = bind.type.dialect_impl(dialect).bind_processor(dialect)
            if processor is not None:
                binds[name] = processor
        defaults = {name: bind.effective_value for name, bind in compiled.binds.items() if not bind.required}
        names = tuple(compiled.positiontup) if compiled.positional and compiled.positiontup else None
        columns = list(getattr(self.statement, "exported_columns", ()))  # a SELECT's columns, or what RETURNING gives
        results = tuple(column.type.dialect_impl(dialect).result_processor(dialect, None) for column in columns)
        row = namedtuple("Row", [column.key for column in columns], rename=True) if columns else None
        found = _Compiled(compiled.string, names, defaults, binds, results, row)
        self._compiled[dialect] = found
        return found

    def _run(self, db: Session, params: dict[str, Any]) -> tuple[Any, _Compiled]:
        if db.autoflush and (db.new or db.dirty or db.deleted):
            db.flush()  # as the session would before a query: rows added in this transaction are seen
        conn = _connection(db)
        dialect = conn.dialect
        c = self._compiled.get(dialect) or self._compile(dialect)
        values = {**c.defaults, **params}
        for name, processor in c.binds.items():
            if name in values:
                values[name] = processor(values[name])
        bound: Any = tuple(values[name] for name in c.names) if c.names is not None else values
        cursor = conn.connection.dbapi_connection.cursor()  # type: ignore[union-attr]
        for listener in conn.dispatch.before_cursor_execute:
            listener(conn, cursor, c.sql, bound, None, False)
        try:
            cursor.execute(c.sql, bound)
        except Exception as exc:
            error = dialect.loaded_dbapi.Error
            if isinstance(exc, error):
                # A lost connection must not go back to the pool (as SQLAlchemy would do).
                gone = dialect.is_disconnect(exc, conn.connection.dbapi_connection, cursor)
                _close_quietly(cursor)
                if gone:
                    conn.invalidate(exc)
                raise DBAPIError.instance(c.sql, bound, exc, error, connection_invalidated=gone) from exc
            _close_quietly(cursor)
            raise
        return cursor, c

    def execute(self, db: Session, **params: Any) -> int:
        """Run a statement that returns no rows (INSERT, UPDATE); how many rows it changed."""
        cursor, _ = self._run(db, params)
        count = int(cursor.rowcount or 0)
        cursor.close()
        return count

    def all(self, db: Session, **params: Any) -> list[Any]:
        """Every row of a query, as named tuples with the columns' Python values."""
        cursor, c = self._run(db, params)
        try:
            raw = cursor.fetchall()
        finally:
            cursor.close()
        processors = c.results
        make = c.row._make
        if not any(processors):
            return [make(r) for r in raw]
        return [make([value if p is None or value is None else p(value) for p, value in zip(processors, r)]) for r in raw]

    def first(self, db: Session, **params: Any) -> Any | None:
        """The first row of a query, or None."""
        rows = self.all(db, **params)
        return rows[0] if rows else None
