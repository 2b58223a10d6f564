"""The `booth` command."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, NoReturn

from console.locations import data_dir, default_site_file, log_dir

if TYPE_CHECKING:
    from console.site.config import SiteConfig
    from console.site.site import Site

EXIT_CONFIG = 2
EXIT_STORE = 3


def _fail(code: int, message: str) -> int:
    print(message, file=sys.stderr)
    return code


def _load_config(args: argparse.Namespace) -> SiteConfig:
    from console.site.config import default_site, load_site

    if getattr(args, "site", None):
        return load_site(Path(args.site))
    path = default_site_file()
    if path.exists():
        return load_site(path)
    return default_site()


def cmd_init(args: argparse.Namespace) -> int:
    """Write the commented sample site file."""
    from console.site.config import default_site_text

    path = Path(args.path) if args.path else default_site_file()
    if path.exists() and not args.force:
        return _fail(EXIT_CONFIG, f"{path} exists; use --force to overwrite it")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(default_site_text(), encoding="utf-8")
    except OSError as exc:
        return _fail(EXIT_CONFIG, f"cannot write {path}: {exc.strerror}")
    print(f"wrote {path}; edit it, then run `booth run --site {path}`")
    return 0


def cmd_migrate(args: argparse.Namespace) -> int:
    """Bring the database schema to the newest version."""
    from console.site.build import database_url
    from console.site.config import ConfigError
    from console.store.engine import StoreError, make_engine
    from console.store.migrate import upgrade

    try:
        config = _load_config(args)
        url = args.db or database_url(config)
        before, after = upgrade(make_engine(url, config.engine_settings))
    except ConfigError as exc:
        return _fail(EXIT_CONFIG, str(exc))
    except StoreError as exc:
        return _fail(EXIT_STORE, str(exc))
    print(f"database at revision {after} (was {before or 'empty'})")
    return 0


def cmd_user_add(args: argparse.Namespace) -> int:
    """Create an attendant or manager; the PIN is typed twice (or read from stdin)."""
    import getpass

    from console.domain.staff import Role, StaffError
    from console.site.build import database_url, open_store
    from console.site.config import ConfigError
    from console.store import staff
    from console.store.engine import StoreError

    try:
        config = _load_config(args)
        store = open_store(args.db or database_url(config))
    except ConfigError as exc:
        return _fail(EXIT_CONFIG, str(exc))
    except StoreError as exc:
        return _fail(EXIT_STORE, str(exc))
    if args.pin_stdin:
        pin = sys.stdin.readline().strip()
    else:
        pin = getpass.getpass(f"PIN for {args.name}: ")
        if getpass.getpass("PIN again: ") != pin:
            return _fail(EXIT_CONFIG, "the two PINs differ; nobody was added")
    from datetime import datetime, timezone

    try:
        with store.write() as s:
            user = staff.add_user(s, name=args.name, role=Role(args.role), pin=pin, at=datetime.now(timezone.utc), actor="booth user add")
    except StaffError as exc:
        return _fail(EXIT_CONFIG, f"not added: {exc}")
    except StoreError as exc:
        return _fail(EXIT_STORE, str(exc))
    print(f"added {user.name} ({user.role.value})")
    return 0


def cmd_rides_statement(args: argparse.Namespace) -> int:
    """What an elevator card owes for a month (postpaid), floor by floor."""
    from datetime import date

    from console.domain.rides import floor_label, month_period
    from console.site.build import database_url, open_store
    from console.site.config import ConfigError
    from console.store.engine import StoreError
    from console.store.rides import statement

    try:
        config = _load_config(args)
        year, month = (int(x) for x in args.month.split("-"))
        date(year, month, 1)
    except ConfigError as exc:
        return _fail(EXIT_CONFIG, str(exc))
    except ValueError:
        return _fail(EXIT_CONFIG, f"--month {args.month!r}: write the month as YYYY-MM")
    try:
        store = open_store(args.db or database_url(config))
        start, end = month_period(year, month, config.site.tz)
        result = store.query(statement, args.card, start, end, config.site.currency)
    except StoreError as exc:
        return _fail(EXIT_STORE, str(exc))
    except ValueError as exc:
        return _fail(EXIT_CONFIG, str(exc))
    if args.json:
        print(json.dumps({
            "card": result.card, "account": result.account_id, "month": args.month, "rides": result.rides,
            "total_minor": result.total.minor, "currency": result.total.currency, "flagged": result.flagged,
            "floors": [{"floor": line.floor, "rides": line.rides, "total_minor": line.total.minor} for line in result.lines],
        }))
        return 0
    print(f"Elevator statement {args.month} for card {result.card} (account {result.account_id or '-'})")
    for line in result.lines:
        label = floor_label(line.floor) if line.floor is not None else "all floors"
        print(f"  floor {label:>5}: {line.rides:4d} rides  {line.total.format():>12}")
    print(f"  total       : {result.rides:4d} rides  {result.total.format():>12}" + (f"   ({result.flagged} flagged for review)" if result.flagged else ""))
    return 0


def tune_for_booth() -> None:
    """Process-wide settings for a console that drives lanes (made before Textual is
    imported, which reads TEXTUAL_FPS once): the screen repaints at most 20 times a
    second, and threads hand over the interpreter every 0.2 ms, so that repainting never
    holds a lane's plate-to-gate path for long."""
    import os

    os.environ.setdefault("TEXTUAL_FPS", "20")
    sys.setswitchinterval(0.0002)


