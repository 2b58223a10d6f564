"""Reading a tariff document (TOML text) into a validated `Tariff`.

The parser never stops at the first mistake: it collects every problem it can find,
each with the dotted key it concerns, and raises one `TariffError` listing them all.
It reads a string only; files are the caller's business.
"""

from __future__ import annotations

import hashlib
import json
import re
import tomllib
from dataclasses import replace
from datetime import date, datetime, time
from decimal import Decimal, InvalidOperation
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from console.domain.money import CURRENCY_EXPONENTS
from console.domain.tariff.calendar import Schedule, coverage_problems, localize
from console.domain.tariff.errors import Problem, TariffError
from console.domain.tariff.model import (
    BOUNDARY_MODES,
    DAY_TYPES,
    LADDER_TIMES,
    PARTIAL_MODES,
    PERIOD_CLOCKS,
    ROUNDING_MODES,
    WEEKDAYS,
    Caps,
    MemberPlan,
    Offer,
    PeriodCap,
    Rate,
    Rounding,
    Rules,
    Step,
    Tariff,
    TaxRule,
    Validation,
    VehicleClass,
    Window,
)
from console.domain.tax import PPM, TaxRate
from console.i18n import _

_ID_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")
_DURATION_RE = re.compile(
    r"^\s*(?:(?P<d>\d+)\s*d(?:ays?)?)?\s*(?:(?P<h>\d+)\s*h(?:ours?)?)?"
    r"\s*(?:(?P<m>\d+)\s*(?:min(?:utes?)?|m))?\s*$"
)
_TIME_RE = re.compile(r"^(\d{1,2}):(\d{2})$")

_DAY_ALIASES: dict[str, tuple[str, ...]] = {
    "weekdays": WEEKDAYS[:5],
    "weekend": WEEKDAYS[5:],
    "all": DAY_TYPES,
    "daily": DAY_TYPES,
}

_TOP_KEYS = {"tariff", "calendar", "rules", "rounding", "windows", "classes", "members",
             "validations", "tax"}
_TARIFF_KEYS = {"id", "version", "name", "currency", "timezone", "effective_from",
                "description"}
_RULE_KEYS = {"grace", "free_first", "exit_grace", "reentry_within", "unit_boundary",
              "partial_unit", "partial_tolerance", "ladder_time"}
_CLASS_KEYS = {"label", "inherits", "lost_ticket", "rules", "caps", "rate", "rates", "offers",
               "tax"}
_CAP_KEYS = {"per_calendar_day", "per_24h", "per_stay", "periods"}
_PERIOD_KEYS = {"every", "max", "clock", "once", "label"}
_RATE_KEYS = {"label", "unit", "price", "steps", "bands", "then", "restart_every",
              "max_per_occurrence", "free"}
_OFFER_KEYS = {"id", "label", "price", "days", "enter_from", "enter_until", "leave_by",
               "max_duration", "min_duration"}
_MEMBER_KEYS = {"label", "kind", "percent_off", "windows", "days", "zones", "classes"}
_VALIDATION_KEYS = {"label", "minutes_off", "amount_off", "percent_off", "free", "classes"}

ALL_DAY = "all"


