"""How long the cloud takes to check a charging card's PIN typed on a phone, and that the
time says nothing about the card: a wrong PIN for a card that has one, for a card with
no PIN, and for a number no card has (each check runs argon2id, the booth's PIN
parameters). Tries are interleaved so the machine's load hits the three alike, and the
attempt counters are cleared between tries so none is answered by a lock.

    .venv/bin/python tests/perf/bench_card_pin.py [--runs 20]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from console.store.charging_cards import hash_secret  # noqa: E402
from console.sync.server import charge_proof  # noqa: E402
from console.sync.server import db as cdb  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=20)
    args = parser.parse_args()
    at = datetime(2026, 12, 4, tzinfo=timezone.utc)
    with tempfile.TemporaryDirectory() as folder:
        engine = cdb.open_cloud_db(f"sqlite:///{Path(folder) / 'cloud.sqlite3'}")
        with engine.begin() as conn:
            conn.execute(cdb.charge_card.insert().values(site_id="S", card="WITH-PIN", account="A", pin_hash=hash_secret("2580"), updated_at=at))
            conn.execute(cdb.charge_card.insert().values(site_id="S", card="NO-PIN", account="A", updated_at=at))
        times: dict[str, list[float]] = {"WITH-PIN": [], "NO-PIN": [], "NO-CARD": []}
        for n in range(args.runs):
            for card, spent in times.items():
                with engine.begin() as conn:
                    started = time.perf_counter()
                    refusal = charge_proof.check_proof(conn, "S", card, f"9{n:03d}", at, person="bench", client=f"{card}-{n}")
                    spent.append((time.perf_counter() - started) * 1000)
                    assert refusal is not None
                with engine.begin() as conn:
                    conn.execute(cdb.card_attempt.delete())
        with engine.begin() as conn:
            started = time.perf_counter()
            assert charge_proof.check_proof(conn, "S", "WITH-PIN", "2580", at, person="bench", client="right") is None
            right = (time.perf_counter() - started) * 1000
        engine.dispose()
    for card, spent in times.items():
        print(f"wrong PIN, {card:8}: median {statistics.median(spent):6.1f} ms  min {min(spent):6.1f} ms  ({args.runs} tries)")
    print(f"right PIN:           {right:6.1f} ms")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
