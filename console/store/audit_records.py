"""The records checked against the audit entries that describe them.

A hash chain proves the entries were not edited; it says nothing of the rows beside it.
Someone who changes a payment's amount (and the visit's `paid_minor` to match), or
deletes a paid visit with its payment and receipt, leaves the chain intact. So every
money and gate record must agree with its entry, and every entry that describes a
record must still find it: a mismatch either way is reported with what changed."""

from __future__ import annotations

import hashlib
import json
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from sqlalchemy import or_
from sqlalchemy import select as core_select
from sqlmodel import Session, col, select

from console.i18n import _
from console.store.tables import (
    AuditRow,
    CashMovementRow,
    DebtRow,
    GateActionRow,
    OverrideRow,
    PaymentRow,
    ReceiptRow,
    ShiftRow,
    VisitRow,
)
from console.store.types import table_of

_AUDIT = table_of(AuditRow)
_EXACT = ("visit.exit", "shift.open", "shift.close", "debt.recorded", "receipt.issued")
_PREFIXES = ("override.", "gate.manual_", "cash.")


@dataclass(frozen=True, slots=True)
class Finding:
    """One record that disagrees with the audit trail."""

    record: str  # what kind of record: visit, payment, receipt...
    subject: str  # its id (or booth:number for a receipt)
    problem: str
    seq: int | None = None  # the audit entry concerned, when there is one


def content_digest(content: str) -> str:
    """The digest a receipt's stored content is audited with (its JSON text as stored)."""
    return hashlib.sha256(content.encode("utf-8")).hexdigest()


@dataclass(slots=True)
class _Entry:
    seq: int
    subject: str
    detail: dict[str, Any]


def _entries(session: Session) -> dict[str, list[_Entry]]:
    """The entries that describe records, by action."""
    condition = or_(_AUDIT.c.action.in_(_EXACT), *(_AUDIT.c.action.startswith(p) for p in _PREFIXES))
    found: dict[str, list[_Entry]] = defaultdict(list)
    query = core_select(_AUDIT.c.seq, _AUDIT.c.action, _AUDIT.c.subject, _AUDIT.c.detail).where(condition).order_by(_AUDIT.c.seq)
    for seq, action, subject, detail in session.execute(query):
        try:
            parsed = json.loads(detail)
        except ValueError:
            parsed = {}
        found[action].append(_Entry(seq, subject, parsed if isinstance(parsed, dict) else {}))
    return found


def check_records(session: Session) -> list[Finding]:
    """Every disagreement between the records and the audit trail, oldest entry first."""
    entries = _entries(session)
    findings: list[Finding] = []
    findings += _visits(session, entries.get("visit.exit", []))
    findings += _overrides(session, entries)
    findings += _gate_actions(session, entries)
    findings += _shifts(session, entries.get("shift.open", []), entries.get("shift.close", []))
    findings += _cash(session, entries)
    findings += _debts(session, entries.get("debt.recorded", []))
    findings += _receipts(session, entries.get("receipt.issued", []))
    return sorted(findings, key=lambda f: (f.seq is None, f.seq or 0, f.record, f.subject))


