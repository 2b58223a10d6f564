"""The shift (Z) report on screen: payments, the drawer, overrides, manual gate opens,
receipts and unpaid exits of one shift.

The screen never touches the database: it is given a `fetch` callable that builds the
report, and runs it in a worker thread. Printing and exporting are callables too, also
run in workers (they talk to a printer or write files).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Callable, ClassVar

from rich.console import Group, RenderableType
from rich.table import Table
from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import BindingType
from textual.containers import VerticalScroll
from textual.message import Message
from textual.screen import Screen
from textual.widgets import Header, Static

from console import formats
from console.domain.money import Money
from console.i18n import _
from console.reports.model import ShiftReport
from console.ui.actions import bindings_for
from console.ui.widgets.key_hints import KeyHints


def _signed(amount: Money) -> str:
    return f"+{amount}" if amount.minor > 0 else str(amount)


def _table(title: str, *columns: str, right: tuple[int, ...] = ()) -> Table:
    table = Table(title=title, title_justify="left", title_style="bold", show_edge=False, pad_edge=False, min_width=60)
    for index, name in enumerate(columns):
        table.add_column(name, justify="right" if index in right else "left", no_wrap=index in right)
    return table


def render_shift_report(report: ShiftReport, *, error_color: str = "red") -> list[tuple[str, RenderableType]]:
    """The report as (section id, renderable) pairs, in reading order; a cash difference
    in `error_color` (the theme's error colour, given by the screen)."""
    r = report
    c = r.cash
    head = Text()
    head.append(f"{r.site_name}  " if r.site_name else "", style="bold")
    head.append(r.title, style="bold reverse" if not r.is_final else "bold")
    head.append("\n" + _("Booth {booth} · attendant {name}").format(booth=r.booth_id, name=r.attendant) + f" · {formats.date_time(r.local(r.opened_at))} – ")
    head.append(formats.date_time(r.local(r.window_end)) + ("" if r.is_final else " " + _("(now)")))
    if r.closed_by:
        head.append(" · " + _("closed by {name}").format(name=r.closed_by))
    head.append("\n" + _("Shift {shift} · times in {zone}").format(shift=r.shift_id, zone=r.tz_name), style="dim")
    if r.anchor_text:
        head.append("\n" + _("Audit head {anchor}").format(anchor=r.anchor_text), style="dim")

    pay = _table(_("Payments"), _("Method"), _("Count"), _("Amount"), right=(1, 2))
    for line in r.payments:
        pay.add_row(line.label, str(line.count), str(line.amount))
    for line in r.other_currency_payments:
        pay.add_row(f"{line.label} ({line.amount.currency})", str(line.count), str(line.amount))
    pay.add_row(Text(_("Total"), style="bold"), Text(str(r.payment_count), style="bold"), Text(str(r.payments_total), style="bold"))

    drawer = _table(_("Cash drawer"), "", _("Count"), _("Amount"), right=(1, 2))
    drawer.add_row(_("Opening float"), "", str(c.opening_float))
    drawer.add_row(_("Cash payments"), str(c.cash_payment_count), _signed(c.cash_payments))
    drawer.add_row(Text("  " + _("handed over by drivers"), style="dim"), "", Text(str(c.tendered), style="dim"))
    drawer.add_row(Text("  " + _("change given back"), style="dim"), "", Text(str(-c.change_given), style="dim"))
    for movement in c.movements:
        drawer.add_row(movement.label, str(movement.count), _signed(movement.amount))
    drawer.add_row(Text(_("Expected in drawer"), style="bold"), "", Text(str(c.expected), style="bold"))
    drawer.add_row(_("Counted"), "", str(c.counted) if c.counted is not None else _("not counted"))
    if c.difference is not None:
        style = "bold" if c.difference.is_zero else f"bold {error_color}"
        drawer.add_row(Text(_("Difference"), style=style), "", Text(_signed(c.difference), style=style))
    verdict = Text(c.verdict, style="bold" if c.difference is None or c.difference.is_zero else f"bold {error_color}")
    notes = [Text(f"• {note}", style="italic") for note in c.notes]
    cash = Group(drawer, verdict, *notes)

    visits = _table(_("Vehicles in the shift's time"), "", _("Count"), right=(1,))
    visits.add_row(_("Entries"), str(r.visits.entries))
    visits.add_row(_("Exits"), str(r.visits.exits))
    for reason, count in r.visits.exits_by_reason:
        visits.add_row(Text(f"  {reason}", style="dim"), str(count))

    overrides = _table(_("Overrides and waivers ({count}) · lost tickets {lost}").format(count=len(r.overrides), lost=len(r.lost_tickets)),
                       _("Time"), _("Kind"), _("Plate"), _("Quoted"), _("New"), _("Reason"), _("By"), right=(3, 4))
    for o in r.overrides:
        who = o.actor + (f" / {o.approved_by}" if o.approved_by else "")
        overrides.add_row(formats.clock(r.local(o.at)), o.label, o.plate, str(o.quoted), str(o.new), o.reason, who)

    gates = _table(_("Gate opened without payment ({count})").format(count=len(r.gate_opens)), _("Time"), _("Lane"), _("Reason"), _("Note"), _("Plate"), _("By"))
    for g in r.gate_opens:
        gates.add_row(formats.clock(r.local(g.at)), g.lane, g.reason, g.note, g.plate or "", g.actor)

    receipts = _table(_("Receipts"), _("Kind"), _("Count"), _("Printed"), _("Numbers"), right=(1, 2))
    for x in r.receipts:
        numbers = f"{x.first_number}–{x.last_number}" if x.first_number is not None else ""
        receipts.add_row(x.label, str(x.count), str(x.printed), numbers)

    debts = _table(_("Unpaid exits ({count}) · owed {total}").format(count=len(r.debts), total=r.debts_total), _("Time"), _("Plate"), _("Amount"),
                   _("Reason"), _("By"), _("Settled"), right=(2,))
    for d in r.debts:
        debts.add_row(formats.clock(r.local(d.at)), d.plate, str(d.amount), d.reason, d.actor, _("yes") if d.settled_at else "")

    sections: list[tuple[str, RenderableType]] = [
        ("head", head), ("payments", pay), ("cash", cash), ("visits", visits), ("overrides", overrides),
        ("gates", gates), ("receipts", receipts), ("debts", debts),
    ]
    if r.adjustments:
        adjust = _table(_("Occupancy corrections ({count})").format(count=len(r.adjustments)), _("Time"), _("Zone"), _("Change"), _("Reason"), _("By"), right=(2,))
        for a in r.adjustments:
            adjust.add_row(formats.clock(r.local(a.at)), a.zone, f"{a.delta:+d}", a.reason, a.actor)
        sections.append(("adjustments", adjust))
    if r.note:
        sections.append(("note", Text(_("Note: {note}").format(note=r.note))))
    return sections


class ShiftReportScreen(Screen[None]):
    """One shift's report. Esc goes back; R reloads; P prints; E exports CSV and PDF."""

    BINDINGS: ClassVar[list[BindingType]] = bindings_for("shift-report")

    DEFAULT_CSS = """
    ShiftReportScreen #report { padding: 0 2; }
    ShiftReportScreen #report > Static { margin: 0 0 1 0; height: auto; }
    ShiftReportScreen #message { height: auto; min-height: 1; padding: 0 2; color: $text-muted; }
    ShiftReportScreen #message.-error { color: $error; text-style: bold; }
    """

    @dataclass
    class Loaded(Message):
        report: ShiftReport

    @dataclass
    class Failed(Message):
        error: str

    @dataclass
    class Done(Message):
        text: str
        ok: bool

    def __init__(
        self,
        fetch: Callable[[], ShiftReport],
        *,
        on_print: Callable[[ShiftReport], object] | None = None,
        export_dir: Path | None = None,
    ) -> None:
        """`fetch` builds the report (called in a worker thread); `on_print` sends it to
        the printer (also in a worker; raise to report a failure); with `export_dir`, E
        writes `shift-<id>.csv` and `.pdf` there."""
        super().__init__(id="shift-report")
        self.fetch = fetch
        self.on_print = on_print
        self.export_dir = export_dir
        self.report: ShiftReport | None = None

    def compose(self) -> ComposeResult:
        yield Header()
        yield Static(_("Building the report…"), id="message")
        yield VerticalScroll(id="report")
        yield KeyHints("shift-report")

    def on_mount(self) -> None:
        self.load()

    def _say(self, text: str, *, error: bool = False) -> None:
        message = self.query_one("#message", Static)
        message.update(text)
        message.set_class(error, "-error")

    @work(thread=True, exclusive=True, group="shift-report", exit_on_error=False)
    def load(self) -> None:
        try:
            report = self.fetch()
        except Exception as exc:  # a database or report error: show it, keep the screen
            self.post_message(self.Failed(str(exc) or type(exc).__name__))
            return
        self.post_message(self.Loaded(report))

    @on(Loaded)
    async def show(self, message: Loaded) -> None:
        self.report = message.report
        body = self.query_one("#report", VerticalScroll)
        await body.remove_children()
        await body.mount_all([Static(renderable, id=f"section-{name}") for name, renderable in render_shift_report(message.report, error_color=self.app.current_theme.error or "red")])
        r = message.report
        self._say(_("{title} · built {time}").format(title=r.title, time=formats.clock(r.local(r.generated_at), seconds=True)))
        body.focus()

    @on(Failed)
    def failed(self, message: Failed) -> None:
        self._say(_("The report could not be built: {error}").format(error=message.error), error=True)

    @on(Done)
    def done(self, message: Done) -> None:
        self._say(message.text, error=not message.ok)
        self.notify(message.text, severity="information" if message.ok else "error")

    def action_back(self) -> None:
        self.dismiss(None)

    def action_reload(self) -> None:
        self._say(_("Building the report…"))
        self.load()

    def action_print(self) -> None:
        if self.report is None or self.on_print is None:
            self._say(_("Printing is not available here.") if self.on_print is None else _("Wait for the report first."), error=True)
            return
        self._say(_("Printing…"))
        self._print(self.report)

    @work(thread=True, exclusive=True, group="shift-report-print", exit_on_error=False)
    def _print(self, report: ShiftReport) -> None:
        assert self.on_print is not None
        try:
            self.on_print(report)
        except Exception as exc:  # printer offline, paper out: say so, the report stays
            self.post_message(self.Done(_("Not printed: {error}").format(error=exc), False))
            return
        self.post_message(self.Done(_("Sent to the printer."), True))

    def action_export(self) -> None:
        if self.report is None or self.export_dir is None:
            self._say(_("Exporting is not available here.") if self.export_dir is None else _("Wait for the report first."), error=True)
            return
        self._say(_("Exporting…"))
        self._export(self.report, self.export_dir)

    @work(thread=True, exclusive=True, group="shift-report-export", exit_on_error=False)
    def _export(self, report: ShiftReport, folder: Path) -> None:
        from console.reports.export import shift_report_csv, shift_report_pdf

        try:
            folder.mkdir(parents=True, exist_ok=True)
            stem = folder / f"shift-{report.shift_id}"
            stem.with_suffix(".csv").write_text(shift_report_csv(report), encoding="utf-8", newline="")
            pdf = shift_report_pdf(report)
            stem.with_suffix(".pdf").write_bytes(pdf.data)
        except (OSError, RuntimeError) as exc:
            self.post_message(self.Done(_("Not exported: {error}").format(error=exc), False))
            return
        note = " " + _("({count} characters without a font shown as ?)").format(count=len(pdf.replaced)) if pdf.replaced else ""
        self.post_message(self.Done(_("Written {stem}.csv and .pdf").format(stem=stem) + note, True))
