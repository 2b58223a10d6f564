"""`booth demo --db URL --booth-id ID --lanes ...`: two demo booths, each a process of its
own, run one site on one database (the test PostgreSQL server, or one SQLite file)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from sqlalchemy import text

from console.site.build import open_store
from console.site.config import ConfigError, sample_site
from console.site.demo import shared_demo_clock
from console.site.demo_booth import demo_booth
from console.store.engine import make_engine, sqlite_url

ROOT = Path(__file__).resolve().parents[2]


def _demo(tmp_path: Path, *args: str) -> subprocess.Popen[str]:
    env = {**os.environ, "BOOTH_DATA_DIR": str(tmp_path / "data")}
    return subprocess.Popen([sys.executable, "-m", "console.cli", "demo", "--headless", *args], cwd=ROOT, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _started(booth: subprocess.Popen[str], timeout: float = 60) -> None:
    """Wait for the line a headless demo prints once its site is built (its cars parked)."""
    assert booth.stdout is not None
    deadline = time.monotonic() + timeout
    line = booth.stdout.readline()
    assert "running headless" in line, (line, booth.stderr.read() if booth.stderr else "")
    assert time.monotonic() < deadline


def _summary(booth: subprocess.Popen[str]) -> dict[str, int]:
    out, err = booth.communicate(timeout=90)
    assert booth.returncode == 0, err
    assert "Traceback" not in err
    summary: dict[str, int] = json.loads(out.strip().splitlines()[-1])
    return summary


@pytest.mark.parametrize("backend", [pytest.param("postgresql", marks=pytest.mark.postgresql), "sqlite"])
def test_two_demo_booths_run_one_site_on_one_database(backend: str, request: pytest.FixtureRequest, tmp_path: Path) -> None:
    url = request.getfixturevalue("pg_migrated_url") if backend == "postgresql" else sqlite_url(tmp_path / "shared.sqlite3")
    db = url if backend == "postgresql" else str(tmp_path / "shared.sqlite3")
    one = _demo(tmp_path, "--db", db, "--booth-id", "booth-1", "--lanes", "IN1,OUT1", "--seconds", "6")
    _started(one)
    # The second booth starts on the first one's database (kept, not wiped) and outlasts it.
    two = _demo(tmp_path, "--db", db, "--booth-id", "booth-2", "--lanes", "IN2,OUT2", "--seconds", "5")
    _started(two)
    first, second = _summary(one), _summary(two)
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            lanes: dict[str, int] = dict(conn.execute(text("SELECT entry_lane, count(*) FROM visit GROUP BY entry_lane")).all())
            exits = {row[0] for row in conn.execute(text("SELECT DISTINCT exit_lane FROM visit WHERE exit_lane IS NOT NULL"))}
            crossed = conn.execute(text(
                "SELECT count(*) FROM visit WHERE (entry_lane = 'IN1' AND exit_lane = 'OUT2') OR (entry_lane = 'IN2' AND exit_lane = 'OUT1')"
            )).scalar_one()
            backwards = conn.execute(text("SELECT count(*) FROM visit WHERE exit_at < entry_at")).scalar_one()
            total, closed = conn.execute(text("SELECT count(*), count(exit_at) FROM visit")).one()
            booths = {json.loads(d).get("booth") for (d,) in conn.execute(text("SELECT detail FROM audit_entry WHERE action = 'visit.entry'"))}
            clocks = conn.execute(text("SELECT count(*) FROM audit_entry WHERE action = 'demo.clock'")).scalar_one()
    finally:
        engine.dispose()
    # Each booth drove its own lanes only, into the one site.
    assert set(lanes) == {"IN1", "IN2"}, lanes
    assert lanes["IN1"] >= 45  # the first booth parked the demo's cars; the second found them
    assert exits <= {"OUT1", "OUT2"} and crossed == 0
    assert booths == {"booth-1", "booth-2"}
    # One clock for the site: nobody left before arriving.
    assert clocks == 1 and backwards == 0
    # Both summaries are the site's: the second, taken last, is every booth's books.
    assert second["entries"] == total and second["exits"] == closed and second["occupied"] == total - closed
    assert second["entries"] > lanes["IN2"]
    assert first["entries"] >= lanes["IN1"] - 5 and first["capacity"] == second["capacity"] == 200


def test_booths_of_a_shared_demo_keep_one_clock(tmp_path: Path) -> None:
    url = sqlite_url(tmp_path / "clock.sqlite3")
    store = open_store(url)
    try:
        first = shared_demo_clock(store, 30.0)
        time.sleep(0.2)
        later = shared_demo_clock(store, 3000.0)  # started later, asking for another speed
        assert later.speed == 30.0
        apart = abs((later.now() - first.now()).total_seconds())
        assert apart < 30.0 * 0.1  # the same demo time, to within a tenth of a real second
    finally:
        store.dispose()


@pytest.mark.parametrize(("args", "message"), [
    ({"lanes": "IN1,X9"}, "--lanes: this site has no lane X9 (its lanes: IN1, IN2, OUT1, OUT2)"),
    ({"lanes": " , "}, "--lanes: name at least one lane"),
    ({"lanes": "IN1,IN1"}, "--lanes: IN1 is named twice"),
    ({"booth_id": "booth 2"}, "--booth-id 'booth 2': give 1 to 32 letters"),
    ({"booth_id": "b" * 33}, "give 1 to 32 letters"),
    ({"db": "postgresql+psycopg://ann:secret@db/booth"}, "--db: a password does not belong on the command line"),
    ({"db": "mysql://db/booth"}, "only SQLite and PostgreSQL databases are supported"),
])
def test_bad_demo_booth_arguments_are_named(args: dict[str, str], message: str) -> None:
    with pytest.raises(ConfigError) as refused:
        demo_booth(sample_site("en"), **{"db": None, "booth_id": None, "lanes": None, **args})
    assert message in str(refused.value)
    assert "secret" not in str(refused.value)


def test_a_demo_booth_drives_only_its_lanes_and_leaves_the_elevator_to_the_first_booth() -> None:
    booth = demo_booth(sample_site("en"), db="postgresql+psycopg://db.example/booth", booth_id="booth-2", lanes="IN2, OUT2")
    assert booth.shared and booth.url == "postgresql+psycopg://db.example/booth"
    assert [lane.id for lane in booth.config.lanes] == ["IN2", "OUT2"]
    assert booth.config.site.booth_id == "booth-2"
    assert booth.config.elevator.url == "" and not booth.config.charging.epiles
    assert booth.config.printer.url == "file://receipts-booth-2.bin"
    alone = demo_booth(sample_site("en"), db=None, booth_id=None, lanes=None)
    assert not alone.shared and len(alone.config.lanes) == 4
