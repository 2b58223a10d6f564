"""A booth process for the kill -9 test of the emergency journal.

Run as `python -m tests.faults.emergency_child DB_FILE JOURNAL SEED`: it journals a
random mix of decisions (barriers moved by hand, vehicles let in by hand, exits with cash
taken for visits it has just recorded) while the journal's own thread merges them as
fast as it can, until it is killed. On stdout it says what it may be held to, each
line flushed as soon as it is true:

- `VISIT <visit id>`: the visit is committed;
- `ACK <kind> <line id> <detail>`: the decision is on disk (fsynced): its barrier would
  move now, so it must reach the database exactly once.
"""

from __future__ import annotations

import random
import sys
from datetime import datetime, timedelta, timezone
from pathlib import Path

from console.domain.money import Money
from console.domain.payments import NewPayment
from console.site.build import open_store
from console.site.emergency import EmergencyJournal, exit_part, gate_line
from console.store import visits
from console.store.engine import sqlite_url
from console.store.ids import new_id

T0 = datetime(2026, 3, 2, 8, 0, tzinfo=timezone.utc)


def main(db_file: str, journal_file: str, seed: int) -> None:
    rng = random.Random(seed)
    store = open_store(sqlite_url(Path(db_file)), busy_timeout_ms=5000, migrate=False)
    journal = EmergencyJournal(Path(journal_file), store, booth_id="booth-1", retry_s=0.005)
    journal.start()
    n = 0
    while True:
        n += 1
        kind = rng.choice(("gate", "entry", "exit", "exit"))
        at = T0 + timedelta(seconds=n)
        if kind == "gate":
            line = gate_line(new_id(), lane="IN1", action=rng.choice(("open", "close")), reason="safety", note=f"s{seed}", actor="ann", at=at, plate=None)
            detail = "-"
        elif kind == "entry":
            plate = f"K{seed}X{n}"
            line = gate_line(new_id(), lane="IN1", action="open", reason="other", note="db down", actor="ann", at=at, plate=plate)
            line["entry"] = {"plate": plate, "lane": "IN1", "zone": "P1", "currency": "EUR", "reason": "other"}
            detail = plate
        else:
            visit = store.apply(visits.record_entry, plate=f"V{seed}X{n}", zone="P1", lane="IN1", at=at - timedelta(hours=2), currency="EUR")
            print(f"VISIT {visit.id}", flush=True)
            fee = Money(750, "EUR")
            part = exit_part(ticket_id=new_id(), visit_id=visit.id, plate=visit.plate, lane="OUT1", exit_at=at, fee=fee, tariff_id="hourly",
                             payments=[NewPayment("cash", fee, Money(1000, "EUR"), Money(250, "EUR"))], reason="paid", unpaid=False)
            line = {"id": new_id(), "at": at.isoformat(), "actor": "ann", "exit": part}
            detail = visit.id
        journal.append_line({"booth": "booth-1", **line})
        print(f"ACK {kind} {line['id']} {detail}", flush=True)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2], int(sys.argv[3]))
