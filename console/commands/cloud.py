"""`booth cloud ...`: run the reference cloud, log a booth in, administer the cloud.

    booth cloud --db URL --port N            run the reference cloud (same as `serve`)
    booth cloud serve --db URL --port N [--plate-regions cn,hk,mo]
    booth cloud login --site-file PATH       store the site token in the site's secret store
    booth cloud login --url https://...      (the token is read from stdin or prompted)
    booth cloud logout --url ...
    booth cloud admin add-site --db URL SITE [--name N --lat LAT --lon LON --currency EUR]
    booth cloud admin tariff --db URL SITE FILE [--version V] [--no-validate]
    booth cloud admin members --db URL SITE FILE.json
    booth cloud admin accounts --db URL SITE FILE.json
    booth cloud admin books --db URL SITE
    booth cloud admin building --db URL SITE BUILDING [--name N] [--cars 1,2]
    booth cloud admin franchise --db URL FRANCHISE [--name N] [--webhook URL]
    booth cloud admin purge --db URL             delete elevator portraits past their retention now
    booth cloud user add --db URL NAME --role ROLE --grant G [--grant G ...] [--email E]
    booth cloud user list --db URL
    booth cloud user disable --db URL NAME
"""

from __future__ import annotations

import argparse
import getpass
import json
import sys
from pathlib import Path
from typing import Any, Callable

from console.commands.argtypes import PORT, number, whole
from console.i18n import _

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_USAGE = 2

DEFAULT_PORT = 8787


def _err(message: str, code: int = EXIT_FAILED) -> int:
    print(message, file=sys.stderr)
    return code


def _default_db() -> str:
    from console.locations import data_dir
    from console.store.engine import sqlite_url

    return sqlite_url(data_dir() / "cloud.sqlite3")


# -- serve -------------------------------------------------------------------------------------
def cmd_serve(args: argparse.Namespace) -> int:
    """Run the reference cloud in the foreground."""
    from console.store.engine import StoreError
    from console.sync.server.run import serve

    db = getattr(args, "db", None) or _default_db()
    host = getattr(args, "host", None) or "127.0.0.1"
    port = getattr(args, "port", None)
    port = DEFAULT_PORT if port is None else port
    if not 0 <= port <= 65535:
        return _err(_("--port {port}: not a TCP port").format(port=port), EXIT_USAGE)
    cert, key = getattr(args, "tls_cert", None), getattr(args, "tls_key", None)
    if bool(cert) != bool(key):
        return _err(_("give both --tls-cert and --tls-key, or neither"), EXIT_USAGE)
    for option, given in (("--tls-cert", cert), ("--tls-key", key)):
        if given and not Path(given).is_file():  # said before "listening on" is announced
            return _err(_("{option} {path}: no such file").format(option=option, path=given), EXIT_USAGE)
    regions_text = getattr(args, "plate_regions", None)
    regions = [r.strip() for r in regions_text.split(",") if r.strip()] if regions_text is not None else None
    if regions is not None:
        from console.domain.plates import PlateRules

        try:
            PlateRules(regions)
        except ValueError as exc:
            return _err(_("--plate-regions: {exc}").format(exc=exc), EXIT_USAGE)
    smtp = None
    smtp_host = getattr(args, "smtp_host", None)
    if smtp_host:
        from console.sync.server.notify import SmtpSettings

        smtp_port = getattr(args, "smtp_port", None) or 25
        if not 0 < smtp_port <= 65535:
            return _err(_("--smtp-port {port}: not a TCP port").format(port=smtp_port), EXIT_USAGE)
        smtp = SmtpSettings(smtp_host, smtp_port, getattr(args, "smtp_from", None) or "booth-cloud@localhost", bool(getattr(args, "smtp_starttls", False)))
    try:
        serve(db, host, port, certfile=cert, keyfile=key, announce=lambda line: print(line, flush=True), plate_regions=regions, smtp=smtp)
    except StoreError as exc:
        return _err(_("cannot open the cloud database: {exc}").format(exc=exc), EXIT_USAGE)
    except OSError as exc:
        return _err(_("cannot listen on {host}:{port}: {value}").format(host=host, port=port, value=exc.strerror or exc), EXIT_FAILED)
    except Exception as exc:  # e.g. a PostgreSQL URL without its driver installed
        return _err(_("the cloud cannot start: {exc}").format(exc=exc), EXIT_FAILED)
    return EXIT_OK


