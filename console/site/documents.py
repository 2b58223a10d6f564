"""Receipts and reports on the receipt printer: the last receipts, reprints, printed reports."""

from __future__ import annotations

import json

from sqlmodel import select

from console.site.errors import SiteError
from console.store.audit import append_audit
from console.store.engine import StoreError
from console.store.receipts import Receipt, add_receipt, recent
from console.store.tables import ReceiptRow
from drivers.printer import PrintDocument


class DocumentsMixin:
    """Printing through the durable receipt queue. Mixed into `Site`."""

    def recent_receipts(self, limit: int = 20) -> list[Receipt]:
        """The newest receipts and reports, newest first, with their print state."""
        with self.store.transaction() as s:
            return recent(s, limit)

    def reprint(self, number: int, *, actor: str) -> int:
        """Queue a copy of receipt `number`. The copy gets its own number (every printed
        document is numbered) and says which receipt it copies. Returns the new number."""
        now = self.clock.now()
        try:
            with self.store.transaction() as s:
                original = s.exec(
                    select(ReceiptRow).where(ReceiptRow.booth_id == self.config.site.booth_id, ReceiptRow.number == number)
                ).first()
                if original is None:
                    raise SiteError(f"no receipt {number}")
                content = {**json.loads(original.content), "copy_of": number}
                copy = add_receipt(s, booth_id=self.config.site.booth_id, kind="reprint", content=content, at=now, visit_id=original.visit_id, shift_id=original.shift_id)
                append_audit(s, at=now, actor=actor, action="receipt.reprint", subject=str(number), detail={"copy": copy.number})
        except StoreError as exc:
            raise SiteError(f"reprint NOT queued: {exc}") from None
        if self.print_queue is not None:
            self.print_queue.wake()
        self._log("info", f"receipt {number} reprinted as {copy.number} by {actor}")
        return copy.number


    def print_document(self, document: PrintDocument, *, kind: str, actor: str) -> int:
        """Queue a report (shift report...) on the receipt printer; returns its number."""
        now = self.clock.now()
        shift = self.current_shift()
        try:
            with self.store.transaction() as s:
                queued = add_receipt(s, booth_id=self.config.site.booth_id, kind=kind, content={"document": document.to_dict()}, at=now, shift_id=shift.id if shift else None)
                append_audit(s, at=now, actor=actor, action=f"print.{kind}", subject=str(queued.number), detail={})
        except StoreError as exc:
            raise SiteError(f"not queued for printing: {exc}") from None
        if self.print_queue is not None:
            self.print_queue.wake()
        return queued.number
