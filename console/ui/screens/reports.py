"""The manager's reports: revenue by hour and by day, occupancy over the day, how long
vehicles stay, and overrides by attendant, drawn as terminal charts for a date range.

Keyboard first: type the first and last day (Enter moves on, Enter on the last day shows
the report), or press F5 / F6 / F7 for today, the last 7 or the last 30 days; Tab reaches
the chart tabs, where ←/→ switch charts. The screen gets a `fetch(start, end)` callable and
runs it in a worker thread, so the database is never read on the UI thread.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from typing import Callable, ClassVar

from rich.console import Group
from rich.table import Table
from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import BindingType
from textual.containers import Horizontal, Vertical
from textual.content import Content
from textual.message import Message
from textual.screen import Screen
from textual.widgets import Header, Input, Label, Static, TabbedContent, TabPane
from textual_plotext import PlotextPlot

from console import formats
from console.domain.money import Money, currency_exponent
from console.i18n import N_, _
from console.reports.model import OVERRIDE_LABELS, ManagerReport, label
from console.reports.queries import MAX_RANGE_DAYS
from console.ui.actions import bindings_for
from console.ui.widgets.key_hints import KeyHints


class RangeError(ValueError):
    """A date range the report cannot cover, with a message for the manager."""


def parse_range(start_text: str, end_text: str) -> tuple[date, date]:
    """Two typed days (YYYY-MM-DD) as a range; RangeError says what is wrong."""
    days: list[date] = []
    for text, name in ((start_text, _("From")), (end_text, _("To"))):
        try:
            days.append(date.fromisoformat(text.strip()))
        except ValueError:
            raise RangeError(_("{field}: {text} is not a day; use YYYY-MM-DD").format(field=name, text=text.strip() or _("(empty)"))) from None
    start, end = days
    if end < start:
        raise RangeError(_("To is before From"))
    if (end - start).days + 1 > MAX_RANGE_DAYS:
        raise RangeError(_("At most {days} days at a time").format(days=MAX_RANGE_DAYS))
    return start, end


def _units(amount: Money) -> float:
    """Money as a number for a chart's axis only: charts need floats, figures stay Money."""
    return float(Decimal(amount.minor).scaleb(-currency_exponent(amount.currency)))


