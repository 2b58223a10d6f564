"""Benchmark of the plate rules: plates normalized per second, and the time to find the
near matches of a misread among the open visits of a large site (done at an exit when a
read matches no visit).

Run from the repository root:

    .venv/bin/python tests/perf/bench_plates.py [--open 20000]

Figures are printed; nothing is asserted.
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))

from console.domain.plates import PROVINCES, PlateRules  # noqa: E402

SERIAL = "ABCDEFGHJKLMNPQRSTUVWXYZ0123456789"


def _mainland(rng: random.Random) -> str:
    province = rng.choice(PROVINCES)
    issuer = rng.choice(SERIAL[:24])
    if rng.random() < 0.3:  # new-energy
        return f"{province}{issuer}{rng.choice('DF')}{rng.choice(SERIAL)}{rng.randrange(10000):04d}"
    return province + issuer + "".join(rng.choices(SERIAL, k=5))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--open", type=int, default=20000, help="open visits to match against (default 20000)")
    parser.add_argument("--reads", type=int, default=20000, help="plate reads to normalize (default 20000)")
    args = parser.parse_args()
    rng = random.Random(1)
    rules = PlateRules(["cn", "hk", "mo"])
    plates = [_mainland(rng) for _ in range(max(args.open, args.reads))]
    reads = [f"{p[:2]}·{p[2:].lower()}" for p in plates[: args.reads]]

    start = time.perf_counter()
    for read in reads:
        rules.normalize(read)
    elapsed = time.perf_counter() - start
    print(f"normalize (cn, hk, mo): {len(reads) / elapsed:,.0f} reads/s ({elapsed / len(reads) * 1e6:.1f} µs each)")

    open_plates = plates[: args.open]
    timings = []
    for plate in rng.sample(open_plates, 50):
        misread = plate[:-1] + {"0": "O", "1": "I", "8": "B"}.get(plate[-1], "O")
        start = time.perf_counter()
        rules.near_matches(misread, open_plates)
        timings.append(time.perf_counter() - start)
    print(
        f"near matches among {len(open_plates):,} open plates: median {statistics.median(timings) * 1000:.1f} ms, "
        f"max {max(timings) * 1000:.1f} ms (50 misreads)"
    )


if __name__ == "__main__":
    main()
