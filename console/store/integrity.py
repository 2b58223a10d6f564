"""Which unique index a failed insert ran into, on SQLite and on PostgreSQL alike.

A repository that inserts a row another booth may be inserting at the same moment (the
same plate's open visit, the same user name) lets the unique index decide, then says what
the clash means. Only the clash it expects is turned into a refusal; any other is a fault.
"""

from __future__ import annotations

from sqlalchemy.exc import IntegrityError

__all__ = ["violates"]


def violates(exc: IntegrityError, *, index: str, table: str, column: str) -> bool:
    """Whether `exc` is a violation of the unique index `index` on `table`.`column`.

    PostgreSQL names the violated index or constraint; SQLite names the columns of the
    violated unique index ("UNIQUE constraint failed: table.column")."""
    orig = exc.orig
    constraint = getattr(getattr(orig, "diag", None), "constraint_name", None)
    if constraint is not None:
        return bool(constraint == index)
    return f"unique constraint failed: {table}.{column}".lower() in str(orig).lower()
