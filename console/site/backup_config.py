"""The `[backup]` section of the site file: where and how often the database is copied.

Example:

    [backup]
    folder = "/media/booth-backup"   # a second disk or a removable one; "" = no schedule
    every_hours = 6
    keep = 28

With SQLite the console copies its database there while it runs (and `booth backup` does
it by hand); with PostgreSQL `booth backup` runs `pg_dump` into it (from a timer, see
packaging/INSTALL.md) and the console only checks that the newest dump is recent.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class BackupSection(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    # A relative folder is inside the booth's data folder. Empty: no scheduled backups
    # (`booth doctor` says so); a copy is still taken before every schema upgrade.
    folder: str = ""
    every_hours: float = Field(default=24.0, gt=0, le=24 * 31)
    # Scheduled backups kept in the folder; older ones are deleted after a good new one.
    keep: int = Field(default=14, ge=1, le=10_000)
