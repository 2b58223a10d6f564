"""The booth's files go wrong under the running console: the database file made
read-only, moved away or removed, the disk full during an entry, a payment and a receipt.

Each fault is real (the immutable flag, a rename, an unlink, a small tmpfs filled to its
last byte). In each the attendant is told in their language, the books do not change,
the barrier stays shut for what was not recorded, and once the fault is gone the same
operation goes through on a retry, without a restart.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from datetime import datetime, timezone
from pathlib import Path

import pytest

from console.domain.clock import FixedClock
from console.i18n import set_language
from console.site.build import build_site, open_store
from console.site.config import parse_site
from console.site.errors import SiteError
from console.site.events import ExitPending, LogEntry
from console.site.site import Site
from console.store import receipts, visits
from console.store.database import Store
from console.store.engine import sqlite_url
from drivers.gate.simworld import Traffic
from tests.conftest import Recorder, site_text
from tests.faults.files import (
    Books,
    FaultUnavailable,
    database_files,
    disk_full,
    ext4_disk,
    immutable,
    read_only_view,
    small_disk,
    try_immutable,
)

pytestmark = pytest.mark.sqlite_only

LANGS = [
    pytest.param("en", id="en"),
    pytest.param("zh_CN", id="zh"),
]
# What the attendant reads, per language and fault (catalog words of the store's explanations).
SAID = {
    ("en", "read-only"): "cannot be written",
    ("zh_CN", "read-only"): "无法写入",
    ("en", "moved"): "removed or moved",
    ("zh_CN", "moved"): "被删除或移走",
    ("en", "full"): "the disk is full",
    ("zh_CN", "full"): "磁盘已满",
    ("en", "not paid"): "payment NOT recorded",
    ("zh_CN", "not paid"): "付款未记录",
}


class Booth:
    """The console's site on a database file of the test's choosing, with a drawer open
    and one car (A12345) inside."""

    def __init__(self, database: Path, extra: str = "") -> None:
        self.database = database
        self.config = parse_site(site_text(200, extra), "fault-site.toml")
        self.store: Store = open_store(sqlite_url(database), busy_timeout_ms=300)
        self.clock = FixedClock(datetime(2026, 3, 2, 8, 0, tzinfo=timezone.utc))
        self.site: Site = build_site(self.config, self.store, clock=self.clock, traffic=Traffic(seed=7))
        self.rec = Recorder()
        self.site.bus.subscribe(self.rec)
        self.site.start()
        self.site.staff.open_shift("ann", "0")
        self.enter("A12345")
        assert self.inside("A12345")

    def inside(self, plate: str) -> bool:
        return self.site.store.query(visits.open_visit_for, plate) is not None

    def enter(self, plate: str) -> None:
        """A car at the entry lane; returns once the lane has decided."""
        seen = len(self.rec.of(LogEntry))
        self.site.lanes.gates["IN1"].arrive(plate)
        self.rec.wait_for(lambda: any(plate in e.text for e in self.rec.of(LogEntry)[seen:]), timeout=10)

    def of_log(self) -> list[LogEntry]:
        return self.rec.of(LogEntry)

    def said_since(self, seen: int) -> str:
        return "\n".join(e.text for e in self.rec.of(LogEntry)[seen:])

    def at_exit(self, plate: str) -> str:
        """The car at the exit lane after 2 h: its ticket id (5.00 due)."""
        self.clock.advance(hours=2)
        before = len(self.rec.of(ExitPending))
        self.site.lanes.gates["OUT1"].arrive(plate)
        self.rec.wait_for(lambda: len(self.rec.of(ExitPending)) > before, timeout=10)
        return str(self.rec.of(ExitPending)[-1].ticket.id)

    def stop(self) -> None:
        self.site.stop()
        self.store.engine.dispose()


@pytest.fixture
def lang(request: pytest.FixtureRequest) -> Iterator[str]:
    set_language(request.param)
    yield str(request.param)
    set_language("en")


def _retry_pay(booth: Booth, ticket: str, seconds: float = 10.0) -> None:
    """Pay as the attendant would, pressing Enter again until it goes through."""
    deadline = time.monotonic() + seconds
    while True:
        try:
            booth.site.desk.pay_cash(ticket, "10", attendant="ann")
            return
        except SiteError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.1)


def _the_fault_refuses_entry_and_payment(booth: Booth, lang: str, fault: str) -> tuple[str, Books]:
    """Under a fault: an entry and a payment are refused with the fault named in the
    attendant's language. Returns the ticket left waiting and the books as they were."""
    ticket = booth.at_exit("A12345")
    books = Books.of(booth.store)
    seen = len(booth.rec.of(LogEntry))
    booth.enter("B12345")
    said = booth.said_since(seen)
    assert SAID[(lang, fault)] in said, said
    assert not booth.inside("B12345")
    assert booth.site.board.lane("IN1").gate != "open"
    with pytest.raises(SiteError) as refused:
        booth.site.desk.pay_cash(ticket, "10", attendant="ann")
    message = str(refused.value)
    assert SAID[(lang, "not paid")] in message and SAID[(lang, fault)] in message, message
    assert "Traceback" not in message and "sqlite3" not in message
    return ticket, books