def _visits(session: Session, exits: list[_Entry]) -> Iterator[Finding]:
    # Plain rows of the columns compared, not ORM objects: a year's visits fit in memory.
    by_visit = {e.subject: e for e in exits}
    pay = table_of(PaymentRow)
    payments: dict[str, list[tuple[str, str, int]]] = defaultdict(list)
    for pid, visit_id, method, amount in session.execute(core_select(pay.c.id, pay.c.visit_id, pay.c.method, pay.c.amount_minor)):
        payments[visit_id].append((pid, method, amount))
    visit = table_of(VisitRow)
    closed = {row[0]: row for row in session.execute(
        core_select(visit.c.id, visit.c.fee_minor, visit.c.paid_minor, visit.c.plate, visit.c.exit_lane, visit.c.close_reason)
        .where(visit.c.state != "open"))}
    for visit_id, entry in by_visit.items():
        row = closed.get(visit_id)
        d = entry.detail
        if row is None:
            yield Finding("visit", visit_id, _("the visit of {plate} that left paying {paid} (minor units) is gone or reopened").format(plate=d.get("plate", "?"), paid=d.get("paid_minor", "?")), entry.seq)
            continue
        _id, fee, paid_minor, plate, lane, _reason = row
        if fee != d.get("fee_minor"):
            yield Finding("visit", visit_id, _("its fee is {now}, the audit entry says {then}").format(now=fee, then=d.get("fee_minor")), entry.seq)
        if paid_minor != d.get("paid_minor"):
            yield Finding("visit", visit_id, _("its paid amount is {now}, the audit entry says {then}").format(now=paid_minor, then=d.get("paid_minor")), entry.seq)
        if plate != d.get("plate"):
            yield Finding("visit", visit_id, _("its plate is {now}, the audit entry says {then}").format(now=plate, then=d.get("plate")), entry.seq)
        if d.get("lane") is not None and lane != d.get("lane"):
            yield Finding("visit", visit_id, _("its exit lane is {now}, the audit entry says {then}").format(now=lane, then=d.get("lane")), entry.seq)
        paid = payments.pop(visit_id, [])
        total = sum(amount for _pid, _method, amount in paid)
        if total != d.get("paid_minor"):
            yield Finding("payment", visit_id, _("its payments add up to {now}, the audit entry says {then}").format(now=total, then=d.get("paid_minor")), entry.seq)
        listed = d.get("payments")
        if isinstance(listed, list):
            recorded = Counter(paid)
            audited = Counter(tuple(x) for x in listed if isinstance(x, list) and len(x) == 3)
            for pid, method, amount in sorted((recorded - audited).elements()):
                yield Finding("payment", pid, _("{method} {amount} is not the payment the audit entry records").format(method=method, amount=amount), entry.seq)
            for pid, method, amount in sorted((audited - recorded).elements()):
                yield Finding("payment", str(pid), _("the audited payment {method} {amount} is gone or changed").format(method=method, amount=amount), entry.seq)
    for visit_id, row in closed.items():
        if visit_id not in by_visit and row[5] != "stale":
            yield Finding("visit", visit_id, _("closed ({reason}) without an audit entry").format(reason=row[5]))
    for visit_id, paid in payments.items():
        for pid, method, amount in paid:
            yield Finding("payment", pid, _("{method} {amount} for visit {visit} has no audit entry").format(method=method, amount=amount, visit=visit_id))


def _match(kind: str, records: Iterable[tuple[tuple[Any, ...], str]], audited: Iterable[tuple[tuple[Any, ...], int]],
           missing: str, gone: str, show: Callable[[tuple[Any, ...]], str] | None = None) -> Iterator[Finding]:
    """Records and entries matched by a key whose first part names the record; a record
    and an entry of the same name that differ are reported as one change (what the entry
    says, what the record says); what is left over on either side is reported."""
    text = show or (lambda key: ", ".join(str(k) for k in key))
    pool: dict[tuple[Any, ...], list[int]] = defaultdict(list)
    for key, seq in audited:
        pool[key].append(seq)
    unmatched: list[tuple[tuple[Any, ...], str]] = []
    for key, record_id in records:
        if pool.get(key):
            pool[key].pop(0)
        else:
            unmatched.append((key, record_id))
    left = [(key, seq) for key, seqs in pool.items() for seq in seqs]
    for key, record_id in unmatched:
        twin = next((i for i, (other, _seq) in enumerate(left) if other[0] == key[0]), None)
        if twin is None:
            yield Finding(kind, record_id, missing.format(what=text(key)))
            continue
        other, seq = left.pop(twin)
        yield Finding(kind, record_id, _("changed after it was audited: the entry says {then}, the record says {now}").format(
            then=text(other), now=text(key)), seq)
    for key, seq in left:
        yield Finding(kind, str(key[0]), gone.format(what=text(key)), seq)


def _overrides(session: Session, entries: dict[str, list[_Entry]]) -> Iterator[Finding]:
    rows = session.exec(select(OverrideRow)).all()
    audited = [((e.subject, e.detail.get("kind"), e.detail.get("quoted_minor"), e.detail.get("new_minor")), e.seq)
               for action, found in entries.items() if action.startswith("override.") and not action.endswith(".requested")
               for e in found]
    records = [((r.visit_id, r.kind, r.quoted_minor, r.new_minor), r.id) for r in rows]
    yield from _match("override", records, audited, _("the fee change {what} has no audit entry"), _("the audited fee change {what} is gone or changed"),
                      lambda k: _("{kind} {quoted} -> {new} on visit {visit}").format(kind=k[1], quoted=k[2], new=k[3], visit=k[0]))


