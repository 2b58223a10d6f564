"""The store's own error, importable without the database stack (the screen starts before
SQLAlchemy is loaded, and must still recognize a database failure)."""

from __future__ import annotations


class StoreError(RuntimeError):
    """The database cannot be used: read-only, locked, missing directory, corrupt."""
