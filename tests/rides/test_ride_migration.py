"""Migration 0005 creates exactly the ride tables the models describe."""

from pathlib import Path

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import inspect
from sqlmodel import SQLModel

import console.store.cloud_tables  # noqa: F401
import console.store.ride_tables  # noqa: F401
import console.store.tables  # noqa: F401
from console.store.engine import make_engine, sqlite_url
from console.store.migrate import head_revision, upgrade

MINE = {"elevator_ride", "elevator_card"}


def _mine(name: str | None, type_: str, parent_names: dict) -> bool:  # type: ignore[type-arg]
    # Later migrations add other features' tables; compare only the ride tables here.
    if type_ == "table":
        return name in MINE
    return parent_names.get("table_name") in MINE if type_ != "schema" else True


def _mine_object(obj, name, type_, reflected, compare_to) -> bool:  # type: ignore[no-untyped-def]
    if type_ == "table":
        return name in MINE
    table = getattr(obj, "table", None)
    return table is None or table.name in MINE


def test_upgrade_creates_the_ride_tables_the_models_describe(tmp_path: Path) -> None:
    engine = make_engine(sqlite_url(tmp_path / "m.sqlite3"))
    _, after = upgrade(engine)
    assert after == head_revision()
    with engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"include_name": _mine, "include_object": _mine_object, "compare_type": True})
        assert compare_metadata(context, SQLModel.metadata) == []
    assert MINE <= set(inspect(engine).get_table_names())
    engine.dispose()


def test_revision_follows_the_sync_migration() -> None:
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(Path(__file__).resolve().parents[2] / "migrations"))
    script = ScriptDirectory.from_config(cfg).get_revision("0005_rides")
    assert script is not None and script.down_revision == "0004_sync"