# -- login / logout ----------------------------------------------------------------------------
def _cloud_target(args: argparse.Namespace) -> tuple[str, str | None, Any]:
    """(cloud URL, CA bundle, secret store) from --url or the site file. Raises ValueError
    with a message. With --url alone the store is --secrets (default: the OS keyring)."""
    from console.locations import default_site_file
    from console.site.config import ConfigError, load_site
    from console.sync.client import CloudConfigError, check_cloud_url
    from console.sync.credentials import CredentialError, secret_store, site_secret_store

    ca_bundle = None
    url = args.url
    store = None
    if not url or args.site_file:
        path = Path(args.site_file) if args.site_file else default_site_file()
        try:
            config = load_site(path)
        except ConfigError as exc:
            raise ValueError(str(exc)) from None
        url, ca_bundle = url or config.cloud.url, config.cloud.ca_bundle
        store = site_secret_store(config.cloud)
        if not url:
            raise ValueError(_("{path}: [cloud] url is empty; set it or give --url").format(path=path))
    if args.secrets or store is None:
        try:
            store = secret_store(args.secrets or "keyring", key_file=args.key_file or "", credential_file=args.credential_file or "")
        except CredentialError as exc:
            raise ValueError(str(exc)) from None
    try:
        return check_cloud_url(url), ca_bundle, store
    except CloudConfigError as exc:
        raise ValueError(str(exc)) from None


def _read_token(stream: Any = None) -> str:
    stream = stream or sys.stdin
    if stream.isatty():
        return getpass.getpass(_("Site token (input hidden): "))
    return stream.readline()


def cmd_login(args: argparse.Namespace) -> int:
    """Store the site token in the site's secret store, after the cloud accepted it if reachable."""
    from console.sync.client import AuthError, CloudClient, CloudConfigError, CloudError
    from console.sync.credentials import CredentialError, save_token

    try:
        url, ca_bundle, store = _cloud_target(args)
    except ValueError as exc:
        return _err(str(exc), EXIT_USAGE)
    token = _read_token().strip()
    if not token:
        return _err(_("no token given; nothing stored"), EXIT_USAGE)
    checked = ""
    if not args.no_check:
        try:
            client = CloudClient(url, "-", ca_bundle=ca_bundle, connect_timeout=5, read_timeout=10)
        except CloudConfigError as exc:
            return _err(str(exc), EXIT_USAGE)
        try:
            client.set_token(token)
            site = client.whoami()
            checked = "; " + _("the cloud knows it as site {site!r}").format(site=site.get("site_id"))
        except AuthError:
            return _err(_("{url} does not accept this token; nothing stored").format(url=url))
        except CloudError as exc:
            checked = "; " + _("it could not be checked now ({reason})").format(reason=exc)
        finally:
            client.close()
    try:
        save_token(url, token, store)
    except CredentialError as exc:
        return _err(_("{exc}; nothing stored").format(exc=exc))
    print(_("token for {url} stored in {describe}{checked}").format(url=url, describe=store.describe(), checked=checked))
    return EXIT_OK


def cmd_logout(args: argparse.Namespace) -> int:
    """Remove the site token from the site's secret store."""
    from console.sync.credentials import CredentialError, delete_token

    try:
        url, _site_id, store = _cloud_target(args)
        removed = delete_token(url, store)
    except ValueError as exc:
        return _err(str(exc), EXIT_USAGE)
    except CredentialError as exc:
        return _err(str(exc))
    print(_("token for {url} removed from {describe}").format(url=url, describe=store.describe()) if removed else _("no token stored for {url}").format(url=url))
    return EXIT_OK


