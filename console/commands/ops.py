"""`booth doctor`, `booth backup` and `booth restore`: the checks and copies live in
`console.ops.doctor` and `console.site.backup`; this module only reads arguments and prints.

Exit codes: 0 fine, 1 something is wrong (a FAIL, a backup that did not verify, a refused
restore), 2 bad arguments or a site file that cannot be used.
"""

from __future__ import annotations

import argparse
import json
import sys
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, TextIO

from console.commands.argtypes import number
from console.formats import text_width
from console.i18n import _

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_USAGE = 2


def _err(message: str, code: int) -> int:
    print(message, file=sys.stderr)
    return code


def _site(args: argparse.Namespace) -> tuple[Any, str]:
    """(config, database URL) for --site / --db. Raises ValueError with a message."""
    from console.locations import default_site_file
    from console.site.build import database_url
    from console.site.config import ConfigError, default_site, load_site

    try:
        if args.site:
            config = load_site(Path(args.site))
        else:
            path = default_site_file()
            config = load_site(path) if path.exists() else default_site()
    except ConfigError as exc:
        raise ValueError(str(exc)) from None
    return config, args.db or database_url(config)


# -- doctor ------------------------------------------------------------------------------------
class _Progress:
    """One line on a terminal's stderr, rewritten as the checks go; silent elsewhere."""

    def __init__(self, stream: TextIO) -> None:
        self.stream = stream
        self.live = stream.isatty()

    def __call__(self, name: str) -> None:
        if self.live:
            self.stream.write("\r\x1b[K" + _("checking {name} …").format(name=_(name)))
            self.stream.flush()

    def done(self) -> None:
        if self.live:
            self.stream.write("\r\x1b[K")
            self.stream.flush()


def _pad(text: str, width: int) -> str:
    return text + " " * max(0, width - text_width(text))


def render_table(findings: list[Any]) -> str:
    """The findings as one aligned table in the current language, the fix under each
    problem. The state words stay as they are (ok, warn, FAIL): scripts grep for them."""
    names = [_(f.check) for f in findings]
    width = max([text_width(n) for n in names] + [text_width(_("CHECK"))], default=5)
    state, check, detail = _("STATE"), _("CHECK"), _("DETAIL")
    lines = [f"{_pad(state, 5)} {_pad(check, width)}  {detail}"]
    for f, name in zip(findings, names):
        lines.append(f"{f.level.value:<5} {_pad(name, width)}  {f.detail}")
        if f.fix:
            lines.append(f"{'':<5} {'':<{width}}  " + _("fix: {fix}").format(fix=f.fix))
    return "\n".join(lines)


def cmd_doctor(args: argparse.Namespace) -> int:
    """Check the site file, database, devices, secrets, cloud, disk, clock, backups, permissions."""
    from console.ops.doctor import Checkup, Level, blocking, run_checks

    if args.timeout <= 0 or args.timeout > 60:
        return _err(_("booth doctor: --timeout {timeout:g}: give seconds between 0 and 60").format(timeout=args.timeout), EXIT_USAGE)
    checkup = Checkup(site_file=Path(args.site) if args.site else None, database_url=args.db or "", timeout=args.timeout)
    progress = _Progress(sys.stderr)
    try:
        findings = run_checks(checkup, progress)
    finally:
        progress.done()
    if args.json:
        print(json.dumps([{"check": f.check, "state": f.level.value, "detail": f.detail, "fix": f.fix} for f in findings], ensure_ascii=False))
    else:
        print(render_table(findings))
        fails = sum(1 for f in findings if f.level is Level.FAIL)
        warns = sum(1 for f in findings if f.level is Level.WARN)
        verdict = _("the console cannot run like this") if fails else _("the console can run")
        print()
        print(_("{fails} failed, {warns} warnings: {verdict}").format(fails=fails, warns=warns, verdict=verdict))
    return EXIT_FAILED if blocking(findings) else EXIT_OK