def _after_recovery(booth: Booth, ticket: str, books: Books) -> None:
    """The fault is gone: the payment goes through once, an entry is recorded again."""
    _retry_pay(booth, ticket)
    booth.enter("C12345")
    assert booth.inside("C12345")
    after = Books.of(booth.store)
    assert after.chain_ok
    assert after.payments == books.payments + 1 and after.paid_minor == books.paid_minor + 500
    assert after.visits == books.visits + 1  # C12345; B12345 was never recorded
    assert not booth.inside("B12345")


@pytest.fixture
def immutable_folder(tmp_path: Path) -> Iterator[Path]:
    """A folder where `chattr +i` stops the console's open files: the test's own, else a
    small ext4 loop disk."""
    try:
        try_immutable(tmp_path)
        yield tmp_path
        return
    except FaultUnavailable as first:
        reason = str(first)
    try:
        with ext4_disk(tmp_path / "ext4") as folder:
            try_immutable(folder)
            yield folder
    except FaultUnavailable as exc:
        pytest.skip(f"{reason}; {exc}")


@pytest.mark.parametrize("lang", LANGS, indirect=True)
def test_database_made_read_only_while_the_console_runs(immutable_folder: Path, lang: str) -> None:
    booth = Booth(immutable_folder / "booth.sqlite3")
    try:
        with immutable(booth.database):
            ticket, books = _the_fault_refuses_entry_and_payment(booth, lang, "read-only")
            assert Books.of(booth.store) == books
        _after_recovery(booth, ticket, books)
    finally:
        booth.stop()


@pytest.mark.parametrize("lang", LANGS, indirect=True)
def test_database_moved_away_then_put_back(tmp_path: Path, lang: str) -> None:
    booth = Booth(tmp_path / "booth.sqlite3")
    aside = tmp_path / "elsewhere"
    aside.mkdir()
    try:
        files = database_files(booth.database)
        for path in files:
            os.rename(path, aside / path.name)
        ticket, books = _the_fault_refuses_entry_and_payment(booth, lang, "moved")
        # Nothing was written to a file nobody will open, and no empty database appeared.
        assert not booth.database.exists()
        for path in files:
            os.rename(aside / path.name, path)
        assert Books.of(booth.store) == books
        _after_recovery(booth, ticket, books)
    finally:
        booth.stop()


def test_database_removed_is_refused_not_written_to_a_lost_file(tmp_path: Path) -> None:
    """An unlinked database keeps working for the descriptors that have it open: without
    the check a payment would be "recorded" into a file no start will ever open again."""
    booth = Booth(tmp_path / "booth.sqlite3")
    try:
        ticket = booth.at_exit("A12345")
        for path in database_files(booth.database):
            path.unlink()
        with pytest.raises(SiteError, match="removed or moved"):
            booth.site.desk.pay_cash(ticket, "10", attendant="ann")
        booth.enter("B12345")
        assert not booth.database.exists(), "an empty database was created in its place"
    finally:
        booth.stop()


@pytest.fixture
def tmpfs(tmp_path: Path) -> Iterator[Path]:
    try:
        with small_disk(tmp_path / "disk", "24m") as folder:
            yield folder
    except FaultUnavailable as exc:
        pytest.skip(str(exc))