def _run_console(args: argparse.Namespace, *, demo: bool) -> int:
    from console.logs import configure_logging

    folder = data_dir()
    configure_logging(log_dir(), to_stderr=bool(getattr(args, "headless", False)))

    from console.domain.clock import Clock, ScaledClock, SystemClock
    from console.locations import sqlite_url
    from console.site.config import ConfigError, default_site

    try:
        config = _load_config(args) if not demo or args.site else default_site()
    except ConfigError as exc:
        return _fail(EXIT_CONFIG, str(exc))
    from console.i18n import set_language

    set_language(config.ui.language)
    headless = demo and bool(getattr(args, "headless", False))
    if demo:
        db_path = Path(args.db) if args.db else folder / "demo.sqlite3"
        if not args.keep:
            for suffix in ("", "-wal", "-shm"):
                Path(f"{db_path}{suffix}").unlink(missing_ok=True)
        url = sqlite_url(db_path)
        # Headless runs are short: without a speed given they run 100x the demo speed.
        speed = args.speed if args.speed is not None else config.simulation.speed * (100 if headless else 1)
        clock: Clock = ScaledClock(speed)
    else:
        url = args.db or ""
        clock, speed = SystemClock(), 1.0

    def make_site() -> Site:
        # Imported here: the database stack is the slowest import, and the screen
        # should not wait for it.
        from console.site.build import build_site, database_url, open_store
        from console.store.engine import StoreError

        target = url or database_url(config)
        try:
            store = open_store(target, settings=config.engine_settings)
            return build_site(config, store, clock=clock, speed=speed, fast_lanes=headless)
        except StoreError as exc:
            raise StoreError(f"cannot open the database {target}: {exc}") from None

    if headless:
        from console.site.headless import run_headless
        from console.store.engine import StoreError

        try:
            site = make_site()
        except StoreError as exc:
            return _fail(EXIT_STORE, str(exc))
        print(f"{config.site.name}: simulated site running headless for {args.seconds:g} s", flush=True)
        summary = run_headless(site, args.seconds)
        print(json.dumps(summary.to_json()), flush=True)
        return 0

    tune_for_booth()
    from console.domain.staff import Role
    from console.ui.app import BoothApp

    if config.elevator.url:
        # textual-image asks the terminal about graphics support when first imported; that
        # has to happen before Textual takes the terminal over. Sites without an elevator
        # skip it (and the picture libraries) entirely.
        import console.ui.screens.elevator  # noqa: F401

    # The demo needs no sign-in: it runs as a demo manager ("demo"); `booth run` starts locked.
    app = BoothApp(
        config=config, site_factory=make_site, theme_name=config.ui.theme, demo=demo,
        attendant="demo" if demo else None, role=Role.MANAGER,
    )
    app.run()
    return app.return_code or 0