def duration_text(minutes: int) -> str:
    """Minutes as people say them: "30 min", "1 h", "1 h 30 min", "2 d"."""
    if minutes > 1440 and minutes % 1440 == 0:
        return _("{days} d").format(days=minutes // 1440)
    h, m = divmod(minutes, 60)
    if h and m:
        return _("{hours} h {minutes} min").format(hours=h, minutes=m)
    if h:
        return _("{hours} h").format(hours=h)
    return _("{minutes} min").format(minutes=m)


class _Ctx:
    """Collects problems while reading one document."""

    def __init__(self) -> None:
        self.problems: list[Problem] = []
        self.currency = "EUR"
        self.exponent = 2

    def add(self, key: str, message: str) -> None:
        self.problems.append(Problem(key, message))

    def table(self, value: Any, key: str, allowed: set[str] | None = None) -> dict[str, Any]:
        if value is None:
            return {}
        if not isinstance(value, dict):
            self.add(key, f"must be a table, not {_kind(value)}")
            return {}
        if allowed is not None:
            for k in value:
                if k not in allowed:
                    self.add(_join(key, k), "unknown key (expected one of: "
                             + ", ".join(sorted(allowed)) + ")")
        return value

    def string(self, value: Any, key: str, *, required: bool = False) -> str | None:
        if value is None:
            if required:
                self.add(key, "is required")
            return None
        if not isinstance(value, str) or not value.strip():
            self.add(key, "must be a non-empty string")
            return None
        return value.strip()

    def money(self, value: Any, key: str, *, required: bool = False) -> int | None:
        """A non-negative amount in minor units, from "2.50", 2.5 or 3."""
        if value is None:
            if required:
                self.add(key, "is required")
            return None
        if isinstance(value, bool):
            self.add(key, "must be an amount such as \"2.50\"")
            return None
        if isinstance(value, int):
            text = str(value)
        elif isinstance(value, float):
            text = repr(value)  # the shortest text that reads back as this number
        elif isinstance(value, str):
            text = value.strip().replace(",", ".")
        else:
            self.add(key, f"must be an amount such as \"2.50\", not {_kind(value)}")
            return None
        try:
            amount = Decimal(text)
        except InvalidOperation:
            self.add(key, f"{value!r} is not an amount")
            return None
        if not amount.is_finite():
            self.add(key, f"{value!r} is not an amount")
            return None
        if amount < 0:
            self.add(key, f"must not be negative (got {text})")
            return None
        scaled = amount.scaleb(self.exponent)
        if scaled != scaled.to_integral_value():
            self.add(key, f"{text} has more than {self.exponent} decimals for {self.currency}")
            return None
        return int(scaled)

    def duration(self, value: Any, key: str, *, positive: bool = False,
                 required: bool = False) -> int | None:
        """Minutes, from 15, "15min", "1h30m", "2h", "1d"."""
        if value is None:
            if required:
                self.add(key, "is required")
            return None
        minutes: int | None = None
        if isinstance(value, bool):
            pass
        elif isinstance(value, int):
            minutes = value
        elif isinstance(value, str):
            m = _DURATION_RE.match(value)
            if m and any(m.group(g) for g in "dhm"):
                minutes = (int(m.group("d") or 0) * 1440 + int(m.group("h") or 0) * 60
                           + int(m.group("m") or 0))
        if minutes is None:
            self.add(key, f"{value!r} is not a duration (write minutes, or \"30min\", "
                          "\"1h30m\", \"2h\", \"1d\")")
            return None
        if minutes < 0:
            self.add(key, "must not be negative")
            return None
        if positive and minutes == 0:
            self.add(key, "must be longer than 0 minutes")
            return None
        return minutes

    def time_of_day(self, value: Any, key: str, *, allow_24: bool = True) -> int | None:
        """Minutes after midnight from "HH:MM" ("24:00" allowed as an end)."""
        if isinstance(value, time):
            return value.hour * 60 + value.minute
        if not isinstance(value, str) or not _TIME_RE.match(value.strip()):
            self.add(key, f"{value!r} is not a time of day (write \"HH:MM\")")
            return None
        h, m = (int(x) for x in value.strip().split(":"))
        total = h * 60 + m
        if m >= 60 or total > 1440 or (total == 1440 and not allow_24):
            self.add(key, f"{value!r} is not a time of day")
            return None
        return total

    def days(self, value: Any, key: str, holiday_ok: bool) -> frozenset[str] | None:
        if value is None:
            return None
        if isinstance(value, str):
            value = [value]
        if not isinstance(value, list) or not value:
            self.add(key, "must be a list of day names such as [\"mon\", \"weekend\"]")
            return None
        out: set[str] = set()
        for i, item in enumerate(value):
            name = item.strip().lower() if isinstance(item, str) else None
            if name in _DAY_ALIASES:
                out.update(_DAY_ALIASES[name])
            elif name in DAY_TYPES:
                if name == "holiday" and not holiday_ok:
                    self.add(f"{key}[{i}]", "\"holiday\" needs calendar.holidays_as = "
                             "\"holiday\" (holidays are priced like another day now)")
                out.add(name)
            else:
                self.add(f"{key}[{i}]", f"{item!r} is not a day (use mon..sun, weekdays, "
                         "weekend, all, holiday)")
        return frozenset(out)

    def names(self, value: Any, key: str) -> frozenset[str] | None:
        if value is None:
            return None
        if isinstance(value, str):
            value = [value]
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value) or not value:
            self.add(key, "must be a list of names")
            return None
        return frozenset(value)


def _kind(value: Any) -> str:
    return {dict: "a table", list: "a list", str: "a string", bool: "a boolean",
            int: "an integer", float: "a number"}.get(type(value), type(value).__name__)


def _join(key: str, sub: str) -> str:
    return f"{key}.{sub}" if key else sub


