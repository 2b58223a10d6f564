"""The last receipts with their print state; Enter reprints the selected one."""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar

from textual import on, work
from textual.app import ComposeResult
from textual.binding import BindingType
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import DataTable, Label

from console.formats import short_date_time
from console.i18n import N_, _, ngettext
from console.site.errors import SiteError
from console.ui.actions import bindings_for
from console.ui.widgets.key_hints import KeyHints
from console.ui.widgets.table_fill import fill_table

# What each kind of stored document is called in the list (a kind not named here shows as stored).
KIND_LABELS: dict[str, str] = {"receipt": N_("receipt"), "reprint": N_("reprint"), "shift_report": N_("shift report")}

if TYPE_CHECKING:
    from console.site.documents import Documents
    from console.store.receipts import Receipt


class ReceiptsScreen(ModalScreen[None]):
    """Newest first. A receipt still waiting for the printer says why."""

    BINDINGS: ClassVar[list[BindingType]] = bindings_for("receipts")
    DEFAULT_CSS = """
    ReceiptsScreen { align: center middle; }
    ReceiptsScreen > Vertical { width: 100%; max-width: 110; height: 80%; border: thick $primary; background: $surface; padding: 0 1; }
    ReceiptsScreen DataTable { height: 1fr; }
    """

    def __init__(self, documents: Documents, actor: str) -> None:
        super().__init__(id="receipts")
        self.documents = documents
        self.tz = documents.config.site.tz
        self.actor = actor
        self.receipts: list[Receipt] = []

    def compose(self) -> ComposeResult:
        with Vertical() as box:
            box.border_title = _("Last receipts · Enter reprints")
            yield DataTable(cursor_type="row", zebra_stripes=True, id="table")
            yield Label("", id="message")
        yield KeyHints("receipts", [(N_("Enter"), N_("reprint"))])

    def on_mount(self) -> None:
        table = self.query_one(DataTable)
        fill_table(table, self._headers(), [])
        table.focus()
        self.load()

    @work(thread=True, exclusive=True, group="receipts-load", exit_on_error=False)
    def load(self) -> None:
        receipts = self.documents.recent_receipts(30)
        self.app.call_from_thread(self._show, receipts)

    def _show(self, receipts: list[Receipt]) -> None:
        self.receipts = receipts
        table = self.query_one(DataTable)
        row = table.cursor_row
        tz = self.tz
        rows: list[tuple[str, tuple[str, ...]]] = []
        for r in receipts:
            if r.printed_at is not None:
                state = _("printed")
            elif r.attempts < 0:
                state = _("cannot print: {error}").format(error=r.last_error)
            else:
                state = ngettext("waiting ({count} try)", "waiting ({count} tries)", r.attempts).format(count=r.attempts)
                state += f": {r.last_error}" if r.last_error else ""
            rows.append((str(r.number), (str(r.number), _(KIND_LABELS[r.kind]) if r.kind in KIND_LABELS else r.kind,
                                         r.content.get("plate_shown") or r.content.get("plate", ""), r.content.get("total", ""),
                                         short_date_time(r.created_at, tz), state[:60])))
        fill_table(table, self._headers(), rows)
        if rows:  # the print states refresh under the attendant's cursor: it stays on its row
            table.move_cursor(row=min(max(row, 0), len(rows) - 1), animate=False)

    @staticmethod
    def _headers() -> list[str]:
        return [_("No."), _("kind"), _("plate"), _("total"), _("time"), _("printer")]

    @on(DataTable.RowSelected)
    def selected(self, event: DataTable.RowSelected) -> None:
        if event.row_key.value is not None:
            self.reprint(int(event.row_key.value))

    @work(thread=True, exclusive=True, group="receipts-reprint", exit_on_error=False)
    def reprint(self, number: int) -> None:
        try:
            copy = self.documents.reprint(number, actor=self.actor)
        except SiteError as exc:
            self.app.call_from_thread(self.query_one("#message", Label).update, _("not reprinted: {error}").format(error=exc))
            return
        self.app.call_from_thread(self.query_one("#message", Label).update, _("receipt {number} queued again as {copy}").format(number=number, copy=copy))
        self.load()

    def action_close(self) -> None:
        self.dismiss(None)
