"""`booth charging ...`: the charging cards of tenants and landlords from the booth PC.

bind a card by its QR text, block a lost card (its account stays), top up a prepaid
balance, an account's usage and what it owes, the piles a landlord's card authorizes and
their usage. Every change is audited with the name given by `--by` (default: the user
running the command). The records live in `console.store.charging` and
`console.store.charging_cards`; this module reads arguments and prints.

Exit codes: 0 done, 1 refused (unknown card, blocked, not a landlord card...), 2 bad
arguments or site file, 3 the database cannot be used.
"""

from __future__ import annotations

import argparse
import getpass
import json
import sys
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Callable

from console.commands.argtypes import whole
from console.i18n import _

EXIT_OK, EXIT_REFUSED, EXIT_INPUT, EXIT_STORE = 0, 1, 2, 3


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add `charging` and its subcommands to a `booth` parser."""
    group = subparsers.add_parser("charging", help=_("charging cards of tenants and landlords"),
                                  description=_("Charging cards: bind, block, top up, usage, landlords' piles."))
    sub = group.add_subparsers(dest="charging_command", required=True, metavar="ACTION")

    bind = sub.add_parser("bind", help=_("bind a card to an account by the text of its QR code"))
    bind.add_argument("qr", metavar="QR", help=_("the card's QR text (booth-card:?card=ID) or its id"))
    bind.add_argument("--account", required=True, help=_("the tenant's or landlord's account"))
    bind.add_argument("--pin", action="store_true",
                      help=_("give the card a PIN (read from stdin, or asked twice): it starts charging from a phone"))
    _common(bind, _bind)

    pin = sub.add_parser("pin", help=_("give a card its PIN or a new one (read from stdin, or asked twice)"))
    pin.add_argument("card", metavar="CARD")
    _common(pin, _pin)

    code = sub.add_parser("bind-code", help=_("print a one-time code with which the holder of a new card binds it from the cloud"))
    code.add_argument("qr", metavar="QR", help=_("the card's QR text (booth-card:?card=ID) or its id"))
    code.add_argument("--account", required=True, help=_("the tenant's or landlord's account"))
    code.add_argument("--hours", type=int, default=72, help=_("how long the code works (default 72)"))
    _common(code, _bind_code)

    pay = sub.add_parser("pay", help=_("record a payment of what a postpaid account owes"))
    pay.add_argument("account", metavar="ACCOUNT")
    pay.add_argument("amount", metavar="AMOUNT", help=_("in the site's currency, e.g. 50 or 12.50"))
    _common(pay, _pay)

    block = sub.add_parser("block", help=_("block a lost card at once (its account and balance stay)"))
    block.add_argument("card", metavar="CARD")
    block.add_argument("--reason", required=True, help=_("why (lost, stolen, cancelled...)"))
    _common(block, _block)

    top = sub.add_parser("top-up", help=_("add to an account's prepaid balance"))
    top.add_argument("account", metavar="ACCOUNT")
    top.add_argument("amount", metavar="AMOUNT", help=_("in the site's currency, e.g. 50 or 12.50"))
    _common(top, _top_up)

    use = sub.add_parser("usage", help=_("an account's balance, what it owes, its cards and sessions"))
    who = use.add_mutually_exclusive_group(required=True)
    who.add_argument("--card", help=_("the account of this card"))
    who.add_argument("--account")
    use.add_argument("--json", action="store_true", help=_("print JSON"))
    _common(use, _usage)

    auth = sub.add_parser("authorize", help=_("piles a landlord's card authorizes"))
    auth.add_argument("card", metavar="CARD")
    auth.add_argument("piles", metavar="PILE", nargs="+")
    auth.add_argument("--remove", action="store_true", help=_("take these piles away instead"))
    _common(auth, _authorize)

    qr = sub.add_parser("qr", help=_("the address a pile port's QR code holds, for charging from a phone"))
    qr.add_argument("pile", metavar="PILE")
    qr.add_argument("ports", metavar="PORT", nargs="*", type=whole(1, 999), help=_("ports (default: all)"))
    _common(qr, _qr)

    piles = sub.add_parser("piles", help=_("usage of the piles a landlord's card authorizes"))
    piles.add_argument("card", metavar="CARD")
    piles.add_argument("--json", action="store_true", help=_("print JSON"))
    _common(piles, _piles)


def _common(parser: argparse.ArgumentParser, func: Callable[[argparse.Namespace, Any, Any], int]) -> None:
    parser.add_argument("--site", metavar="FILE", help=_("site file (default: $BOOTH_SITE or the user config folder)"))
    parser.add_argument("--db", metavar="URL", help=_("database URL or SQLite file (overrides the site file)"))
    parser.add_argument("--by", metavar="NAME", help=_("who does it, for the audit (default: the user running the command)"))
    parser.set_defaults(func=lambda args: _run(func, args))


class _Refused(Exception):
    pass


def _run(func: Callable[[argparse.Namespace, Any, Any], int], args: argparse.Namespace) -> int:
    from console.domain.charging import ChargingError
    from console.locations import default_site_file
    from console.site.build import database_url, open_seal, open_store
    from console.site.config import ConfigError, default_site, load_site
    from console.store.errors import StoreError

    try:
        if args.site:
            config = load_site(Path(args.site))
        else:
            path = default_site_file()
            config = load_site(path) if path.exists() else default_site()
    except ConfigError as exc:
        return _err(str(exc), EXIT_INPUT)
    try:
        store = open_store(args.db or database_url(config))
        open_seal(config, store)
    except StoreError as exc:
        return _err(_("booth: {exc}").format(exc=exc), EXIT_STORE)
    try:
        return func(args, config, store)
    except ChargingError as exc:
        return _err(_("booth: {exc}").format(exc=exc), EXIT_REFUSED)
    except _Refused as exc:
        return _err(_("booth: {exc}").format(exc=exc), EXIT_REFUSED)
    except StoreError as exc:
        return _err(_("booth: {exc}").format(exc=exc), EXIT_STORE)
    finally:
        store.engine.dispose()


def _err(message: str, code: int) -> int:
    print(message, file=sys.stderr)
    return code


def _actor(args: argparse.Namespace) -> str:
    name = (args.by or "").strip()
    if not name:
        try:
            name = getpass.getuser()
        except (KeyError, OSError):
            name = "unknown"
    return f"{name} (booth charging)"


def _now() -> datetime:
    return datetime.now(timezone.utc)


def _read_pin() -> str:
    """A card's PIN: one line of stdin when it is not a terminal, else asked twice."""
    from console.domain.charging_cards import check_card_pin

    if not sys.stdin.isatty():
        pin = sys.stdin.readline().strip()
    else:
        pin = getpass.getpass(_("Card PIN: "))
        if getpass.getpass(_("The same PIN again: ")) != pin:
            raise _Refused(_("the two PINs differ; nothing was changed"))
    return check_card_pin(pin)


