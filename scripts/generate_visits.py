"""Generate a booth database with many visits, for benchmarks and for trying the reports.

    .venv/bin/python scripts/generate_visits.py --out /tmp/booth-1m.sqlite3            # 1,000,000 visits
    .venv/bin/python scripts/generate_visits.py --out small.sqlite3 --visits 5000 --days 14

A year (by default) of a busy single-booth site: arrivals follow a weekday and hour-of-day
pattern in the site's time zone, stays are a mix of short stops, shoppers, commuters,
overnighters and a few multi-day stays; fees follow a 2.50/started hour, 20.00/day tariff
with 15 minutes' grace; payments are cash (with tendered amounts and change), card, mobile
and account. About 1% of paid exits get an override (fee change, waiver, validation, lost
ticket, entry time, unpaid exit with a debt and a manual gate opening). Shifts are 8 hours,
each with an opening float, paid-outs, refunds, change left, drops to the safe, and a count
at closing that is usually right and sometimes a little off. Receipts are numbered without
gaps in time order, each with the content the console stores for it. The records look like
what the console writes: by default (`--audit full`) an audit entry for every arrival,
exit, receipt and manual action with the console's own details, so `booth audit verify`
checks the chain and every record against it; and the outbox holds the events of the
last 30 days, acknowledged (the console deletes acknowledged events after 30 days).
`--audit manual` keeps only the manual actions' entries (a smaller, unverifiable file).

The file is created and migrated with the console's own `open_store`, then filled with
executemany in large transactions on one raw SQLite connection (synchronous off while
loading: it is a generated file, rebuilt if the machine dies). Times are written in the
exact text form SQLAlchemy uses, and checked by reading one row back.
"""

from __future__ import annotations

import argparse
import json
import sqlite3
import sys
import time
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone
from hashlib import sha256
from pathlib import Path
from typing import Any, Iterator, Sequence
from zoneinfo import ZoneInfo

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from console.domain.money import Money  # noqa: E402
from console.site.build import open_store  # noqa: E402
from console.store.audit import GENESIS  # noqa: E402
from console.store.companions import remove_database_files  # noqa: E402
from console.store.engine import sqlite_url  # noqa: E402

SHIFT_SECONDS = 8 * 3600
ATTENDANTS = ("anna", "bob", "carl", "dora", "emil")
MANAGERS = ("max", "mia")
HOUR_WEIGHTS = np.array([0.2, 0.1, 0.1, 0.1, 0.2, 0.6, 1.5, 3.5, 5.0, 4.0, 3.0, 3.0,
                         3.5, 3.5, 3.0, 3.0, 3.5, 4.0, 3.5, 2.5, 1.8, 1.2, 0.8, 0.4])
WEEKDAY_WEIGHTS = np.array([1.0, 1.0, 1.0, 1.05, 1.15, 0.8, 0.6])  # Monday first
METHODS = ("cash", "card", "mobile", "account")
METHOD_WEIGHTS = (0.30, 0.45, 0.20, 0.05)
OVERRIDE_KINDS = ("fee_change", "waive", "validation", "lost_ticket", "entry_time", "unpaid_exit")
OVERRIDE_WEIGHTS = (0.40, 0.25, 0.20, 0.05, 0.05, 0.05)
OVERRIDE_REASONS = {
    "fee_change": ("barrier fault delay", "tariff sign unclear", "manager goodwill"),
    "waive": ("emergency services", "staff vehicle", "complaint resolved"),
    "validation": ("cinema ticket", "shop validation", "hotel guest"),
    "lost_ticket": ("ticket lost",),
    "entry_time": ("plate not read at entry", "driver showed entry photo"),
    "unpaid_exit": ("no means of payment", "card terminal down"),
}
DENOMINATIONS = (5000, 2000, 1000, 500, 200, 100, 50, 20, 10, 5, 2, 1)
HOURLY, DAILY_MAX, GRACE = 250, 2000, 15 * 60
LOST_TICKET_FEE = 2500
CHUNK = 50_000


def uid(kind: int, n: int) -> str:
    """A UUID-shaped, unique, ordered id: `kind` tells the tables apart."""
    return f"{kind:08x}-0000-7000-8000-{n:012x}"


def stamps(seconds: np.ndarray) -> list[str]:
    """UTC epoch seconds as SQLAlchemy's SQLite DateTime text ("2026-03-02 08:00:00.000000")."""
    text = np.datetime_as_string(seconds.astype("datetime64[s]"), unit="s")
    return [f"{s[:10]} {s[11:]}.000000" for s in text.tolist()]


def stamp(second: int) -> str:
    return stamps(np.array([second]))[0]


