"""Tamper evidence: a real site's day on an SQLite file, its chain sealed with the site's
key; each kind of edit an insider could make is applied with plain sqlite3 and
`booth audit verify` must report it, naming the first bad entry or the record and what
changed. A booth without the key refuses to write; the key carries to another booth."""

from __future__ import annotations

import io
import sqlite3
import sys
from pathlib import Path

import pytest

from console import cli
from console.commands import reports
from console.domain.clock import FixedClock
from console.reports.queries import build_shift_report
from console.site.build import build_site, open_store
from console.site.config import parse_site
from console.store.engine import StoreError, sqlite_url
from tests.support import tamper


@pytest.fixture(scope="module")
def day(tmp_path_factory: pytest.TempPathFactory) -> tamper.Day:
    return tamper.record_day(tmp_path_factory.mktemp("day"))


def _other_booth(day: tamper.Day, folder: Path) -> Path:
    """The same site and database, on a booth whose secret store is elsewhere."""
    folder.mkdir(parents=True, exist_ok=True)
    text = day.site_file.read_text(encoding="utf-8").replace(str(day.site_file.parent / "secret.key"), str(folder / "secret.key"))
    site_file = folder / "site.toml"
    site_file.write_text(text.replace('booth_id = "booth-1"', 'booth_id = "booth-2"'), encoding="utf-8")
    return site_file


def _entries(db: Path) -> int:
    with sqlite3.connect(db) as conn:
        return int(conn.execute("SELECT count(*) FROM audit_entry").fetchone()[0])


def test_the_untampered_day_verifies(day: tamper.Day) -> None:
    tamper.restore(day)
    verdict = tamper.verify(day)
    assert verdict.code == reports.EXIT_OK, verdict.output
    assert "every link verified" in verdict.output
    assert "agrees with its audit entry" in verdict.output
    assert "sealed with it" in verdict.output and "the newest reached: entry" in verdict.output


@pytest.mark.parametrize("kind", list(tamper.TAMPERS))
def test_each_tamper_is_reported(day: tamper.Day, kind: str) -> None:
    result = tamper.attempt(day, kind)
    assert result.detected, f"{kind}: expected {result.expected!r} in\n{result.output}"


def test_a_z_report_anchor_catches_a_deleted_tail_without_the_anchor_file(day: tamper.Day) -> None:
    tamper.restore(day)
    config = parse_site(day.site_file.read_text(encoding="utf-8"), str(day.site_file))
    store = open_store(sqlite_url(day.db), migrate=False)
    try:
        report = build_shift_report(store.engine, day.shift, config.site.tz)
    finally:
        store.engine.dispose()
    printed = report.anchor_text  # what the Z report prints: "SEQ:16 hex digits"
    assert printed and len(printed.split(":")[1]) == 16
    with sqlite3.connect(day.db) as conn:
        conn.execute("DELETE FROM audit_entry WHERE seq >= ?", (int(printed.split(":")[0]),))
    empty = day.db.parent / "no-anchors.jsonl"
    unanchored = tamper.verify(day, "--anchors", str(empty))
    anchored = tamper.verify(day, "--anchors", str(empty), "--anchor", printed)
    assert "entries were deleted from its end" not in unanchored.output  # without an anchor it cannot know
    assert anchored.code == reports.EXIT_BROKEN and "entries were deleted from its end" in anchored.output
    assert f"BROKEN at entry {printed.split(':')[0]}" in anchored.output
    bad = tamper.verify(day, "--anchor", "12:xyz")
    assert bad.code == reports.EXIT_INPUT and "ENTRY:DIGEST" in bad.output


def test_a_booth_without_the_key_writes_nothing(day: tamper.Day, tmp_path: Path) -> None:
    tamper.restore(day)
    before = _entries(day.db)
    site_file = _other_booth(day, tmp_path / "booth2")
    config = parse_site(site_file.read_text(encoding="utf-8"), str(site_file))
    store = open_store(sqlite_url(day.db))
    try:
        with pytest.raises(StoreError, match="booth audit key import"):
            build_site(config, store, clock=FixedClock(tamper.T0))
    finally:
        store.engine.dispose()
    assert _entries(day.db) == before
    # Verify from that booth: links only, and it says so.
    verdict = tamper.verify(tamper.Day(site_file, day.db, day.pristine, "", "", "", ""))
    assert verdict.code == reports.EXIT_OK and "checked link by link only" in verdict.output


def test_the_key_carried_to_another_booth_seals_its_entries(day: tamper.Day, tmp_path: Path,
                                                            monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    tamper.restore(day)
    site_file = _other_booth(day, tmp_path / "booth2")
    assert reports.main(["audit", "key", "export", "--site", str(day.site_file), "--db", str(day.db)]) == 0
    exported = capsys.readouterr().out
    monkeypatch.setattr(sys, "stdin", io.StringIO("not a key"))
    assert reports.main(["audit", "key", "import", "--site", str(site_file), "--db", str(day.db)]) == reports.EXIT_INPUT
    assert "not an audit key" in capsys.readouterr().err
    monkeypatch.setattr(sys, "stdin", io.StringIO(exported))
    assert reports.main(["audit", "key", "import", "--site", str(site_file), "--db", str(day.db)]) == 0
    assert "kept" in capsys.readouterr().out
    # The second booth's CLI writes a sealed entry: `booth user add`.
    monkeypatch.setattr(sys, "stdin", io.StringIO("482613\n"))
    assert cli.main(["user", "add", "zoe", "--pin-stdin", "--site", str(site_file), "--db", sqlite_url(day.db)]) == 0
    capsys.readouterr()
    for booth in (day.site_file, site_file):  # both booths verify the whole chain with the key
        verdict = tamper.verify(tamper.Day(booth, day.db, day.pristine, "", "", "", ""))
        assert verdict.code == reports.EXIT_OK, verdict.output
        assert "link by link" not in verdict.output


def test_an_older_unkeyed_chain_is_sealed_from_the_next_entry(tmp_path: Path) -> None:
    from datetime import datetime, timezone

    from console.site.audit_trail import seal_store
    from console.site.config import parse_site as parse
    from console.store import audit
    from console.sync.secrets import EncryptedFileStore
    from tests.conftest import site_text

    store = open_store(sqlite_url(tmp_path / "old.sqlite3"))
    at = datetime(2026, 1, 5, 9, 0, tzinfo=timezone.utc)
    try:
        with store.write() as tx:  # written before the console sealed anything
            for n in range(3):
                audit.append_audit(tx, at=at, actor="ann", action="note", subject=str(n))
        config = parse(site_text(), "site.toml")
        holder = EncryptedFileStore(tmp_path / "keys.enc", tmp_path / "secret.key")
        state = seal_store(config, store, create=True, secrets_store=holder)
        assert state.seal is not None and state.seal.since == 4
        with store.write() as tx:
            audit.append_audit(tx, at=at, actor="ann", action="note", subject="sealed")
        with store.read() as tx:
            report = audit.verify_chain(tx, seal=state.seal)
            assert report.ok and report.entries == 4 and report.sealed_from == 4
        with store.write() as tx:  # an edit of an unkeyed entry is still caught
            tx.connection().exec_driver_sql("UPDATE audit_entry SET subject = 'x' WHERE seq = 2")
        with store.read() as tx:
            report = audit.verify_chain(tx, seal=state.seal)
            assert not report.ok and report.first_bad_seq == 2 and "altered" in report.problem
    finally:
        audit.seal_audit(store.engine, None)
        store.engine.dispose()