def cmd_refused(args: argparse.Namespace) -> int:
    """List the events the cloud refused (parked in the outbox); --requeue sends them again."""
    from console.commands.ops import _site
    from console.site.build import open_store
    from console.store import outbox
    from console.store.engine import StoreError

    try:
        _config, url = _site(args)
        store = open_store(url)
        if args.requeue:
            with store.write() as s:
                count = outbox.requeue(s)
            print(_("{count} refused event(s) put back in the queue; the console sends them on its next round").format(count=count))
            return EXIT_OK
        with store.read() as s:
            parked = outbox.refused(s, limit=args.limit)
            total = outbox.refused_count(s)
    except ValueError as exc:
        return _err(str(exc), EXIT_USAGE)
    except StoreError as exc:
        return _err(str(exc))
    if args.json:
        print(json.dumps({"refused": total, "events": [
            {"id": e.id, "type": e.type, "occurred_at": e.occurred_at.isoformat(), "refused_at": e.refused_at.isoformat(),
             "reason": e.reason, "attempts": e.attempts} for e in parked]}, ensure_ascii=False, indent=2))
        return EXIT_OK
    if not total:
        print(_("no event was refused by the cloud"))
        return EXIT_OK
    print(_("{count} event(s) refused by the cloud, kept here and not sent again:").format(count=total))
    for e in parked:
        print(f"  {e.occurred_at:%Y-%m-%d %H:%M}  {e.type:<20} {e.id}  {e.reason}")
    print(_("fix the cause, then `booth cloud refused --requeue` sends them again"))
    return EXIT_OK


# -- admin -------------------------------------------------------------------------------------
def _admin(work: Callable[[Any], Callable[[argparse.Namespace], int]]) -> Callable[[argparse.Namespace], int]:
    def run(args: argparse.Namespace) -> int:
        from console.store.engine import StoreError
        from console.sync.server.db import open_cloud_db

        try:
            engine = open_cloud_db(args.db or _default_db())
        except StoreError as exc:
            return _err(_("cannot open the cloud database: {exc}").format(exc=exc), EXIT_USAGE)
        try:
            return work(engine)(args)
        except ValueError as exc:
            return _err(str(exc), EXIT_USAGE)
        except OSError as exc:
            return _err(_("cannot read {filename}: {strerror}").format(filename=exc.filename, strerror=exc.strerror), EXIT_USAGE)
        finally:
            engine.dispose()

    return run


def _add_site(engine: Any) -> Callable[[argparse.Namespace], int]:
    def run(args: argparse.Namespace) -> int:
        from console.sync.server.admin import register_site

        token = register_site(engine, args.site_id, name=args.name or args.site_id, lat=args.lat, lon=args.lon, currency=args.currency)
        print(_("site {site_id} registered. Its token (shown once; give it to `booth cloud login`):").format(site_id=args.site_id), file=sys.stderr)
        print(token)
        return EXIT_OK

    return run


def _tariff(engine: Any) -> Callable[[argparse.Namespace], int]:
    def run(args: argparse.Namespace) -> int:
        from console.sync.server.admin import publish_tariff

        path = Path(args.file)
        text = path.read_text(encoding="utf-8")
        validate = None
        if not args.no_validate:
            from console.domain.tariff import parse_tariff

            def validate(t: str) -> None:
                parse_tariff(t, str(path))

        version = args.version or path.stem
        try:
            if validate is not None:
                validate(text)
            etag = publish_tariff(engine, args.site_id, version, text)
        except Exception as exc:  # the tariff parser's own error type, or a refused document
            return _err(_("not published: {exc}").format(exc=exc), EXIT_USAGE)
        print(_("tariff {version} published for {site_id} (ETag {etag})").format(version=version, site_id=args.site_id, etag=etag))
        return EXIT_OK

    return run


