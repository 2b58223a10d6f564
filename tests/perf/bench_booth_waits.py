"""Where booths entering flat out on one PostgreSQL database spend their connections' time:
samples `pg_stat_activity` every 2 ms while N booth processes enter vehicles as fast as
they can (bench_booths.py's throughput run) and prints the share of each state.

"Lock:advisory" is a booth waiting for the site's write lock; "idle in transaction" is a
transaction open (the lock held, once taken) while the booth's own Python works between
statements; "IO:WALSync" is the commit's flush; "idle" is a booth between transactions
(and each booth's listening connection, always idle).

    .venv/bin/python tests/perf/bench_booth_waits.py [--booths 4] [--entries 150]
"""

from __future__ import annotations

import argparse
import collections
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from tests.perf.bench_booths import throughput  # noqa: E402
from tests.support.postgres import start_postgres  # noqa: E402

_SAMPLE = ("SELECT state, wait_event_type, wait_event, left(regexp_replace(query, '\\s+', ' ', 'g'), 50) FROM pg_stat_activity "
           "WHERE datname = %s AND application_name LIKE 'booth%%'")


def main(argv: list[str] | None = None) -> dict[str, float]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--booths", type=int, default=4)
    parser.add_argument("--entries", type=int, default=150, help="entries per booth")
    args = parser.parse_args(argv)
    server = start_postgres()
    try:
        name = server.create_database(migrated=True)
        counts: collections.Counter[str] = collections.Counter()
        stop = threading.Event()

        def sample() -> None:
            with server.connect() as conn:
                while not stop.is_set():
                    for state, kind, event, query in conn.execute(_SAMPLE, (name,)):
                        if state == "idle":
                            counts["idle (between transactions; listeners)"] += 1
                        elif event is None:
                            counts[f"running: {query}"] += 1
                        else:
                            counts[f"{state} {kind}:{event}"] += 1
                    time.sleep(0.002)

        sampler = threading.Thread(target=sample, daemon=True)
        sampler.start()
        rate, _took, refused = throughput(server.url(name), args.booths, args.entries)
        stop.set()
        sampler.join()
    finally:
        server.stop()
    total = max(1, sum(counts.values()))
    print(f"{args.booths} booth(s): {rate:.1f} entries/s site-wide, {refused} refused")
    shares = {key: 100 * value / total for key, value in counts.most_common(8)}
    for key, share in shares.items():
        print(f"  {share:5.1f}%  {key}")
    return shares


if __name__ == "__main__":
    main()
