"""Migrations: every one runs on SQLite and PostgreSQL and lands on the schema the tables
describe; booths starting together against one fresh database all succeed."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import text
from sqlmodel import SQLModel

import console.store.charging_tables  # noqa: F401
import console.store.cloud_tables  # noqa: F401
import console.store.ride_tables  # noqa: F401
import console.store.tables  # noqa: F401
from console.store.engine import make_engine, sqlite_url
from console.store.migrate import current_revision, head_revision, upgrade

REPO = Path(__file__).resolve().parents[2]


def test_upgrade_creates_the_schema_the_models_describe(any_db_url: str) -> None:
    engine = make_engine(any_db_url)
    try:
        before, after = upgrade(engine)
        assert before is None and after == head_revision()
        assert upgrade(engine) == (after, after)  # running it again is harmless
        with engine.connect() as conn:
            assert compare_metadata(MigrationContext.configure(conn), SQLModel.metadata) == []
        assert current_revision(engine) == head_revision()
    finally:
        engine.dispose()


def test_every_migration_runs_down_and_up_again(any_db_url: str) -> None:
    from alembic import command

    from console.store.migrate import _config

    engine = make_engine(any_db_url)
    try:
        upgrade(engine)
        cfg = _config()
        with engine.begin() as conn:
            cfg.attributes["connection"] = conn
            command.downgrade(cfg, "base")
        assert current_revision(engine) is None
        assert upgrade(engine) == (None, head_revision())
        with engine.connect() as conn:
            assert compare_metadata(MigrationContext.configure(conn), SQLModel.metadata) == []
    finally:
        engine.dispose()


# A booth starting: import everything, say so, wait for the word, migrate, report what it
# saw. The word goes to all of them at once, so that they really race for the fresh database.
_BOOTH = textwrap.dedent(
    """
    import sys
    from console.store.engine import make_engine
    from console.store.migrate import upgrade
    engine = make_engine(sys.argv[1], busy_timeout_ms=30_000)
    print("ready", flush=True)
    sys.stdin.readline()
    before, after = upgrade(engine)
    print(f"{before} {after}", flush=True)
    """
)


def _start_together(url: str, booths: int) -> list[tuple[str, str]]:
    procs = [
        subprocess.Popen([sys.executable, "-c", _BOOTH, url], cwd=REPO, stdin=subprocess.PIPE,
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        for _ in range(booths)
    ]
    try:
        for proc in procs:
            assert proc.stdout is not None and proc.stdout.readline().strip() == "ready", proc.stderr
        for proc in procs:
            assert proc.stdin is not None
            proc.stdin.write("go\n")
            proc.stdin.flush()
        results = []
        for proc in procs:
            out, err = proc.communicate(timeout=120)
            assert proc.returncode == 0, err
            before, after = out.split()
            results.append((before, after))
        return results
    finally:
        for proc in procs:
            proc.kill()
            proc.wait()


def _check_raced(results: list[tuple[str, str]]) -> None:
    head = head_revision()
    assert all(after == head for _, after in results)
    # Exactly one booth found the database empty and migrated it; the others found it at head.
    assert sorted(before for before, _ in results) == sorted(["None"] + [str(head)] * (len(results) - 1))


@pytest.mark.postgresql
def test_four_booths_migrating_one_fresh_postgresql_database_at_once(pg_url: str) -> None:
    _check_raced(_start_together(pg_url, 4))
    engine = make_engine(pg_url)
    try:
        with engine.connect() as conn:
            assert conn.execute(text("SELECT version_num FROM alembic_version")).scalars().all() == [head_revision()]
            assert compare_metadata(MigrationContext.configure(conn), SQLModel.metadata) == []
    finally:
        engine.dispose()


def test_two_booths_migrating_one_fresh_sqlite_file_at_once(tmp_path: Path) -> None:
    url = sqlite_url(tmp_path / "shared.sqlite3")
    _check_raced(_start_together(url, 2))
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            assert conn.execute(text("SELECT version_num FROM alembic_version")).scalars().all() == [head_revision()]
    finally:
        engine.dispose()
