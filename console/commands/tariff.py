"""`booth quote` and `booth tariff check`: the tariff engine from the command line.

`register(subparsers)` adds both sub-commands to the `booth` parser; running this module
(`python -m console.commands.tariff quote ...`) gives the same commands on their own.
Exit codes: 0 fine, 1 the tariff file has problems, 2 the request cannot be priced
(unreadable file, bad or out-of-range time, no version in force at the entry, unknown
class/member/code). Every refusal is one line on stderr, never a traceback.

`booth quote` prices through `TariffBook.quote`, the entry point the site uses: given
several versions of one tariff (`--tariff` repeated), the version in force at the entry
prices the stay, and an entry before every version's `effective_from` is refused.
"""

from __future__ import annotations

import argparse
import errno
import json
import sys
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from console.domain.money import Money, MoneyError
from console.domain.quote import Quote
from console.domain.tariff import (
    PreviousVisit,
    QuoteError,
    Tariff,
    TariffBook,
    TariffError,
    parse_tariff,
)
from console.domain.tariff.calendar import localize
from console.domain.tariff.parse import duration_text
from console.domain.tariff.pricing import EARLIEST, LATEST, local_time_text
from console.formats import text_width
from console.i18n import _, ngettext

EXIT_OK, EXIT_TARIFF, EXIT_INPUT = 0, 1, 2


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add `quote` and `tariff` (with `check`) to a `booth` argument parser."""
    q = subparsers.add_parser(
        "quote", help=_("price a stay with a tariff file"),
        description=_("Price one stay with a tariff file and print the itemized fee. "
                    "Times without an offset are in the tariff's time zone."))
    q.add_argument("--tariff", required=True, action="append", metavar="FILE",
                   help=_("tariff TOML file, or the name of a shipped one (default.toml, mall.toml, ...); repeat it for "
                        "several versions of one tariff (the version in force at entry prices the stay)"))
    q.add_argument("--entry", metavar="ISO8601", help=_("entry time (omit only with --lost-ticket)"))
    q.add_argument("--exit", required=True, metavar="ISO8601", help=_("exit time"))
    q.add_argument("--class", dest="vehicle_class", default="car", metavar="CLASS",
                   help=_("vehicle class declared in the tariff (default: car)"))
    q.add_argument("--member", metavar="PLAN",
                   help=_("id of a member plan, pass or whitelist declared in the tariff "
                        "([members.<id>]); the site resolves a plate or card to it"))
    q.add_argument("--validation", action="extend", nargs="+", default=[], metavar="CODE",
                   help=_("merchant validation code(s) declared in the tariff, in the order "
                        "they were presented (repeatable)"))
    q.add_argument("--zone", metavar="ZONE", help=_("zone of the stay (for plans limited to zones)"))
    q.add_argument("--paid-until", metavar="ISO8601",
                   help=_("when the stay was paid at a pay station (exit grace applies after it)"))
    q.add_argument("--lost-ticket", action="store_true", help=_("the ticket was lost"))
    q.add_argument("--previous-entry", metavar="ISO8601",
                   help=_("entry of the vehicle's previous visit (re-entry continuation)"))
    q.add_argument("--previous-exit", metavar="ISO8601", help=_("exit of the previous visit"))
    q.add_argument("--previous-paid", metavar="AMOUNT", help=_("what the previous visit paid"))
    q.add_argument("--json", action="store_true", help=_("print one JSON object"))
    q.set_defaults(func=_quote_command)

    t = subparsers.add_parser("tariff", help=_("work with tariff files"))
    tsub = t.add_subparsers(dest="tariff_command", metavar="COMMAND")
    tsub.required = True
    c = tsub.add_parser("check", help=_("validate tariff files and list every problem"),
                        description=_("Validate tariff files; print every problem with its key. "
                                    "Exits 1 if any file has a problem."))
    c.add_argument("files", nargs="+", metavar="FILE")
    c.set_defaults(func=_check_command)


def _load(path: str) -> Tariff:
    """Read a tariff file; a bare name that is not a file here may be a shipped tariff
    (`booth quote --tariff default.toml` works from any folder after an install)."""
    from console.site.config import find_tariff_file

    found = path if Path(path).exists() else find_tariff_file(path, None)
    try:
        text = Path(found or path).read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise OSError(errno.EILSEQ, _("not UTF-8 text (byte {offset})").format(offset=exc.start)) from None
    return parse_tariff(text, source=path)


def _check_command(args: argparse.Namespace) -> int:
    code = EXIT_OK
    for path in args.files:
        try:
            tariff = _load(path)
        except OSError as exc:
            print(_("{path}: cannot read: {value}").format(path=path, value=exc.strerror or exc), file=sys.stderr)
            code = EXIT_TARIFF
            continue
        except TariffError as exc:
            print(str(exc), file=sys.stderr)
            n = len(exc.problems)
            print(ngettext("{path}: {n} problem", "{path}: {n} problems", n).format(path=path, n=n), file=sys.stderr)
            code = EXIT_TARIFF
            continue
        since = tariff.effective_from.isoformat() if tariff.effective_from else "always"
        print(_('{path}: OK {tariff_id} "{name}", {currency}, {key}, effective from {since}; classes: {join}; windows: {join2}').format(path=path, tariff_id=tariff.tariff_id, name=tariff.name, currency=tariff.currency, key=tariff.timezone.key, since=since, join=', '.join(tariff.classes), join2=', '.join(w.name for w in tariff.windows)))
    return code


def _time(text: str | None, tz: ZoneInfo, what: str) -> datetime | None:
    if text is None:
        return None
    try:
        value = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except ValueError:
        raise QuoteError(_("--{what}: {text!r} is not an ISO 8601 time (e.g. 2026-03-02T07:40 or 2026-03-02T07:40+01:00)").format(what=what, text=text)) from None
    if not EARLIEST.year <= value.year < LATEST.year:
        raise QuoteError(_("--{what}: {text!r} is outside the years this booth prices ({year} to {value})").format(what=what, text=text, year=EARLIEST.year, value=LATEST.year - 1))
    if value.tzinfo is None:
        value = localize(value, tz)
    return value


def _quote_command(args: argparse.Namespace) -> int:
    book = TariffBook()
    for path in args.tariff:
        try:
            book.add(_load(path))
        except OSError as exc:
            print(_("{path}: cannot read: {value}").format(path=path, value=exc.strerror or exc), file=sys.stderr)
            return EXIT_INPUT
        except TariffError as exc:
            print(str(exc), file=sys.stderr)
            return EXIT_TARIFF
    # Times without an offset are read in the zone of the newest version.
    tz = list(book)[-1].timezone
    try:
        entry = _time(args.entry, tz, "entry")
        exit_ = _time(args.exit, tz, "exit")
        assert exit_ is not None
        paid_until = _time(args.paid_until, tz, "paid-until")
        previous = None
        if args.previous_entry or args.previous_exit or args.previous_paid:
            if not (args.previous_entry and args.previous_exit):
                raise QuoteError(_("--previous-entry and --previous-exit go together"))
            try:
                paid = Money.parse(args.previous_paid or "0", list(book)[-1].currency)
            except MoneyError as exc:
                raise QuoteError(_("--previous-paid: {exc}").format(exc=exc)) from None
            previous = PreviousVisit(
                entry=_time(args.previous_entry, tz, "previous-entry"),  # type: ignore[arg-type]
                exit=_time(args.previous_exit, tz, "previous-exit"),  # type: ignore[arg-type]
                paid=paid,
            )
        result = book.quote(
            entry, exit_, vehicle_class=args.vehicle_class, member=args.member,
            validations=tuple(args.validation), zone=args.zone, paid_until=paid_until,
            previous_visit=previous, lost_ticket=args.lost_ticket,
        )
    except (QuoteError, OverflowError) as exc:
        # OverflowError: calendar arithmetic at the edge of what datetime holds
        print(_("cannot quote: {exc}").format(exc=exc), file=sys.stderr)
        return EXIT_INPUT
    tariff = book.get(result.tariff_id)
    assert tariff is not None
    if args.json:
        payload = result.to_json()
        payload.update({
            "total": result.total.decimal_text(),
            "entry": entry.isoformat() if entry else None,
            "exit": exit_.isoformat(),
            "vehicle_class": args.vehicle_class,
            "member": args.member,
            "validations": list(args.validation),
        })
        print(json.dumps(payload, ensure_ascii=False))
    else:
        print(render_quote(tariff, result, entry, exit_, args.vehicle_class))
    return EXIT_OK


def render_quote(tariff: Tariff, result: Quote, entry: datetime | None, exit_: datetime,
                 vehicle_class: str) -> str:
    """The itemized fee as lines for people (screen or receipt)."""
    tz = tariff.timezone
    lines = [_("{name} [{tariff}] {currency}, times in {zone}").format(name=tariff.name, tariff=result.tariff_id, currency=tariff.currency, zone=tz.key)]
    ex = exit_.astimezone(tz)
    if entry is not None:
        en = entry.astimezone(tz)
        lines.append(_("Entry  {when}").format(when=local_time_text(en)))
        stay = int((exit_.timestamp() - entry.timestamp()) // 60)
        lines.append(_("Exit   {when}   stay {stay}").format(when=local_time_text(ex), stay=duration_text(stay)))
    else:
        lines.append(_("Entry  unknown (lost ticket)"))
        lines.append(_("Exit   {when}").format(when=local_time_text(ex)))
    vc = tariff.classes[vehicle_class]
    lines.append(_("Class  {vehicle_class}").format(vehicle_class=vc.label))
    lines.append("")
    amounts = [i.amount.decimal_text() for i in result.items]
    width_amount = max([len(a) for a in amounts] + [len(result.total.decimal_text()), 6])
    total_label = _("Total {currency}").format(currency=result.total.currency)
    # Widths in terminal cells: a Chinese character takes two.
    width_label = max([text_width(i.label) for i in result.items] + [text_width(total_label), 20])

    def row(label: str, amount: str) -> str:
        return f"  {label}{' ' * (width_label - text_width(label))}  {amount:>{width_amount}}"

    for item, text in zip(result.items, amounts, strict=True):
        lines.append(row(item.label, text))
    lines.append("  " + "-" * (width_label + width_amount + 2))
    lines.append(row(total_label, result.total.decimal_text()))
    for line in result.taxes():
        lines.append(f"  {line.rate.label} {line.rate.percent_text}: " + _("net {net}, tax {tax}, gross {gross}").format(
            net=line.net.decimal_text(), tax=line.tax.decimal_text(), gross=line.gross.decimal_text()))
    for note in result.notes:
        lines.append("  " + _("Note: {note}").format(note=note))
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    """Run `quote` / `tariff check` on their own (the `booth` CLI registers the same)."""
    parser = argparse.ArgumentParser(prog="booth", description=_("Booth tariff tools"))
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True
    register(sub)
    args = parser.parse_args(argv)
    return int(args.func(args))


if __name__ == "__main__":
    sys.exit(main())
