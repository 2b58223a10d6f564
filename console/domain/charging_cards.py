"""Charging cards as their owners hold them: the text of a card's QR code; and the
address a pile port's QR code holds for phones.

A card's QR code reads `booth-card:?card=C-1234` (what the card printer puts on it); a
card whose QR holds only its id (`C-1234`) is read as that id. Pure: no I/O.
"""

from __future__ import annotations

import re
from urllib.parse import parse_qsl, urlsplit

from console.domain.charging import ChargingError
from console.i18n import _

CARD_QR_PREFIX = "booth-card:"
_CARD_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:-]{0,63}$")


def card_from_qr(text: str) -> str:
    """The card id a card's QR text names. Raises ChargingError for anything else."""
    text = text.strip()
    if text.startswith(CARD_QR_PREFIX):
        fields = dict(parse_qsl(urlsplit(text[len(CARD_QR_PREFIX):]).query))
        card = fields.get("card", "").strip()
    else:
        card = text
    if not _CARD_ID.match(card) or card.startswith("booth-"):
        raise ChargingError(_("{text!r} is not a charging card's QR code").format(text=text[:80]))
    return card


PAY_MODES = ("prepaid", "postpaid")


def pile_qr_address(cloud_url: str, site_id: str, pile: str, port: int, modes: tuple[str, ...] | list[str] = PAY_MODES) -> str:
    """What a pile port's QR code holds: the address of its charging page in the cloud,
    with the pay modes the pile takes."""
    return f"{cloud_url.rstrip('/')}/staff/charge/{site_id}/{pile}/{port}?modes={','.join(modes)}"


CARD_PIN_DIGITS = 4  # a card's PIN: 4 to 12 digits, not one repeated digit or a plain run
BIND_CODE_DIGITS = 8  # a code the booth prints to bind a new card from the cloud


def check_card_pin(pin: str) -> str:
    """A card's PIN as typed, checked by the staff PINs' rules. Raises ChargingError."""
    from console.domain.staff import StaffError, check_pin_rules

    pin = pin.strip()
    try:
        check_pin_rules(pin, CARD_PIN_DIGITS)
    except StaffError as exc:
        raise ChargingError(str(exc)) from None
    return pin


def normal_code(text: str) -> str:
    """A printed bind code as a person types it (spaces and dashes dropped)."""
    return re.sub(r"[\s-]", "", text)