def _fingerprint(data: dict[str, Any]) -> str:
    canonical = json.dumps(data, sort_keys=True, default=str, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()


def parse_tariff(text: str, source: str = "<tariff>") -> Tariff:
    """Read and validate a tariff document.

    Raises TariffError listing every problem (each with its dotted key) when the
    document cannot be used. Never reads files or the clock.
    """
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise TariffError([Problem("", f"not valid TOML: {exc}")], source) from None
    ctx = _Ctx()
    tariff = _read(ctx, data, source)
    if ctx.problems or tariff is None:
        raise TariffError(ctx.problems, source)
    return tariff


def _read(ctx: _Ctx, data: dict[str, Any], source: str) -> Tariff | None:
    ctx.table(data, "", _TOP_KEYS)
    head = ctx.table(data.get("tariff"), "tariff", _TARIFF_KEYS)
    if "tariff" not in data:
        ctx.add("tariff", "is required (id, version, currency, timezone)")

    key = ctx.string(head.get("id"), "tariff.id", required=True)
    if key is not None and not _ID_RE.match(key):
        ctx.add("tariff.id", "use letters, digits, '.', '_' or '-' (at most 64)")
        key = None
    version_raw = head.get("version")
    version: str | None = None
    if version_raw is None:
        ctx.add("tariff.version", "is required (a whole number or a short text)")
    elif isinstance(version_raw, bool) or not isinstance(version_raw, int | str):
        ctx.add("tariff.version", "must be a whole number or a short text")
    elif isinstance(version_raw, int) and version_raw < 1:
        ctx.add("tariff.version", "must be 1 or more")
    elif isinstance(version_raw, str) and not _ID_RE.match(version_raw):
        ctx.add("tariff.version", "use letters, digits, '.', '_' or '-'")
    else:
        version = str(version_raw)

    currency = ctx.string(head.get("currency"), "tariff.currency", required=True)
    if currency is not None:
        if currency not in CURRENCY_EXPONENTS:
            ctx.add("tariff.currency", f"unknown currency {currency!r} (an ISO 4217 code "
                    "such as EUR, USD, GBP, CNY)")
            currency = None
        else:
            ctx.currency = currency
            ctx.exponent = CURRENCY_EXPONENTS[currency]

    tz: ZoneInfo | None = None
    tz_name = ctx.string(head.get("timezone"), "tariff.timezone", required=True)
    if tz_name is not None:
        try:
            tz = ZoneInfo(tz_name)
        except (ZoneInfoNotFoundError, ValueError):
            ctx.add("tariff.timezone", f"unknown time zone {tz_name!r} (an IANA name such "
                    "as Europe/Berlin)")
    name = ctx.string(head.get("name"), "tariff.name") or key or "tariff"
    effective_from = _effective_from(ctx, head.get("effective_from"), tz)

    # calendar
    cal = ctx.table(data.get("calendar"), "calendar", {"holidays", "holidays_as"})
    holidays_as = cal.get("holidays_as", "sun")
    if holidays_as not in DAY_TYPES:
        ctx.add("calendar.holidays_as", f"{holidays_as!r} is not a day type "
                "(mon..sun or holiday)")
        holidays_as = "sun"
    holidays: set[date] = set()
    raw_h = cal.get("holidays", [])
    if not isinstance(raw_h, list):
        ctx.add("calendar.holidays", "must be a list of dates (2026-12-25)")
    else:
        for i, d in enumerate(raw_h):
            if isinstance(d, date) and not isinstance(d, datetime):
                holidays.add(d)
            elif isinstance(d, str):
                try:
                    holidays.add(date.fromisoformat(d))
                except ValueError:
                    ctx.add(f"calendar.holidays[{i}]", f"{d!r} is not a date (YYYY-MM-DD)")
            else:
                ctx.add(f"calendar.holidays[{i}]", "must be a date (YYYY-MM-DD)")
    holiday_type_ok = holidays_as == "holiday"

    base_rules = _rules(ctx, data.get("rules"), "rules", Rules())
    rounding = _rounding(ctx, data.get("rounding"))
    before = len(ctx.problems)
    windows = _windows(ctx, data.get("windows"), holiday_type_ok)
    windows_ok = len(ctx.problems) == before
    if windows and windows_ok:  # a broken window would only cause a cascade of gaps
        for p in coverage_problems(windows, bool(holidays), holidays_as):
            ctx.problems.append(p)
    window_names = [w.name for w in windows]

    tax = _tax(ctx, data.get("tax"))
    classes = _classes(ctx, data.get("classes"), window_names, base_rules, windows_ok)
    for cname, vc in classes.items():
        if vc.tax is not None and (tax is None or vc.tax not in tax.rates):
            known = ", ".join(tax.rates) if tax is not None else "none: add a [tax] table"
            ctx.add(f"classes.{cname}.tax", f"no tax rate named {vc.tax!r} (rates: {known})")
    members = _members(ctx, data.get("members"), set(window_names), set(classes),
                       holiday_type_ok)
    validations = _validations(ctx, data.get("validations"), set(classes))

    if ctx.problems or key is None or version is None or currency is None or tz is None:
        return None
    tariff = Tariff(
        key=key, version=version, name=name, currency=currency, timezone=tz,
        effective_from=effective_from, holidays=frozenset(holidays), holidays_as=holidays_as,
        windows=windows, classes=classes, members=members, validations=validations,
        rounding=rounding, fingerprint=_fingerprint(data), source=source, tax=tax,
    )
    object.__setattr__(tariff, "schedule",
                       Schedule(tz, windows, frozenset(holidays), holidays_as))
    return tariff


def _effective_from(ctx: _Ctx, value: Any, tz: ZoneInfo | None) -> datetime | None:
    key = "tariff.effective_from"
    if value is None:
        return None
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value)
        except ValueError:
            ctx.add(key, f"{value!r} is not a date and time (2026-03-01T00:00:00+01:00)")
            return None
    if isinstance(value, datetime):
        if value.tzinfo is None:
            return localize(value, tz) if tz is not None else None
        return value
    if isinstance(value, date):
        return localize(datetime(value.year, value.month, value.day), tz) if tz else None
    ctx.add(key, "must be a date and time such as 2026-03-01T00:00:00")
    return None


