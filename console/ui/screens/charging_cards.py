"""The charging cards line of the F12 screen (`c`): what the attendant types, read into a
call of the site's charging service, and the answer to show.

    bind QR ACCOUNT [PIN]     bind a card by its QR text to a tenant's or landlord's account
                              (with its PIN: the holder can then start charging from a phone)
    pin CARD PIN              give a card its PIN or a new one
    code QR ACCOUNT           a one-time code for the holder of a new card to bind it in the cloud
    pay ACCOUNT AMOUNT        a payment of what a postpaid account owes
    block CARD REASON...      block a lost card (its account and balance stay)
    top-up ACCOUNT AMOUNT     add to a prepaid balance
    usage CARD                the card's account: balance, owed, sessions per pile
    authorize CARD PILE...    piles a landlord's card authorizes (unauthorize takes them away)
    piles CARD                usage of a landlord card's piles

Every change is audited by the service's store calls with the signed-in attendant.
"""

from __future__ import annotations

from datetime import datetime
from typing import Protocol

from console.domain.charging import ChargingError
from console.domain.money import Money
from console.i18n import _
from console.store.charging import CardView, UsageRow
from console.store.charging_cards import AccountUsage

USAGE = ("bind QR ACCOUNT [PIN] | pin CARD PIN | code QR ACCOUNT | block CARD REASON | top-up ACCOUNT AMOUNT | pay ACCOUNT AMOUNT | "
         "usage CARD | authorize CARD PILE... | unauthorize CARD PILE... | piles CARD")


class CardCommands(Protocol):
    """What the line asks of the charging service (`console.site.charging.ChargingService`)."""

    currency: str

    def bind_card(self, qr_text: str, account_id: str, actor: str, pin: str | None = None) -> CardView: ...

    def set_pin(self, card_id: str, pin: str, actor: str) -> None: ...

    def issue_bind_code(self, qr_text: str, account_id: str, actor: str, hours: int = 72) -> tuple[str, datetime]: ...

    def pay_owed(self, account_id: str, amount: Money, actor: str) -> Money: ...

    def block_card(self, card_id: str, actor: str, reason: str) -> None: ...

    def top_up(self, account_id: str, amount: Money, actor: str) -> Money: ...

    def account_usage(self, card_id: str) -> AccountUsage: ...

    def authorize_piles(self, card_id: str, piles: list[str], actor: str, *, remove: bool = False) -> CardView: ...

    def landlord_usage(self, card_id: str) -> list[UsageRow]: ...


def run_card_command(service: CardCommands, text: str, actor: str) -> str:
    """Carry out one typed line; the message for the attendant. Raises ChargingError
    (nothing changed) for a line that cannot be carried out."""
    words = text.split()
    if not words:
        raise ChargingError(_("type one of: {usage}").format(usage=USAGE))
    verb, args = words[0].lower(), words[1:]
    if verb == "bind" and len(args) in (2, 3):
        card = service.bind_card(args[0], args[1], actor, args[2] if len(args) == 3 else None)
        said = _("card {card} bound to account {account} ({kind})").format(card=card.card_id, account=card.account_id, kind=card.kind)
        return said + ("; " + _("card {card}: PIN set").format(card=card.card_id) if len(args) == 3 else "")
    if verb == "pin" and len(args) == 2:
        service.set_pin(args[0], args[1], actor)
        return _("card {card}: PIN set").format(card=args[0])
    if verb == "code" and len(args) == 2:
        code, expires = service.issue_bind_code(args[0], args[1], actor)
        return _("bind code for card {card} (account {account}): {code}").format(card=args[0], account=args[1], code=code) + "; " + _(
            "valid until {at}; the card's holder types it on the cloud's charging page").format(at=expires.strftime("%Y-%m-%d %H:%M UTC"))
    if verb == "pay" and len(args) == 2:
        try:
            paid = Money.parse(args[1], service.currency)
        except ValueError as exc:
            raise ChargingError(str(exc)) from None
        owed = service.pay_owed(args[0], paid, actor)
        return _("account {account}: {amount} paid, still owed {owed}").format(account=args[0], amount=paid, owed=owed)
    if verb == "block" and len(args) >= 2:
        service.block_card(args[0], actor, " ".join(args[1:]))
        return _("card {card} blocked; its account stays").format(card=args[0])
    if verb == "top-up" and len(args) == 2:
        try:
            amount = Money.parse(args[1], service.currency)
        except ValueError as exc:
            raise ChargingError(str(exc)) from None
        balance = service.top_up(args[0], amount, actor)
        return _("account {account}: {amount} added, balance {balance}").format(account=args[0], amount=amount, balance=balance)
    if verb == "usage" and len(args) == 1:
        u = service.account_usage(args[0])
        a = u.account
        piles = "; ".join(f"{r.key} {r.sessions}× {r.energy_wh / 1000:.3f} kWh {Money(r.fees_minor, a.balance.currency)}" for r in u.by_pile)
        cards = ", ".join(f"{c.card_id} ({_('active') if c.state == 'active' else _('blocked')})" for c in u.cards)
        return _("account {account}: balance {balance}, owed {owed}; cards {cards}; {piles}").format(
            account=a.id, balance=a.balance, owed=a.owed, cards=cards, piles=piles or _("no sessions yet"))
    if verb in ("authorize", "unauthorize") and len(args) >= 2:
        card = service.authorize_piles(args[0], args[1:], actor, remove=verb == "unauthorize")
        return _("landlord card {card} authorizes: {piles}").format(card=card.card_id, piles=", ".join(card.piles) or _("none"))
    if verb == "piles" and len(args) == 1:
        rows = service.landlord_usage(args[0])
        if not rows:
            return _("no sessions on this card's piles yet")
        return "; ".join(f"{r.key} {r.sessions}× {r.energy_wh / 1000:.3f} kWh {Money(r.fees_minor, service.currency)}" for r in rows)
    raise ChargingError(_("type one of: {usage}").format(usage=USAGE))
