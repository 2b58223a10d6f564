"""Hypothesis strategies: random but valid tariff documents and stays (tests only)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hypothesis import strategies as st

ZONES = ("Europe/Berlin", "America/New_York", "Asia/Shanghai")


def _money(minor: int) -> str:
    return f"\"{minor // 100}.{minor % 100:02d}\""


@st.composite
def rate_text(draw: st.DrawFn, allow_cycle: bool = True,
              allow_free: bool = False) -> tuple[str, int]:
    """The body of a rate table and the largest unit price in it (minor units)."""
    forms = ["unit", "unit", "steps", "bands"] + (["free"] if allow_free else [])
    form = draw(st.sampled_from(forms))
    lines: list[str] = []
    if form == "free":
        return "free = true", 0
    if form == "unit":
        unit = draw(st.sampled_from([15, 20, 30, 60, 90, 120]))
        price = draw(st.integers(0, 400))
        lines += [f"unit = {unit}", f"price = {_money(price)}"]
        top = price
    elif form == "steps":
        n = draw(st.integers(2, 3))
        parts = []
        prices = []
        for i in range(n):
            unit = draw(st.sampled_from([15, 30, 60]))
            price = draw(st.integers(0, 400))
            prices.append(price)
            count = f", count = {draw(st.integers(1, 3))}" if i < n - 1 else ""
            parts.append(f"{{ unit = {unit}, price = {_money(price)}{count} }}")
        lines.append("steps = [" + ", ".join(parts) + "]")
        restart = draw(st.sampled_from(["", "", "12h", "24h", "occurrence"])) if allow_cycle else ""
        if restart:
            lines.append(f"restart_every = \"{restart}\"")
        top = max(prices)
    else:
        n = draw(st.integers(2, 4))
        limit = 0
        amount = 0
        parts = []
        top = 0
        for _ in range(n):
            grow = draw(st.sampled_from([30, 60, 120, 240]))
            rise = draw(st.integers(0, 500))
            top = max(top, rise)
            limit += grow
            amount += rise
            parts.append(f"{{ up_to = {limit}, price = {_money(amount)} }}")
        lines.append("bands = [" + ", ".join(parts) + "]")
        if allow_cycle and draw(st.integers(0, 3)) == 0:
            lines.append("restart_every = \"occurrence\"")
        if draw(st.booleans()):
            price = draw(st.integers(0, 2000))
            top = max(top, price)
            lines.append(f"then = {{ unit = \"{draw(st.sampled_from([1, 4, 24]))}h\", "
                         f"price = {_money(price)} }}")
    if draw(st.integers(0, 3)) == 0:
        lines.append(f"max_per_occurrence = {_money(top + draw(st.integers(0, 800)))}")
    return "\n".join(lines), top


@st.composite
def tariff_text(draw: st.DrawFn, offers: bool = True) -> str:
    """A whole tariff document that parses."""
    zone = draw(st.sampled_from(ZONES))
    layout = draw(st.sampled_from(["single", "daynight", "weekend", "wholedays", "holidays"]))
    doc = ["[tariff]", "id = \"gen\"", "version = 1", "currency = \"EUR\"",
           f"timezone = \"{zone}\""]
    grace = draw(st.sampled_from([0, 0, 10, 15, 30]))
    free = draw(st.sampled_from([0, 0, 0, 30, 60]))
    boundary = draw(st.sampled_from(["carry", "restart"]))
    partial = draw(st.sampled_from(["started", "started", "half", "completed"]))
    tolerance = draw(st.sampled_from([0, 0, 5])) if partial == "started" else 0
    ladder = draw(st.sampled_from(["all", "all", "charged"]))
    doc += ["[rules]", f"grace = {grace}", f"free_first = {free}",
            f"unit_boundary = \"{boundary}\"", f"partial_unit = \"{partial}\"",
            f"partial_tolerance = {tolerance}"]
    step = draw(st.sampled_from([1, 1, 5, 10, 50]))
    if step > 1:
        mode = draw(st.sampled_from(["half-up", "half-even", "half-down", "up", "down"]))
        doc += ["[rounding]", f"step = {_money(step)}", f"mode = \"{mode}\""]
    day_from = draw(st.integers(5, 10)) * 60 + draw(st.sampled_from([0, 30]))
    day_to = draw(st.integers(16, 22)) * 60 + draw(st.sampled_from([0, 30]))
    def t(m: int) -> str:
        return f"\"{m // 60:02d}:{m % 60:02d}\""

    windows: list[tuple[str, str]] = []
    if layout == "daynight":
        windows = [("day", f"from = {t(day_from)}\nto = {t(day_to)}\ndays = [\"all\"]"),
                   ("night", f"from = {t(day_to)}\nto = {t(day_from)}\ndays = [\"all\"]")]
    elif layout == "weekend":
        windows = [
            ("day", f"from = {t(day_from)}\nto = {t(day_to)}\ndays = [\"weekdays\"]"),
            ("night", f"from = {t(day_to)}\nto = {t(day_from)}\n"
                      "days = [\"mon\", \"tue\", \"wed\", \"thu\", \"sun\"]"),
            ("fri_evening", f"from = {t(day_to)}\nto = \"24:00\"\ndays = [\"fri\"]"),
            ("sat", "from = \"00:00\"\nto = \"24:00\"\ndays = [\"sat\"]"),
            ("sun", f"from = \"00:00\"\nto = {t(day_to)}\ndays = [\"sun\"]"),
        ]
    elif layout == "holidays":
        # every kind of day changes at day_from, so holidays fit anywhere
        doc += ["[calendar]", "holidays = [2026-03-04, 2026-03-09, 2026-03-29, 2026-10-23, "
                "2026-10-25, 2026-11-02]", "holidays_as = \"sun\""]
        windows = [
            ("day", f"from = {t(day_from)}\nto = {t(day_to)}\ndays = [\"weekdays\"]"),
            ("night", f"from = {t(day_to)}\nto = {t(day_from)}\ndays = [\"weekdays\"]"),
            ("weekend", f"from = {t(day_from)}\nto = {t(day_from)}\ndays = [\"weekend\"]"),
        ]
    elif layout == "wholedays":
        doc += ["[calendar]", "holidays = [2026-03-04, 2026-03-29, 2026-10-25, 2026-11-03]",
                "holidays_as = \"sun\""]
        windows = [("weekday", "days = [\"weekdays\"]"), ("weekend", "days = [\"weekend\"]")]
    for name, body in windows:
        doc += [f"[windows.{name}]", body]
    tops: list[int] = []
    names = [n for n, _ in windows] or ["all"]
    rate_bodies = []
    for name in names:
        body, top = draw(rate_text(allow_free=len(names) > 1))
        tops.append(top)
        rate_bodies.append((name, body))
    top = max(tops)
    if draw(st.integers(0, 4)) == 0:
        included = draw(st.booleans())
        doc += ["[tax]", f"included = {str(included).lower()}",
                f"rates.vat.percent = \"{draw(st.sampled_from(['19', '8.875', '7', '0']))}\""]
    doc.append("[classes.car]")
    if ladder == "charged" and any(b == "free = true" for _, b in rate_bodies):
        doc.append("rules.ladder_time = \"charged\"")
    caps = []
    for cap in ("per_calendar_day", "per_24h", "per_stay"):
        if draw(st.integers(0, 2)) == 0:
            caps.append(f"caps.{cap} = {_money(top + draw(st.integers(0, 3000)))}")
    periods = []
    for _ in range(draw(st.sampled_from([0, 0, 1, 2]))):
        every = draw(st.sampled_from(["90min", "12h", "1d", "2d", "7d"]))
        wall = every in ("1d", "2d", "7d") and draw(st.booleans())
        once = draw(st.integers(0, 3)) == 0
        periods.append(f"{{ every = \"{every}\", max = {_money(top + draw(st.integers(0, 3000)))}"
                       + (", clock = \"wall\"" if wall else "")
                       + (", once = true" if once else "") + " }")
    if periods:
        caps.append("caps.periods = [" + ", ".join(periods) + "]")
    doc += caps
    for name, body in rate_bodies:
        doc += [f"[classes.car.rates.{name}]" if windows else "[classes.car.rate]", body]
    if offers:
        for i in range(draw(st.integers(0, 2))):
            doc += ["[[classes.car.offers]]", f"id = \"o{i}\"",
                    f"price = {_money(draw(st.integers(0, 3000)))}"]
            opens = draw(st.integers(5, 20))
            if draw(st.booleans()):
                doc.append(f"enter_from = {t(opens * 60)}")
            if draw(st.booleans()):
                doc.append(f"enter_until = {t((opens + draw(st.integers(1, 12))) % 24 * 60)}")
            if draw(st.booleans()):
                doc.append(f"leave_by = {t(draw(st.integers(5, 23)) * 60)}")
            else:
                doc.append(f"max_duration = \"{draw(st.integers(1, 24))}h\"")
    return "\n".join(doc) + "\n"


# Stays start in 2026, with extra weight on the DST changes of the zones above.
_DST = [datetime(2026, 3, 8, 6, 0, tzinfo=UTC),   # New York spring
        datetime(2026, 3, 29, 0, 0, tzinfo=UTC),  # Berlin spring
        datetime(2026, 10, 25, 0, 0, tzinfo=UTC),  # Berlin autumn
        datetime(2026, 11, 1, 5, 0, tzinfo=UTC)]  # New York autumn


@st.composite
def stays(draw: st.DrawFn, max_minutes: int = 3 * 1440) -> tuple[datetime, datetime]:
    """(entry, exit) as aware UTC datetimes; durations favour the first hours."""
    if draw(st.booleans()):
        base = draw(st.sampled_from(_DST)) - timedelta(hours=draw(st.integers(0, 30)))
        entry = base + timedelta(minutes=draw(st.integers(0, 600)))
    else:
        entry = datetime(2026, 1, 1, tzinfo=UTC) + timedelta(
            minutes=draw(st.integers(0, 364 * 1440)))
    length = draw(st.one_of(st.integers(0, 240), st.integers(0, max_minutes)))
    # seconds on both ends: they are dropped, so 10:00:59-11:00:00 is 60 minutes
    entry = entry + timedelta(seconds=draw(st.integers(0, 59)))
    exit_ = entry.replace(second=0) + timedelta(minutes=length, seconds=draw(st.integers(0, 59)))
    return entry, max(entry, exit_)