def _rules(ctx: _Ctx, value: Any, key: str, base: Rules) -> Rules:
    raw = ctx.table(value, key, _RULE_KEYS)

    def dur(name: str, default: int) -> int:
        got = ctx.duration(raw.get(name), _join(key, name))
        return default if got is None else got

    boundary = raw.get("unit_boundary", base.boundary)
    if boundary not in BOUNDARY_MODES:
        ctx.add(_join(key, "unit_boundary"), f"must be one of {', '.join(BOUNDARY_MODES)}")
        boundary = base.boundary
    partial = raw.get("partial_unit", base.partial)
    if partial not in PARTIAL_MODES:
        ctx.add(_join(key, "partial_unit"), f"must be one of {', '.join(PARTIAL_MODES)}")
        partial = base.partial
    ladder = raw.get("ladder_time", base.ladder)
    if ladder not in LADDER_TIMES:
        ctx.add(_join(key, "ladder_time"), f"must be one of {', '.join(LADDER_TIMES)}")
        ladder = base.ladder
    return Rules(
        grace=dur("grace", base.grace),
        free=dur("free_first", base.free),
        exit_grace=dur("exit_grace", base.exit_grace),
        reentry=dur("reentry_within", base.reentry),
        boundary=boundary,
        partial=partial,
        tolerance=dur("partial_tolerance", base.tolerance),
        ladder=ladder,
    )


def _rounding(ctx: _Ctx, value: Any) -> Rounding:
    raw = ctx.table(value, "rounding", {"step", "mode"})
    step = 1
    if "step" in raw:
        got = ctx.money(raw["step"], "rounding.step")
        if got == 0:
            ctx.add("rounding.step", "must be more than 0 (leave it out for no rounding)")
        elif got is not None:
            step = got
    mode = raw.get("mode", "half-up")
    if mode not in ROUNDING_MODES:
        ctx.add("rounding.mode", f"must be one of {', '.join(ROUNDING_MODES)}")
        mode = "half-up"
    return Rounding(step=step, mode=mode)


def _windows(ctx: _Ctx, value: Any, holiday_ok: bool) -> tuple[Window, ...]:
    if value is None:
        return (Window(ALL_DAY, "All day", 0, 1440, frozenset(DAY_TYPES)),)
    raw = ctx.table(value, "windows")
    out: list[Window] = []
    for name, spec in raw.items():
        key = f"windows.{name}"
        spec = ctx.table(spec, key, {"label", "days", "from", "to"})
        start = ctx.time_of_day(spec.get("from", "00:00"), f"{key}.from", allow_24=False)
        end = ctx.time_of_day(spec.get("to", "24:00"), f"{key}.to")
        days = ctx.days(spec.get("days", "all"), f"{key}.days", holiday_ok)
        label = ctx.string(spec.get("label"), f"{key}.label") or name.replace("_", " ").title()
        if start is None or end is None or days is None:
            continue
        if end <= start:
            # Crosses midnight (to == from: 24 hours); it belongs to the day it starts on.
            end += 1440
        out.append(Window(name, label, start, end, days))
    if not out and not ctx.problems:
        ctx.add("windows", "declares no window")
    return tuple(out)


# -- classes -----------------------------------------------------------------------------

def _merge_class(base: dict[str, Any], child: dict[str, Any]) -> dict[str, Any]:
    """A class that inherits: the child's keys replace the parent's; rules and caps merge
    key by key, rates window by window; `rate` and `rates` replace each other."""
    merged = dict(base)
    for k, v in child.items():
        if k == "inherits":
            continue
        keyed = k in ("rules", "caps", "rates")
        if keyed and isinstance(v, dict) and isinstance(base.get(k), dict):
            merged[k] = {**base[k], **v}
        else:
            merged[k] = v
    if "rate" in child:
        merged.pop("rates", None)
    if "rates" in child:
        merged.pop("rate", None)
    merged.pop("inherits", None)
    return merged


def _resolve_inheritance(ctx: _Ctx, raw: dict[str, Any]) -> dict[str, dict[str, Any]]:
    resolved: dict[str, dict[str, Any]] = {}

    def resolve(name: str, trail: tuple[str, ...]) -> dict[str, Any]:
        if name in resolved:
            return resolved[name]
        spec = raw[name] if isinstance(raw[name], dict) else {}
        parent = spec.get("inherits")
        if parent is None:
            result = spec
        elif not isinstance(parent, str) or parent not in raw:
            ctx.add(f"classes.{name}.inherits", f"no class {parent!r} to inherit from")
            result = {k: v for k, v in spec.items() if k != "inherits"}
        elif parent in trail:
            ctx.add(f"classes.{name}.inherits", "classes inherit from each other in a circle")
            result = {k: v for k, v in spec.items() if k != "inherits"}
        else:
            result = _merge_class(resolve(parent, (*trail, name)), spec)
        resolved[name] = result
        return result

    for name in raw:
        resolve(name, ())
    return resolved