def iso(second: int) -> str:
    """The form `datetime.isoformat()` gives an aware UTC time: what the audit hash covers."""
    return datetime.fromtimestamp(second, timezone.utc).isoformat()


@dataclass
class Config:
    out: Path
    visits: int
    days: int
    end: date
    tz: ZoneInfo
    seed: int
    currency: str
    booth: str
    audit: str


def _offsets(cfg: Config, start: date) -> np.ndarray:
    """UTC offset in seconds of every local (day, hour) of the period: O(days x 24)."""
    out = np.zeros(cfg.days * 24, dtype=np.int64)
    for d in range(cfg.days):
        day = start + timedelta(days=d)
        for h in range(24):
            offset = datetime(day.year, day.month, day.day, h, tzinfo=cfg.tz).utcoffset()
            out[d * 24 + h] = int(offset.total_seconds()) if offset else 0
    return out


def _fees(dwell: np.ndarray) -> np.ndarray:
    full_days, rest = np.divmod(dwell, 86400)
    started_hours = -(-rest // 3600)
    fee = full_days * DAILY_MAX + np.minimum(started_hours * HOURLY, DAILY_MAX)
    return np.where(dwell <= GRACE, 0, fee)


def _tendered(rng: np.random.Generator, amount: np.ndarray) -> np.ndarray:
    """What drivers hand over for cash fees: exact, or the next 5, 10, 20 or 50."""
    steps = np.array([1, 500, 1000, 2000, 5000])
    step = steps[rng.choice(len(steps), size=amount.size, p=[0.3, 0.25, 0.25, 0.15, 0.05])]
    return -(-amount // step) * step


def _count_detail(amount: int) -> str:
    counts: dict[str, int] = {}
    left = amount
    for value in DENOMINATIONS:
        n, left = divmod(left, value)
        if n:
            counts[str(value)] = int(n)
    return json.dumps(counts, sort_keys=True)


class Loader:
    """executemany into one SQLite connection, one transaction per call."""

    def __init__(self, path: Path) -> None:
        self.conn = sqlite3.connect(path, isolation_level=None)
        # Loading a generated file: no journal, no fsync. WAL is switched back on at the end.
        self.conn.execute("PRAGMA journal_mode=OFF")
        self.conn.execute("PRAGMA synchronous=OFF")
        self.conn.execute("PRAGMA cache_size=-200000")
        self.rows: dict[str, int] = {}
        # Secondary indexes are dropped while loading and rebuilt from their own CREATE
        # statements afterwards (sorting once is far cheaper than a million B-tree inserts);
        # the schema ends up exactly as the migrations made it.
        self.indexes = self.conn.execute(
            "SELECT name, sql FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL"
        ).fetchall()
        for name, _ in self.indexes:
            self.conn.execute(f'DROP INDEX "{name}"')

    def put(self, table: str, columns: Sequence[str], rows: Sequence[tuple[Any, ...]] | Iterator[tuple[Any, ...]]) -> None:
        rows = list(rows)
        if not rows:
            return
        sql = f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({', '.join('?' * len(columns))})"
        self.conn.execute("BEGIN")
        self.conn.executemany(sql, rows)
        self.conn.execute("COMMIT")
        self.rows[table] = self.rows.get(table, 0) + len(rows)

    def close(self) -> None:
        for _, sql in self.indexes:
            self.conn.execute(sql)
        self.conn.execute("PRAGMA journal_mode=WAL")
        self.conn.close()


VISIT_COLUMNS = ("id", "plate", "zone", "vehicle_class", "entry_lane", "entry_at", "exit_lane", "exit_at", "state",
                 "currency", "fee_minor", "paid_minor", "tariff_id", "close_reason")
PAYMENT_COLUMNS = ("id", "visit_id", "method", "amount_minor", "currency", "tendered_minor", "change_minor",
                   "reference", "attendant", "created_at", "shift_id", "idempotency_key")


def generate(cfg: Config) -> dict[str, Any]:
    """Build the database; returns row counts and timings."""
    started = time.perf_counter()
    remove_database_files(cfg.out)  # the old file's anchors and clean-close note with it
    store = open_store(sqlite_url(cfg.out))
    store.engine.dispose()
    rng = np.random.default_rng(cfg.seed)
    n = cfg.visits
    start_day = cfg.end - timedelta(days=cfg.days)
    t0 = int(datetime.combine(start_day, datetime.min.time(), cfg.tz).timestamp())
    t_end = int(datetime.combine(cfg.end, datetime.min.time(), cfg.tz).timestamp())

    # -- arrivals: day (weekday and season), local hour, second -> UTC -------------------------
    day_index = np.arange(cfg.days)
    weekdays = np.array([(start_day + timedelta(days=int(d))).weekday() for d in day_index])
    season = 1 + 0.15 * np.sin(2 * np.pi * day_index / 365.0)
    weights = WEEKDAY_WEIGHTS[weekdays] * season * rng.uniform(0.9, 1.1, cfg.days)
    per_day = rng.multinomial(n, weights / weights.sum())
    day_of = np.repeat(day_index, per_day)
    hour_of = rng.choice(24, size=n, p=HOUR_WEIGHTS / HOUR_WEIGHTS.sum())
    second_of = rng.integers(0, 3600, size=n)
    local_naive = (day_of * 86400 + hour_of * 3600 + second_of).astype(np.int64)
    offsets = _offsets(cfg, start_day)
    entry = t0 + local_naive - (offsets[day_of * 24 + hour_of] - offsets[0])
    order = np.argsort(entry, kind="stable")
    entry = entry[order]

    # -- stays -----------------------------------------------------------------------------------
    kind = rng.choice(5, size=n, p=[0.10, 0.55, 0.25, 0.08, 0.02])
    dwell = np.empty(n, dtype=np.int64)
    m = kind == 0
    dwell[m] = rng.integers(60, GRACE, size=m.sum())
    m = kind == 1
    dwell[m] = np.clip(rng.lognormal(np.log(5400), 0.6, size=m.sum()), GRACE + 1, 12 * 3600).astype(np.int64)
    m = kind == 2
    dwell[m] = np.clip(rng.normal(8.5 * 3600, 3600, size=m.sum()), 4 * 3600, 12 * 3600).astype(np.int64)
    m = kind == 3
    dwell[m] = rng.integers(10 * 3600, 30 * 3600, size=m.sum())
    m = kind == 4
    dwell[m] = rng.integers(86400, 6 * 86400, size=m.sum())
    exit_ = entry + dwell
    closed = exit_ < t_end
    stale = closed & (kind == 4) & (rng.random(n) < 0.1)
    fee = np.where(stale, 0, _fees(dwell))

    # -- overrides and what was finally paid ------------------------------------------------------
    overridden = closed & ~stale & (fee > 0) & (rng.random(n) < 0.01)
    ovr_kind = np.full(n, -1, dtype=np.int64)
    ovr_kind[overridden] = rng.choice(len(OVERRIDE_KINDS), size=int(overridden.sum()), p=OVERRIDE_WEIGHTS)
    new_fee = fee.copy()
    for k, name in enumerate(OVERRIDE_KINDS):
        sel = ovr_kind == k
        if name == "fee_change":
            new_fee[sel] = fee[sel] // 2 // 10 * 10
        elif name == "waive":
            new_fee[sel] = 0
        elif name == "validation":
            new_fee[sel] = np.maximum(0, fee[sel] - 300)
        elif name == "lost_ticket":
            new_fee[sel] = np.maximum(fee[sel], LOST_TICKET_FEE)
        elif name == "entry_time":
            new_fee[sel] = np.maximum(0, fee[sel] - 250)
        elif name == "unpaid_exit":
            new_fee[sel] = 0
    unpaid = ovr_kind == OVERRIDE_KINDS.index("unpaid_exit")
    paid = np.where(closed & ~unpaid, new_fee, 0)
    method = rng.choice(len(METHODS), size=n, p=METHOD_WEIGHTS)
    shift_of = np.where(closed, (exit_ - t0) // SHIFT_SECONDS, -1)
    n_shifts = int((t_end - 1 - t0) // SHIFT_SECONDS) + 1

    # Plates: regulars come back; visits still inside at the end get plates of their own
    # (one open visit per plate).
    pool = [f"{chr(65 + i % 26)}{chr(65 + (i // 26) % 26)}-{i % 9000 + 1000}" for i in range(150_000)]
    plate_index = np.minimum(rng.zipf(1.3, size=n) - 1, len(pool) - 1)
    plate_index = (plate_index * 7919 + rng.integers(0, 150_000, size=n) * (rng.random(n) < 0.6)) % len(pool)

    loader = Loader(cfg.out)

    # -- visits, in arrival order (as the console writes them) ----------------------------------
    reasons = np.where(stale, "stale", np.where(unpaid, "manual open: exit without payment",
                                                 np.where(paid > 0, "paid", "free")))
    for lo in range(0, n, CHUNK):
        hi = min(n, lo + CHUNK)
        e_txt = stamps(entry[lo:hi])
        x_txt = stamps(exit_[lo:hi])
        rows = []
        for i in range(lo, hi):
            if closed[i]:
                rows.append((uid(1, i), pool[plate_index[i]], "P1", "car", "IN1", e_txt[i - lo], "OUT1", x_txt[i - lo],
                             "closed", cfg.currency, int(fee[i]), int(paid[i]), "simple", str(reasons[i])))
            else:
                rows.append((uid(1, i), f"IN-{i:07d}", "P1", "car", "IN1", e_txt[i - lo], None, None, "open",
                             cfg.currency, None, 0, None, None))
        loader.put("visit", VISIT_COLUMNS, rows)

    # -- payments, receipts, overrides, debts, gate actions: in exit order ---------------------
    exits = np.nonzero(closed)[0]
    exits = exits[np.argsort(exit_[exits], kind="stable")]
    pay_idx = exits[paid[exits] > 0]
    cash = method == 0
    tendered = np.zeros(n, dtype=np.int64)
    tendered[cash] = _tendered(rng, np.maximum(paid[cash], 1))
    for lo in range(0, len(pay_idx), CHUNK):
        chunk = pay_idx[lo:lo + CHUNK]
        at_text = stamps(exit_[chunk])
        rows = []
        for j, i in enumerate(chunk.tolist()):
            m_name = METHODS[method[i]]
            k = int(shift_of[i])
            t = int(tendered[i]) if m_name == "cash" else None
            rows.append((uid(2, i), uid(1, i), m_name, int(paid[i]), cfg.currency, t,
                         (t - int(paid[i])) if t is not None else None, None, ATTENDANTS[k % len(ATTENDANTS)],
                         at_text[j], uid(3, k), uid(9, lo + j)))
        loader.put("payment", PAYMENT_COLUMNS, rows)

    # Receipts: one per payment, a few reprints and failures, one shift report per closed
    # shift; numbered 1, 2, 3... in time order.
    n_closed_shifts = n_shifts - 1
    rep_pick = pay_idx[rng.random(len(pay_idx)) < 0.005]
    r_time = np.concatenate([exit_[pay_idx], exit_[rep_pick] + 120,
                             t0 + (np.arange(n_closed_shifts) + 1) * SHIFT_SECONDS])
    r_kind = np.concatenate([np.zeros(len(pay_idx), np.int8), np.ones(len(rep_pick), np.int8),
                             np.full(n_closed_shifts, 2, np.int8)])
    r_ref = np.concatenate([pay_idx, rep_pick, np.arange(n_closed_shifts)])
    r_order = np.argsort(r_time, kind="stable")
    failed = rng.random(len(r_order)) < 0.001
    kinds = ("receipt", "reprint", "shift_report")
    receipt_events: list[tuple[int, str, str, str, dict[str, Any]]] = []
    for lo in range(0, len(r_order), CHUNK):
        part = r_order[lo:lo + CHUNK]
        times = stamps(r_time[part])
        rows = []
        for j, p in enumerate(part.tolist()):
            kind_name = kinds[r_kind[p]]
            ref = int(r_ref[p])
            if kind_name == "shift_report":
                visit_id, shift_id = None, uid(3, ref)
            else:
                visit_id, shift_id = uid(1, ref), uid(3, int(shift_of[ref]))
            bad = bool(failed[lo + j])
            number = lo + j + 1
            content = _receipt_content(cfg, kind_name, number, ref, visit_id, shift_id, entry, exit_, fee, paid, tendered,
                                       method, shift_of, pool, plate_index)
            rows.append((uid(4, lo + j), cfg.booth, number, kind_name, visit_id, shift_id, times[j], content,
                         None if bad else times[j], 3 if bad else 1, "paper out" if bad else None))
            if cfg.audit == "full":
                receipt_events.append((int(r_time[p]), f"booth {cfg.booth}", "receipt.issued", f"{cfg.booth}:{number}",
                                       {"kind": kind_name, "visit": visit_id, "digest": sha256(content.encode("utf-8")).hexdigest()}))
        loader.put("receipt", ("id", "booth_id", "number", "kind", "visit_id", "shift_id", "created_at", "content",
                               "printed_at", "attempts", "last_error"), rows)
    loader.put("counter", ("booth_id", "name", "value"), [(cfg.booth, "receipt", len(r_order))])

    # Manual actions, kept with their times for the audit chain.
    events: list[tuple[int, str, str, str, dict[str, Any]]] = []  # (time, actor, action, subject, detail)
    ovr_rows, debt_rows, gate_rows = [], [], []
    for i in np.nonzero(ovr_kind >= 0)[0].tolist():
        name = OVERRIDE_KINDS[ovr_kind[i]]
        k = int(shift_of[i])
        actor = ATTENDANTS[k % len(ATTENDANTS)]
        reason = OVERRIDE_REASONS[name][i % len(OVERRIDE_REASONS[name])]
        approver = MANAGERS[i % 2] if name in ("waive", "fee_change", "unpaid_exit") else None
        new = 0 if name == "unpaid_exit" else int(new_fee[i])
        ovr_rows.append((uid(5, i), uid(1, i), uid(3, k), name, int(fee[i]), new, cfg.currency, reason, actor,
                         approver, stamp(int(exit_[i]))))
        events.append((int(exit_[i]), actor, f"override.{name}", uid(1, i),
                       {"kind": name, "quoted_minor": int(fee[i]), "new_minor": new, "reason": reason, "approved_by": approver}))
        if name == "unpaid_exit":
            settled = stamp(int(exit_[i]) + 86400 * 3) if i % 2 else None
            plate = pool[plate_index[i]]
            debt_rows.append((uid(6, i), plate, uid(1, i), uid(3, k), int(fee[i]), cfg.currency,
                              reason, actor, stamp(int(exit_[i])), settled, None))
            events.append((int(exit_[i]), actor, "debt.recorded", uid(6, i), {"plate": plate, "amount_minor": int(fee[i]), "reason": reason}))
            gate_rows.append((uid(7, i), "OUT1", "open", "exit without payment", reason, plate, actor,
                              stamp(int(exit_[i]))))
            events.append((int(exit_[i]), actor, "gate.manual_open", "OUT1",
                           {"reason": "exit without payment", "note": reason, "plate": plate, "record": uid(7, i)}))
    loader.put("fee_override", ("id", "visit_id", "shift_id", "kind", "quoted_minor", "new_minor", "currency", "reason",
                                "actor", "approved_by", "at"), ovr_rows)
    loader.put("debt", ("id", "plate", "visit_id", "shift_id", "amount_minor", "currency", "reason", "actor", "at",
                        "settled_at", "settled_by_visit"), debt_rows)
    # Other barrier moves by hand: about two opens and one close a day.
    n_gate = cfg.days * 3
    g_time = np.sort(rng.integers(t0, t_end, size=n_gate))
    g_reason = ("safety", "emergency vehicle", "other")
    for j, t in enumerate(g_time.tolist()):
        k = (t - t0) // SHIFT_SECONDS
        actor = ATTENDANTS[k % len(ATTENDANTS)]
        action = "close" if j % 3 == 2 else "open"
        reason = g_reason[j % 3]
        note = "barrier checked" if reason == "other" else ""
        gate_rows.append((uid(8, j), "OUT1" if j % 2 else "IN1", action, reason, note, None, actor, stamp(t)))
        events.append((t, actor, f"gate.manual_{action}", "OUT1" if j % 2 else "IN1",
                       {"reason": reason, "note": note, "plate": None, "record": uid(8, j)}))
    loader.put("gate_action", ("id", "lane", "action", "reason", "note", "plate", "actor", "at"), gate_rows)
    adj_rows = []
    for j, t in enumerate(np.sort(rng.integers(t0, t_end, size=max(1, cfg.days // 3))).tolist()):
        actor = ATTENDANTS[((t - t0) // SHIFT_SECONDS) % len(ATTENDANTS)]
        delta = int(rng.choice([-3, -2, -1, 1, 2]))
        adj_rows.append((uid(10, j), "P1", delta, "counted on the deck", actor, stamp(t)))
        events.append((t, actor, "occupancy.adjust", "P1", {"delta": delta, "reason": "counted on the deck"}))
    loader.put("occupancy_adjustment", ("id", "zone", "delta", "reason", "actor", "at"), adj_rows)
    for i in np.nonzero(stale)[0].tolist():
        events.append((int(exit_[i]), "manager", "visit.close_stale", uid(1, i), {"plate": pool[plate_index[i]], "reason": "stale"}))

    # -- shifts and their drawers ----------------------------------------------------------------
    cash_paid = closed & cash & (paid > 0)
    cash_by_shift = np.bincount(shift_of[cash_paid], weights=paid[cash_paid], minlength=n_shifts).astype(np.int64)
    shift_rows, move_rows = [], []
    float_minor = 15000
    for k in range(n_shifts):
        opened = t0 + k * SHIFT_SECONDS
        is_open = k == n_shifts - 1
        actor = ATTENDANTS[k % len(ATTENDANTS)]
        sid = uid(3, k)
        moves = [("float", float_minor, "opening float", opened)]
        cash_total = int(cash_by_shift[k])
        if rng.random() < 0.2:
            moves.append(("change_left", int(rng.integers(10, 200)), "driver left the change", opened + 3600))
        if rng.random() < 0.05:
            moves.append(("refund", -int(rng.integers(250, 2000)), "charged twice", opened + 7200))
        if rng.random() < 0.1:
            moves.append(("paid_out", -int(rng.integers(500, 3000)), "cleaning supplies", opened + 10800))
        if cash_total > 20000:
            moves.append(("drop", -(cash_total * 7 // 10 // 5000 * 5000), "to the safe", opened + 4 * 3600))
        for j, (kind_name, amount, reason, at) in enumerate(moves):
            move_rows.append((uid(11, k * 10 + j), sid, kind_name, amount, cfg.currency, reason, actor, stamp(at), None))
            if kind_name != "float":  # the float is audited with the shift's opening
                events.append((at, actor, f"cash.{kind_name}", sid, {"amount_minor": amount, "reason": reason}))
        expected = float_minor + cash_total + sum(amount for kind_name, amount, _, _ in moves if kind_name != "float")
        events.append((opened, actor, "shift.open", sid, {"float_minor": float_minor}))
        if is_open:
            shift_rows.append((sid, cfg.booth, actor, "open", cfg.currency, stamp(opened), None, float_minor, None, None,
                               None, None, ""))
            continue
        off = int(rng.choice([0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, -500, -200, -100, -50, 50, 100, 200]))
        counted = max(0, expected + off)
        closer = MANAGERS[k % 2]
        shift_rows.append((sid, cfg.booth, actor, "closed", cfg.currency, stamp(opened), stamp(opened + SHIFT_SECONDS),
                           float_minor, expected, counted, _count_detail(counted), closer, ""))
        events.append((opened + SHIFT_SECONDS, closer, "shift.close", sid,
                       {"expected_minor": expected, "counted_minor": counted, "difference_minor": counted - expected, "note": ""}))
    loader.put("shift", ("id", "booth_id", "attendant", "state", "currency", "opened_at", "closed_at",
                         "opening_float_minor", "expected_cash_minor", "counted_cash_minor", "counted_detail",
                         "closed_by", "note"), shift_rows)
    loader.put("cash_movement", ("id", "shift_id", "kind", "amount_minor", "currency", "reason", "actor", "at",
                                 "visit_id"), move_rows)

    # -- the audit chain -------------------------------------------------------------------------
    audit_started = time.perf_counter()
    _write_audit(loader, cfg, events + receipt_events, entry, exit_, closed, fee, paid, method, pool, plate_index, reasons, shift_of)
    audit_seconds = time.perf_counter() - audit_started
    _write_outbox(loader, cfg, t_end, entry, exit_, closed, fee, paid, method, pool, plate_index, reasons, shift_of)
    index_started = time.perf_counter()
    loader.close()
    index_seconds = time.perf_counter() - index_started
    _check_round_trip(cfg.out)
    return {"seconds": time.perf_counter() - started, "audit_seconds": audit_seconds, "index_seconds": index_seconds,
            "rows": loader.rows,
            "shifts": n_shifts, "first_day": start_day.isoformat(), "end_day": cfg.end.isoformat()}


def _plate(i: int, closed: np.ndarray, pool: list[str], plate_index: np.ndarray) -> str:
    return pool[plate_index[i]] if closed[i] else f"IN-{i:07d}"


def _payments_of(i: int, paid: np.ndarray, method: np.ndarray) -> list[list[Any]]:
    """The payments of visit i as the exit's audit entry lists them: [id, method, amount]."""
    return [[uid(2, i), METHODS[method[i]], int(paid[i])]] if paid[i] > 0 else []


def _money(minor: int, currency: str) -> str:
    return Money(minor, currency).format()


def _local(second: int, tz: ZoneInfo) -> str:
    return datetime.fromtimestamp(second, tz).strftime("%d.%m.%Y %H:%M")


def _receipt_content(cfg: Config, kind: str, number: int, ref: int, visit_id: str | None, shift_id: str,
                     entry: np.ndarray, exit_: np.ndarray, fee: np.ndarray, paid: np.ndarray, tendered: np.ndarray,
                     method: np.ndarray, shift_of: np.ndarray, pool: list[str], plate_index: np.ndarray) -> str:
    """The stored content of a receipt, with the fields the console's receipts carry."""
    if kind == "shift_report":
        return json.dumps({"booth": cfg.booth, "kind": kind, "number": number, "shift": shift_id,
                           "site": "Generated Garage", "title": "Z report"}, ensure_ascii=False, sort_keys=True)
    i = ref
    amount = int(paid[i])
    m = METHODS[method[i]]
    hours, rest = divmod(int(exit_[i] - entry[i]) // 60, 60)
    t = int(tendered[i]) if m == "cash" else amount
    plate = pool[plate_index[i]]
    content = {
        "attendant": ATTENDANTS[int(shift_of[i]) % len(ATTENDANTS)], "booth": cfg.booth,
        "change": _money(t - amount, cfg.currency) if m == "cash" and t > amount else "", "currency": cfg.currency,
        "duration": f"{hours}:{rest:02d}", "entry": _local(int(entry[i]), cfg.tz), "exit": _local(int(exit_[i]), cfg.tz),
        "items": [[f"Parking: {-(-int(exit_[i] - entry[i]) // 3600)} x 1 h @ {Money(HOURLY, cfg.currency).decimal_text()}", _money(int(fee[i]), cfg.currency)]],
        "kind": kind, "number": number, "owed": "", "owed_reason": "", "paid_at": _local(int(exit_[i]), cfg.tz),
        "payments": [[m.capitalize(), _money(amount, cfg.currency), ""]], "plate": plate, "plate_shown": plate,
        "qr": f"BOOTH-RECEIPT:{cfg.booth}:{visit_id}", "site": "Generated Garage", "tariff": "simple",
        "tendered": _money(t, cfg.currency), "total": _money(amount, cfg.currency), "total_minor": amount, "visit": visit_id,
    }
    return json.dumps(content, ensure_ascii=False, sort_keys=True)


OUTBOX_DAYS = 30


def _write_outbox(loader: Loader, cfg: Config, t_end: int, entry: np.ndarray, exit_: np.ndarray, closed: np.ndarray,
                  fee: np.ndarray, paid: np.ndarray, method: np.ndarray, pool: list[str], plate_index: np.ndarray,
                  reasons: np.ndarray, shift_of: np.ndarray) -> None:
    """The outbox as the console leaves it: the events of the last 30 days, acknowledged
    a moment after they happened (older acknowledged ones are deleted by the console)."""
    since = t_end - OUTBOX_DAYS * 86400
    dumps = json.dumps
    items: list[tuple[int, int, int]] = []  # (time, kind, visit): 0 opened, 1 closed, 2 payment
    opened = np.nonzero(entry >= since)[0]
    shut = np.nonzero(closed & (exit_ >= since))[0]
    items += [(int(entry[i]), 0, int(i)) for i in opened]
    items += [(int(exit_[i]), 1, int(i)) for i in shut]
    items += [(int(exit_[i]), 2, int(i)) for i in shut if paid[i] > 0]
    items.sort()
    for lo in range(0, len(items), CHUNK):
        rows = []
        for n, (at, kind, i) in enumerate(items[lo:lo + CHUNK], start=lo):
            payload: dict[str, Any]
            if kind == 0:
                type_, payload = "visit.opened", {"visit_id": uid(1, i), "plate": _plate(i, closed, pool, plate_index), "zone": "P1",
                                                  "lane": "IN1", "entry_at": iso(at), "vehicle_class": "car"}
            elif kind == 1:
                type_, payload = "visit.closed", {"visit_id": uid(1, i), "plate": pool[plate_index[i]], "exit_at": iso(at), "lane": "OUT1",
                                                  "fee_minor": int(fee[i]), "currency": cfg.currency, "tariff_id": "simple",
                                                  "reason": str(reasons[i])}
            else:
                type_, payload = "payment.recorded", {"payment_id": uid(2, i), "visit_id": uid(1, i), "method": METHODS[method[i]],
                                                      "amount_minor": int(paid[i]), "currency": cfg.currency,
                                                      "attendant": ATTENDANTS[int(shift_of[i]) % len(ATTENDANTS)], "reference": None}
            text = dumps(payload, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
            rows.append((uid(12, n), type_, stamp(at), text, stamp(min(at + 2, t_end)), 1))
        loader.put("outbox_event", ("id", "type", "occurred_at", "payload", "sent_at", "attempts"), rows)


def _write_audit(loader: Loader, cfg: Config, events: list[tuple[int, str, str, str, dict[str, Any]]],
                 entry: np.ndarray, exit_: np.ndarray, closed: np.ndarray, fee: np.ndarray, paid: np.ndarray,
                 method: np.ndarray, pool: list[str], plate_index: np.ndarray, reasons: np.ndarray,
                 shift_of: np.ndarray) -> None:
    """Hash-chain the events in time order, exactly as `console.store.audit` does."""
    if cfg.audit == "none":
        return
    manual = sorted(events, key=lambda e: e[0])
    times = np.array([e[0] for e in manual], dtype=np.int64)
    source = np.zeros(len(manual), dtype=np.int8)
    ref = np.arange(len(manual), dtype=np.int64)
    if cfg.audit == "full":
        idx = np.arange(len(entry), dtype=np.int64)
        shut = idx[closed & (reasons != "stale")]  # a stale visit's close is its own manual entry
        times = np.concatenate([times, entry, exit_[shut]])
        source = np.concatenate([source, np.ones(len(entry), np.int8), np.full(len(shut), 2, np.int8)])
        ref = np.concatenate([ref, idx, shut])
    order = np.argsort(times, kind="stable")
    prev = GENESIS
    seq = 0
    dumps = json.dumps
    for lo in range(0, len(order), CHUNK):
        part = order[lo:lo + CHUNK]
        at_text = stamps(times[part])
        rows = []
        for j, p in enumerate(part.tolist()):
            seq += 1
            r = int(ref[p])
            if source[p] == 0:
                _, actor, action, subject, detail = manual[r]
            elif source[p] == 1:
                actor, action, subject = "lane", "visit.entry", uid(1, r)
                detail = {"booth": cfg.booth, "lane": "IN1", "plate": _plate(r, closed, pool, plate_index), "zone": "P1"}
            else:
                actor, action, subject = ATTENDANTS[int(shift_of[r]) % len(ATTENDANTS)], "visit.exit", uid(1, r)
                detail = {"booth": cfg.booth, "fee_minor": int(fee[r]), "lane": "OUT1", "paid_minor": int(paid[r]),
                          "payments": _payments_of(r, paid, method), "plate": pool[plate_index[r]], "reason": str(reasons[r])}
            detail_text = dumps(detail, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
            at_iso = at_text[j][:10] + "T" + at_text[j][11:19] + "+00:00"
            material = dumps([prev, seq, at_iso, actor, action, subject, detail_text], ensure_ascii=False,
                             separators=(",", ":"))
            digest = sha256(material.encode("utf-8")).hexdigest()
            rows.append((seq, at_text[j], actor, action, subject, detail_text, prev, digest))
            prev = digest
        loader.put("audit_entry", ("seq", "at", "actor", "action", "subject", "detail", "prev_hash", "hash"), rows)


def _check_round_trip(path: Path) -> None:
    """Read one shift back through the console's tables: the time text must parse."""
    from sqlalchemy import select

    from console.store.engine import make_engine
    from console.store.tables import ShiftRow

    engine = make_engine(sqlite_url(path))
    try:
        with engine.connect() as conn:
            row = conn.execute(select(ShiftRow.__table__).limit(1)).first()  # type: ignore[attr-defined]
            if row is None or row.opened_at.tzinfo is None:
                raise SystemExit("generated times do not read back as UTC datetimes")
    finally:
        engine.dispose()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Generate a booth database with many visits.")
    parser.add_argument("--out", required=True, help="SQLite file to create (replaced if it exists)")
    parser.add_argument("--visits", type=int, default=1_000_000, help="number of visits (default 1,000,000)")
    parser.add_argument("--days", type=int, default=365, help="days they spread over (default 365)")
    parser.add_argument("--end", default="2026-11-01", help="the day after the last generated day (default 2026-11-01)")
    parser.add_argument("--tz", default="Europe/Berlin", help="site time zone (default Europe/Berlin)")
    parser.add_argument("--seed", type=int, default=1, help="random seed (default 1)")
    parser.add_argument("--currency", default="EUR")
    parser.add_argument("--booth", default="booth-1")
    parser.add_argument("--audit", choices=("full", "manual", "none"), default="full",
                        help="audit entries: as the console writes them (default), the manual actions only, or none")
    args = parser.parse_args(argv)
    if args.visits < 1 or args.days < 1:
        parser.error("--visits and --days must be at least 1")
    try:
        cfg = Config(Path(args.out), args.visits, args.days, date.fromisoformat(args.end), ZoneInfo(args.tz),
                     args.seed, args.currency, args.booth, args.audit)
    except (ValueError, KeyError) as exc:
        parser.error(str(exc))
    result = generate(cfg)
    rows = ", ".join(f"{table} {count:,}" for table, count in result["rows"].items())
    print(f"wrote {cfg.out}: {rows}")
    print(f"{cfg.visits:,} visits over {cfg.days} days ({result['first_day']} to {result['end_day']}, {cfg.tz.key}), "
          f"{result['shifts']} shifts")
    print(f"time taken: {result['seconds']:.1f} s (audit chain {result['audit_seconds']:.1f} s, "
          f"building indexes {result['index_seconds']:.1f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