def cmd_run(args: argparse.Namespace) -> int:
    """Open the console against the configured site."""
    return _run_console(args, demo=False)


def cmd_demo(args: argparse.Namespace) -> int:
    """Open the console against the simulated site."""
    return _run_console(args, demo=True)


class _Parser(argparse.ArgumentParser):
    """Bad arguments get one line and exit code 2, not a usage block."""

    def error(self, message: str) -> NoReturn:
        self.exit(EXIT_CONFIG, f"{self.prog}: {message} (see `{self.prog} --help`)\n")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="booth", description="Parking booth console.")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    run = sub.add_parser("run", help="open the console against the configured site")
    run.add_argument("--site", help="site file (default: $BOOTH_SITE or the user config folder)")
    run.add_argument("--db", help="database URL (overrides the site file)")
    run.set_defaults(func=cmd_run)

    demo = sub.add_parser("demo", help="open the console against the simulated site")
    demo.add_argument("--headless", action="store_true", help="no screen: run, then print a JSON summary")
    demo.add_argument("--seconds", type=float, default=10.0, help="how long to run headless (default 10)")
    demo.add_argument("--speed", type=float, help="demo clock speed-up (default: the site file's, 30; x100 when headless)")
    demo.add_argument("--site", help="use this site file instead of the embedded demo site")
    demo.add_argument("--db", help="demo database file (default: demo.sqlite3 in the data folder)")
    demo.add_argument("--keep", action="store_true", help="keep the demo database of the last run")
    demo.set_defaults(func=cmd_demo)

    migrate = sub.add_parser("migrate", help="apply database migrations")
    migrate.add_argument("--site", help="site file")
    migrate.add_argument("--db", help="database URL (overrides the site file)")
    migrate.set_defaults(func=cmd_migrate)

    init = sub.add_parser("init", help="write a commented sample site file")
    init.add_argument("path", nargs="?", help="where to write it (default: the user config folder)")
    init.add_argument("--force", action="store_true", help="overwrite an existing file")
    init.set_defaults(func=cmd_init)

    user = sub.add_parser("user", help="attendants and managers")
    user_sub = user.add_subparsers(dest="user_command", metavar="ACTION", required=True)
    add = user_sub.add_parser("add", help="add an attendant or manager (asks for the PIN)")
    add.add_argument("name")
    add.add_argument("--role", choices=["attendant", "manager"], default="attendant")
    add.add_argument("--pin-stdin", action="store_true", help="read the PIN from standard input (scripts)")
    add.add_argument("--site", help="site file")
    add.add_argument("--db", help="database URL (overrides the site file)")
    add.set_defaults(func=cmd_user_add)

    rides = sub.add_parser("rides", help="elevator rides")
    rides_sub = rides.add_subparsers(dest="rides_command", metavar="ACTION", required=True)
    stmt = rides_sub.add_parser("statement", help="what a card owes for a month")
    stmt.add_argument("card")
    stmt.add_argument("--month", required=True, help="YYYY-MM, in the site's time zone")
    stmt.add_argument("--json", action="store_true")
    stmt.add_argument("--site", help="site file")
    stmt.add_argument("--db", help="database URL (overrides the site file)")
    stmt.set_defaults(func=cmd_rides_statement)

    from console.commands import cloud as sync_cli
    from console.commands import ops as ops_cli
    from console.commands import reports as reports_cli
    from console.commands import tariff as tariff_cli

    tariff_cli.register(sub)
    reports_cli.register(sub)
    sync_cli.register(sub)
    ops_cli.register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Entry point of the `booth` command."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 0
    try:
        return int(args.func(args) or 0)
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