def _classes(ctx: _Ctx, value: Any, windows: list[str], base_rules: Rules,
             windows_ok: bool = True) -> dict[str, VehicleClass]:
    raw = ctx.table(value, "classes")
    if not raw:
        if value is None:
            ctx.add("classes", "is required: declare at least one vehicle class, "
                    "e.g. [classes.car]")
        return {}
    for name, spec in raw.items():
        ctx.table(spec, f"classes.{name}", _CLASS_KEYS)
    out: dict[str, VehicleClass] = {}
    for name, spec in _resolve_inheritance(ctx, raw).items():
        key = f"classes.{name}"
        if not _ID_RE.match(name):
            ctx.add(key, "a class name uses letters, digits, '.', '_' or '-'")
        vc = _vehicle_class(ctx, name, key, spec, windows, base_rules, windows_ok)
        if vc is not None:
            out[name] = vc
    return out


def _vehicle_class(ctx: _Ctx, name: str, key: str, spec: dict[str, Any], windows: list[str],
                   base_rules: Rules, windows_ok: bool = True) -> VehicleClass | None:
    label = ctx.string(spec.get("label"), f"{key}.label") or name.replace("_", " ").capitalize()
    rules = _rules(ctx, spec.get("rules"), f"{key}.rules", base_rules)
    lost = ctx.money(spec.get("lost_ticket"), f"{key}.lost_ticket")

    rates: list[Rate | None] = []
    if "rate" in spec and "rates" in spec:
        ctx.add(f"{key}.rate", "give either rate (one rate for every window) or "
                "rates.<window>, not both")
    if "rate" in spec:
        shared = _rate(ctx, spec["rate"], f"{key}.rate", windows[0] if windows else ALL_DAY)
        for w in windows:
            rates.append(None if shared is None else replace(shared, window=w))
    else:
        table = ctx.table(spec.get("rates"), f"{key}.rates")
        if not table:
            ctx.add(f"{key}.rates", "no rates: give rate = {...} or one rates.<window> per "
                    f"window ({', '.join(windows)})")
            return None
        if not windows_ok:
            # The windows themselves are broken: still check each rate on its own, but
            # do not pile up complaints about windows that could not be read.
            for w, spec_w in table.items():
                _rate(ctx, spec_w, f"{key}.rates.{w}", w)
            return None
        for w in windows:
            if w not in table:
                ctx.add(f"{key}.rates.{w}", f"window {w!r} has no rate for this class")
                rates.append(None)
            else:
                rates.append(_rate(ctx, table[w], f"{key}.rates.{w}", w))
        for w in table:
            if w not in windows:
                ctx.add(f"{key}.rates.{w}", f"no window named {w!r} (windows: "
                        f"{', '.join(windows)})")

    cap_names = ("per_calendar_day", "per_24h", "per_stay")
    caps_raw = ctx.table(spec.get("caps"), f"{key}.caps", _CAP_KEYS)
    periods = _periods(ctx, caps_raw.get("periods"), f"{key}.caps.periods")
    day_cap, per_24h, per_stay = (ctx.money(caps_raw.get(c), f"{key}.caps.{c}")
                                  for c in cap_names)
    caps = Caps(per_calendar_day=day_cap, per_24h=per_24h, per_stay=per_stay, periods=periods)
    good_rates = [r for r in rates if r is not None]
    if good_rates:
        biggest = max(good_rates, key=lambda r: max(s.price for s in r.steps))
        top = max(s.price for s in biggest.steps)
        named: list[tuple[str, int | None]] = [(c, getattr(caps, c)) for c in cap_names]
        named += [(f"periods[{i}].max", pc.amount) for i, pc in enumerate(periods)]
        for cap_name, cap in named:
            if cap is not None and cap < top:
                ctx.add(f"{key}.caps.{cap_name}",
                        f"{_fmt(ctx, cap)} is less than one unit of rate {biggest.window!r} "
                        f"({_fmt(ctx, top)}): the cap would always apply, so the unit "
                        "price is meaningless; raise the cap or lower the price")

    offers_raw = spec.get("offers", [])
    offers: list[Offer] = []
    if not isinstance(offers_raw, list):
        ctx.add(f"{key}.offers", "must be a list of tables ([[classes.<name>.offers]])")
    else:
        seen: set[str] = set()
        for i, o in enumerate(offers_raw):
            offer = _offer(ctx, o, f"{key}.offers[{i}]")
            if offer is not None:
                if offer.id in seen:
                    ctx.add(f"{key}.offers[{i}].id", f"offer id {offer.id!r} is used twice")
                seen.add(offer.id)
                offers.append(offer)
    tax = ctx.string(spec.get("tax"), f"{key}.tax")
    if rules.ladder == "charged" and not any(r.free for r in good_rates):
        ctx.add(f"{key}.rules.ladder_time", "\"charged\" counts only time outside free "
                "windows, but no window of this class is free (give one rate free = true)")
    if len(good_rates) != len(rates) or len(rates) != len(windows):
        return None
    return VehicleClass(name=name, label=label, rules=rules, rates=tuple(good_rates),
                        caps=caps, offers=tuple(offers), lost_ticket=lost, tax=tax)