def _bind(args: argparse.Namespace, config: Any, store: Any) -> int:
    from console.domain.charging_cards import card_from_qr
    from console.store.charging_cards import bind_card, hash_secret

    card_id = card_from_qr(args.qr)
    pin_hash = hash_secret(_read_pin()) if args.pin else None
    card = store.apply(bind_card, card_id, args.account.strip(), _now(), _actor(args), pin_hash)
    print(_("card {card} bound to account {account} ({kind})").format(card=card.card_id, account=card.account_id, kind=card.kind))
    if pin_hash is not None:
        print(_("card {card}: PIN set").format(card=card.card_id))
    return EXIT_OK


def _pin(args: argparse.Namespace, config: Any, store: Any) -> int:
    from console.store.charging_cards import hash_secret, set_pin

    pin_hash = hash_secret(_read_pin())
    store.apply(set_pin, args.card.strip(), pin_hash, _now(), _actor(args))
    print(_("card {card}: PIN set").format(card=args.card.strip()))
    return EXIT_OK


def _bind_code(args: argparse.Namespace, config: Any, store: Any) -> int:
    from console.domain.charging_cards import card_from_qr
    from console.store.charging_cards import hash_secret, issue_bind_code, new_bind_code

    card_id = card_from_qr(args.qr)
    code = new_bind_code()
    expires = store.apply(issue_bind_code, card_id, args.account.strip(), hash_secret(code), _now(), _actor(args), hours=args.hours)
    print(_("bind code for card {card} (account {account}): {code}").format(card=card_id, account=args.account.strip(), code=code))
    print(_("valid until {at}; the card's holder types it on the cloud's charging page").format(
        at=expires.astimezone(config.site.tz).strftime("%Y-%m-%d %H:%M")))
    return EXIT_OK


