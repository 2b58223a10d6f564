"""The `booth` command."""

from __future__ import annotations

import argparse
import json
import logging
import socket
import sys
from pathlib import Path
from typing import TYPE_CHECKING, NoReturn

from console.commands.argtypes import number
from console.i18n import N_, _
from console.locations import data_dir, default_site_file, log_dir

if TYPE_CHECKING:
    from console.site.config import SiteConfig
    from console.site.demo import DemoCloud
    from console.site.site import Site

EXIT_CONFIG = 2
EXIT_STORE = 3
EXIT_INTERNAL = 70  # sysexits EX_SOFTWARE: a fault of the program, not of its input


# Roles by their stored value, for messages.
ROLE_NAMES = {"attendant": N_("attendant"), "manager": N_("manager")}


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
    """Write the commented sample site file (the Chinese one with `--locale zh-CN`)."""
    from console.site.config import ConfigError, sample_site_text

    path = Path(args.path) if args.path else default_site_file()
    if path.exists() and not args.force:
        return _fail(EXIT_CONFIG, _("{path} exists; use --force to overwrite it").format(path=path))
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(sample_site_text(args.locale or "en"), encoding="utf-8")
    except ConfigError as exc:
        return _fail(EXIT_CONFIG, str(exc))
    except OSError as exc:
        return _fail(EXIT_CONFIG, _("cannot write {path}: {reason}").format(path=path, reason=exc.strerror))
    print(_("wrote {path}; edit it, then run `booth run --site {path}`").format(path=path))
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
    print(_("database at revision {after} (was {before})").format(after=after, before=before or _("empty")))
    return 0


def cmd_user_add(args: argparse.Namespace) -> int:
    """Create an attendant or manager; the PIN is typed twice (or read from stdin)."""
    import getpass

    from console.domain.staff import PinPolicy, Role, StaffError
    from console.site.build import database_url, open_seal, open_store
    from console.site.config import ConfigError
    from console.store import staff
    from console.store.engine import StoreError

    try:
        config = _load_config(args)
        store = open_store(args.db or database_url(config))
        open_seal(config, store)  # the user's audit entry is sealed like the console's
    except ConfigError as exc:
        return _fail(EXIT_CONFIG, str(exc))
    except StoreError as exc:
        return _fail(EXIT_STORE, str(exc))
    if args.pin_stdin:
        pin = sys.stdin.readline().strip()
    else:
        pin = getpass.getpass(_("PIN for {name}: ").format(name=args.name))
        if getpass.getpass(_("PIN again: ")) != pin:
            return _fail(EXIT_CONFIG, _("the two PINs differ; nobody was added"))
    from datetime import datetime, timezone

    try:
        with store.write() as s:
            role = Role(args.role)
            policy = PinPolicy(config.operations.attendant_pin_digits, config.operations.manager_pin_digits)
            user = staff.add_user(s, name=args.name, role=role, pin=pin, at=datetime.now(timezone.utc), actor="booth user add",
                                  min_digits=policy.min_digits(role))
    except StaffError as exc:
        return _fail(EXIT_CONFIG, _("not added: {reason}").format(reason=exc))
    except StoreError as exc:
        return _fail(EXIT_STORE, str(exc))
    print(_("added {name} ({role})").format(name=user.name, role=_(ROLE_NAMES.get(user.role.value, user.role.value))))
    return 0