def _list_doc(kind: str, key: str) -> Callable[[Any], Callable[[argparse.Namespace], int]]:
    def bound(engine: Any) -> Callable[[argparse.Namespace], int]:
        def run(args: argparse.Namespace) -> int:
            from console.sync.server.admin import publish

            path = Path(args.file)
            try:
                data = json.loads(path.read_text(encoding="utf-8"))
            except json.JSONDecodeError as exc:
                return _err(_("{path}: not JSON: {exc}").format(path=path, exc=exc), EXIT_USAGE)
            if isinstance(data, list):
                data = {key: data}
            if not isinstance(data, dict):
                return _err(_("{path}: expected a list of {key} or an object with `{key}`").format(path=path, key=key), EXIT_USAGE)
            data.setdefault("version", args.version or path.stem)
            if args.version:
                data["version"] = args.version
            etag = publish(engine, args.site_id, kind, data)
            print(_("{kind} {data} published for {site_id} ({get_count} entries, ETag {etag})").format(kind=kind, data=data['version'], site_id=args.site_id, get_count=len(data.get(key, [])), etag=etag))
            return EXIT_OK

        return run

    return bound


def _books(engine: Any) -> Callable[[argparse.Namespace], int]:
    def run(args: argparse.Namespace) -> int:
        from console.sync.server.admin import site_books

        _require(engine, args.site_id)  # an unknown site is a mistake, not a site with no takings
        print(json.dumps(site_books(engine, args.site_id), indent=2, sort_keys=True))
        return EXIT_OK

    return run


def _building(engine: Any) -> Callable[[argparse.Namespace], int]:
    def run(args: argparse.Namespace) -> int:
        from console.sync.server import rides_cloud

        try:
            cars = [int(c) for c in args.cars.split(",") if c.strip()]
        except ValueError:
            return _err(_("--cars {cars!r}: a comma list of car numbers").format(cars=args.cars), EXIT_USAGE)
        _require(engine, args.site_id)
        with engine.begin() as conn:
            held = rides_cloud.save_building(conn, args.building_id, args.site_id, args.name or args.building_id, cars, _utcnow())
        print(_("building {building} of {site_id} saved; it holds {count} ride(s)").format(building=args.building_id, site_id=args.site_id, count=held))
        return EXIT_OK

    return run


def _franchise(engine: Any) -> Callable[[argparse.Namespace], int]:
    def run(args: argparse.Namespace) -> int:
        from console.sync.server import faults

        with engine.begin() as conn:
            secret = faults.save_franchise(conn, args.franchise_id, args.name or args.franchise_id, args.webhook, _utcnow(),
                                           new_secret=args.new_secret)
        print(_("franchise {franchise} saved").format(franchise=args.franchise_id), file=sys.stderr if secret else sys.stdout)
        if secret:
            print(_("Its webhooks are signed (X-Booth-Signature, HMAC-SHA256) with this secret; give it to the receiver:"), file=sys.stderr)
            print(secret)
        return EXIT_OK

    return run


def _purge(engine: Any) -> Callable[[argparse.Namespace], int]:
    def run(args: argparse.Namespace) -> int:
        from console.sync.server import rides_cloud

        with engine.begin() as conn:
            count = rides_cloud.purge(conn, _utcnow())
        print(_("{count} portrait(s) past their retention deleted").format(count=count))
        return EXIT_OK

    return run


def _unlock_card(engine: Any) -> Callable[[argparse.Namespace], int]:
    def run(args: argparse.Namespace) -> int:
        from console.sync.server import charge_proof

        _require(engine, args.site_id)  # an unknown site is a typing mistake, not a card without wrong tries
        with engine.begin() as conn:
            done = charge_proof.unlock(conn, args.site_id, args.card, _utcnow(), f"{args.by or 'cloud admin'}")
        print(_("card number {card} at {site}: wrong tries cleared").format(card=args.card, site=args.site_id) if done
              else _("card number {card} at {site} had no wrong tries").format(card=args.card, site=args.site_id))
        return EXIT_OK

    return run


def _read_password(stream: Any = None) -> str:
    """A new password: from stdin when piped, else asked twice without echo."""
    stream = stream or sys.stdin
    if not stream.isatty():
        return str(stream.readline()).rstrip("\r\n")
    first = getpass.getpass(_("Password (input hidden): "))
    if getpass.getpass(_("The same password again: ")) != first:
        raise ValueError(_("the two passwords differ; nothing changed"))
    return first


