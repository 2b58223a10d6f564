"""`booth emergency ...`: the emergency journal seen from the booth PC.

`status` says how many decisions wait in this booth's journal; `merge` writes them into
the database now (as the console does every 5 s); `conflicts` lists what merges could not
book as decided (the stay settled at another booth meanwhile, a plate entered twice,
a vehicle let out unquoted), and `resolve ID --note` closes one, audited with `--by`.
The records live in `console.store.emergency_records`; this module reads arguments and
prints.

Exit codes: 0 done (for `conflicts`: none open), 1 conflicts open or a refusal, 2 bad
arguments or site file, 3 the database cannot be used.
"""

from __future__ import annotations

import argparse
import getpass
import json
import sys
from datetime import datetime, timezone
from typing import Any

from console.i18n import _

EXIT_OK, EXIT_OPEN, EXIT_INPUT, EXIT_STORE = 0, 1, 2, 3


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add `emergency` and its subcommands to a `booth` parser."""
    group = subparsers.add_parser("emergency", help=_("the emergency journal: decisions kept while the database was down, and their conflicts"))
    sub = group.add_subparsers(dest="emergency_command", required=True, metavar="ACTION")

    status = sub.add_parser("status", help=_("how many decisions wait in this booth's journal"))
    _common(status, _status)
    merge = sub.add_parser("merge", help=_("write the journal's decisions into the database now"))
    _common(merge, _merge)
    conflicts = sub.add_parser("conflicts", help=_("what merges could not book as decided, for the manager"))
    conflicts.add_argument("--all", action="store_true", help=_("resolved ones too"))
    conflicts.add_argument("--json", action="store_true", help=_("print JSON"))
    _common(conflicts, _conflicts)
    resolve = sub.add_parser("resolve", help=_("mark a conflict resolved (audited)"))
    resolve.add_argument("id", metavar="ID", help=_("the conflict's id (from `booth emergency conflicts`)"))
    resolve.add_argument("--note", required=True, help=_("what was done (refunded, booked by hand...)"))
    resolve.add_argument("--by", default=None, help=_("who resolved it (default: the user running the command)"))
    _common(resolve, _resolve)


def _common(parser: argparse.ArgumentParser, run: Any) -> None:
    parser.add_argument("--site", help=_("site file (default: $BOOTH_SITE or the user config folder)"))
    parser.add_argument("--db", help=_("database URL or SQLite file (overrides the site file)"))
    parser.set_defaults(func=lambda args: _run(args, run))


def _run(args: argparse.Namespace, run: Any) -> int:
    from console.commands.ops import _site
    from console.site.build import open_seal, open_store
    from console.store.errors import StoreError

    try:
        config, url = _site(args)
    except ValueError as exc:
        print(str(exc), file=sys.stderr)
        return EXIT_INPUT
    try:
        store = open_store(url, settings=config.engine_settings)
    except StoreError as exc:
        print(_("the database cannot be used: {exc}").format(exc=_(str(exc))), file=sys.stderr)
        return EXIT_STORE
    try:
        if run in (_merge, _resolve):
            open_seal(config, store)  # their audit entries are sealed like the console's
        return int(run(args, config, store))
    except StoreError as exc:
        print(_("the database cannot be used: {exc}").format(exc=_(str(exc))), file=sys.stderr)
        return EXIT_STORE
    finally:
        store.dispose()


def _journal(config: Any, store: Any) -> Any:
    from console.site.build import emergency_journal_path
    from console.site.emergency import EmergencyJournal

    return EmergencyJournal(emergency_journal_path(config, store), store, booth_id=config.site.booth_id)


def _status(args: argparse.Namespace, config: Any, store: Any) -> int:
    from console.site.build import emergency_journal_path
    from console.site.emergency import pending_in
    from console.store import emergency_records

    path = emergency_journal_path(config, store)  # read only: the console may be writing it
    print(_("{n} decisions wait in {path}").format(n=pending_in(path), path=path))
    print(_("{n} conflicts open for the manager").format(n=store.query(emergency_records.open_conflict_count)))
    return EXIT_OK


def _merge(args: argparse.Namespace, config: Any, store: Any) -> int:
    journal = _journal(config, store)
    written = journal.merge()
    print(_("{n} decisions merged; {left} still wait").format(n=written, left=journal.pending_count))
    return EXIT_OK if journal.pending_count == 0 else EXIT_OPEN


def _conflicts(args: argparse.Namespace, config: Any, store: Any) -> int:
    from console.domain.money import Money
    from console.site.emergency import CONFLICT_KINDS
    from console.store import emergency_records

    found = store.query(emergency_records.conflicts, include_resolved=args.all)
    if args.json:
        print(json.dumps([c.to_json() for c in found], ensure_ascii=False, indent=2))
    elif not found:
        print(_("no emergency conflicts"))
    else:
        tz = config.site.tz
        for c in found:
            kind = _(CONFLICT_KINDS[c.kind]) if c.kind in CONFLICT_KINDS else c.kind
            print(_("{id}  {when:%Y-%m-%d %H:%M}  {booth} {lane}  {plate}  by {actor}: {kind}").format(
                id=c.id, when=c.at.astimezone(tz), booth=c.booth, lane=c.lane, plate=c.plate, actor=c.actor, kind=kind))
            if c.paid_minor:
                print("    " + _("taken at the booth: {amount}").format(amount=Money(c.paid_minor, c.currency)))
            print("    " + c.message)
            if c.resolved_by:
                print("    " + _("resolved by {actor}: {note}").format(actor=c.resolved_by, note=c.resolution))
    return EXIT_OPEN if any(c.resolved_by is None for c in found) else EXIT_OK


def _resolve(args: argparse.Namespace, config: Any, store: Any) -> int:
    from console.store import emergency_records

    note = args.note.strip()
    if not note:
        print(_("say what was done (--note)"), file=sys.stderr)
        return EXIT_INPUT
    actor = args.by or getpass.getuser()
    done = store.apply(emergency_records.resolve_conflict, line_id=args.id, actor=actor, note=note, at=datetime.now(timezone.utc))
    if not done:
        print(_("no open emergency conflict {id}").format(id=args.id), file=sys.stderr)
        return EXIT_OPEN
    print(_("conflict {id} resolved by {actor}").format(id=args.id, actor=actor))
    return EXIT_OK
