"""Receipts and reports on the receipt printer: the last receipts, reprints, printed
reports, all through the durable print queue."""

from __future__ import annotations

from console.domain.clock import Clock
from console.i18n import N_, _
from console.site.bus import EventBus
from console.site.config import SiteConfig
from console.site.errors import SiteError, command
from console.site.print_queue import PrintQueue
from console.store import receipts, shifts
from console.store.audit import append_audit
from console.store.database import Store
from console.store.receipts import Receipt
from drivers.printer import PrintDocument


class Documents:
    """Numbered documents of the booth and their way to the printer."""

    def __init__(self, config: SiteConfig, store: Store, clock: Clock, bus: EventBus, print_queue: PrintQueue | None) -> None:
        self.config = config
        self.store = store
        self.clock = clock
        self.bus = bus
        self.print_queue = print_queue
        self.booth_id = config.site.booth_id

    def queued(self) -> None:
        """A document was committed to the queue: print it now."""
        if self.print_queue is not None:
            self.print_queue.wake()

    @command(N_("cannot read the receipts"))
    def recent_receipts(self, limit: int = 20) -> list[Receipt]:
        """The newest receipts and reports, newest first, with their print state."""
        return self.store.query(receipts.recent, limit)

    @command(N_("reprint NOT queued"))
    def reprint(self, number: int, *, actor: str) -> int:
        """Queue a copy of receipt `number`. The copy gets its own number (every printed
        document is numbered) and says which receipt it copies. Returns the new number."""
        now = self.clock.now()
        with self.store.write() as tx:
            original = receipts.by_number(tx, self.booth_id, number)
            if original is None:
                raise SiteError(_("no receipt {number}").format(number=number))
            content = {**original.content, "copy_of": number}
            copy = receipts.add_receipt(
                tx, booth_id=self.booth_id, kind="reprint", content=content, at=now, visit_id=original.visit_id, shift_id=original.shift_id,
            )
            append_audit(tx, at=now, actor=actor, action="receipt.reprint", subject=str(number), detail={"copy": copy.number})
        self.queued()
        self.bus.report("info", _("receipt {number} reprinted as {number2} by {actor}").format(number=number, number2=copy.number, actor=actor))
        return copy.number

    @command(N_("not queued for printing"))
    def print_document(self, document: PrintDocument, *, kind: str, actor: str) -> int:
        """Queue a report (shift report...) on the receipt printer; returns its number."""
        now = self.clock.now()
        with self.store.write() as tx:
            shift = shifts.current_shift(tx, self.booth_id)
            queued = receipts.add_receipt(
                tx, booth_id=self.booth_id, kind=kind, content={"document": document.to_dict()}, at=now, shift_id=shift.id if shift else None,
            )
            append_audit(tx, at=now, actor=actor, action=f"print.{kind}", subject=str(queued.number), detail={})
        self.queued()
        return queued.number