def _user_add(engine: Any) -> Callable[[argparse.Namespace], int]:
    def run(args: argparse.Namespace) -> int:
        from console.sync.server import accounts

        password = _read_password()
        try:
            with engine.begin() as conn:
                accounts.add_person(conn, name=args.name, role=args.role, password=password, grants=args.grant, at=_utcnow(),
                                    display_name=args.display_name, email=args.email)
        except accounts.AccountError as exc:
            return _err(_("not saved: {reason}").format(reason=exc), EXIT_USAGE)
        with engine.connect() as conn:
            unknown = accounts.unknown_grants(conn, args.name)
        if unknown:
            print(_("note: this cloud does not know {things} yet; {name} sees them once they are defined").format(
                things=", ".join(unknown), name=args.name), file=sys.stderr)
        print(_("{name} saved as {role} of {grants}").format(name=args.name, role=_(accounts.ROLES[args.role]), grants=", ".join(args.grant)))
        return EXIT_OK

    return run


def _user_list(engine: Any) -> Callable[[argparse.Namespace], int]:
    def run(args: argparse.Namespace) -> int:
        from console.sync.server import accounts

        with engine.connect() as conn:
            found = accounts.people(conn)
        if args.json:
            print(json.dumps({"people": found}, ensure_ascii=False, indent=2))
            return EXIT_OK
        for person in found:
            state = "" if person["active"] else "  " + _("(disabled)")
            print(f"{person['name']:<24} {person['role']:<18} {', '.join(person['grants'])}{state}")
        return EXIT_OK

    return run


def _user_disable(engine: Any) -> Callable[[argparse.Namespace], int]:
    def run(args: argparse.Namespace) -> int:
        from console.sync.server import accounts

        with engine.begin() as conn:
            known = accounts.deactivate(conn, args.name, _utcnow())
        if not known:
            return _err(_("no person called {name}").format(name=args.name), EXIT_USAGE)
        print(_("{name} can no longer sign in").format(name=args.name))
        return EXIT_OK

    return run


def _require(engine: Any, site_id: str) -> None:
    from sqlalchemy import select

    from console.sync.server import db

    with engine.connect() as conn:
        if conn.execute(select(db.site.c.site_id).where(db.site.c.site_id == site_id)).first() is None:
            raise ValueError(_("no site {site_id!r} (register it first)").format(site_id=site_id))


def _utcnow() -> Any:
    from datetime import datetime, timezone

    return datetime.now(timezone.utc)


# -- parser ------------------------------------------------------------------------------------
def _serve_options(parser: argparse.ArgumentParser, *, suppress: bool) -> None:
    default: Any = argparse.SUPPRESS if suppress else None
    parser.add_argument("--db", default=default, help=_("database URL (default: cloud.sqlite3 in the data folder; postgresql+psycopg://... works)"))
    parser.add_argument("--host", default=default, help=_("address to listen on (default 127.0.0.1)"))
    parser.add_argument("--port", type=PORT, default=default, help=_("TCP port (default {DEFAULT_PORT}; 0 picks a free one)").format(DEFAULT_PORT=DEFAULT_PORT))
    parser.add_argument("--tls-cert", default=default, help=_("PEM certificate: serve HTTPS (with --tls-key)"))
    parser.add_argument("--tls-key", default=default, help=_("PEM private key of --tls-cert"))
    parser.add_argument(
        "--plate-regions", default=default, help=_("plates drivers may give, e.g. cn,hk,mo (default: a plate of any region; docs/plates.md)")
    )
    parser.add_argument("--smtp-host", default=default, help=_("SMTP server for fault e-mails to franchise managers"))
    parser.add_argument("--smtp-port", type=PORT, default=default, help=_("its port (default 25)"))
    parser.add_argument("--smtp-from", default=default, help=_("the sender address of fault e-mails"))
    parser.add_argument("--smtp-starttls", action="store_true", default=default, help=_("use STARTTLS with the SMTP server"))


