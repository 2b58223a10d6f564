"""One part of a payment as the attendant enters it at the exit desk."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Tender:
    """`method`: cash / card / account. `amount_text` empty: what is still due.
    `tendered_text`: cash handed over. `reference`: card approval code or account id."""

    method: str
    amount_text: str = ""
    tendered_text: str = ""
    reference: str = ""
