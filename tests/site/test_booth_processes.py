"""Four booth processes on one fresh PostgreSQL database, at once: they migrate it
together, then enter, pay (cash, card, lowered fees) and fight over the same stays; the
site's books must come out whole. Each booth is its own process with its own Site and
Store, as at a real car park.

BOOTH_SOAK_VEHICLES sets the vehicles per booth (the issue's soak is 500; the default
keeps the test well under a minute on two cores).
"""

from __future__ import annotations

import io
import json
import multiprocessing
import os
import queue
import time
from contextlib import redirect_stdout
from datetime import date
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlmodel import Session

from console.commands.reports import main as report_main
from console.reports.queries import booth_scope, build_manager_report, build_shift_report
from console.store.audit import verify_chain
from console.store.engine import make_engine
from tests.support.booths import HOURLY_TARIFF, SHARED_SITE, BoothResult, booth_process

pytestmark = pytest.mark.postgresql

BOOTHS = 4
VEHICLES = int(os.environ.get("BOOTH_SOAK_VEHICLES", "60"))


def _run_booths(url: str) -> list[BoothResult]:
    ctx = multiprocessing.get_context("spawn")
    barrier = ctx.Barrier(BOOTHS)
    results = ctx.Queue()
    epoch = time.time()
    processes = [
        ctx.Process(target=booth_process, args=(url, n, BOOTHS, VEHICLES, epoch, barrier, results), name=f"booth-{n}")
        for n in range(1, BOOTHS + 1)
    ]
    for process in processes:
        process.start()
    collected: list[BoothResult] = []
    try:
        for _ in processes:
            collected.append(results.get(timeout=240))
    except queue.Empty:
        pytest.fail(f"only {len(collected)} of {BOOTHS} booths finished (a hang)")
    finally:
        for process in processes:
            process.join(timeout=30)
            if process.is_alive():
                process.kill()
    return sorted(collected, key=lambda r: r.booth)


def test_four_booth_processes_keep_the_sites_books(pg_url: str, tmp_path: Path) -> None:
    results = _run_booths(pg_url)
    errors = [e for r in results for e in r.errors]
    assert errors == [], errors[0] if errors else ""
    kept = len(range(0, VEHICLES, 5))  # each booth's vehicles left for the contest

    # No false refusals: every booth's every (distinct) plate entered.
    for r in results:
        assert r.outcomes.get("entered") == VEHICLES, r.outcomes
        assert r.outcomes.get("exit_paid") == VEHICLES - kept, r.outcomes
        assert set(r.outcomes) == {"entered", "exit_paid"}, r.outcomes
    # The contest: each kept stay paid by exactly one booth; the others told so.
    contests = {key: sum(r.contests.get(key, 0) for r in results) for key in ("paid", "settled_elsewhere", "left")}
    assert contests["paid"] == BOOTHS * kept
    assert contests["paid"] + contests["settled_elsewhere"] + contests["left"] == BOOTHS * BOOTHS * kept
    messages = [m for r in results for m in r.elsewhere_messages]
    assert all("settled at booth-" in m and "nothing was charged" in m for m in messages), messages

    engine = make_engine(pg_url)
    try:
        with engine.connect() as conn:
            double = conn.execute(text(
                "SELECT visit_id FROM payment GROUP BY visit_id HAVING count(DISTINCT idempotency_key) > 1"
            )).all()
            assert double == []  # no stay paid twice
            visits_ = conn.execute(text("SELECT count(*), count(*) FILTER (WHERE state = 'open') FROM visit")).one()
            assert tuple(visits_) == (BOOTHS * VEHICLES, 0)
            paid_visits = conn.execute(text("SELECT count(DISTINCT visit_id) FROM payment")).scalar_one()
            assert paid_visits == BOOTHS * VEHICLES
            by_method = dict(conn.execute(text("SELECT method, sum(amount_minor) FROM payment GROUP BY method")).all())
            # Receipts gap-free per booth.
            for n in range(1, BOOTHS + 1):
                numbers = conn.execute(text("SELECT number FROM receipt WHERE booth_id = :b ORDER BY number"), {"b": f"booth-{n}"}).scalars().all()
                assert numbers == list(range(1, len(numbers) + 1))
            actions = conn.execute(text("SELECT action FROM audit_entry ORDER BY seq")).scalars().all()
        with Session(engine) as session:
            chain = verify_chain(session)
        assert chain.ok, chain.problem
        assert chain.entries == len(actions)
        inside = highest = 0
        for action in actions:
            inside += 1 if action == "visit.entry" else -1 if action == "visit.exit" else 0
            highest = max(highest, inside)
        assert highest <= BOOTHS * VEHICLES and inside == 0  # replayed in the chain's one order

        # Per-method totals: the booths' shift reports add up to the site report and the payments.
        shifts: dict[str, int] = {}
        for r in results:
            lanes = booth_scope(engine, (f"IN{r.booth}", f"OUT{r.booth}"))
            report = build_shift_report(engine, r.shift_id, "Europe/Berlin", lanes=lanes)
            assert report.state == "closed"
            for line in report.payments:
                shifts[line.method] = shifts.get(line.method, 0) + line.amount.minor
            assert report.visits.entries == VEHICLES  # its own lane's entries only
        site = build_manager_report(engine, date(2026, 3, 2), date(2026, 3, 2), "Europe/Berlin", currency="EUR")
        site_methods = {line.method: line.amount.minor for line in site.methods}
        assert shifts == site_methods == {k: int(v) for k, v in by_method.items()}
        assert set(shifts) == {"cash", "card"}
    finally:
        engine.dispose()

    # `booth report shift` and `booth audit verify` on the shared database.
    site_file = tmp_path / "booth-2.toml"
    site_file.write_text(SHARED_SITE.format(n=2, url=pg_url, capacity=10_000, tariff=HOURLY_TARIFF, busy_ms=5000))
    out = io.StringIO()
    with redirect_stdout(out):
        code = report_main(["report", "shift", "--site", str(site_file), "--format", "json"])
    assert code == 0
    printed = json.loads(out.getvalue())
    assert printed["report"] == "Z" and printed["shift"]["booth_id"] == "booth-2"
    assert printed["shift"]["id"] == results[1].shift_id
    out = io.StringIO()
    with redirect_stdout(out):
        assert report_main(["audit", "verify", "--site", str(site_file)]) == 0
    assert f"{chain.entries} entries" in out.getvalue()