@pytest.mark.parametrize("lang", LANGS, indirect=True)
def test_disk_full_during_an_entry_and_a_payment(tmpfs: Path, lang: str) -> None:
    booth = Booth(tmpfs / "booth.sqlite3")
    try:
        with disk_full(tmpfs):
            ticket, books = _the_fault_refuses_entry_and_payment(booth, lang, "full")
            assert Books.of(booth.store) == books
        _after_recovery(booth, ticket, books)
    finally:
        booth.stop()


def test_disk_full_during_a_receipt_write(tmp_path: Path, tmpfs: Path) -> None:
    """The receipts go to a file on a disk that is full (the database is elsewhere): the
    payment stands, the receipt waits and says why, and prints once when there is room."""
    paper = tmpfs / "receipts.bin"
    booth = Booth(tmp_path / "booth.sqlite3", f'\n[printer]\nurl = "file://{paper}"\n')
    try:
        booth.site.print_queue._retry = 0.1  # type: ignore[union-attr]  # retry fast in the test
        booth.site.print_queue._max_retry = 0.2  # type: ignore[union-attr]
        with disk_full(tmpfs):
            seen = len(booth.rec.of(LogEntry))
            ticket = booth.at_exit("A12345")
            booth.site.desk.pay_cash(ticket, "10", attendant="ann")
            booth.rec.wait_for(lambda: "waits for the printer" in booth.said_since(seen), timeout=10)
            with booth.store.read() as tx:
                (waiting,) = receipts.waiting(tx, limit=10)
            assert waiting.printed_at is None and waiting.last_error
            assert Books.of(booth.store).payments == 1
        deadline = time.monotonic() + 10
        while booth.site.print_queue.waiting_count() and time.monotonic() < deadline:  # type: ignore[union-attr]
            time.sleep(0.05)
        assert booth.site.print_queue.waiting_count() == 0  # type: ignore[union-attr]
        assert paper.read_bytes().count(b"A12345") == 1 or paper.read_bytes().count("A·12345".encode()) == 1
    finally:
        booth.stop()


@pytest.mark.parametrize("lang", LANGS)
def test_files_that_may_not_grow_during_an_entry_and_a_payment(tmp_path: Path, lang: str) -> None:
    """The portable form of a full disk (no mount needed): the booth's process may not
    grow its files (RLIMIT_FSIZE). SQLite says "disk I/O error": the attendant reads that
    the database cannot be written; nothing changes; once the limit is lifted both go through."""
    import json
    import subprocess
    import sys

    child = Path(__file__).with_name("fsize_child.py")
    done = subprocess.run([sys.executable, str(child), str(tmp_path), lang], capture_output=True, text=True, timeout=120,
                          env={**os.environ, "BOOTH_DATA_DIR": str(tmp_path / "data")})
    assert done.returncode == 0, done.stderr[-3000:]
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert SAID[(lang, "read-only")] in result["entry"], result["entry"]
    assert SAID[(lang, "not paid")] in result["payment"] and SAID[(lang, "read-only")] in result["payment"], result["payment"]
    assert result["during"] == result["before"]
    assert result["after"]["payments"] == result["before"]["payments"] + 1 and result["after"]["chain_ok"]
    assert result["inside"] == {"B12345": False, "C12345": True}


def test_a_database_on_a_read_only_disk_is_refused_at_start(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The console started on a database whose disk is read-only (a read-only bind mount
    of its folder): one clear line naming the likely causes, exit 3, nothing created."""
    import contextlib
    import io

    from console import cli

    folder = tmp_path / "rw"
    folder.mkdir()
    open_store(sqlite_url(folder / "booth.sqlite3")).engine.dispose()
    before = sorted(p.name for p in folder.iterdir())
    try:
        with read_only_view(folder, tmp_path / "ro") as ro:
            monkeypatch.setenv("BOOTH_DATA_DIR", str(tmp_path / "data"))
            out = io.StringIO()
            with contextlib.redirect_stdout(out), contextlib.redirect_stderr(out):
                code = cli.main(["migrate", "--db", sqlite_url(ro / "booth.sqlite3")])
    except FaultUnavailable as exc:
        pytest.skip(str(exc))
    said = out.getvalue().strip()
    assert code == 3 and "read-only disk" in said and len(said.splitlines()) == 1 and "Traceback" not in said, said
    assert sorted(p.name for p in folder.iterdir()) == before
