"""Taking the fee for one waiting exit.

Common path: the amount is typed, Enter pays (the gate opens after the commit), Enter
closes. Escape leaves the vehicle waiting with the same ticket.
"""

from __future__ import annotations

from datetime import tzinfo
from typing import TYPE_CHECKING, ClassVar
from urllib.parse import urlencode

from rich.cells import cell_len
from rich.table import Table
from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import BindingType
from textual.containers import Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Input, Label, Static

from console.domain.money import Money
from console.formats import date_time, duration
from console.i18n import N_, _, ngettext
from console.site.errors import SiteError
from console.site.events import ExitSettled, ExitTicket, LaneChanged, SiteEvent
from console.site.tender import CASH_NEEDED, Tender
from console.ui.actions import actions_for, bindings_for
from console.ui.widgets.key_hints import KeyHints

if TYPE_CHECKING:
    from console.site.cloud import CloudLink
    from console.site.desk import ExitDesk
    from console.ui.screens.override import OverrideRequest


# Payment methods as the parts line names them.
METHODS = {"cash": N_("cash"), "card": N_("card"), "account": N_("account")}

CHECKING = {"card": N_("checking the card part…"), "account": N_("checking the account part…")}

# The desk's own actions (its keys); any other action belongs to the app.
_DESK_ACTIONS = {a.action.partition("(")[0] for a in actions_for("exit-desk")}


