"""Charging piles: ports with live state and running figures, faults with their
maintenance records, and energy by hour of day.

Data comes through callables (the site's charging service), read in thread workers; the
screen refreshes twice a second and at once when `fault_arrived` is called for a new fault.
The attendant starts a session from a card id or a pasted QR text (`s`) and stops the
selected port's running session (`x`); refusals are shown on the screen.
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
        Binding("s", "start", "Start session", id="charging.start", tooltip="Start charging: pile, port and card, or a pasted QR code"),
        Binding("x", "stop", "Stop session", id="charging.stop", tooltip="Stop the selected port's running session and settle it"),
    ]
    DEFAULT_CSS = """
    ChargingScreen #ports { height: 2fr; }
    ChargingScreen #lower { height: 1fr; }
    ChargingScreen #faults { width: 1fr; }
    ChargingScreen PlotextPlot { width: 1fr; }
    ChargingScreen #note { display: none; }
    ChargingScreen #note.open { display: block; }
    ChargingScreen #start { display: none; }
    ChargingScreen #start.open { display: block; }
    """

    def __init__(self, ports: Callable[[], Sequence[object]], faults: Callable[[], Sequence[object]],
                 usage_by_hour: Callable[[], list[int]], close_maintenance: Callable[[str, str], None], *,
                 start_session: Callable[[str, int, str], object] | None = None,
                 scan_qr: Callable[[str], object] | None = None,
                 stop_session: Callable[[str], object] | None = None) -> None:
        """`start_session(pile, port, card)`, `scan_qr(text)` and `stop_session(session_id)`
        are the charging service's commands; each may raise ChargingError with a message."""
        super().__init__(id="charging")
        self._start_cmd = start_session
        self._scan_cmd = scan_qr
        self._stop_cmd = stop_session
        self._port_sessions: list[str | None] = []
        self._port_keys: list[str] = []
        self._port_columns: list[object] = []
        self._ports = ports
        self._faults = faults
        self._usage = usage_by_hour
        self._close = close_maintenance
        self._fault_ids: list[str] = []

    def compose(self) -> ComposeResult:
        with Vertical():
            yield DataTable(id="ports", cursor_type="row", zebra_stripes=True)
            yield Input(placeholder="pile port card (e.g. E1 2 C-1234) or paste a QR code; Enter starts", id="start")
            with Horizontal(id="lower"):
                with Vertical(id="faults"):
                    yield DataTable(id="fault-table", cursor_type="row")
                    yield Input(placeholder="what was done (Enter closes the maintenance record)", id="note")
                    yield Label("", id="message")
                yield PlotextPlot(id="hours")
        yield Footer()

    def on_mount(self) -> None:
        self._port_columns = list(self.query_one("#ports", DataTable).add_columns(
            "pile", "port", "state", "current A", "session", "energy Wh", "time", "fee", "fault"))
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
        rows = []
        for p in ports:
            state = "offline" if not p.online else ("charging" if p.session_id else ("plugged" if p.plugged else "free"))
            rows.append((p.pile_id, str(p.port), state, f"{p.current_ma / 1000:.1f}", (p.session_id or "")[-6:],
                         str(p.energy_wh) if p.session_id else "", f"{p.elapsed_s // 60}:{p.elapsed_s % 60:02d}" if p.session_id else "",
                         str(p.fee) if p.fee is not None else "", p.fault))
        keys = [f"{p.pile_id}/{p.port}" for p in ports]
        self._port_sessions = [p.session_id for p in ports]
        if keys == self._port_keys:
            # Same ports: update in place so the attendant's selection stays where it is.
            for key, row in zip(keys, rows):
                for column, value in zip(self._port_columns, row):
                    table.update_cell(key, column, value)  # type: ignore[arg-type]
        else:
            selected = table.cursor_row
            table.clear()
            for key, row in zip(keys, rows):
                table.add_row(*row, key=key)
            self._port_keys = keys
            if rows:
                table.move_cursor(row=min(max(selected, 0), len(rows) - 1), animate=False)
        ft = self.query_one("#fault-table", DataTable)
        selected = ft.cursor_row
        ft.clear()
        self._fault_ids = [f.id for f in faults]
        for f in faults:
            ft.add_row(f.raised_at.strftime("%H:%M:%S"), f.pile_id, str(f.port or ""), f.code, f.detail, f.state if not f.note else f"closed: {f.note}")
        if faults:
            ft.move_cursor(row=min(max(selected, 0), len(faults) - 1), animate=False)
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

    # -- starting and stopping sessions ------------------------------------------------------
    def _say(self, message: str) -> None:
        self.query_one("#message", Label).update(message)

    def action_start(self) -> None:
        if self._start_cmd is None and self._scan_cmd is None:
            self._say("starting sessions is not available here")
            return
        box = self.query_one("#start", Input)
        box.add_class("open")
        box.focus()

    @on(Input.Submitted, "#start")
    def _submit_start(self, event: Input.Submitted) -> None:
        text = event.value.strip()
        if not text:
            self._say("type pile, port and card (e.g. E1 2 C-1234) or paste a QR code")
            return
        self._run_start(text)

    @work(thread=True, exit_on_error=False)
    def _run_start(self, text: str) -> None:
        try:
            message = self._start_from(text)
            done = True
        except ChargingError as exc:
            message, done = f"not started: {exc}", False
        except Exception as exc:  # noqa: BLE001 - a failing device or store must not close the screen
            message, done = f"not started: {type(exc).__name__}: {exc}", False
        self.app.call_from_thread(self._started, message, done)

    def _start_from(self, text: str) -> str:
        """Run the start the attendant typed; the message to show. Raises ChargingError."""
        if text.startswith("booth-charge:"):
            if self._scan_cmd is None:
                raise ChargingError("QR starts are not available here")
            rec = self._scan_cmd(text)
        else:
            parts = text.split()
            if len(parts) != 3:
                raise ChargingError("type pile, port and card separated by spaces (e.g. E1 2 C-1234), or paste a QR code")
            pile, port_text, card = parts
            if not port_text.isdigit():
                raise ChargingError(f"port {port_text!r} is not a number")
            if self._start_cmd is None:
                raise ChargingError("card starts are not available here")
            rec = self._start_cmd(pile, int(port_text), card)
        where = f"{getattr(rec, 'pile_id', '')} port {getattr(rec, 'port', '')}".strip()
        return f"charging started at {where}" if where != "port" else "charging started"

    def _started(self, message: str, done: bool) -> None:
        self._say(message)
        if done:
            box = self.query_one("#start", Input)
            box.value = ""
            box.remove_class("open")
            self.query_one("#ports", DataTable).focus()
        self.refresh_data()

    def action_stop(self) -> None:
        if self._stop_cmd is None:
            self._say("stopping sessions is not available here")
            return
        row = self.query_one("#ports", DataTable).cursor_row
        session = self._port_sessions[row] if 0 <= row < len(self._port_sessions) else None
        if session is None:
            self._say("the selected port has no running session")
            return
        self._run_stop(session)

    @work(thread=True, exit_on_error=False)
    def _run_stop(self, session_id: str) -> None:
        try:
            settled = self._stop_cmd(session_id)  # type: ignore[misc]
            bill = getattr(settled, "bill", None)
            refund = getattr(settled, "refund", None)
            message = f"session stopped: bill {bill}" + (f", refund {refund}" if refund is not None and not refund.is_zero else "")
        except ChargingError as exc:
            message = f"not stopped: {exc}"
        except Exception as exc:  # noqa: BLE001 - a failing device or store must not close the screen
            message = f"not stopped: {type(exc).__name__}: {exc}"
        self.app.call_from_thread(self._stopped, message)

    def _stopped(self, message: str) -> None:
        self._say(message)
        self.refresh_data()
