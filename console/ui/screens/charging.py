"""Charging piles: ports with live state and running figures, faults with their
maintenance records, and energy by hour of day.

The screen is given the site's charging service. It reads everything once when shown,
then follows the service's events (routed to it by the app): a port's new figures update
its row at once, a fault or a closed maintenance record reloads the fault list, a closed
session reloads the chart. Nothing is polled. The attendant starts a session from a card
id or a pasted QR text (`s`) and stops the selected port's running session (`x`);
refusals are shown on the screen.
"""

from __future__ import annotations

from datetime import tzinfo
from typing import ClassVar, Protocol, Sequence

from textual import on, work
from textual.app import ComposeResult
from textual.binding import BindingType
from textual.containers import Horizontal, Vertical
from textual.screen import Screen
from textual.widgets import DataTable, Input, Label
from textual_plotext import PlotextPlot

from console import formats
from console.domain.charging import ChargingError
from console.i18n import N_, _
from console.site.events import (
    ChargerFault,
    MaintenanceClosed,
    PortView,
    SessionChanged,
    SessionClosed,
    SiteEvent,
)
from console.store.charging import FaultRecord, SessionRecord, Settlement
from console.ui.actions import bindings_for
from console.ui.widgets.key_hints import KeyHints


class ChargingCommands(Protocol):
    """What the screen asks of the charging service (`console.site.charging.ChargingService`)."""

    def ports(self) -> list[PortView]: ...

    def faults(self, open_only: bool = False) -> list[FaultRecord]: ...

    def usage_by_hour(self) -> list[int]: ...

    def close_maintenance(self, fault_id: str, note: str, actor: str) -> None: ...

    def start_session(self, *, pile_id: str, port: int, card_id: str | None = None) -> SessionRecord: ...

    def scan_qr(self, text: str) -> SessionRecord: ...

    def stop_session(self, session_id: str) -> Settlement: ...


FAULT_STATES = {"open": N_("open"), "closed": N_("closed")}