def _gate_actions(session: Session, entries: dict[str, list[_Entry]]) -> Iterator[Finding]:
    rows = session.exec(select(GateActionRow)).all()
    audited = [((e.detail.get("record"), e.subject, action.removeprefix("gate.manual_")), e.seq)
               for action, found in entries.items() if action.startswith("gate.manual_") for e in found]
    records = [((r.id, r.lane, r.action), r.id) for r in rows]
    yield from _match("gate action", records, audited, _("the manual barrier move {what} has no audit entry"), _("the audited manual barrier move {what} is gone or changed"),
                      lambda k: _("{action} at {lane}").format(action=k[2], lane=k[1]))


def _shifts(session: Session, opens: list[_Entry], closes: list[_Entry]) -> Iterator[Finding]:
    rows = session.exec(select(ShiftRow)).all()
    yield from _match("shift", [((r.id, r.opening_float_minor), r.id) for r in rows],
                      [((e.subject, e.detail.get("float_minor")), e.seq) for e in opens],
                      _("the shift opening {what} has no audit entry"), _("the audited shift opening {what} is gone or changed"),
                      lambda k: _("float {amount}").format(amount=k[1]))
    yield from _match("shift", [((r.id, r.expected_cash_minor, r.counted_cash_minor), r.id) for r in rows if r.state == "closed"],
                      [((e.subject, e.detail.get("expected_minor"), e.detail.get("counted_minor")), e.seq) for e in closes],
                      _("the shift close {what} has no audit entry"), _("the audited shift close {what} is gone or changed"),
                      lambda k: _("expected {expected}, counted {counted}").format(expected=k[1], counted=k[2]))


def _cash(session: Session, entries: dict[str, list[_Entry]]) -> Iterator[Finding]:
    pool: dict[tuple[str, str, Any], list[int]] = defaultdict(list)
    for action, found in entries.items():
        if action.startswith("cash."):
            for e in found:
                pool[(action.removeprefix("cash."), e.subject, e.detail.get("amount_minor"))].append(e.seq)
    for r in session.exec(select(CashMovementRow).where(col(CashMovementRow.kind) != "float")).all():
        # A movement is audited under its shift, or (change left at the exit desk) its visit.
        for subject in (r.shift_id, r.visit_id):
            key = (r.kind, subject or "", r.amount_minor)
            if pool.get(key):
                pool[key].pop(0)
                break
        else:
            yield Finding("cash movement", r.id, _("{kind} {amount} has no audit entry").format(kind=r.kind, amount=r.amount_minor))
    for (kind, subject, amount), seqs in pool.items():
        for seq in seqs:
            yield Finding("cash movement", subject, _("the audited {kind} {amount} is gone or changed").format(kind=kind, amount=amount), seq)


def _debts(session: Session, recorded: list[_Entry]) -> Iterator[Finding]:
    rows = session.exec(select(DebtRow)).all()
    yield from _match("debt", [((r.id, r.plate, r.amount_minor), r.id) for r in rows],
                      [((e.subject, e.detail.get("plate"), e.detail.get("amount_minor")), e.seq) for e in recorded],
                      _("the debt {what} has no audit entry"), _("the audited debt {what} is gone or changed"),
                      lambda k: _("{amount} owed by {plate}").format(amount=k[2], plate=k[1]))


def _receipts(session: Session, issued: list[_Entry]) -> Iterator[Finding]:
    audited = {e.subject: e for e in issued}
    first_audited: dict[str, int] = {}
    for e in issued:
        booth, _sep, number = e.subject.rpartition(":")
        if number.isdigit():
            first_audited[booth] = min(first_audited.get(booth, int(number)), int(number))
    numbers: dict[str, set[int]] = defaultdict(set)
    for r in session.exec(select(ReceiptRow)).all():
        numbers[r.booth_id].add(r.number)
        name = f"{r.booth_id}:{r.number}"
        entry = audited.pop(name, None)
        if entry is None:
            if r.number >= first_audited.get(r.booth_id, r.number + 1):
                yield Finding("receipt", name, _("the {kind} has no audit entry").format(kind=r.kind))
            continue
        if entry.detail.get("digest") != content_digest(r.content) or entry.detail.get("visit") != r.visit_id:
            yield Finding("receipt", name, _("its content was changed after it was issued"), entry.seq)
    for name, entry in audited.items():
        yield Finding("receipt", name, _("the issued {kind} is gone").format(kind=entry.detail.get("kind", "?")), entry.seq)
    for booth, seen in numbers.items():
        for n in sorted(set(range(min(seen), max(seen) + 1)) - seen):
            if f"{booth}:{n}" not in audited:  # already reported as gone, with its entry
                yield Finding("receipt", f"{booth}:{n}", _("number {number} is missing from the booth's gap-free sequence").format(number=n))
