"""Column types shared by the tables."""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any, cast

from sqlalchemy import Column, Table
from sqlalchemy.types import DateTime, TypeDecorator

from console.i18n import _


class UTCDateTime(TypeDecorator[datetime]):
    """Stores aware datetimes as naive UTC and returns them aware again.

    SQLite has no time zone type; keeping everything UTC in the column and converting at
    the edge avoids mixing local and UTC times in one table.
    """

    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: object) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError(_("naive datetime refused: store aware UTC times only"))
        return value.astimezone(timezone.utc).replace(tzinfo=None)

    def process_result_value(self, value: datetime | None, dialect: object) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=timezone.utc)


def table_of(model: type[Any]) -> Table:
    """The Core table of a SQLModel table class (for statements built once, on hot paths)."""
    return cast(Table, model.__table__)


def utc_column(nullable: bool = False, index: bool = False) -> Column[datetime]:
    """A column of aware UTC times."""
    return Column(UTCDateTime(), nullable=nullable, index=index)
