"""Taking the fee for one waiting exit.

Common path: the amount is typed, Enter pays (the gate opens after the commit), Enter
closes. Escape leaves the vehicle waiting with the same ticket.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from rich.table import Table
from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Input, Label, Static

from console.domain.money import Money
from console.domain.visits import format_duration
from console.site.errors import SiteError
from console.site.events import ExitSettled, ExitTicket

if TYPE_CHECKING:
    from console.site.core import Site


class ExitDeskScreen(ModalScreen[ExitSettled | None]):
    """Fee, cash tendered, change. Dismisses with the settlement, or None if left open."""

    BINDINGS = [
        Binding("escape", "leave", "Back (vehicle keeps waiting)", id="exit.back"),
        Binding("f5", "exact", "Exact amount", id="exit.exact"),
        Binding("f6", "round_up(5)", "Next 5", id="exit.next5"),
        Binding("f7", "round_up(10)", "Next 10", id="exit.next10"),
        Binding("f8", "round_up(50)", "Next 50", id="exit.next50"),
    ]

    DEFAULT_CSS = """
    ExitDeskScreen { align: center middle; }
    ExitDeskScreen > Vertical {
        width: 72; height: auto; max-height: 95%;
        border: thick $accent; background: $surface; padding: 1 2;
    }
    ExitDeskScreen #fee { height: auto; }
    ExitDeskScreen #due { text-style: bold; color: $accent; margin: 1 0 0 0; }
    ExitDeskScreen #message { height: auto; min-height: 1; }
    ExitDeskScreen #message.-error { color: $error; text-style: bold; }
    ExitDeskScreen #message.-done { color: $success; text-style: bold; }
    ExitDeskScreen Input { margin: 1 0 0 0; }
    """

    def __init__(self, site: Site, ticket: ExitTicket, attendant: str) -> None:
        super().__init__(id="exit-desk")
        self.site = site
        self.ticket = ticket
        self.attendant = attendant
        self.settled: ExitSettled | None = None
        self.paying = False

    def compose(self) -> ComposeResult:
        t = self.ticket
        tz = self.site.config.site.tz
        with Vertical() as box:
            box.border_title = f"Exit {t.lane_id} · {t.visit.plate}"
            yield Static(self._details(tz), id="details")
            yield Static(self._fee_table(), id="fee")
            yield Label(f"To pay: {t.due}", id="due")
            yield Input(placeholder=f"cash tendered ({t.due.currency}), Enter to pay", id="tendered")
            yield Label("", id="message")

    def _details(self, tz) -> Text:  # type: ignore[no-untyped-def]
        t = self.ticket
        entry = t.visit.entry_at.astimezone(tz)
        exit_ = t.exit_at.astimezone(tz)
        text = Text()
        text.append("Plate     ", style="dim").append(t.visit.plate, style="bold").append("\n")
        text.append("Entry     ", style="dim").append(f"{entry:%d.%m.%Y %H:%M}  ({t.visit.entry_lane})\n")
        text.append("Exit      ", style="dim").append(f"{exit_:%d.%m.%Y %H:%M}  ({t.lane_id})\n")
        text.append("Duration  ", style="dim").append(format_duration(exit_ - entry))
        if t.visit.paid_minor:
            text.append("\nPaid before ", style="dim").append(str(Money(t.visit.paid_minor, t.due.currency)))
        return text

    def _fee_table(self) -> Table:
        table = Table(box=None, expand=True, show_header=False, padding=(0, 1))
        table.add_column("item", ratio=1)
        table.add_column("amount", justify="right")
        for item in self.ticket.quote.items:
            table.add_row(item.label, item.amount.format())
        table.add_row(Text("Total", style="bold"), Text(self.ticket.quote.total.format(), style="bold"))
        table.add_row(Text(f"tariff {self.ticket.quote.tariff_id}", style="dim"), "")
        return table

    def on_mount(self) -> None:
        self.query_one(Input).focus()

    def _say(self, text: str, kind: str = "") -> None:
        label = self.query_one("#message", Label)
        label.update(text)
        label.set_class(kind == "error", "-error")
        label.set_class(kind == "done", "-done")

    @on(Input.Submitted, "#tendered")
    def submitted(self, event: Input.Submitted) -> None:
        if self.settled is not None:
            self.dismiss(self.settled)
            return
        if self.paying:
            return  # a second Enter while the first payment is being written
        self.paying = True
        self._say("recording payment…")
        self.pay(event.value)

    @work(thread=True, exclusive=True, group="exit-pay", exit_on_error=False)
    def pay(self, tendered: str) -> None:
        try:
            settled = self.site.pay_cash(self.ticket.id, tendered, attendant=self.attendant)
        except SiteError as exc:
            self.app.call_from_thread(self._failed, str(exc))
            return
        self.app.call_from_thread(self._paid, settled)

    def _failed(self, message: str) -> None:
        self.paying = False
        self._say(message, "error")
        self.query_one(Input).focus()

    def _paid(self, settled: ExitSettled) -> None:
        self.paying = False
        self.settled = settled
        self.query_one(Input).disabled = False
        self._say(f"PAID. Change: {settled.change}. Gate opening. Enter closes.", "done")
        self.query_one("#due", Label).update(f"Paid {self.ticket.due}  ·  change {settled.change}")

    def action_leave(self) -> None:
        self.dismiss(self.settled)

    def _set_amount(self, amount: Money) -> None:
        if self.settled is None:
            field = self.query_one(Input)
            field.value = amount.decimal_text()
            field.cursor_position = len(field.value)
            field.focus()

    def action_exact(self) -> None:
        self._set_amount(self.ticket.due)

    def action_round_up(self, step: int) -> None:
        due = self.ticket.due
        unit = Money.parse(str(step), due.currency).minor
        rounded = -(-due.minor // unit) * unit
        if rounded == due.minor:
            rounded += unit
        self._set_amount(Money(rounded, due.currency))