def cmd_user_unlock(args: argparse.Namespace) -> int:
    """Lift a user's sign-in lock after wrong PINs (audited; for whoever runs the booth PC)."""
    from datetime import datetime, timezone

    from console.domain.staff import StaffError
    from console.site.build import database_url, open_seal, open_store
    from console.site.config import ConfigError
    from console.store import staff
    from console.store.engine import StoreError

    try:
        config = _load_config(args)
        store = open_store(args.db or database_url(config))
        open_seal(config, store)
        with store.write() as s:
            user = staff.unlock_user(s, name=args.name, at=datetime.now(timezone.utc), actor="booth user unlock")
    except ConfigError as exc:
        return _fail(EXIT_CONFIG, str(exc))
    except StaffError as exc:
        return _fail(EXIT_CONFIG, _("not unlocked: {reason}").format(reason=exc))
    except StoreError as exc:
        return _fail(EXIT_STORE, str(exc))
    print(_("{name} may sign in again").format(name=user.name))
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
        if not 1900 <= year < 3000:  # the years the booth prices and reports (pricing.EARLIEST..LATEST)
            raise ValueError(year)
    except ConfigError as exc:
        return _fail(EXIT_CONFIG, str(exc))
    except ValueError:
        return _fail(EXIT_CONFIG, _("--month {month!r}: write the month as YYYY-MM").format(month=args.month))
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
    from console import formats

    print(_("Elevator statement {month} for card {card} (account {account})").format(
        month=args.month, card=result.card, account=result.account_id or "-"))
    for line in result.lines:
        label = floor_label(line.floor) if line.floor is not None else _("all floors")
        print("  " + _("floor {floor:>5}: {rides:4d} rides  {amount:>12}").format(
            floor=label, rides=line.rides, amount=formats.money(line.total)))
    flagged = "   " + _("({count} flagged for review)").format(count=result.flagged) if result.flagged else ""
    print("  " + _("total       : {rides:4d} rides  {amount:>12}").format(rides=result.rides, amount=formats.money(result.total)) + flagged)
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
    from console.site.config import ConfigError, sample_site

    shared = False
    demo_url: str | None = None
    try:
        if demo:
            from console.site.demo_booth import demo_booth

            config = _load_config(args) if args.site else sample_site(getattr(args, "locale", None) or "en")
            # One booth of a shared site (--db URL, --booth-id, --lanes), checked before anything starts.
            booth = demo_booth(config, db=args.db, booth_id=args.booth_id, lanes=args.lanes)
            config, demo_url, shared = booth.config, booth.url, booth.shared
        else:
            config = _site_to_run(args)
    except ConfigError as exc:
        return _fail(EXIT_CONFIG, str(exc))
    from console.i18n import set_language

    # `--lang` chosen on the command line wins over the site file's language for this session.
    set_language(getattr(args, "lang", None) or config.ui.language)
    headless = demo and bool(getattr(args, "headless", False))
    demo_clouds: list[DemoCloud] = []  # the demo's own cloud, once the site has started it
    demo_cloud_sock: socket.socket | None = None
    if demo:
        if demo_url is not None:
            url = demo_url
        else:
            db_path = Path(args.db) if args.db else folder / "demo.sqlite3"
            if not args.keep and not shared:  # a shared site's database holds the other booths' books
                from console.store.companions import remove_database_files

                remove_database_files(db_path)
            url = sqlite_url(db_path)
        # Headless runs are short: without a speed given they run 100x the demo speed.
        speed = args.speed if args.speed is not None else config.simulation.speed * (100 if headless else 1)
        clock: Clock = ScaledClock(speed)
        # A booth of a shared demo has no cloud of its own: the booths share one outbox,
        # and each its own cloud would split the site's events between them.
        if not headless and not config.cloud.url and not shared:
            # A cloud of its own on loopback, so phone payments (ctrl+r) can be tried. Its
            # port is reserved now; the cloud starts with the site, after the first frame.
            from console.site.demo import DEMO_SITE_ID, demo_cloud_socket, linked_to

            try:
                demo_cloud_sock, cloud_url = demo_cloud_socket()
            except OSError as exc:
                print(_("the demo runs without its cloud: {exc}").format(exc=exc), file=sys.stderr)
            else:
                config = linked_to(config, cloud_url, DEMO_SITE_ID)
    else:
        url = args.db or ""
        clock, speed = SystemClock(), 1.0

    def make_site() -> Site:
        # Imported here: the database stack is the slowest import, and the screen
        # should not wait for it.
        from console.site.build import build_site, database_url, open_store
        from console.store.engine import StoreError

        nonlocal clock, speed

        cloud_token = None
        if demo_cloud_sock is not None:
            from console.site.demo import DEMO_SITE_ID, DemoCloud

            try:
                cloud = DemoCloud(folder / "demo-cloud.sqlite3", DEMO_SITE_ID, config.site.name, config.site.currency, clock.now,
                                  fresh=not args.keep, sock=demo_cloud_sock).start()
            except (OSError, RuntimeError, ValueError) as exc:
                # The link then says the cloud cannot be reached; the lanes work on.
                logging.getLogger(__name__).warning("the demo runs without its cloud: %s", exc)
            else:
                demo_clouds.append(cloud)
                token = cloud.token
                cloud_token = lambda: token  # noqa: E731
        target = url or database_url(config)
        try:
            store = open_store(target, settings=config.engine_settings, integrity=True)
        except StoreError as exc:
            raise StoreError(_("cannot open the database {target}: {exc}").format(target=target, exc=exc)) from None
        if not demo:
            return build_site(config, store, clock=clock, speed=speed)
        from console.site.build import site_traffic
        from console.site.demo import add_demo_staff, has_visits, park_demo_cars, shared_demo_clock

        asked = speed
        if shared:
            try:
                site_clock = shared_demo_clock(store, speed)
            except StoreError:
                store.dispose()
                raise
            clock, speed = site_clock, site_clock.speed
        traffic = site_traffic(config, speed)
        site = build_site(config, store, clock=clock, speed=speed, fast_lanes=headless, traffic=traffic, cloud_token=cloud_token)
        if speed != asked:
            site.bus.report("info", _("demo clock: this shared site runs {speed:g} times real time, as its first booth started it").format(speed=speed))
        add_demo_staff(site)
        # A shared site's cars are parked by the first booth only (an empty database).
        if (not shared and not args.keep) or (shared and not has_visits(site)):
            park_demo_cars(site, traffic)
        return site

    if headless:
        from console.site.errors import SiteError
        from console.site.headless import run_headless
        from console.store.engine import StoreError

        try:
            site = make_site()
        except (StoreError, SiteError) as exc:
            return _fail(EXIT_STORE, str(exc))
        print(_("{site}: simulated site running headless for {seconds:g} s").format(site=config.site.name, seconds=args.seconds), flush=True)
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
        attendant="demo" if demo else None, role=Role.MANAGER, simulated=demo or config.site.simulated,
    )
    try:
        app.run()
    finally:
        for cloud in demo_clouds:
            cloud.stop()
        if demo_cloud_sock is not None and not demo_clouds:
            demo_cloud_sock.close()
    return app.return_code or 0


