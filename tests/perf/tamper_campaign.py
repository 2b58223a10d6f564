"""The tamper campaign as a figure: a real site records a day on an SQLite file with its
audit chain sealed; each kind of edit an insider with write access to the database could
make is applied to a fresh copy with plain sqlite3, and `booth audit verify` must report
it. Prints each kind, what verify said first, and "N kinds tried, N detected".

Run from the repository root:

    .venv/bin/python tests/perf/tamper_campaign.py

Figures are printed; nothing is asserted.
"""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))


def main() -> int:
    folder = Path(tempfile.mkdtemp(prefix="booth-tamper-"))
    # The day's keys and data stay in the scratch folder, not the user's.
    os.environ.setdefault("BOOTH_DATA_DIR", str(folder / "data"))
    os.environ.setdefault("BOOTH_CONFIG_DIR", str(folder / "config"))
    import logging

    logging.disable(logging.WARNING)
    from tests.support import tamper

    day = tamper.record_day(folder / "day")
    clean = tamper.verify(day)
    print(f"untampered day: verify exit {clean.code} ({'intact' if clean.code == 0 else 'FALSE ALARM'})")
    detected = 0
    for kind in tamper.TAMPERS:
        result = tamper.attempt(day, kind)
        detected += result.detected
        first = next((line for line in result.output.splitlines() if "BROKEN" in line or line.startswith("record ")), "")
        print(f"{'detected' if result.detected else 'MISSED  '}  {kind}  ({result.seconds * 1000:.0f} ms)")
        print(f"          {first[:150]}")
    print(f"{len(tamper.TAMPERS)} kinds tried, {detected} detected")
    return 0


if __name__ == "__main__":
    sys.exit(main())
