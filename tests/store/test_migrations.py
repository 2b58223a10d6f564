from pathlib import Path

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlmodel import SQLModel

import console.store.charging_tables  # noqa: F401
import console.store.cloud_tables  # noqa: F401
import console.store.ride_tables  # noqa: F401
import console.store.tables  # noqa: F401
from console.store.engine import make_engine, sqlite_url
from console.store.migrate import current_revision, head_revision, upgrade


def test_upgrade_creates_the_schema_the_models_describe(tmp_path: Path) -> None:
    engine = make_engine(sqlite_url(tmp_path / "m.sqlite3"))
    before, after = upgrade(engine)
    assert before is None and after == head_revision()
    assert upgrade(engine) == (after, after)  # running it again is harmless
    with engine.connect() as conn:
        assert compare_metadata(MigrationContext.configure(conn), SQLModel.metadata) == []
    assert current_revision(engine) == head_revision()
