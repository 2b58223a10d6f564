"""One part of a payment as the attendant enters it at the exit desk."""

from __future__ import annotations

from dataclasses import dataclass

from console.i18n import N_

# Cash is taken only for an amount the attendant typed: an empty field never pays.
CASH_NEEDED = N_("type the cash handed over, then Enter (F5 fills in the exact amount)")


@dataclass(frozen=True, slots=True)
class Tender:
    """`method`: cash / card / account. `amount_text` empty: what is still due.
    `tendered_text`: cash handed over. `reference`: card approval code or account id."""

    method: str
    amount_text: str = ""
    tendered_text: str = ""
    reference: str = ""