def _pay(args: argparse.Namespace, config: Any, store: Any) -> int:
    from console.domain.money import Money
    from console.store.charging_cards import pay_owed

    try:
        amount = Money.parse(args.amount, config.site.currency)
    except ValueError as exc:
        raise _Refused(_("{amount!r} is not an amount: {why}").format(amount=args.amount, why=exc)) from None
    owed = store.apply(pay_owed, args.account.strip(), amount, _now(), _actor(args))
    print(_("account {account}: {amount} paid, still owed {owed}").format(account=args.account.strip(), amount=amount, owed=owed))
    return EXIT_OK


def _block(args: argparse.Namespace, config: Any, store: Any) -> int:
    from console.store.charging import account, block_card, card

    store.apply(block_card, args.card.strip(), _now(), _actor(args), args.reason)
    blocked = store.query(card, args.card.strip())
    acc = store.query(account, blocked.account_id)
    print(_("card {card} blocked; account {account} stays (balance {balance}, owed {owed})").format(
        card=blocked.card_id, account=acc.id, balance=acc.balance, owed=acc.owed))
    return EXIT_OK


def _top_up(args: argparse.Namespace, config: Any, store: Any) -> int:
    from console.domain.money import Money
    from console.store.charging import top_up

    try:
        amount = Money.parse(args.amount, config.site.currency)
    except ValueError as exc:
        raise _Refused(_("{amount!r} is not an amount: {why}").format(amount=args.amount, why=exc)) from None
    balance = store.apply(top_up, args.account.strip(), amount, _now(), _actor(args))
    print(_("account {account}: {amount} added, balance {balance}").format(account=args.account.strip(), amount=amount, balance=balance))
    return EXIT_OK


def _usage(args: argparse.Namespace, config: Any, store: Any) -> int:
    from console.store.charging_cards import account_of_card, account_usage

    account_id = store.query(account_of_card, args.card.strip()) if args.card else args.account.strip()
    u = store.query(account_usage, account_id)
    tz = config.site.tz
    if args.json:
        print(json.dumps({
            "account": u.account.id, "name": u.account.name, "kind": u.account.kind, "currency": u.account.balance.currency,
            "balance_minor": u.account.balance.minor, "owed_minor": u.account.owed.minor, "credit_limit_minor": u.account.credit_limit.minor,
            "cards": [{"card": c.card_id, "kind": c.kind, "state": c.state, "piles": list(c.piles)} for c in u.cards],
            "by_pile": [{"franchise": r.franchise, "pile": r.key, "sessions": r.sessions, "energy_wh": r.energy_wh, "fees_minor": r.fees_minor}
                        for r in u.by_pile],
            "sessions": [{"id": s.id, "pile": s.pile_id, "port": s.port, "card": s.card_id, "state": s.state,
                          "started_at": s.started_at.astimezone(tz).isoformat(), "energy_wh": s.energy_wh, "fee_minor": s.fee.minor}
                         for s in u.sessions],
        }, ensure_ascii=False))
        return EXIT_OK
    a = u.account
    print(_("Account {account} ({name}): balance {balance}, owed {owed}, credit limit {limit}").format(
        account=a.id, name=a.name, balance=a.balance, owed=a.owed, limit=a.credit_limit))
    for c in u.cards:
        state = _("active") if c.state == "active" else _("blocked")
        print("  " + _("card {card} ({kind}) {state}").format(card=c.card_id, kind=c.kind, state=state)
              + (f"  {','.join(c.piles)}" if c.piles else ""))
    for r in u.by_pile:
        print("  " + _("{pile:<10} {sessions:>4} sessions {kwh:>9.3f} kWh {fees:>12}").format(
            pile=r.key, sessions=r.sessions, kwh=r.energy_wh / 1000, fees=_money(r.fees_minor, a.balance.currency)))
    for s in u.sessions:
        print(f"  {s.started_at.astimezone(tz):%Y-%m-%d %H:%M} {s.pile_id}/{s.port} {s.card_id or '-':<10} {s.state:<7} "
              f"{s.energy_wh:>7} Wh {s.fee}")
    return EXIT_OK


