"""Real database faults for the fault tests."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager

from console.store.database import Store


@contextmanager
def write_lock_held(store: Store) -> Iterator[sqlite3.Connection]:
    """Another program on the same SQLite file: a connection that holds the write lock
    (`BEGIN IMMEDIATE`) for the whole block, longer than the store's busy timeout."""
    path = store.engine.url.database
    assert path, "an SQLite file store"
    other = sqlite3.connect(path, isolation_level=None, timeout=0.1)
    try:
        other.execute("BEGIN IMMEDIATE")
        yield other
    finally:
        if other.in_transaction:
            other.execute("ROLLBACK")
        other.close()
