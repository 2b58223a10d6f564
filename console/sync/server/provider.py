"""Payment providers: the cloud creates an order with the amount it quoted, the driver
pays on the provider's page, and the provider tells the cloud by a signed, asynchronous
notification. Only a verified notification makes a payment "paid".

`SimulatedProvider` behaves like the real ones (WeChat Pay, Alipay, Stripe...): its
checkout page is served beside the cloud, and after the driver confirms it POSTs the
notification from its own thread, signed with HMAC-SHA256 over
`timestamp + "\\n" + nonce + "\\n" + body` with the secret it shares with the cloud.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import secrets
import threading
import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any, Callable, Mapping, Protocol

import httpx

log = logging.getLogger("booth.cloud.provider")

# A notification older (or newer) than this by the cloud's clock is refused as late.
FRESHNESS = timedelta(minutes=5)
SIGNATURE_HEADER = "x-sim-signature"
TIMESTAMP_HEADER = "x-sim-timestamp"
NONCE_HEADER = "x-sim-nonce"


class NotificationRefused(ValueError):
    """A notification the cloud does not believe; the reason is audited."""


@dataclass(frozen=True, slots=True)
class Notification:
    """What a verified notification says."""

    order_id: str
    provider_payment_id: str
    amount_minor: int
    currency: str
    status: str
    nonce: str
    sent_at: datetime


@dataclass(frozen=True, slots=True)
class Order:
    """An order created at the provider for a quoted amount."""

    order_id: str
    amount_minor: int
    currency: str
    description: str
    notify_url: str
    return_url: str
    expires_at: datetime | None = None


class PaymentProvider(Protocol):
    """What the cloud needs of a provider."""

    name: str

    def create_order(self, order: Order) -> str:
        """Register the order; return the URL of the provider's checkout page."""
        ...

    def verify(self, headers: Mapping[str, str], body: bytes, now: datetime) -> Notification:
        """Check a notification's signature and freshness and read it. Raises
        NotificationRefused with the reason."""
        ...


def sign(secret: bytes, timestamp: str, nonce: str, body: bytes) -> str:
    """The hex HMAC-SHA256 a simulated provider puts on a notification."""
    message = timestamp.encode("ascii") + b"\n" + nonce.encode("ascii") + b"\n" + body
    return hmac.new(secret, message, hashlib.sha256).hexdigest()


def signed_headers(secret: bytes, body: bytes, at: datetime, nonce: str | None = None) -> dict[str, str]:
    """The headers of a notification sent at `at` (tests forge and replay with this)."""
    timestamp = str(int(at.timestamp()))
    nonce = nonce or secrets.token_hex(16)
    return {
        "content-type": "application/json",
        TIMESTAMP_HEADER: timestamp,
        NONCE_HEADER: nonce,
        SIGNATURE_HEADER: sign(secret, timestamp, nonce, body),
    }


@dataclass
class SimulatedProvider:
    """A provider on this machine: orders in memory, a checkout page, signed
    notifications posted asynchronously (like a real provider, after the driver paid).
    `delay` is how long the provider takes to notify."""

    secret: bytes = field(default_factory=lambda: secrets.token_bytes(32))
    name: str = "sim"
    delay: float = 0.05
    now: Callable[[], datetime] = field(default=lambda: datetime.now(timezone.utc))
    orders: dict[str, Order] = field(default_factory=dict)
    paid: dict[str, str] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def create_order(self, order: Order) -> str:
        """Remember the order; its checkout page is /sim-provider/checkout/<order id>."""
        with self._lock:
            self.orders[order.order_id] = order
        return f"/sim-provider/checkout/{order.order_id}"

    def order(self, order_id: str) -> Order | None:
        """An order created here, or None."""
        with self._lock:
            return self.orders.get(order_id)

    def confirm(self, order_id: str) -> str | None:
        """The driver paid on the checkout page: send the notification from another
        thread (asynchronously, as a provider does). Returns the provider's payment id,
        or None for an unknown order. Confirming twice sends the same payment again."""
        with self._lock:
            order = self.orders.get(order_id)
            if order is None:
                return None
            payment_id = self.paid.setdefault(order_id, f"sim-{secrets.token_hex(8)}")
        threading.Thread(target=self._notify, args=(order, payment_id), name="sim-provider-notify", daemon=True).start()
        return payment_id

    def notification_body(self, order: Order, payment_id: str) -> bytes:
        """The JSON a notification carries."""
        doc = {
            "order_id": order.order_id,
            "payment_id": payment_id,
            "amount_minor": order.amount_minor,
            "currency": order.currency,
            "status": "succeeded",
        }
        return json.dumps(doc, separators=(",", ":")).encode("utf-8")

    def _notify(self, order: Order, payment_id: str) -> None:
        time.sleep(self.delay)
        body = self.notification_body(order, payment_id)
        # Like real providers: retry a few times until the cloud answers 2xx.
        for attempt in range(5):
            try:
                answer = httpx.post(order.notify_url, content=body, headers=signed_headers(self.secret, body, self.now()), timeout=5)
                if answer.status_code < 300:
                    return
                log.warning("notification for %s answered %s", order.order_id, answer.status_code)
                if answer.status_code < 500:
                    return
            except httpx.HTTPError as exc:
                log.warning("notification for %s not delivered: %s", order.order_id, exc)
            time.sleep(0.2 * 2**attempt)

    def verify(self, headers: Mapping[str, str], body: bytes, now: datetime) -> Notification:
        """Signature, freshness and shape of a notification (the nonce's uniqueness is
        checked by the cloud against what it recorded)."""
        signature = headers.get(SIGNATURE_HEADER, "")
        timestamp = headers.get(TIMESTAMP_HEADER, "")
        nonce = headers.get(NONCE_HEADER, "")
        if not signature or not timestamp or not nonce:
            raise NotificationRefused("unsigned: signature, timestamp or nonce missing")
        if not timestamp.isdigit() or len(nonce) > 64 or not nonce.isascii():
            raise NotificationRefused("malformed timestamp or nonce")
        expected = sign(self.secret, timestamp, nonce, body)
        if not hmac.compare_digest(expected, signature.lower()):
            raise NotificationRefused("bad signature")
        sent_at = datetime.fromtimestamp(int(timestamp), timezone.utc)
        if abs(now - sent_at) > FRESHNESS:
            raise NotificationRefused(f"late: signed at {sent_at.isoformat()}, more than {int(FRESHNESS.total_seconds() // 60)} min from now")
        try:
            doc: Any = json.loads(body)
            return Notification(
                order_id=str(doc["order_id"]), provider_payment_id=str(doc["payment_id"]),
                amount_minor=int(doc["amount_minor"]), currency=str(doc["currency"]), status=str(doc["status"]),
                nonce=nonce, sent_at=sent_at,
            )
        except (ValueError, KeyError, TypeError):
            raise NotificationRefused("the body is not a notification") from None