class ManagerReportsScreen(Screen[None]):
    """Charts over a date range; Esc goes back."""

    BINDINGS: ClassVar[list[BindingType]] = bindings_for("manager-reports")

    DEFAULT_CSS = """
    ManagerReportsScreen #range { height: auto; padding: 0 1; }
    ManagerReportsScreen #range Label { padding: 1 1 0 1; }
    ManagerReportsScreen #range Input { width: 18; }
    ManagerReportsScreen #range-error { padding: 1 2 0 2; color: $error; text-style: bold; }
    ManagerReportsScreen #summary { height: auto; padding: 0 2; }
    ManagerReportsScreen TabbedContent { height: 1fr; }
    ManagerReportsScreen PlotextPlot { height: 1fr; min-height: 10; }
    ManagerReportsScreen #override-table { height: auto; max-height: 12; padding: 0 1; }
    """

    @dataclass
    class Loaded(Message):
        request: int
        report: ManagerReport

    @dataclass
    class Failed(Message):
        request: int
        error: str

    def __init__(self, fetch: Callable[[date, date], ManagerReport], *, today: date, days: int = 7) -> None:
        """`fetch(start, end)` builds the report (in a worker thread); `today` is the site's
        local date; the first report covers the last `days` days."""
        super().__init__(id="manager-reports")
        self.fetch = fetch
        self.today = today
        self.initial_days = max(1, days)
        self.report: ManagerReport | None = None
        self._request = 0

    def compose(self) -> ComposeResult:
        yield Header()
        with Horizontal(id="range"):
            yield Label(_("From"))
            yield Input(value=(self.today - timedelta(days=self.initial_days - 1)).isoformat(), placeholder="YYYY-MM-DD",
                        id="start", max_length=10)
            yield Label(_("To"))
            yield Input(value=self.today.isoformat(), placeholder="YYYY-MM-DD", id="end", max_length=10)
            yield Label("", id="range-error")
        yield Static("", id="summary")
        with TabbedContent(id="charts", initial="tab-hour"):
            with TabPane(_("Revenue by hour"), id="tab-hour"):
                yield PlotextPlot(id="revenue-hour")
            with TabPane(_("Revenue by day"), id="tab-day"):
                yield PlotextPlot(id="revenue-day")
            with TabPane(_("Occupancy"), id="tab-occupancy"):
                yield PlotextPlot(id="occupancy")
            with TabPane(_("Stays"), id="tab-dwell"):
                yield PlotextPlot(id="dwell")
            with TabPane(_("Overrides"), id="tab-overrides"):
                with Vertical():
                    yield PlotextPlot(id="overrides")
                    yield Static("", id="override-table")
            with TabPane(_("Charging"), id="tab-charging"):
                with Vertical():
                    yield PlotextPlot(id="charging")
                    yield Static("", id="charging-table")
        yield KeyHints("manager-reports", [(N_("Enter"), N_("next field / show"))])

    def on_mount(self) -> None:
        self.query_one("#start", Input).focus()
        self.submit()

    # -- the range ------------------------------------------------------------------------
    @on(Input.Submitted, "#start")
    def next_field(self) -> None:
        self.query_one("#end", Input).focus()

    @on(Input.Submitted, "#end")
    def submit(self) -> None:
        error = self.query_one("#range-error", Label)
        try:
            start, end = parse_range(self.query_one("#start", Input).value, self.query_one("#end", Input).value)
        except RangeError as exc:
            error.update(str(exc))
            return
        error.update("")
        self._request += 1
        self.query_one("#summary", Static).update(Text(_("Building {start} – {end}…").format(start=start, end=end), style="dim"))
        self.load(self._request, start, end)

    def action_preset(self, days: int) -> None:
        self.query_one("#start", Input).value = (self.today - timedelta(days=days - 1)).isoformat()
        self.query_one("#end", Input).value = self.today.isoformat()
        self.submit()

    def action_back(self) -> None:
        self.dismiss(None)

    # -- loading ---------------------------------------------------------------------------
    @work(thread=True, exclusive=True, group="manager-report", exit_on_error=False)
    def load(self, request: int, start: date, end: date) -> None:
        try:
            report = self.fetch(start, end)
        except Exception as exc:  # a database error: show it, keep the screen usable
            self.post_message(self.Failed(request, str(exc) or type(exc).__name__))
            return
        self.post_message(self.Loaded(request, report))

    @on(Failed)
    def failed(self, message: Failed) -> None:
        if message.request == self._request:
            self.query_one("#summary", Static).update(Content.styled(_("The report could not be built: {error}").format(error=message.error), "bold $error"))

    @on(Loaded)
    def show(self, message: Loaded) -> None:
        if message.request != self._request:
            return  # an older range finished after a newer one was asked for
        self.report = m = message.report
        average = formats.duration(m.dwell_average) if m.dwell_average is not None else "-"
        methods = " · ".join(f"{x.label} {x.amount}" for x in m.methods) or _("no payments")
        summary = Text()
        summary.append(f"{formats.day(m.start)} – {formats.day(m.end)}  ", style="bold")
        summary.append(_("Revenue {total} ({count} payments: {methods})").format(total=m.revenue_total, count=m.payment_count, methods=methods) + "\n")
        summary.append(_("{entries} entries · {exits} exits · average stay {average} · times in {zone}").format(entries=m.entries, exits=m.exits, average=average, zone=m.tz_name))
        self.query_one("#summary", Static).update(summary)
        self._draw(m)

    def _draw(self, m: ManagerReport) -> None:
        currency = m.currency
        hour = self.query_one("#revenue-hour", PlotextPlot)
        plt = hour.plt
        plt.clear_data()
        plt.clear_figure()
        plt.bar([f"{h.hour:02d}" for h in m.revenue_by_hour], [_units(h.amount) for h in m.revenue_by_hour])
        plt.title(_("Revenue by hour of day ({currency}, local time)").format(currency=currency))
        hour.refresh()

        day = self.query_one("#revenue-day", PlotextPlot)
        plt = day.plt
        plt.clear_data()
        plt.clear_figure()
        labels = [formats.day_month(d.day) for d in m.days]
        plt.bar(labels, [_units(d.revenue) for d in m.days])
        plt.title(_("Revenue by day ({currency})").format(currency=currency))
        day.refresh()

        occupancy = self.query_one("#occupancy", PlotextPlot)
        plt = occupancy.plt
        plt.clear_data()
        plt.clear_figure()
        hours = [o.hour for o in m.occupancy_by_hour]
        plt.plot(hours, [o.average for o in m.occupancy_by_hour], label=_("average"))
        plt.plot(hours, [o.peak for o in m.occupancy_by_hour], label=_("highest"))
        plt.xticks(list(range(0, 24, 2)))
        plt.title(_("Vehicles inside at each full hour"))
        occupancy.refresh()

        dwell = self.query_one("#dwell", PlotextPlot)
        plt = dwell.plt
        plt.clear_data()
        plt.clear_figure()
        plt.bar([b.label for b in m.dwell], [b.count for b in m.dwell])
        plt.title(_("Stays of vehicles that left ({count})").format(count=m.dwell_count))
        dwell.refresh()

        overrides = self.query_one("#overrides", PlotextPlot)
        plt = overrides.plt
        plt.clear_data()
        plt.clear_figure()
        people = m.overrides_by_attendant
        if people:
            plt.bar([a.actor for a in people], [a.count for a in people])
            plt.title(_("Overrides by attendant"))
        else:
            plt.title(_("No overrides in this period"))
        overrides.refresh()
        table = Table(expand=True, show_edge=False, pad_edge=False)
        table.add_column(_("Attendant"))
        table.add_column(_("Overrides"), justify="right")
        table.add_column(_("Taken off fees"), justify="right")
        table.add_column(_("Kinds"))
        for a in people:
            kinds = ", ".join(f"{label(OVERRIDE_LABELS, k)} {n}" for k, n in a.by_kind)
            table.add_row(a.actor, str(a.count), str(a.forgone), kinds)
        self.query_one("#override-table", Static).update(table if people else "")

        charging = self.query_one("#charging", PlotextPlot)
        plt = charging.plt
        plt.clear_data()
        plt.clear_figure()
        usage = m.charging
        if usage.sessions:
            plt.bar([f"{h:02d}" for h in range(24)], [wh / 1000 for wh in usage.energy_by_hour])
            plt.title(_("Charging energy by hour of day (kWh, local time; {count} sessions)").format(count=usage.sessions))
        else:
            plt.title(_("No charging sessions in this period"))
        charging.refresh()
        by_franchise = Table(expand=True, show_edge=False, pad_edge=False)
        by_franchise.add_column(_("Franchise"))
        by_franchise.add_column(_("Sessions"), justify="right")
        by_franchise.add_column(_("Energy (kWh)"), justify="right")
        by_franchise.add_column(_("Fees"), justify="right")
        for f in usage.franchises:
            by_franchise.add_row(f.franchise, str(f.sessions), f"{f.energy_wh / 1000:.1f}", str(f.fees))
        # Within each franchise: per user, pile and region (as `booth report manager`).
        details = Table(expand=True, show_edge=False, pad_edge=False)
        for title, justify in ((_("Grouped by"), "left"), (_("Franchise"), "left"), (_("Who / where"), "left"), (_("Sessions"), "right"),
                               (_("Energy (kWh)"), "right"), (_("Fees"), "right")):
            details.add_column(title, justify=justify)  # type: ignore[arg-type]
        for label_text, rows in ((_("user"), usage.by_user), (_("pile"), usage.by_pile), (_("region"), usage.by_region)):
            for r in rows:
                details.add_row(label_text, r.franchise, r.key, str(r.sessions), f"{r.energy_wh / 1000:.1f}", str(r.fees))
        self.query_one("#charging-table", Static).update(Group(by_franchise, details) if usage.franchises else "")