def _periods(ctx: _Ctx, value: Any, key: str) -> tuple[PeriodCap, ...]:
    """caps.periods: maxima per period counted from entry (12 h, 7 d, a wall-clock day)."""
    if value is None:
        return ()
    if not isinstance(value, list) or not value:
        ctx.add(key, "must be a list such as [{ every = \"12h\", max = \"12.00\" }]")
        return ()
    out: list[PeriodCap] = []
    for i, item in enumerate(value):
        ikey = f"{key}[{i}]"
        spec = ctx.table(item, ikey, _PERIOD_KEYS)
        every = ctx.duration(spec.get("every"), f"{ikey}.every", positive=True, required=True)
        amount = ctx.money(spec.get("max"), f"{ikey}.max", required=True)
        clock = spec.get("clock", "elapsed")
        if clock not in PERIOD_CLOCKS:
            ctx.add(f"{ikey}.clock", f"must be one of {', '.join(PERIOD_CLOCKS)}")
            clock = "elapsed"
        once = spec.get("once", False)
        if not isinstance(once, bool):
            ctx.add(f"{ikey}.once", "must be true or false")
            once = False
        label = ctx.string(spec.get("label"), f"{ikey}.label") or ""
        if every is not None and clock == "wall" and every % 1440:
            ctx.add(f"{ikey}.every", "a wall-clock period is a whole number of days (\"1d\")")
            continue
        if every is not None and amount is not None:
            out.append(PeriodCap(every, amount, clock == "wall", once, label))
    return tuple(out)


def _tax(ctx: _Ctx, value: Any) -> TaxRule | None:
    """[tax]: the tariff's tax rates and whether its prices include them."""
    if value is None:
        return None
    raw = ctx.table(value, "tax", {"included", "rates", "default"})
    included = raw.get("included", True)
    if not isinstance(included, bool):
        ctx.add("tax.included", "must be true (prices include the tax) or false (tax is "
                "added on top)")
        included = True
    table = ctx.table(raw.get("rates"), "tax.rates")
    if not table:
        ctx.add("tax.rates", "name at least one rate: [tax.rates.vat] with percent = \"19\"")
        return None
    rates: dict[str, TaxRate] = {}
    for rid, spec in table.items():
        rkey = f"tax.rates.{rid}"
        if not _ID_RE.match(rid):
            ctx.add(rkey, "a rate id uses letters, digits, '.', '_' or '-'")
            continue
        spec = ctx.table(spec, rkey, {"label", "percent"})
        ppm = _ppm(ctx, spec.get("percent"), f"{rkey}.percent")
        label = ctx.string(spec.get("label"), f"{rkey}.label") or rid.upper()
        if ppm is not None:
            rates[rid] = TaxRate(rid, label, ppm)
    default = raw.get("default")
    if default is None:
        if len(table) > 1:
            ctx.add("tax.default", "name the rate classes are taxed at unless they say "
                    "otherwise (several rates are declared)")
        default = next(iter(table), "")
    elif not isinstance(default, str) or default not in table:
        ctx.add("tax.default", f"no tax rate named {default!r}")
    if not rates:
        return None
    return TaxRule(rates=rates, included=included, default=str(default))