def _money(minor: int, currency: str) -> str:
    from console.domain.money import Money

    return str(Money(minor, currency))


def _authorize(args: argparse.Namespace, config: Any, store: Any) -> int:
    from console.store.charging_cards import authorize_piles

    known = {p.id for p in config.charging.epiles} | {c.id for c in config.charging.chargers}
    unknown = [p for p in args.piles if p not in known]
    if unknown and not args.remove:
        raise _Refused(_("no pile {piles} on this site").format(piles=", ".join(unknown)))
    card = store.apply(authorize_piles, args.card.strip(), args.piles, _now(), _actor(args), remove=args.remove)
    print(_("landlord card {card} authorizes: {piles}").format(card=card.card_id, piles=", ".join(card.piles) or _("none")))
    return EXIT_OK


def _piles(args: argparse.Namespace, config: Any, store: Any) -> int:
    from console.store.charging_cards import landlord_usage

    rows = store.query(landlord_usage, args.card.strip())
    if args.json:
        print(json.dumps([{"franchise": r.franchise, "pile": r.key, "sessions": r.sessions, "energy_wh": r.energy_wh,
                           "fees_minor": r.fees_minor, "currency": config.site.currency} for r in rows]))
        return EXIT_OK
    if not rows:
        print(_("no sessions on this card's piles yet"))
    for r in rows:
        print(_("{pile:<10} {sessions:>4} sessions {kwh:>9.3f} kWh {fees:>12}").format(
            pile=r.key, sessions=r.sessions, kwh=r.energy_wh / 1000, fees=_money(r.fees_minor, config.site.currency)))
    return EXIT_OK


def _qr(args: argparse.Namespace, config: Any, store: Any) -> int:
    from console.domain.charging_cards import pile_qr_address

    piles = {p.id: (p.ports, p.modes) for p in config.charging.epiles} | {c.id: (c.connectors, c.modes) for c in config.charging.chargers}
    if args.pile not in piles:
        raise _Refused(_("no pile {piles} on this site").format(piles=args.pile))
    cloud_url, site_id = config.cloud.url, config.cloud.site_id
    if not (cloud_url and site_id) and not args.site:
        from console.locations import data_dir
        from console.site.demo import running_demo_cloud

        # `booth demo` runs its own cloud on a port of the day: its piles' pages are there.
        cloud_url, site_id = running_demo_cloud(data_dir()) or (cloud_url, site_id)
    if not (cloud_url and site_id):
        raise _Refused(_("the site file names no cloud ([cloud] url and site_id): phones reach piles through the cloud"))
    count, modes = piles[args.pile]
    ports = args.ports or list(range(1, count + 1))
    for port in ports:
        if not 1 <= port <= count:
            raise _Refused(_("pile {pile} has ports 1 to {count}").format(pile=args.pile, count=count))
    for port in ports:
        print(pile_qr_address(cloud_url, site_id, args.pile, port, list(modes)))
    return EXIT_OK