def _site_to_run(args: argparse.Namespace) -> SiteConfig:
    """The site `booth run` drives: its own site file, never the embedded sample, and
    simulated devices only when that file says `simulated = true` (so simulated traffic
    never reaches a real site's books). Raises ConfigError saying what to do."""
    from console.site.config import ConfigError, load_site, simulated_devices

    path = Path(args.site) if args.site else default_site_file()
    if not path.exists():
        raise ConfigError(_(
            "no site file at {path}: `booth run` drives this site's own lanes and needs its site file.\n"
            "  Write a sample with `booth init{where}`, put this site's device URLs in it, then run `booth run{site}`.\n"
            "  To try the console on a simulated site instead: `booth demo`."
        ).format(path=path, where=f" {path}" if args.site else "", site=f" --site {path}" if args.site else ""))
    config = load_site(path)
    simulated = simulated_devices(config)
    if simulated and not config.site.simulated:
        raise ConfigError(_(
            "{path}: {keys} name simulated devices (sim://), and `booth run` drives real devices only.\n"
            "  Give each of them the device URL of this site (see the comments in the file), or set\n"
            "  `simulated = true` under [site] to run a simulated site on this database, or try `booth demo`."
        ).format(path=path, keys=", ".join(simulated)))
    return config


def cmd_run(args: argparse.Namespace) -> int:
    """Open the console against the configured site."""
    return _run_console(args, demo=False)


def cmd_demo(args: argparse.Namespace) -> int:
    """Open the console against the simulated site."""
    return _run_console(args, demo=True)