class ChargingScreen(Screen[None]):
    """Piles and ports, faults, and the usage-by-hour chart."""

    BINDINGS: ClassVar[list[BindingType]] = bindings_for("charging")
    SITE_EVENTS: ClassVar[tuple[type[SiteEvent], ...]] = (SessionChanged, SessionClosed, ChargerFault, MaintenanceClosed)
    DEFAULT_CSS = """
    ChargingScreen #ports { height: 2fr; }
    ChargingScreen #lower { height: 1fr; }
    ChargingScreen #faults { width: 1fr; }
    ChargingScreen PlotextPlot { width: 1fr; }
    ChargingScreen #note { display: none; }
    ChargingScreen #note.open { display: block; }
    ChargingScreen #start { display: none; }
    ChargingScreen #start.open { display: block; }
    ChargingScreen #cards { display: none; }
    ChargingScreen #cards.open { display: block; }
    """

    def __init__(self, service: ChargingCommands, *, attendant: str = "attendant", sessions: bool = True, tz: tzinfo | None = None) -> None:
        """`service` is the site's charging service; with `sessions` False the screen only
        shows and closes records (starting and stopping sessions is not offered). Times
        show in `tz`, the site's time zone (they are stored in UTC)."""
        super().__init__(id="charging")
        self.service = service
        self.tz = tz
        self.attendant = attendant
        self.sessions = sessions
        self._port_sessions: dict[str, str | None] = {}
        self._port_keys: list[str] = []
        self._port_columns: list[object] = []
        self._fault_ids: list[str] = []

    def compose(self) -> ComposeResult:
        with Vertical():
            yield DataTable(id="ports", cursor_type="row", zebra_stripes=True)
            yield Input(placeholder=_("pile port card (e.g. E1 2 C-1234) or paste a QR code; Enter starts"), id="start")
            yield Input(placeholder=_("bind QR ACCOUNT, block CARD REASON, top-up ACCOUNT AMOUNT, usage CARD, authorize CARD PILE, piles CARD"),
                        id="cards")
            with Horizontal(id="lower"):
                with Vertical(id="faults"):
                    yield DataTable(id="fault-table", cursor_type="row")
                    yield Input(placeholder=_("what was done (Enter closes the maintenance record)"), id="note")
                    yield Label("", id="message")
                yield PlotextPlot(id="hours")
        yield KeyHints("charging", [(N_("Enter"), N_("start / close the record"))])

    def on_mount(self) -> None:
        self._port_columns = list(self.query_one("#ports", DataTable).add_columns(
            _("pile"), _("port"), _("state"), _("current A"), _("session"), _("energy Wh"), _("time"), _("fee"), _("fault")))
        self.query_one("#fault-table", DataTable).add_columns(_("raised"), _("pile"), _("port"), _("code"), _("detail"), _("state"))
        self.refresh_data()

    def show_site_event(self, event: SiteEvent) -> None:
        """Follow the charging service: rows from the event itself, lists reloaded."""
        if isinstance(event, SessionChanged):
            self._show_port(event.port)
        elif isinstance(event, SessionClosed):
            self.refresh_data()
        elif isinstance(event, (ChargerFault, MaintenanceClosed)):
            self.refresh_data()

    @work(thread=True, exclusive=True, group="charging-refresh", exit_on_error=False)
    def refresh_data(self) -> None:
        """Read ports (from memory), faults and the hourly energy (from the database)."""
        ports, faults, hours = self.service.ports(), self.service.faults(), self.service.usage_by_hour()
        self.app.call_from_thread(self._show, ports, faults, hours)

    @staticmethod
    def _key(p: PortView) -> str:
        return f"{p.pile_id}/{p.port}"

    @staticmethod
    def _row(p: PortView) -> tuple[str, ...]:
        state = _("offline") if not p.online else (_("charging") if p.session_id else (_("plugged") if p.plugged else _("free")))
        return (p.pile_id, str(p.port), state, f"{p.current_ma / 1000:.1f}", (p.session_id or "")[-6:],
                str(p.energy_wh) if p.session_id else "", f"{p.elapsed_s // 60}:{p.elapsed_s % 60:02d}" if p.session_id else "",
                str(p.fee) if p.fee is not None else "", p.fault)

    def _show_port(self, port: PortView) -> None:
        """One port's new figures, in place (the attendant's selection stays)."""
        key = self._key(port)
        if key not in self._port_sessions:
            return  # not drawn yet: the first full load shows it
        self._port_sessions[key] = port.session_id
        table = self.query_one("#ports", DataTable)
        for column, value in zip(self._port_columns, self._row(port)):
            table.update_cell(key, column, value)  # type: ignore[arg-type]

    def _show(self, ports: Sequence[PortView], faults: Sequence[FaultRecord], hours: list[int]) -> None:
        table = self.query_one("#ports", DataTable)
        keys = [self._key(p) for p in ports]
        self._port_sessions = {self._key(p): p.session_id for p in ports}
        if keys == self._port_keys:
            for p in ports:
                self._show_port(p)
        else:
            selected = table.cursor_row
            table.clear()
            for p in ports:
                table.add_row(*self._row(p), key=self._key(p))
            self._port_keys = keys
            if ports:
                table.move_cursor(row=min(max(selected, 0), len(ports) - 1), animate=False)
        ft = self.query_one("#fault-table", DataTable)
        selected = ft.cursor_row
        ft.clear()
        self._fault_ids = [f.id for f in faults]
        for f in faults:
            ft.add_row(formats.clock(f.raised_at, self.tz, seconds=True), f.pile_id, str(f.port or ""), f.code, f.detail, _(FAULT_STATES.get(f.state, f.state)) if not f.note else _("closed: {note}").format(note=f.note))
        if faults:
            ft.move_cursor(row=min(max(selected, 0), len(faults) - 1), animate=False)
        plot = self.query_one(PlotextPlot)
        plot.plt.clear_data()
        energy = [h / 1000 for h in hours]
        plot.plt.bar(list(range(24)), energy)
        # Energy is never negative: the axis starts at 0 (plotext centres a flat series on it).
        plot.plt.ylim(0, max(max(energy, default=0.0), 1.0))
        plot.plt.title(_("energy by hour of day (kWh)"))
        plot.refresh()

    def action_note(self) -> None:
        box = self.query_one("#note", Input)
        box.add_class("open")
        box.focus()

    @on(Input.Submitted, "#note")
    def _submit_note(self, event: Input.Submitted) -> None:
        row = self.query_one("#fault-table", DataTable).cursor_row
        if not 0 <= row < len(self._fault_ids):
            self.query_one("#message", Label).update(_("select a fault first"))
            return
        self._close_record(self._fault_ids[row], event.value)

    @work(thread=True, exit_on_error=False)
    def _close_record(self, fault_id: str, note: str) -> None:
        try:
            self.service.close_maintenance(fault_id, note, self.attendant)
            message = _("maintenance record closed")
        except ChargingError as exc:
            self.app.call_from_thread(self._say, str(exc))  # the note stays open: Enter retries
            return
        self.app.call_from_thread(self._record_closed, message)

    def _record_closed(self, message: str) -> None:
        self.query_one("#message", Label).update(message)
        box = self.query_one("#note", Input)
        box.value = ""
        box.remove_class("open")
        self.refresh_data()

    # -- starting and stopping sessions ------------------------------------------------------
    def _say(self, message: str) -> None:
        self.query_one("#message", Label).update(message)

    def action_start(self) -> None:
        if not self.sessions:
            self._say(_("starting sessions is not available here"))
            return
        box = self.query_one("#start", Input)
        box.add_class("open")
        box.focus()

    @on(Input.Submitted, "#start")
    def _submit_start(self, event: Input.Submitted) -> None:
        text = event.value.strip()
        if not text:
            self._say(_("type pile, port and card (e.g. E1 2 C-1234) or paste a QR code"))
            return
        self._run_start(text)

    @work(thread=True, exit_on_error=False)
    def _run_start(self, text: str) -> None:
        try:
            message = self._start_from(text)
            done = True
        except ChargingError as exc:
            message, done = _("not started: {error}").format(error=exc), False
        except Exception as exc:  # noqa: BLE001 - a failing device or store must not close the screen
            message, done = _("not started: {error}").format(error=f"{type(exc).__name__}: {exc}"), False
        self.app.call_from_thread(self._started, message, done)

    def _start_from(self, text: str) -> str:
        """Run the start the attendant typed; the message to show. Raises ChargingError."""
        if text.startswith("booth-charge:"):
            rec = self.service.scan_qr(text)
        else:
            parts = text.split()
            if len(parts) != 3:
                raise ChargingError(_("type pile, port and card separated by spaces (e.g. E1 2 C-1234), or paste a QR code"))
            pile, port_text, card = parts
            if not port_text.isdigit():
                raise ChargingError(_("port {port!r} is not a number").format(port=port_text))
            rec = self.service.start_session(pile_id=pile, port=int(port_text), card_id=card)
        return _("charging started at {pile} port {port}").format(pile=rec.pile_id, port=rec.port)

    def _started(self, message: str, done: bool) -> None:
        self._say(message)
        if done:
            box = self.query_one("#start", Input)
            box.value = ""
            box.remove_class("open")
            self.query_one("#ports", DataTable).focus()
        self.refresh_data()

    def action_stop(self) -> None:
        if not self.sessions:
            self._say(_("stopping sessions is not available here"))
            return
        row = self.query_one("#ports", DataTable).cursor_row
        session = self._port_sessions.get(self._port_keys[row]) if 0 <= row < len(self._port_keys) else None
        if session is None:
            self._say(_("the selected port has no running session"))
            return
        self._run_stop(session)

    @work(thread=True, exit_on_error=False)
    def _run_stop(self, session_id: str) -> None:
        try:
            settled = self.service.stop_session(session_id)
            message = _("session stopped: bill {bill}").format(bill=settled.bill) + (_(", refund {refund}").format(refund=settled.refund) if not settled.refund.is_zero else "")
        except ChargingError as exc:
            message = _("not stopped: {error}").format(error=exc)
        except Exception as exc:  # noqa: BLE001 - a failing device or store must not close the screen
            message = _("not stopped: {error}").format(error=f"{type(exc).__name__}: {exc}")
        self.app.call_from_thread(self._stopped, message)

    # -- charging cards ------------------------------------------------------------------------
    def action_cards(self) -> None:
        box = self.query_one("#cards", Input)
        box.add_class("open")
        box.focus()

    @on(Input.Submitted, "#cards")
    def _submit_cards(self, event: Input.Submitted) -> None:
        self._run_cards(event.value.strip())

    @work(thread=True, exit_on_error=False)
    def _run_cards(self, text: str) -> None:
        from console.ui.screens.charging_cards import run_card_command

        try:
            message, done = run_card_command(self.service, text, self.attendant), True  # type: ignore[arg-type]
        except ChargingError as exc:
            message, done = _("not done: {error}").format(error=exc), False
        except Exception as exc:  # noqa: BLE001 - a failing store must not close the screen
            message, done = _("not done: {error}").format(error=f"{type(exc).__name__}: {exc}"), False
        self.app.call_from_thread(self._cards_done, message, done)

    def _cards_done(self, message: str, done: bool) -> None:
        self._say(message)
        if done:
            self.query_one("#cards", Input).value = ""
        self.refresh_data()

    def _stopped(self, message: str) -> None:
        self._say(message)
        self.refresh_data()
