"""`booth report ...` and `booth audit verify`: reports and the audit check from the
command line.

`register(subparsers)` adds `report` and `audit` to the `booth` parser; running this
module (`python -m console.commands.reports report shift --last`) gives the same commands on
their own. Nothing here writes to the database: it is opened read-only and not migrated.

Exit codes: 0 fine; 1 the audit chain is broken; 2 bad input (unknown shift, bad date,
unreadable site file, file cannot be written); 3 the database cannot be used.
"""

from __future__ import annotations

import argparse
import json
import sys
from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

from console import formats
from console.commands.argtypes import whole
from console.i18n import _

EXIT_OK, EXIT_BROKEN, EXIT_INPUT, EXIT_STORE = 0, 1, 2, 3


class _Fail(Exception):
    def __init__(self, code: int, message: str) -> None:
        super().__init__(message)
        self.code = code


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add `report` (shift, shifts, manager) and `audit` (verify) to a `booth` parser."""
    report = subparsers.add_parser("report", help=_("shift (Z) and manager reports"),
                                   description=_("Print or export reports from the booth's database."))
    rsub = report.add_subparsers(dest="report_command", metavar="REPORT")
    rsub.required = True

    shift = rsub.add_parser(
        "shift", help=_("the shift (Z) report of one shift"),
        description=_("The Z report of a closed shift (or the interim X report of an open one)."))
    which = shift.add_mutually_exclusive_group()
    which.add_argument("--last", action="store_true", help=_("the booth's last closed shift (the default)"))
    which.add_argument("--shift", metavar="ID", help=_("this shift (open or closed)"))
    shift.add_argument("--format", choices=("text", "json", "csv", "pdf"), default="text", help=_("output format (default text)"))
    shift.add_argument("--out", metavar="FILE", help=_("write to FILE instead of standard output"))
    shift.add_argument("--booth", metavar="ID", help=_("booth whose last shift is meant (default: the site file's)"))
    shift.add_argument("--font", metavar="TTF", help=_("TrueType font for the PDF (default: DejaVu Sans, found)"))
    _common(shift)
    shift.set_defaults(func=_shift_command)

    shifts = rsub.add_parser("shifts", help=_("list recent shifts"), description=_("List the newest shifts with their ids."))
    shifts.add_argument("--booth", metavar="ID", help=_("only this booth (default: all)"))
    shifts.add_argument("--limit", type=whole(1, 1_000_000), default=20, help=_("how many (default 20)"))
    _common(shifts)
    shifts.set_defaults(func=_shifts_command)

    manager = rsub.add_parser(
        "manager", help=_("revenue, occupancy, stays and overrides over days"),
        description=_("The manager's figures for local days FROM to TO (both included)."))
    manager.add_argument("--from", dest="start", metavar="YYYY-MM-DD", help=_("first day (default: 30 days ago)"))
    manager.add_argument("--to", dest="end", metavar="YYYY-MM-DD", help=_("last day (default: today)"))
    manager.add_argument("--format", choices=("text", "json", "csv"), default="text", help=_("output format (default text)"))
    manager.add_argument("--out", metavar="FILE", help=_("write to FILE instead of standard output"))
    _common(manager)
    manager.set_defaults(func=_manager_command)

    audit = subparsers.add_parser("audit", help=_("check the audit trail"), description=_("Check the audit trail."))
    asub = audit.add_subparsers(dest="audit_command", metavar="COMMAND")
    asub.required = True
    verify = asub.add_parser(
        "verify", help=_("check every link of the audit chain"),
        description=_("Walk the hash-chained audit trail and name the first missing, edited, re-linked or "
                    "re-sealed entry; check that it reaches every anchored head; check every payment, receipt, "
                    "override, gate action and shift against its entry. Exits 0 if all agree, 1 if not."))
    verify.add_argument("--anchor", action="append", metavar="ENTRY:DIGEST",
                        help=_("a chain head printed on a Z report or kept by the cloud; the chain must reach it (repeatable)"))
    verify.add_argument("--anchors", metavar="FILE", help=_("anchor file (default: the one the console keeps beside the database)"))
    _common(verify)
    verify.set_defaults(func=_verify_command)

    key = asub.add_parser("key", help=_("the key that seals the audit chain"),
                          description=_("Show the audit key's fingerprint, or carry the key to another booth of the same database."))
    ksub = key.add_subparsers(dest="key_command", metavar="ACTION")
    ksub.required = True
    for name, helptext in (("show", _("the fingerprint of the key held here and of the one that seals the database")),
                           ("export", _("print the key (keep it secret; give it to the other booths of this database)")),
                           ("import", _("keep the key read from standard input (from `booth audit key export`)"))):
        action = ksub.add_parser(name, help=helptext, description=helptext)
        _common(action)
        action.set_defaults(func=_key_command, key_action=name)


def _common(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--site", metavar="FILE", help=_("site file (default: $BOOTH_SITE or the user config folder)"))
    parser.add_argument("--db", metavar="URL", help=_("database URL or SQLite file (overrides the site file)"))


# -- opening things -------------------------------------------------------------------------


def _config(args: argparse.Namespace) -> Any:
    from console.locations import default_site_file
    from console.site.config import ConfigError, default_site, load_site

    try:
        if args.site:
            return load_site(Path(args.site))
        path = default_site_file()
        return load_site(path) if path.exists() else default_site()
    except ConfigError as exc:
        raise _Fail(EXIT_INPUT, str(exc)) from None


def _engine(args: argparse.Namespace, config: Any) -> Any:
    """The database, opened without creating or migrating anything."""
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError

    from console.site.build import database_url
    from console.store.engine import StoreError, make_engine, sqlite_url

    raw = args.db or database_url(config)
    url = raw if "://" in raw else sqlite_url(Path(raw).expanduser())
    try:
        parsed = make_url(url)
    except ArgumentError:
        raise _Fail(EXIT_INPUT, _("{raw!r} is not a database URL").format(raw=raw)) from None
    if parsed.get_backend_name() == "sqlite":
        database = parsed.database or ""
        if database in ("", ":memory:"):
            raise _Fail(EXIT_INPUT, _("an in-memory database has nothing to report; give a database file"))
        if not Path(database).expanduser().is_file():
            raise _Fail(EXIT_STORE, _("no database at {database}").format(database=database))
    try:
        engine = make_engine(url, config.engine_settings)
    except StoreError as exc:
        raise _Fail(EXIT_STORE, str(exc)) from None
    _check_schema(engine, url)
    return engine


def _check_schema(engine: Any, url: str) -> None:
    from alembic.runtime.migration import MigrationContext
    from sqlalchemy.exc import DBAPIError

    from console.reports.db import read_connection

    try:
        with read_connection(engine) as conn:
            revision = MigrationContext.configure(conn).get_current_revision()
    except DBAPIError as exc:
        raise _Fail(EXIT_STORE, _("cannot read {url}: {value}").format(url=url, value=_reason(exc))) from None
    if revision is None:
        raise _Fail(EXIT_STORE, _("{url} is not a booth database (no schema); run `booth migrate` first").format(url=url))


def _reason(exc: BaseException) -> str:
    """A database error in words for people."""
    text = str(getattr(exc, "orig", exc))
    lowered = text.lower()
    if "locked" in lowered or "busy" in lowered:
        return _("the database is busy (locked by another program); try again")
    if "malformed" in lowered or "not a database" in lowered:
        return _("the database file is damaged or is not a database")
    if "unable to open" in lowered:
        return _("the database file cannot be opened (no such folder, no permission, or a read-only disk: SQLite must be able to write beside it)")
    if "no such table" in lowered or "no such column" in lowered:
        return _("the database schema is older than this console ({reason}); run `booth migrate`").format(reason=text)
    return _("database error: {reason}").format(reason=text)


def _write(args: argparse.Namespace, payload: str | bytes) -> None:
    if args.out:
        try:
            path = Path(args.out)
            if isinstance(payload, bytes):
                path.write_bytes(payload)
            else:
                path.write_text(payload, encoding="utf-8", newline="")
        except OSError as exc:
            raise _Fail(EXIT_INPUT, _("cannot write {out}: {value}").format(out=args.out, value=exc.strerror or exc)) from None
        print(_("wrote {out}").format(out=args.out), file=sys.stderr)
        return
    if isinstance(payload, bytes):
        if sys.stdout.isatty():
            raise _Fail(EXIT_INPUT, _("a PDF is binary: give --out FILE (or redirect the output)"))
        sys.stdout.flush()
        sys.stdout.buffer.write(payload)
        sys.stdout.buffer.flush()
    else:
        sys.stdout.write(payload)


def _run(func: Any, args: argparse.Namespace) -> int:
    from sqlalchemy.exc import DBAPIError

    from console.reports.model import ReportError
    from console.store.errors import StoreError

    try:
        return int(func(args))
    except _Fail as fail:
        print(_("booth: {fail}").format(fail=fail), file=sys.stderr)
        return fail.code
    except ReportError as exc:
        print(_("booth: {exc}").format(exc=exc), file=sys.stderr)
        return EXIT_INPUT
    except DBAPIError as exc:
        print(_("booth: {value}").format(value=_reason(exc)), file=sys.stderr)
        return EXIT_STORE
    except StoreError as exc:
        print(_("booth: {exc}").format(exc=exc), file=sys.stderr)
        return EXIT_STORE


# -- commands -----------------------------------------------------------------------------


def _shift_command(args: argparse.Namespace) -> int:
    return _run(_shift, args)


def _shift(args: argparse.Namespace) -> int:
    from console.reports.export import (
        shift_report_csv,
        shift_report_json,
        shift_report_pdf,
    )
    from console.reports.printout import document_text, shift_report_document
    from console.reports.queries import booth_scope, build_shift_report, last_shift_id

    config = _config(args)
    engine = _engine(args, config)
    booth = args.booth or config.site.booth_id
    shift_id = args.shift or last_shift_id(engine, booth)
    if shift_id is None:
        open_id = last_shift_id(engine, booth, closed_only=False)
        hint = "; " + _("the open shift is {shift} (use --shift {shift} for its interim report)").format(shift=open_id) if open_id else ""
        raise _Fail(EXIT_INPUT, _("booth {booth} has no closed shift{hint}").format(booth=booth, hint=hint))
    # The booth's own lanes are known only for the booth this site file describes.
    lanes = booth_scope(engine, (lane.id for lane in config.lanes)) if booth == config.site.booth_id else None
    report = build_shift_report(engine, shift_id, config.site.tz, site_name=config.site.name, lanes=lanes)
    if args.format == "json":
        _write(args, json.dumps(shift_report_json(report), ensure_ascii=False, indent=2) + "\n")
    elif args.format == "csv":
        _write(args, shift_report_csv(report))
    elif args.format == "pdf":
        try:
            pdf = shift_report_pdf(report, font=args.font)
        except (OSError, RuntimeError) as exc:
            raise _Fail(EXIT_INPUT, _("cannot make the PDF: {exc}").format(exc=exc)) from None
        if pdf.replaced:
            shown = "".join(sorted(pdf.replaced))[:40]
            print(_("note: no font for {shown!r}; printed as '?' (pass --font with a font that has them)").format(shown=shown), file=sys.stderr)
            if any(ord(ch) > 0x2E7F for ch in pdf.replaced):
                print(_("note: no Chinese font is installed: install fonts-wqy-microhei (`python3 quickstart.py setup` does) "
                        "or pass --font with a CJK font"), file=sys.stderr)
        _write(args, pdf.data)
    else:
        _write(args, document_text(shift_report_document(report)))
    return EXIT_OK


def _shifts_command(args: argparse.Namespace) -> int:
    return _run(_shifts, args)


def _shifts(args: argparse.Namespace) -> int:
    from console.reports.queries import recent_shifts

    config = _config(args)
    engine = _engine(args, config)
    tz = config.site.tz
    rows = recent_shifts(engine, args.booth, limit=args.limit)
    if not rows:
        print(_("no shifts yet"))
    for s in rows:
        closed = formats.date_time(s.closed_at, tz) if s.closed_at else _("open")
        print(f"{s.id}  {s.booth_id:<10} {s.attendant:<16} {formats.date_time(s.opened_at, tz)} - {closed}")
    return EXIT_OK


def _parse_day(text: str | None, default: date, what: str) -> date:
    if not text:
        return default
    try:
        return date.fromisoformat(text.strip())
    except ValueError:
        raise _Fail(EXIT_INPUT, _("--{what}: {text!r} is not a date (use YYYY-MM-DD)").format(what=what, text=text)) from None


def _manager_command(args: argparse.Namespace) -> int:
    return _run(_manager, args)


def _manager(args: argparse.Namespace) -> int:
    from console.reports.export import (
        manager_report_csv,
        manager_report_json,
        manager_report_text,
    )
    from console.reports.queries import build_manager_report

    config = _config(args)
    today = datetime.now(timezone.utc).astimezone(config.site.tz).date()
    end = _parse_day(args.end, today, "to")
    start = _parse_day(args.start, end - timedelta(days=29), "from")
    engine = _engine(args, config)
    report = build_manager_report(engine, start, end, config.site.tz, currency=config.site.currency)
    if args.format == "json":
        _write(args, json.dumps(manager_report_json(report), ensure_ascii=False, indent=2) + "\n")
    elif args.format == "csv":
        _write(args, manager_report_csv(report))
    else:
        _write(args, manager_report_text(report))
    return EXIT_OK


def _verify_command(args: argparse.Namespace) -> int:
    return _run(_verify, args)


def _verify(args: argparse.Namespace) -> int:
    from sqlmodel import Session

    from console.reports.db import read_connection
    from console.site.audit_trail import anchor_file, held_seal, parse_anchor, read_anchors
    from console.store.audit import verify_chain
    from console.store.audit_records import check_records
    from console.store.database import Store

    config = _config(args)
    given = []
    for text in args.anchor or ():
        try:
            given.append(parse_anchor(text))
        except ValueError as exc:
            raise _Fail(EXIT_INPUT, str(exc)) from None
    engine = _engine(args, config)
    store = Store(engine)
    state = held_seal(config, store)
    anchors = [*read_anchors(Path(args.anchors) if args.anchors else anchor_file(config, store)), *given]
    # A missing file means "no anchors" (tamper checks pass one on purpose); a file with
    # bytes but not one anchor in it is the wrong file.
    if args.anchors and len(anchors) == len(given) and Path(args.anchors).is_file() and Path(args.anchors).stat().st_size:
        raise _Fail(EXIT_INPUT, _("--anchors {path}: not an anchor file (no line of it is an anchor)").format(path=args.anchors))
    with read_connection(engine) as conn:
        with Session(bind=conn) as session:
            result = verify_chain(session, seal=state.seal, anchors=anchors)
            findings = check_records(session)
    if state.seal is not None:
        print(_("audit key {fingerprint}: entries from {since} on are sealed with it").format(fingerprint=state.seal.fingerprint, since=state.seal.since))
    elif state.problem:
        print(_("audit key: {problem}").format(problem=state.problem))
    for warning in result.warnings:
        print(_("warning: {warning}").format(warning=warning))
    if anchors:
        reached = result.anchored
        print(_("{count} anchor(s) checked; the newest reached: entry {seq}").format(count=len(anchors), seq=reached if reached is not None else "-"))
    if not result.ok:
        print(
            _("audit chain BROKEN at entry {first_bad_seq}: {problem}. The {entries} entries before it are intact; entries from {first_bad_seq} on cannot be trusted.").format(first_bad_seq=result.first_bad_seq, problem=result.problem, entries=result.entries),
        )
    else:
        print(_("audit chain intact: {entries} entries, every link verified").format(entries=result.entries))
    for finding in findings:
        where = _(" (audit entry {seq})").format(seq=finding.seq) if finding.seq is not None else ""
        print(_("record {record} {subject}: {problem}").format(record=finding.record, subject=finding.subject, problem=finding.problem) + where)
    if findings:
        print(_("{count} record(s) disagree with the audit trail").format(count=len(findings)))
    elif result.ok:
        print(_("every payment, receipt, override, gate action and shift agrees with its audit entry"))
    return EXIT_OK if result.ok and not findings else EXIT_BROKEN


def _key_command(args: argparse.Namespace) -> int:
    return _run(_key, args)


def _key(args: argparse.Namespace) -> int:
    from console.site.audit_trail import AuditKeyError, export_key, held_seal, import_key
    from console.store.database import Store

    config = _config(args)
    store = Store(_engine(args, config))
    try:
        if args.key_action == "export":
            print(export_key(config, store))
        elif args.key_action == "import":
            seal = import_key(config, store, sys.stdin.read())
            print(_("audit key {fingerprint} kept: this booth seals its entries with it").format(fingerprint=seal.fingerprint))
        else:
            state = held_seal(config, store)
            print(_("database sealed with key: {fingerprint}").format(fingerprint=state.recorded_fingerprint or _("none (not sealed yet)")))
            print(_("key held here: {fingerprint}").format(fingerprint=state.seal.fingerprint if state.seal else _("none")))
            if state.problem:
                print(state.problem)
    except AuditKeyError as exc:
        raise _Fail(EXIT_INPUT, str(exc)) from None
    return EXIT_OK


def main(argv: list[str] | None = None) -> int:
    """The report and audit commands on their own (`python -m console.commands.reports`)."""
    parser = argparse.ArgumentParser(prog="booth", description=_("Booth reports and audit check."))
    register(parser.add_subparsers(dest="command", metavar="COMMAND", required=True))
    args = parser.parse_args(argv)
    try:
        return int(args.func(args))
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
