"""Charging piles: ports with live state and running figures, faults with their
maintenance records, and energy by hour of day.

Data comes through callables (the site's charging service), read in thread workers; the
screen refreshes twice a second and at once when `fault_arrived` is called for a new fault.
"""

from __future__ import annotations

from typing import Callable, Sequence

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import Screen
from textual.widgets import DataTable, Footer, Input, Label
from textual_plotext import PlotextPlot

from console.domain.charging import ChargingError


class ChargingScreen(Screen[None]):
    """Piles and ports, faults, and the usage-by-hour chart."""

    BINDINGS = [
        Binding("escape", "app.pop_screen", "Back", id="charging.back"),
        Binding("n", "note", "Close record with note", id="charging.note", tooltip="Close the selected fault's maintenance record"),
    ]
    DEFAULT_CSS = """
    ChargingScreen #ports { height: 2fr; }
    ChargingScreen #lower { height: 1fr; }
    ChargingScreen #faults { width: 1fr; }
    ChargingScreen PlotextPlot { width: 1fr; }
    ChargingScreen #note { display: none; }
    ChargingScreen #note.open { display: block; }
    """

    def __init__(self, ports: Callable[[], Sequence[object]], faults: Callable[[], Sequence[object]],
                 usage_by_hour: Callable[[], list[int]], close_maintenance: Callable[[str, str], None]) -> None:
        super().__init__(id="charging")
        self._ports = ports
        self._faults = faults
        self._usage = usage_by_hour
        self._close = close_maintenance
        self._fault_ids: list[str] = []

    def compose(self) -> ComposeResult:
        with Vertical():
            yield DataTable(id="ports", cursor_type="row", zebra_stripes=True)
            with Horizontal(id="lower"):
                with Vertical(id="faults"):
                    yield DataTable(id="fault-table", cursor_type="row")
                    yield Input(placeholder="what was done (Enter closes the maintenance record)", id="note")
                    yield Label("", id="message")
                yield PlotextPlot(id="hours")
        yield Footer()

    def on_mount(self) -> None:
        self.query_one("#ports", DataTable).add_columns("pile", "port", "state", "current A", "session", "energy Wh", "time", "fee", "fault")
        self.query_one("#fault-table", DataTable).add_columns("raised", "pile", "port", "code", "detail", "state")
        self.refresh_data()
        self.set_interval(0.5, self.refresh_data)

    def fault_arrived(self) -> None:
        """Called (via call_from_thread) when the service publishes a fault: show it now."""
        self.refresh_data()

    @work(thread=True, exclusive=True, group="charging-refresh", exit_on_error=False)
    def refresh_data(self) -> None:
        ports, faults, hours = list(self._ports()), list(self._faults()), self._usage()
        self.app.call_from_thread(self._show, ports, faults, hours)

    def _show(self, ports: list, faults: list, hours: list[int]) -> None:  # type: ignore[type-arg]
        table = self.query_one("#ports", DataTable)
        table.clear()
        for p in ports:
            state = "offline" if not p.online else ("charging" if p.session_id else ("plugged" if p.plugged else "free"))
            table.add_row(p.pile_id, str(p.port), state, f"{p.current_ma / 1000:.1f}", (p.session_id or "")[-6:],
                          str(p.energy_wh) if p.session_id else "", f"{p.elapsed_s // 60}:{p.elapsed_s % 60:02d}" if p.session_id else "",
                          str(p.fee) if p.fee is not None else "", p.fault)
        ft = self.query_one("#fault-table", DataTable)
        ft.clear()
        self._fault_ids = [f.id for f in faults]
        for f in faults:
            ft.add_row(f.raised_at.strftime("%H:%M:%S"), f.pile_id, str(f.port or ""), f.code, f.detail, f.state if not f.note else f"closed: {f.note}")
        plot = self.query_one(PlotextPlot)
        plot.plt.clear_data()
        plot.plt.bar(list(range(24)), [h / 1000 for h in hours])
        plot.plt.title("energy by hour of day (kWh)")
        plot.refresh()

    def action_note(self) -> None:
        box = self.query_one("#note", Input)
        box.add_class("open")
        box.focus()

    @on(Input.Submitted, "#note")
    def _submit_note(self, event: Input.Submitted) -> None:
        row = self.query_one("#fault-table", DataTable).cursor_row
        if not 0 <= row < len(self._fault_ids):
            self.query_one("#message", Label).update("select a fault first")
            return
        self._close_record(self._fault_ids[row], event.value)

    @work(thread=True, exit_on_error=False)
    def _close_record(self, fault_id: str, note: str) -> None:
        try:
            self._close(fault_id, note)
            message = "maintenance record closed"
        except ChargingError as exc:
            message = str(exc)
        self.app.call_from_thread(self._closed, message)

    def _closed(self, message: str) -> None:
        self.query_one("#message", Label).update(message)
        box = self.query_one("#note", Input)
        box.value = ""
        box.remove_class("open")
        self.refresh_data()