class _Parser(argparse.ArgumentParser):
    """Bad arguments get one line and exit code 2, not a usage block."""

    def error(self, message: str) -> NoReturn:
        self.exit(EXIT_CONFIG, _("{prog}: {message} (see `{prog} --help`)").format(prog=self.prog, message=message) + "\n")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="booth", description=_("Parking booth console."))
    parser.add_argument("--lang", metavar="LANG", help=_("language of the messages: en or zh-CN (default: the site file's [ui] language, then $LANG)"))
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    run = sub.add_parser("run", help=_("open the console against the configured site"))
    run.add_argument("--site", help=_("site file (default: $BOOTH_SITE or the user config folder)"))
    run.add_argument("--db", help=_("database URL or SQLite file (overrides the site file)"))
    run.set_defaults(func=cmd_run)

    demo = sub.add_parser("demo", help=_("open the console against the simulated site"))
    demo.add_argument("--headless", action="store_true", help=_("no screen: run, then print a JSON summary"))
    demo.add_argument("--seconds", type=number(0, 366 * 86400), default=10.0, help=_("how long to run headless (default 10)"))
    demo.add_argument("--speed", type=number(0, 1e6, low_open=True), help=_("demo clock speed-up (default: the site file's, 30; x100 when headless)"))
    demo.add_argument("--site", help=_("use this site file instead of the embedded demo site"))
    demo.add_argument("--locale", help=_("run the embedded sample site of this locale: zh-CN is a Chinese garage"))
    demo.add_argument("--db", help=_("demo database: a file (default: demo.sqlite3 in the data folder) or a URL such as "
                                     "postgresql+psycopg://host/booth shared with other demo booths"))
    demo.add_argument("--booth-id", help=_("run as this booth of a shared site (e.g. booth-2); the database is kept"))
    demo.add_argument("--lanes", help=_("the lanes this booth drives, by id, separated by commas (e.g. IN2,OUT2); default: all"))
    demo.add_argument("--keep", action="store_true", help=_("keep the demo database of the last run"))
    demo.set_defaults(func=cmd_demo)

    migrate = sub.add_parser("migrate", help=_("apply database migrations"))
    migrate.add_argument("--site", help=_("site file"))
    migrate.add_argument("--db", help=_("database URL or SQLite file (overrides the site file)"))
    migrate.set_defaults(func=cmd_migrate)

    init = sub.add_parser("init", help=_("write a commented sample site file"))
    init.add_argument("path", nargs="?", help=_("where to write it (default: the user config folder)"))
    init.add_argument("--force", action="store_true", help=_("overwrite an existing file"))
    init.add_argument("--locale", help=_("write the sample site of this locale (zh-CN: a Chinese garage)"))
    init.set_defaults(func=cmd_init)

    user = sub.add_parser("user", help=_("attendants and managers"))
    user_sub = user.add_subparsers(dest="user_command", metavar="ACTION", required=True)
    add = user_sub.add_parser("add", help=_("add an attendant or manager (asks for the PIN)"))
    add.add_argument("name")
    add.add_argument("--role", choices=["attendant", "manager"], default="attendant")
    add.add_argument("--pin-stdin", action="store_true", help=_("read the PIN from standard input (scripts)"))
    add.add_argument("--site", help=_("site file"))
    add.add_argument("--db", help=_("database URL or SQLite file (overrides the site file)"))
    add.set_defaults(func=cmd_user_add)
    unlock = user_sub.add_parser("unlock", help=_("let a user locked after wrong PINs sign in again"))
    unlock.add_argument("name")
    unlock.add_argument("--site", help=_("site file"))
    unlock.add_argument("--db", help=_("database URL or SQLite file (overrides the site file)"))
    unlock.set_defaults(func=cmd_user_unlock)

    rides = sub.add_parser("rides", help=_("elevator rides"))
    rides_sub = rides.add_subparsers(dest="rides_command", metavar="ACTION", required=True)
    stmt = rides_sub.add_parser("statement", help=_("what a card owes for a month"))
    stmt.add_argument("card")
    stmt.add_argument("--month", required=True, help=_("YYYY-MM, in the site's time zone"))
    stmt.add_argument("--json", action="store_true")
    stmt.add_argument("--site", help=_("site file"))
    stmt.add_argument("--db", help=_("database URL or SQLite file (overrides the site file)"))
    stmt.set_defaults(func=cmd_rides_statement)

    from console.commands import charging as charging_cli
    from console.commands import cloud as sync_cli
    from console.commands import emergency as emergency_cli
    from console.commands import ops as ops_cli
    from console.commands import reports as reports_cli
    from console.commands import tariff as tariff_cli

    tariff_cli.register(sub)
    reports_cli.register(sub)
    sync_cli.register(sub)
    ops_cli.register(sub)
    charging_cli.register(sub)
    emergency_cli.register(sub)
    return parser


def _option(argv: list[str], name: str) -> str | None:
    """The value of `--name VALUE` or `--name=VALUE` anywhere in argv (before parsing)."""
    for index, arg in enumerate(argv):
        if arg == name and index + 1 < len(argv):
            return argv[index + 1]
        if arg.startswith(name + "="):
            return arg.split("=", 1)[1]
    return None