class ExitDeskScreen(ModalScreen[ExitSettled | None]):
    """Fee, cash tendered, change. Dismisses with the settlement, or None if left open.

    Money moves only on an explicit key: Enter with the cash typed, or a card/account part
    that covers the rest. A desk that opened by itself (a vehicle arrived) ignores keys for
    `guard` seconds, so a key meant for the dashboard never lands in the cash field."""

    # The ctrl keys take priority over the input fields' own editing keys (ctrl+k, ctrl+w,
    # ctrl+u...): at the exit desk the fields hold only amounts and codes.
    BINDINGS: ClassVar[list[BindingType]] = bindings_for("exit-desk")

    DEFAULT_CSS = """
    ExitDeskScreen { align: center middle; }
    ExitDeskScreen > Vertical {
        width: 76; max-width: 100%; height: auto; max-height: 100%;
        border: thick $accent; background: $surface; padding: 0 1;
    }
    ExitDeskScreen #info { height: auto; }
    ExitDeskScreen.-tight #info { height: 1fr; }
    ExitDeskScreen #fee { height: auto; }
    ExitDeskScreen #due { text-style: bold; color: $accent; }
    ExitDeskScreen #message { height: auto; min-height: 1; }
    ExitDeskScreen #message.-error { color: $error; text-style: bold; }
    ExitDeskScreen #message.-done { color: $success; text-style: bold; }
    ExitDeskScreen #parts, ExitDeskScreen #queue { height: auto; }
    ExitDeskScreen #queue { color: $text-muted; }
    ExitDeskScreen #qr { height: auto; }
    """

    SITE_EVENTS: ClassVar[tuple[type[SiteEvent], ...]] = (ExitSettled, LaneChanged)

    def __init__(self, desk: ExitDesk, ticket: ExitTicket, attendant: str, *, cloud: CloudLink | None = None, guard: float = 0.0) -> None:
        super().__init__(id="exit-desk")
        self.desk = desk
        self.cloud = cloud
        self.config = desk.config
        self.ticket = ticket
        self.attendant = attendant
        self.settled: ExitSettled | None = None
        self.paying = False
        self.payment_link = ""  # what the phone-payment QR encodes, once shown
        self.parts: list[Tender] = []  # card / account parts of a split payment, taken with the cash
        self.parts_left: Money | None = None  # what the parts leave to pay, while there are parts
        self.parts_cover = False  # the parts alone pay the whole fee
        self.change_left = False
        self.guard = guard
        self.ready = guard <= 0
        self.closed_for_sign_in = False  # set when another attendant signed in meanwhile

    def compose(self) -> ComposeResult:
        tz = self.config.site.tz
        with Vertical() as box:
            box.border_title = self._title()
            with VerticalScroll(id="info"):
                yield Static(self._details(tz), id="details")
                yield Static(self._fee_table(), id="fee")
                yield Static("", id="qr")
            yield Label(self._due_text(), id="due")
            yield Input(placeholder=self._cash_hint(), id="tendered")
            yield Input(placeholder=_("card approval code / account id / reason"), id="reference")
            yield Static("", id="parts")
            yield Static("", id="message")
            yield Static("", id="queue")
        yield KeyHints("exit-desk", id="hints")

    def _title(self) -> str:
        t = self.ticket
        return _("Exit {lane} · {plate}").format(lane=t.lane_id, plate=self.config.site.plates.display(t.visit.plate))

    def _cash_hint(self) -> str:
        return _("cash tendered ({currency}), Enter to pay").format(currency=self.ticket.due.currency)

    def _due_text(self) -> str:
        """The amount line: what is due, or once paid what was paid and the change."""
        settled, due = self.settled, self.ticket.due
        if settled is not None and settled.closed.visit.close_reason != "unpaid exit":
            return _("Paid {due}  ·  change {change}").format(due=due, change=settled.change)
        return _("To pay: {due}").format(due=due) + ("  " + _("(Enter lets the vehicle leave)") if due.is_zero and settled is None else "")

    def _settled_text(self, settled: ExitSettled) -> str:
        if settled.closed.visit.close_reason == "unpaid exit":
            return _("Left unpaid: {due} recorded as owed. Gate opening. Enter closes.").format(due=self.ticket.due)
        if settled.journaled:
            return _("PAID (EMERGENCY: kept in the local journal until the database is back). Change: {change}. Gate opening. Enter closes.").format(
                change=settled.change)
        return _("PAID. Change: {change}. Gate opening. Enter closes.").format(change=settled.change)

    def _parts_text(self, left: Money) -> str:
        return _("Parts: {parts} · {left} left (Enter: cash)").format(
            parts=", ".join(_(METHODS.get(p.method, p.method)) + " " + (p.amount_text or _("rest")) for p in self.parts),
            left=left)

    def retranslate(self) -> None:
        """Redraw the desk's words in the current language (after a language switch). What
        the fields hold stays; a settled desk says again what it settled, other one-off
        messages keep the words they were said in."""
        if not self.is_mounted:
            return
        self.query_one(Vertical).border_title = self._title()
        self.query_one("#details", Static).update(self._details(self.config.site.tz))
        self.query_one("#fee", Static).update(self._fee_table())
        self.query_one("#due", Label).update(self._due_text())
        self.query_one("#tendered", Input).placeholder = self._cash_hint()
        self.query_one("#reference", Input).placeholder = _("card approval code / account id / reason")
        if self.parts and self.parts_left is not None:
            self._show("#parts", self._parts_text(self.parts_left))
        if self.settled is not None:
            self._say(self._settled_text(self.settled), "done")
        self._show_queue()
        self._hints()

    def _details(self, tz: tzinfo) -> Text:
        t = self.ticket
        entry = t.visit.entry_at.astimezone(tz)
        exit_ = t.exit_at.astimezone(tz)
        text = Text()
        # Labels padded to one display width (a Chinese character takes two cells).
        labels = [_("Plate"), _("Entry"), _("Exit"), _("Duration"), _("Paid before")]
        width = max(cell_len(label) for label in labels) + 2

        def label(text: str) -> str:
            return text + " " * (width - cell_len(text))

        text.append(label(labels[0]), style="dim").append(self.config.site.plates.display(t.visit.plate), style="bold").append("\n")
        text.append(label(labels[1]), style="dim").append(f"{date_time(entry)}  ({t.visit.entry_lane})\n")
        text.append(label(labels[2]), style="dim").append(f"{date_time(exit_)}  ({t.lane_id})\n")
        text.append(label(labels[3]), style="dim").append(duration(exit_ - entry))
        if t.visit.paid_minor:
            text.append("\n" + label(labels[4]), style="dim").append(str(Money(t.visit.paid_minor, t.due.currency)))
        return text

    def _fee_table(self) -> Table:
        table = Table(box=None, expand=True, show_header=False, padding=(0, 1))
        table.add_column("item", ratio=1)
        table.add_column("amount", justify="right")
        for item in self.ticket.quote.items:
            table.add_row(item.label, item.amount.format())
        table.add_row(Text(_("Total"), style="bold"), Text(self.ticket.quote.total.format(), style="bold"))
        table.add_row(Text(_("tariff {tariff}").format(tariff=self.ticket.quote.tariff_id), style="dim"), "")
        return table

    def on_mount(self) -> None:
        for empty in ("#parts", "#qr"):
            self.query_one(empty, Static).display = False
        if self.ready:
            self.query_one("#tendered", Input).focus()
        else:
            for field in self.query(Input).results(Input):
                field.disabled = True
            self.set_timer(self.guard, self._arm)
        self._show_queue()
        self._hints()
        self.call_after_refresh(self._fit)

    def _arm(self) -> None:
        """The guard is over: the desk takes keys."""
        self.ready = True
        for field in self.query(Input).results(Input):
            field.disabled = False
        self.query_one("#tendered", Input).focus()
        self._hints()
        self.refresh_bindings()

    def on_resize(self) -> None:
        self._fit()

    def _fit(self) -> None:
        """On a short terminal the details and fee table scroll, so the amount, the fields
        and the result line always show."""
        if not self.is_mounted or not self.query("#info"):
            return
        box = self.query_one(Vertical)
        info = self.query_one("#info", VerticalScroll)
        fixed = sum(w.outer_size.height for w in box.children if w is not info)
        hints = self.query_one(KeyHints).outer_size.height
        wanted = info.virtual_size.height if info.virtual_size.height else 12
        self.set_class(fixed + wanted + 2 + hints > self.size.height, "-tight")

    def _hints(self) -> None:
        # msgids: the hints translate them when drawn, so they follow a language switch.
        enter = N_("close") if self.settled is not None else N_("pay")
        self.query_one(KeyHints).refresh_hints([(N_("Enter"), enter)])

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """While the guard lasts no key works; once settled only leaving does."""
        if action not in _DESK_ACTIONS:
            return True
        if not self.ready:
            return False
        if self.settled is not None:
            return action == "leave"
        if action == "journal":
            return self.desk.in_emergency  # offered once the database failed a write
        return True

    def _show_queue(self) -> None:
        others = [t for t in self.desk.board.queue() if t.id != self.ticket.id]
        text = ""
        if others:
            first = others[0]
            text = ngettext("{n} more waiting, next: {lane} {plate} ({due})", "{n} more waiting, next: {lane} {plate} ({due})", len(others)).format(
                n=len(others), lane=first.lane_id, plate=self.config.site.plates.display(first.visit.plate), due=first.due)
        self._show("#queue", text)

    def _show(self, selector: str, content: object) -> None:
        """Update a line that takes no room while it is empty."""
        for widget in self.query(selector).results(Static):
            widget.update(content)  # type: ignore[arg-type]
            widget.display = bool(content)
        self.call_after_refresh(self._fit)

    def _say(self, text: str, kind: str = "") -> None:
        label = self.query_one("#message", Static)
        label.update(text)
        label.set_class(kind == "error", "-error")
        label.set_class(kind == "done", "-done")
        self.call_after_refresh(self._fit)

    def message_text(self) -> str:
        """The result or error line as shown (tests read it)."""
        return str(self.query_one("#message", Static).render())

    @on(Input.Submitted, "#tendered")
    def submitted(self, event: Input.Submitted) -> None:
        if self.settled is not None:
            self.dismiss(self.settled)
            return
        if self.paying or not self.ready:
            return  # a second Enter while the first payment is being written
        typed = event.value.strip()
        if not typed and self.parts and self.parts_cover:
            # The parts cover the fee (their payment failed to record): Enter tries again.
            self._commit(list(self.parts))
            return
        if not typed and not self.ticket.due.is_zero:
            self._say(_(CASH_NEEDED), "error")  # money is never assumed from an empty field
            return
        tenders = list(self.parts)
        tenders.append(Tender("cash", "", typed))
        self._commit(tenders)

    def _commit(self, tenders: list[Tender]) -> None:
        self.paying = True
        self._say(_("recording payment…"))
        self.pay(tenders)

    @work(thread=True, exclusive=True, group="exit-pay", exit_on_error=False)
    def pay(self, tenders: list[Tender]) -> None:
        try:
            settled = self.desk.pay(self.ticket.id, tenders, attendant=self.attendant, change_left=self.change_left)
        except SiteError as exc:
            self.app.call_from_thread(self._failed, str(exc))
            return
        self.app.call_from_thread(self.show_settled, settled)

    def action_journal(self) -> None:
        """The database cannot be written and the driver has paid: keep the payment in the
        emergency journal and open (the typed cash and the parts, as Enter would)."""
        if self.settled is not None or self.paying or not self.ready:
            return
        typed = self.query_one("#tendered", Input).value.strip()
        tenders = list(self.parts)
        if typed or not (self.parts and self.parts_cover):
            if not typed and not self.ticket.due.is_zero:
                self._say(_(CASH_NEEDED), "error")
                return
            tenders.append(Tender("cash", "", typed))
        self.paying = True
        self._say(_("keeping the payment in the emergency journal…"))
        self.pay_journaled(tenders)

    @work(thread=True, exclusive=True, group="exit-pay", exit_on_error=False)
    def pay_journaled(self, tenders: list[Tender]) -> None:
        try:
            settled = self.desk.pay_and_journal(self.ticket.id, tenders, attendant=self.attendant, change_left=self.change_left)
        except SiteError as exc:
            self.app.call_from_thread(self._failed, str(exc))
            return
        self.app.call_from_thread(self.show_settled, settled)

    def action_part(self, method: str) -> None:
        """Add a card or account part: the typed amount (empty: all that is left). The
        site checks it first; a refused part is not added and the rest stays payable."""
        if self.settled is not None or self.paying or not self.ready:
            return
        amount = self.query_one("#tendered", Input).value.strip()
        reference = self.query_one("#reference", Input).value.strip()
        self.paying = True
        self._say(_(CHECKING.get(method, CHECKING["card"])))
        self.check_part(Tender(method, amount, "", reference))

    @work(thread=True, exclusive=True, group="exit-part", exit_on_error=False)
    def check_part(self, part: Tender) -> None:
        try:
            left = self.desk.check_part(self.ticket.id, list(self.parts), part)
        except SiteError as exc:
            self.app.call_from_thread(self._part_refused, str(exc))
            return
        self.app.call_from_thread(self._part_taken, part, left)

    def _part_refused(self, message: str) -> None:
        # The typed amount was the part's: the cash field starts empty again.
        self.paying = False
        self.query_one("#tendered", Input).value = ""
        self.query_one("#reference", Input).value = ""
        self._say(message, "error")
        self.query_one("#tendered", Input).focus()

    def _part_taken(self, part: Tender, left: Money) -> None:
        self.paying = False
        self.parts.append(part)
        self.parts_cover = left.is_zero
        self.query_one("#tendered", Input).value = ""
        self.query_one("#reference", Input).value = ""
        if left.is_zero:
            self._commit(list(self.parts))
            return
        self.parts_left = left
        self._show("#parts", self._parts_text(left))
        self._say(_("{left} left: type the cash handed over, then Enter").format(left=left))
        self.query_one("#tendered", Input).focus()

    def action_change_left(self) -> None:
        if self.settled is not None or not self.ready:
            return
        self.change_left = not self.change_left
        self._say(_("the driver leaves the change: it goes into the drawer") if self.change_left else _("change is handed back"))

    def action_override(self, kind: str) -> None:
        if self.settled is not None or self.paying or not self.ready:
            return
        from console.ui.screens.override import OverrideScreen

        def done(request: OverrideRequest | None) -> None:
            if request is not None:
                self._say(_("changing the fee…"))
                self.apply_override(request)

        self.app.push_screen(OverrideScreen(kind, self.config.operations.override_pin_above), done)

    @work(thread=True, exclusive=True, group="exit-override", exit_on_error=False)
    def apply_override(self, request: OverrideRequest) -> None:
        try:
            ticket = self.desk.override(
                self.ticket.id, request.kind, reason=request.reason, actor=self.attendant,
                new_amount_text=request.value if request.kind == "fee_change" else "",
                code=request.value if request.kind == "validation" else "",
                manager=request.manager, manager_pin=request.manager_pin,
            )
        except SiteError as exc:
            self.app.call_from_thread(self._failed, str(exc))
            return
        self.app.call_from_thread(self._show_ticket, ticket)

    def _show_ticket(self, ticket: ExitTicket) -> None:
        self.ticket = ticket
        self.parts.clear()
        self.parts_left = None
        self.parts_cover = False
        self._show("#parts", "")
        self.query_one("#fee", Static).update(self._fee_table())
        self.query_one("#due", Label).update(self._due_text())
        self._say(_("fee changed"), "done")
        self.query_one("#tendered", Input).focus()

    def action_unpaid(self) -> None:
        if self.settled is not None or self.paying or not self.ready:
            return
        reason = self.query_one("#reference", Input).value.strip()
        if not reason:
            self._say(_("type the reason in the lower field, then ctrl+u again"), "error")
            self.query_one("#reference", Input).focus()
            return
        self.paying = True
        self._say(_("recording the unpaid exit…"))
        self.leave_unpaid(reason)

    @work(thread=True, exclusive=True, group="exit-pay", exit_on_error=False)
    def leave_unpaid(self, reason: str) -> None:
        try:
            settled = self.desk.unpaid_exit(self.ticket.id, reason=reason, actor=self.attendant)
        except SiteError as exc:
            self.app.call_from_thread(self._failed, str(exc))
            return
        self.app.call_from_thread(self.show_settled, settled)

    def action_mobile(self) -> None:
        """A QR the driver scans to pay by phone; the exit settles when the payment arrives."""
        if self.settled is not None or not self.ready:
            return
        cloud = self.config.cloud.url.rstrip("/")
        if not cloud or self.cloud is None:
            self._say(_("phone payment needs the operator's cloud, which this site has none of: take cash or card"), "error")
            return
        status = self.cloud.status()
        if not status.online:
            self._say(_("the cloud link is {state}: phone payment is not possible now; take cash or card").format(state=status.state), "error")
            return
        from console.ui.widgets.qr import qr_text

        # The site's id as the cloud knows it: the site file may leave it to the token.
        site_id = status.site_id or self.config.cloud.site_id
        if not site_id:
            self._say(_("the cloud has not said which site this is yet: phone payment is not possible now; take cash or card"), "error")
            return
        # No amount in the link: the cloud quotes the stay itself (docs/phones.md).
        query = urlencode({"site": site_id, "plate": self.ticket.visit.plate})
        link = self.payment_link = f"{cloud}/pay?{query}"
        # The code takes the place of the stay's details, so it shows whole where it fits
        # (120x40); on a smaller screen it scrolls.
        self.query_one("#details", Static).display = False
        self.query_one("#fee", Static).display = False
        self._show("#qr", qr_text(link))
        self.query_one("#info", VerticalScroll).scroll_home(animate=False)
        self.call_after_refresh(self._fit)
        self._say(_("scan to pay by phone; the exit opens when the payment arrives (ctrl+r again checks now)"))
        self.check_remote()

    @work(thread=True, exclusive=True, group="exit-remote", exit_on_error=False)
    def check_remote(self) -> None:
        if self.desk.settle_remote_payments():
            self.app.call_from_thread(self._say, _("paid by phone: gate opening. Enter closes."), "done")

    def _failed(self, message: str) -> None:
        self.paying = False
        if self.desk.in_emergency:  # the database failed: the desk can open and journal
            message = _("{message}. ctrl+b: open and keep the payment in the emergency journal").format(message=message)
        self._say(message, "error")
        self.query_one(Input).focus()
        self.refresh_bindings()

    def show_site_event(self, event: SiteEvent) -> None:
        """The ticket was settled elsewhere (a phone payment, another attendant); the
        queue behind this exit changed."""
        if not self.is_mounted:
            return  # composed after this event; it reads the board as it mounts
        if isinstance(event, LaneChanged):
            self._show_queue()
            return
        if isinstance(event, ExitSettled) and event.ticket.id == self.ticket.id and self.settled is None:
            self.show_settled(event)

    def show_settled(self, settled: ExitSettled) -> None:
        """Show the settlement: paid with the change, or left owing."""
        self.paying = False
        self.settled = settled
        self.query_one(Input).disabled = False
        self._say(self._settled_text(settled), "done")
        if settled.closed.visit.close_reason != "unpaid exit":
            self.query_one("#due", Label).update(self._due_text())
        self.query_one("#tendered", Input).focus()
        self._hints()
        self.refresh_bindings()

    def action_leave(self) -> None:
        self.dismiss(self.settled)

    def _set_amount(self, amount: Money) -> None:
        if self.settled is None and self.ready:
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