def _target_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--site-file", help=_("site file whose [cloud] url to use (default: the configured site file)"))
    parser.add_argument("--url", help=_("the cloud's URL (instead of a site file)"))
    parser.add_argument("--secrets", choices=["keyring", "encrypted-file", "systemd-credential"],
                        help=_("where the token is kept (default: the site file's [cloud] secrets; with --url alone: keyring)"))
    parser.add_argument("--key-file", help=_("encrypted-file: the key file (default: secret.key in the config folder)"))
    parser.add_argument("--credential-file", help=_("systemd-credential: the credential file (default /etc/credstore.encrypted/booth-cloud-token)"))


def register(subparsers: Any) -> None:
    """Add the `cloud` command to the `booth` command's sub-parsers."""
    cloud = subparsers.add_parser(
        "cloud",
        help=_("run the reference cloud, log this booth in to its cloud, administer a cloud"),
        description=_("Without a sub-command: run the reference cloud (like `booth cloud serve`)."),
    )
    _serve_options(cloud, suppress=False)
    cloud.set_defaults(func=cmd_serve)
    sub = cloud.add_subparsers(dest="cloud_command", metavar="SUBCOMMAND")

    serve = sub.add_parser("serve", help=_("run the reference cloud server"))
    _serve_options(serve, suppress=True)
    serve.set_defaults(func=cmd_serve)

    login = sub.add_parser("login", help=_("store this site's cloud token in its secret store (read from stdin or prompted, never an argument)"))
    _target_options(login)
    login.add_argument("--no-check", action="store_true", help=_("store without asking the cloud whether it knows the token"))
    login.set_defaults(func=cmd_login)

    logout = sub.add_parser("logout", help=_("remove the cloud token from the secret store"))
    _target_options(logout)
    logout.set_defaults(func=cmd_logout)

    refused = sub.add_parser("refused", help=_("events the cloud refused: listed, or put back in the queue"))
    refused.add_argument("--site", help=_("site file"))
    refused.add_argument("--db", help=_("database URL or SQLite file (overrides the site file)"))
    refused.add_argument("--requeue", action="store_true", help=_("send every refused event again"))
    refused.add_argument("--limit", type=whole(1, 1_000_000), default=200, help=_("list at most this many (default 200)"))
    refused.add_argument("--json", action="store_true", help=_("print one JSON object"))
    refused.set_defaults(func=cmd_refused)

    admin = sub.add_parser("admin", help=_("administer a reference cloud's database"))
    admin_sub = admin.add_subparsers(dest="admin_command", metavar="ACTION", required=True)

    def action(name: str, help_text: str, work: Callable[[Any], Callable[[argparse.Namespace], int]], file_help: str | None = None) -> argparse.ArgumentParser:
        ap = admin_sub.add_parser(name, help=help_text)
        ap.add_argument("--db", help=_("the cloud's database URL (default: cloud.sqlite3 in the data folder)"))
        ap.add_argument("site_id", metavar="SITE")
        if file_help:
            ap.add_argument("file", metavar="FILE", help=file_help)
            ap.add_argument("--version", help=_("version label (default: the file name without extension)"))
        ap.set_defaults(func=_admin(work))
        return ap

    add = action("add-site", _("register a site (or give it a new token); prints the token"), _add_site)
    add.add_argument("--name", help=_("the site's name for drivers"))
    add.add_argument("--lat", type=number(-90, 90), help=_("latitude (for drivers' nearby search)"))
    add.add_argument("--lon", type=number(-180, 180), help=_("longitude"))
    add.add_argument("--currency", default="EUR", help=_("ISO 4217 code the site bills in (default EUR)"))
    tariff = action("tariff", _("publish a tariff file for a site"), _tariff, _("tariff TOML file"))
    tariff.add_argument("--no-validate", action="store_true", help=_("publish even if the tariff parser refuses it (to test booths)"))
    action("members", _("publish a member / pass / whitelist list (JSON)"), _list_doc("members", "members"), _("JSON list of members"))
    action("accounts", _("publish the account list (JSON)"), _list_doc("accounts", "accounts"), _("JSON list of accounts"))
    action("books", _("print a site's totals as the cloud keeps them"), _books)
    building = action("building", _("define a building of a site: the elevator cars whose rides it holds"), _building)
    building.add_argument("building_id", metavar="BUILDING")
    building.add_argument("--name", help=_("the building's name"))
    building.add_argument("--cars", default="", help=_("comma list of car numbers (default: every car of the site)"))

    franchise = admin_sub.add_parser("franchise", help=_("define a franchise and where its fault webhooks go"))
    franchise.add_argument("--db", help=_("the cloud's database URL (default: cloud.sqlite3 in the data folder)"))
    franchise.add_argument("franchise_id", metavar="FRANCHISE")
    franchise.add_argument("--name", help=_("the franchise's name"))
    franchise.add_argument("--webhook", default="", help=_("URL that receives a POST for every fault raised (default: none)"))
    franchise.add_argument("--new-secret", action="store_true", help=_("make a new webhook signing secret (the old one stops working)"))
    franchise.set_defaults(func=_admin(_franchise))

    purge = admin_sub.add_parser("purge", help=_("delete elevator portraits past their retention now"))
    purge.add_argument("--db", help=_("the cloud's database URL (default: cloud.sqlite3 in the data folder)"))
    purge.set_defaults(func=_admin(_purge))

    unlock = admin_sub.add_parser("unlock-card", help=_("let a card number locked after wrong PINs or codes be tried again (audited)"))
    unlock.add_argument("--db", help=_("the cloud's database URL (default: cloud.sqlite3 in the data folder)"))
    unlock.add_argument("site_id", metavar="SITE")
    unlock.add_argument("card", metavar="CARD")
    unlock.add_argument("--by", help=_("who does it, for the audit"))
    unlock.set_defaults(func=_admin(_unlock_card))

    user = sub.add_parser("user", help=_("people who sign in to the cloud's pages: managers, landlords, tenants"))
    user_sub = user.add_subparsers(dest="user_command", metavar="ACTION", required=True)
    add_user = user_sub.add_parser("add", help=_("add a person, or change one (the password is read from stdin or asked twice)"))
    add_user.add_argument("--db", help=_("the cloud's database URL (default: cloud.sqlite3 in the data folder)"))
    add_user.add_argument("name", metavar="NAME")
    add_user.add_argument("--role", required=True, choices=["site_manager", "building_manager", "franchise_manager", "landlord", "tenant"])
    add_user.add_argument("--grant", action="append", default=[], metavar="WHAT",
                          help=_("what the role covers: SITE, BUILDING or FRANCHISE; SITE:PILE or SITE:card:CARD (their landlord card) for a landlord, SITE:CARD for a tenant (repeat)"))
    add_user.add_argument("--email", default="", help=_("e-mail address (franchise managers get fault e-mails there)"))
    add_user.add_argument("--display-name", default="", help=_("the name shown on the pages"))
    add_user.set_defaults(func=_admin(_user_add))
    list_users = user_sub.add_parser("list", help=_("list the people and what each may see"))
    list_users.add_argument("--db", help=_("the cloud's database URL (default: cloud.sqlite3 in the data folder)"))
    list_users.add_argument("--json", action="store_true", help=_("print one JSON object"))
    list_users.set_defaults(func=_admin(_user_list))
    disable = user_sub.add_parser("disable", help=_("stop a person signing in (their sessions end)"))
    disable.add_argument("--db", help=_("the cloud's database URL (default: cloud.sqlite3 in the data folder)"))
    disable.add_argument("name", metavar="NAME")
    disable.set_defaults(func=_admin(_user_disable))


def main(argv: list[str] | None = None) -> int:
    """`python -m console.commands.cloud cloud ...`: the same commands without the booth CLI."""
    parser = argparse.ArgumentParser(prog="booth")
    register(parser.add_subparsers(dest="command", metavar="COMMAND", required=True))
    args = parser.parse_args(argv)
    return int(args.func(args))


if __name__ == "__main__":
    sys.exit(main())