# -- backup / restore --------------------------------------------------------------------------
def cmd_backup(args: argparse.Namespace) -> int:
    """Take a verified backup now (or, with --status, say how old the last good one is)."""
    from console.site.backup import backup_folder, backup_status, run_backup
    from console.store.backup import BackupError, sqlite_file

    try:
        config, url = _site(args)
    except ValueError as exc:
        return _err(str(exc), EXIT_USAGE)
    now = datetime.now(timezone.utc)
    if args.status:
        status = backup_status(config, url)
        print(status.describe(now))
        return EXIT_FAILED if (not status.configured or not status.reachable or status.overdue(now)) else EXIT_OK
    folder = Path(args.to).expanduser() if args.to else backup_folder(config)
    if folder is None:
        return _err(_("booth backup: no backup folder: set [backup] folder in the site file or give --to FOLDER"), EXIT_USAGE)
    if folder.exists() and not folder.is_dir():
        return _err(_("booth backup: --to {folder} is a file, not a folder").format(folder=folder), EXIT_USAGE)
    if sqlite_file(url) is not None and not sqlite_file(url).exists():  # type: ignore[union-attr]
        return _err(_("booth backup: there is no database at {value} yet").format(value=sqlite_file(url)), EXIT_USAGE)
    try:
        path = run_backup(config, url, now, folder=folder)
    except BackupError as exc:
        return _err(_("backup failed: {exc}").format(exc=exc), EXIT_FAILED)
    print(_("backup written and verified: {path}").format(path=path))
    return EXIT_OK


def cmd_restore(args: argparse.Namespace) -> int:
    """Put a verified backup in place of the live database (the old one is kept)."""
    from console.store.backup import RestoreRefused, restore, sqlite_file
    from console.store.migrate import is_known_revision

    try:
        _site_file, url = _site(args)
    except ValueError as exc:
        return _err(str(exc), EXIT_USAGE)
    database = sqlite_file(url)
    if database is None:
        return _err(_("booth restore: the database is not an SQLite file; restore PostgreSQL with pg_restore (packaging/INSTALL.md)"), EXIT_USAGE)
    copy = Path(args.file).expanduser()
    if not copy.is_file():
        return _err(_("booth restore: {copy}: no such file").format(copy=copy), EXIT_USAGE)
    try:
        result = restore(copy, database, datetime.now(timezone.utc), known_revision=is_known_revision)
    except RestoreRefused as exc:
        return _err(_("restore refused: {exc}").format(exc=exc), EXIT_FAILED)
    kept = ", ".join(str(p) for p in result.replaced) or _("nothing (there was no database)")
    print(_("restored {copy} ({audit_entries} audit entries, schema {value}) into {database}").format(copy=copy, audit_entries=result.verification.audit_entries, value=result.verification.revision or 'empty', database=database))
    print(_("the database it replaced was moved to: {kept}").format(kept=kept))
    return EXIT_OK


def _site_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--site", help=_("site file (default: $BOOTH_SITE or the user config folder)"))
    parser.add_argument("--db", help=_("database URL or SQLite file (overrides the site file)"))


def register(subparsers: Any) -> None:
    """Add `doctor`, `backup` and `restore` to the `booth` command's sub-parsers."""
    doctor = subparsers.add_parser("doctor", help=_("check this booth PC: what is wrong and how to fix it"))
    _site_options(doctor)
    doctor.add_argument("--timeout", type=number(0, 3600, low_open=True), default=2.0, help=_("seconds to wait for each device (default 2)"))
    doctor.add_argument("--json", action="store_true", help=_("print the findings as JSON"))
    doctor.set_defaults(func=cmd_doctor)

    backup = subparsers.add_parser("backup", help=_("copy the database now, verified ([backup] folder, or --to)"))
    _site_options(backup)
    backup.add_argument("--to", metavar="FOLDER", help=_("backup folder (default: [backup] folder of the site file)"))
    backup.add_argument("--status", action="store_true", help=_("only say how old the last good backup is (exit 1 when overdue)"))
    backup.set_defaults(func=cmd_backup)

    restore = subparsers.add_parser("restore", help=_("replace the database with a verified backup (stop the console first)"))
    restore.add_argument("file", metavar="FILE", help=_("a backup file written by `booth backup`"))
    _site_options(restore)
    restore.set_defaults(func=cmd_restore)