def _ppm(ctx: _Ctx, value: Any, key: str) -> int | None:
    """A percentage ("19", "8.875", 7) as parts per million, exactly."""
    if value is None:
        ctx.add(key, "is required (a percentage such as \"19\" or \"8.875\")")
        return None
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        ctx.add(key, "must be a percentage such as \"19\"")
        return None
    text = repr(value) if isinstance(value, float) else str(value).strip().rstrip("%").strip()
    try:
        pct = Decimal(text.replace(",", "."))
    except InvalidOperation:
        ctx.add(key, f"{value!r} is not a percentage")
        return None
    if not pct.is_finite() or not 0 <= pct < 100:
        ctx.add(key, "must be at least 0 and below 100")
        return None
    scaled = pct * (PPM // 100)
    if scaled != scaled.to_integral_value():
        ctx.add(key, f"{text} has more than 4 decimals")
        return None
    return int(scaled)


def _fmt(ctx: _Ctx, minor: int) -> str:
    if ctx.exponent == 0:
        return str(minor)
    whole, frac = divmod(minor, 10 ** ctx.exponent)
    return f"{whole}.{frac:0{ctx.exponent}d}"


def _rate(ctx: _Ctx, value: Any, key: str, window: str) -> Rate | None:
    spec = ctx.table(value, key, _RATE_KEYS)
    if not spec:
        if isinstance(value, dict):
            ctx.add(key, "is empty: give unit and price, steps, or bands")
        return None
    label = ctx.string(spec.get("label"), f"{key}.label") or ""
    forms = [f for f in ("price", "steps", "bands", "free") if f in spec]
    if len(forms) != 1:
        ctx.add(key, "give exactly one of: unit and price, steps = [...], bands = [...], "
                "free = true")
        return None
    if forms[0] == "free":
        if spec["free"] is not True:
            ctx.add(f"{key}.free", "must be true (or leave it out and give a price)")
            return None
        for extra in ("unit", "then", "restart_every", "max_per_occurrence"):
            if extra in spec:
                ctx.add(f"{key}.{extra}", "a free window has no units, restarts or cap")
        # One-minute units at no charge: the next charged unit starts where the free
        # window ends.
        return Rate(window=window, label=label, steps=(Step(1, 0, None, ""),), cycle=None,
                    max_per_occurrence=None, free=True)
    per_occurrence = spec.get("restart_every") == "occurrence"
    cycle = None if per_occurrence else ctx.duration(spec.get("restart_every"),
                                                     f"{key}.restart_every", positive=True)
    cap = ctx.money(spec.get("max_per_occurrence"), f"{key}.max_per_occurrence")
    banded = False
    steps: list[Step] = []
    if forms[0] == "price":
        unit = ctx.duration(spec.get("unit"), f"{key}.unit", positive=True, required=True)
        price = ctx.money(spec.get("price"), f"{key}.price", required=True)
        if unit is None or price is None:
            return None
        steps.append(Step(unit, price, None, ""))
        if "then" in spec:
            ctx.add(f"{key}.then", "only follows bands")
    elif forms[0] == "steps":
        steps_raw = spec["steps"]
        if not isinstance(steps_raw, list) or not steps_raw:
            ctx.add(f"{key}.steps", "must be a non-empty list of {unit, price, count}")
            return None
        position = 0
        for i, s in enumerate(steps_raw):
            skey = f"{key}.steps[{i}]"
            s = ctx.table(s, skey, {"unit", "price", "count", "label"})
            unit = ctx.duration(s.get("unit"), f"{skey}.unit", positive=True, required=True)
            price = ctx.money(s.get("price"), f"{skey}.price", required=True)
            count = s.get("count")
            last = i == len(steps_raw) - 1
            slabel = ctx.string(s.get("label"), f"{skey}.label") or ""
            if last:
                if count is not None:
                    ctx.add(f"{skey}.count", "the last step repeats until the end of the "
                            "stay and has no count")
                end = None
            else:
                if isinstance(count, bool) or not isinstance(count, int) or count < 1:
                    ctx.add(f"{skey}.count", "every step but the last needs count = 1 or more")
                    return None
                if unit is None:
                    return None
                position += unit * count
                end = position
            if unit is None or price is None:
                return None
            steps.append(Step(unit, price, end, slabel))
        if "then" in spec:
            ctx.add(f"{key}.then", "only follows bands (the last step already repeats)")
    else:
        banded = True
        bands_raw = spec["bands"]
        if not isinstance(bands_raw, list) or not bands_raw:
            ctx.add(f"{key}.bands", "must be a non-empty list of {up_to, price}")
            return None
        prev_limit, prev_price = 0, 0
        for i, b in enumerate(bands_raw):
            bkey = f"{key}.bands[{i}]"
            b = ctx.table(b, bkey, {"up_to", "price", "label"})
            limit = ctx.duration(b.get("up_to"), f"{bkey}.up_to", positive=True, required=True)
            price = ctx.money(b.get("price"), f"{bkey}.price", required=True)
            if limit is None or price is None:
                return None
            if limit <= prev_limit:
                ctx.add(f"{bkey}.up_to", "bands must grow longer one after another")
                return None
            if price < prev_price:
                ctx.add(f"{bkey}.price", f"a longer band may not cost less than the one "
                        f"before ({_fmt(ctx, price)} < {_fmt(ctx, prev_price)})")
                return None
            blabel = ctx.string(b.get("label"), f"{bkey}.label") or f"up to {duration_text(limit)}"
            steps.append(Step(limit - prev_limit, price - prev_price, limit, blabel, band=limit))
            prev_limit, prev_price = limit, price
        if "then" in spec:
            t = ctx.table(spec["then"], f"{key}.then", {"unit", "price", "label"})
            unit = ctx.duration(t.get("unit"), f"{key}.then.unit", positive=True, required=True)
            price = ctx.money(t.get("price"), f"{key}.then.price", required=True)
            if unit is None or price is None:
                return None
            tlabel = ctx.string(t.get("label"), f"{key}.then.label") or \
                f"each further {duration_text(unit)}"
            steps.append(Step(unit, price, None, tlabel))
            if cycle is not None:
                ctx.add(f"{key}.restart_every", "bands followed by then do not restart")
        else:
            if cycle is not None and cycle != prev_limit:
                ctx.add(f"{key}.restart_every", "bands start again after the last band "
                        f"({duration_text(prev_limit)}); leave restart_every out")
            cycle = prev_limit
            final = steps[-1]
            steps[-1] = Step(final.unit, final.price, None, final.label, band=final.band)
    if cycle is not None and not banded:
        total_fixed = steps[-2].end if len(steps) > 1 else 0
        if total_fixed and total_fixed > cycle:
            ctx.add(f"{key}.restart_every", "is shorter than the counted steps before the "
                    "last one")
    top = max(s.price for s in steps)
    if cap is not None and cap < top:
        ctx.add(f"{key}.max_per_occurrence",
                f"{_fmt(ctx, cap)} is less than one unit of this rate ({_fmt(ctx, top)}): "
                "the cap would always apply; raise the cap or lower the price")
    return Rate(window=window, label=label, steps=tuple(steps), cycle=cycle,
                max_per_occurrence=cap, banded=banded, per_occurrence=per_occurrence)


def _offer(ctx: _Ctx, value: Any, key: str) -> Offer | None:
    spec = ctx.table(value, key, _OFFER_KEYS)
    if not spec:
        return None
    oid = ctx.string(spec.get("id"), f"{key}.id", required=True)
    label = ctx.string(spec.get("label"), f"{key}.label") or (oid or "Offer")
    price = ctx.money(spec.get("price"), f"{key}.price", required=True)
    days = ctx.days(spec.get("days"), f"{key}.days", True)
    enter_from = (ctx.time_of_day(spec["enter_from"], f"{key}.enter_from")
                  if "enter_from" in spec else None)
    enter_until = (ctx.time_of_day(spec["enter_until"], f"{key}.enter_until")
                   if "enter_until" in spec else None)
    leave_by = (ctx.time_of_day(spec["leave_by"], f"{key}.leave_by", allow_24=True)
                if "leave_by" in spec else None)
    max_d = ctx.duration(spec.get("max_duration"), f"{key}.max_duration", positive=True)
    min_d = ctx.duration(spec.get("min_duration"), f"{key}.min_duration")
    if leave_by is None and max_d is None and "leave_by" not in spec and "max_duration" not in spec:
        ctx.add(key, "an offer needs leave_by or max_duration: without an end it would "
                "price a stay of any length")
    if enter_from is not None and enter_until is not None and enter_from == enter_until:
        ctx.add(f"{key}.enter_until", "equals enter_from: nobody could enter in time")
    if min_d is not None and max_d is not None and min_d > max_d:
        ctx.add(f"{key}.min_duration", "is longer than max_duration")
    if oid is None or price is None:
        return None
    return Offer(id=oid, label=label, price=price, days=days, enter_from=enter_from,
                 enter_until=enter_until, leave_by=leave_by, max_duration=max_d,
                 min_duration=min_d)


def _members(ctx: _Ctx, value: Any, windows: set[str], classes: set[str],
             holiday_ok: bool) -> dict[str, MemberPlan]:
    raw = ctx.table(value, "members")
    out: dict[str, MemberPlan] = {}
    for mid, spec in raw.items():
        key = f"members.{mid}"
        spec = ctx.table(spec, key, _MEMBER_KEYS)
        label = ctx.string(spec.get("label"), f"{key}.label") or mid
        kind = spec.get("kind", "member")
        if kind not in ("member", "pass", "whitelist"):
            ctx.add(f"{key}.kind", "must be member, pass or whitelist")
        pct = _percent(ctx, spec.get("percent_off", 100), f"{key}.percent_off")
        win = ctx.names(spec.get("windows"), f"{key}.windows")
        for w in sorted(win or ()):
            if w not in windows:
                ctx.add(f"{key}.windows", f"no window named {w!r}")
        cls = _known_classes(ctx, spec.get("classes"), f"{key}.classes", classes)
        days = ctx.days(spec.get("days"), f"{key}.days", holiday_ok)
        zones = ctx.names(spec.get("zones"), f"{key}.zones")
        if pct is not None:
            out[mid] = MemberPlan(id=mid, label=label, kind=str(kind), percent_off=pct,
                                  windows=win, days=days, zones=zones, classes=cls)
    return out


def _known_classes(ctx: _Ctx, value: Any, key: str, classes: set[str]) -> frozenset[str] | None:
    got = ctx.names(value, key)
    for c in sorted(got or ()):
        if classes and c not in classes:
            ctx.add(key, f"no vehicle class named {c!r}")
    return got


def _percent(ctx: _Ctx, value: Any, key: str) -> int | None:
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= 100:
        ctx.add(key, "must be a whole percentage from 1 to 100")
        return None
    return value


def _validations(ctx: _Ctx, value: Any, classes: set[str]) -> dict[str, Validation]:
    raw = ctx.table(value, "validations")
    out: dict[str, Validation] = {}
    for code, spec in raw.items():
        key = f"validations.{code}"
        spec = ctx.table(spec, key, _VALIDATION_KEYS)
        label = ctx.string(spec.get("label"), f"{key}.label") or code
        kinds = [k for k in ("minutes_off", "amount_off", "percent_off", "free") if k in spec]
        if len(kinds) != 1:
            ctx.add(key, "give exactly one of minutes_off, amount_off, percent_off, free = true")
            continue
        kind = kinds[0]
        v: int | None
        if kind == "minutes_off":
            v = ctx.duration(spec[kind], f"{key}.minutes_off", positive=True)
            kind_name = "minutes"
        elif kind == "amount_off":
            v = ctx.money(spec[kind], f"{key}.amount_off")
            if v == 0:
                ctx.add(f"{key}.amount_off", "must be more than 0")
                v = None
            kind_name = "amount"
        elif kind == "percent_off":
            v = _percent(ctx, spec[kind], f"{key}.percent_off")
            kind_name = "percent"
        else:
            if spec["free"] is not True:
                ctx.add(f"{key}.free", "must be true")
                v = None
            else:
                v = 0
            kind_name = "free"
        cls = _known_classes(ctx, spec.get("classes"), f"{key}.classes", classes)
        if v is not None:
            out[code] = Validation(code=code, label=label, kind=kind_name, value=v, classes=cls)
    return out


__all__ = ["duration_text", "parse_tariff"]