def _site_language(path: Path) -> str | None:
    """The `[ui] language` of a site file, or None (a bad file is reported when it is loaded)."""
    import tomllib

    try:
        ui = tomllib.loads(path.read_text(encoding="utf-8")).get("ui", {})
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError):
        return None
    value = ui.get("language") if isinstance(ui, dict) else None
    return value if isinstance(value, str) else None


def choose_language(argv: list[str], environ: dict[str, str] | None = None) -> str:
    """The language of the command's messages: `--lang`, else the `--locale` of a sample
    site, else the site file's `[ui] language`, else the locale environment (LC_ALL,
    LC_MESSAGES, LANG, as "zh_CN.UTF-8"), else English. Unknown values fall through."""
    import os

    from console.i18n import LanguageError, best_language, normalize_language

    env = os.environ if environ is None else environ
    for tag in (_option(argv, "--lang"), _option(argv, "--locale")):
        if tag:
            try:
                return normalize_language(tag)
            except LanguageError:
                pass
    site = _option(argv, "--site")
    path = Path(site) if site else default_site_file()
    from_site = _site_language(path) if path.is_file() else None
    if from_site:
        try:
            return normalize_language(from_site)
        except LanguageError:
            pass
    for key in ("LC_ALL", "LC_MESSAGES", "LANG"):
        value = env.get(key, "")
        if value:
            return best_language(value.split(".", 1)[0].split("@", 1)[0])
    return "en"


def _log_crash(words: list[str], exc: BaseException) -> Path | None:
    """Append the traceback of a failed command to the console's log file (its own
    handler: the root logger may print to the terminal). Returns the file, or None."""
    import logging

    path = log_dir() / "booth.log"
    try:
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        handler = logging.FileHandler(path, encoding="utf-8")
    except OSError:
        return None
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    crash = logging.getLogger("console.cli.crash")
    crash.propagate = False
    crash.addHandler(handler)
    try:
        crash.error("booth %s failed", " ".join(words[:2]), exc_info=exc)
    finally:
        crash.removeHandler(handler)
        handler.close()
    return path


def main(argv: list[str] | None = None) -> int:
    """Entry point of the `booth` command."""
    from console.i18n import LanguageError, current_language, set_language

    words = list(sys.argv[1:] if argv is None else argv)
    before = current_language()
    set_language(choose_language(words))
    try:
        for number_, word in enumerate(words, 1):
            # Bytes that are not UTF-8 reach Python as lone surrogates: no file name, plate
            # or database value can be made of them, and printing one back would crash.
            try:
                word.encode("utf-8")
            except UnicodeEncodeError:
                shown = word.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")
                return _fail(EXIT_CONFIG, _("argument {number} is not UTF-8 text: {shown}").format(number=number_, shown=shown))
        parser = build_parser()
        args = parser.parse_args(words)
        if args.lang:
            try:
                set_language(args.lang)
            except LanguageError as exc:
                return _fail(EXIT_CONFIG, _("--lang: {exc}").format(exc=exc))
        if not getattr(args, "func", None):
            parser.print_help()
            return 0
        if getattr(args, "db", None) and args.func is not cmd_demo:
            # Every command takes a database file where it takes a URL (the demo tells the
            # two apart itself: a URL there makes it one booth of a shared site).
            from console.locations import database_argument

            url = database_argument(args.db)
            if url is None:
                return _fail(EXIT_CONFIG, _("--db {value}: no database file there; name a database by its URL "
                                            "(sqlite:////path/booth.sqlite3 for a new file, postgresql+psycopg://host/db)").format(value=args.db))
            args.db = url
        return int(args.func(args) or 0)
    except KeyboardInterrupt:
        return 130
    except Exception as exc:  # a fault of the program: its traceback goes to the log, not the screen
        log = _log_crash(words, exc)
        return _fail(EXIT_INTERNAL, _("booth: internal error ({kind}: {exc}); please report it with {log}").format(
            kind=type(exc).__name__, exc=str(exc)[:200], log=log or _("the log file")))
    finally:
        set_language(before)  # in-process callers (tests) get their language back


if __name__ == "__main__":
    sys.exit(main())
