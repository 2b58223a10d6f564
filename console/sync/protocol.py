"""The wire protocol between a booth and its cloud (version 1), shared by the booth's
client and the reference server. docs/cloud-protocol.md is the prose version.

Everything is JSON over HTTPS. Times are ISO 8601 with an offset; money is an integer
count of minor units with an ISO 4217 currency. Payloads are checked with pydantic so a
malformed document is refused as a whole, with every problem named.
"""

from __future__ import annotations

import uuid
from datetime import datetime, timezone
from email.utils import parsedate_to_datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from console.domain.plates import PlateRules
from console.i18n import _

API = "/v1"
MAX_BATCH_EVENTS = 1000
MAX_BODY_BYTES = 4 * 1024 * 1024
DOCUMENT_KINDS = ("tariff", "members", "accounts")
MEMBER_KINDS = ("member", "pass", "whitelist")
SITE_ID_PATTERN = r"^[A-Za-z0-9_.-]{1,64}$"
# Plates on the wire: canonical text of a plate of any region (docs/plates.md). A booth
# only sends plates its own rules accepted; the cloud serves sites of every region.
WIRE_PLATES = PlateRules.every_region()


def events_path(site_id: str) -> str:
    return f"{API}/sites/{site_id}/events"


def occupancy_path(site_id: str) -> str:
    return f"{API}/sites/{site_id}/occupancy"


def document_path(site_id: str, kind: str) -> str:
    return f"{API}/sites/{site_id}/{kind}"


def remote_payments_path(site_id: str) -> str:
    return f"{API}/sites/{site_id}/remote-payments"


def commands_path(site_id: str) -> str:
    return f"{API}/sites/{site_id}/commands"


def books_path(site_id: str) -> str:
    return f"{API}/sites/{site_id}/books"


def plate_key(text: str) -> str:
    """The canonical form plates are compared in (the booth's lanes store the same), for
    a plate of any region. Raises PlateError (a ValueError) for anything else."""
    return WIRE_PLATES.normalize(text)


def utc_text(at: datetime) -> str:
    """An aware datetime as ISO 8601 in UTC."""
    if at.tzinfo is None:
        raise ValueError(_("naive datetime"))
    return at.astimezone(timezone.utc).isoformat()


def _aware(value: datetime) -> datetime:
    if value.tzinfo is None:
        raise ValueError(_("a time must carry an offset (e.g. 2026-03-02T08:00:00+00:00)"))
    return value.astimezone(timezone.utc)


class _Doc(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)


# -- booth -> cloud ------------------------------------------------------------------------
class EventIn(_Doc):
    """One outbox event. `id` is the idempotency key; `occurred_at` is booth time (data)."""

    id: str
    type: str = Field(min_length=1, max_length=48)
    occurred_at: datetime
    payload: dict[str, Any]

    @field_validator("id")
    @classmethod
    def _uuid(cls, value: str) -> str:
        try:
            return str(uuid.UUID(value))
        except (ValueError, AttributeError, TypeError):
            raise ValueError(_("id must be a UUID")) from None

    _aware_time = field_validator("occurred_at")(_aware)


class ZoneIn(_Doc):
    zone: str = Field(min_length=1, max_length=32)
    name: str = Field(default="", max_length=80)
    capacity: int = Field(ge=0, le=100_000)
    occupied: int = Field(ge=0, le=1_000_000)


class OccupancyIn(_Doc):
    """The latest occupancy of every zone of a site (a snapshot, not a delta)."""

    booth_id: str = Field(default="", max_length=32)
    observed_at: datetime
    zones: list[ZoneIn] = Field(max_length=1000)

    _aware_time = field_validator("observed_at")(_aware)


class TariffVersionIn(_Doc):
    """One tariff version a booth prices with: its id (`key@version`) and its text."""

    tariff_id: str = Field(min_length=1, max_length=96)
    text: str = Field(max_length=1_000_000)


class TariffVersionsIn(_Doc):
    """Every tariff version a booth prices with, so the cloud quotes as the booth does."""

    versions: list[TariffVersionIn] = Field(max_length=100)


def tariff_versions_path(site_id: str) -> str:
    return f"{API}/sites/{site_id}/tariff-versions"


# -- cloud -> booth ------------------------------------------------------------------------
class TariffDoc(_Doc):
    version: str = Field(min_length=1, max_length=64)
    text: str = Field(max_length=1_000_000)
    format: Literal["toml"] = "toml"


class MemberDoc(_Doc):
    plate: str
    kind: Literal["member", "pass", "whitelist"]
    name: str = Field(default="", max_length=80)
    account_id: str | None = Field(default=None, max_length=64)
    valid_from: datetime | None = None
    valid_until: datetime | None = None
    plan: str | None = Field(default=None, min_length=1, max_length=64)

    @field_validator("plate")
    @classmethod
    def _plate(cls, value: str) -> str:
        return plate_key(value)

    @field_validator("valid_from", "valid_until")
    @classmethod
    def _aware_opt(cls, value: datetime | None) -> datetime | None:
        return None if value is None else _aware(value)


class MembersDoc(_Doc):
    version: str = Field(min_length=1, max_length=64)
    members: list[MemberDoc] = Field(max_length=200_000)


class AccountDoc(_Doc):
    id: str = Field(min_length=1, max_length=64)
    name: str = Field(default="", max_length=80)
    active: bool = True
    credit_limit_minor: int | None = Field(default=None, ge=0)
    currency: str = Field(min_length=3, max_length=3)


class AccountsDoc(_Doc):
    version: str = Field(min_length=1, max_length=64)
    accounts: list[AccountDoc] = Field(max_length=100_000)


class RemotePaymentDoc(_Doc):
    id: str = Field(min_length=1, max_length=64)
    plate: str
    amount_minor: int = Field(ge=0)
    currency: str = Field(min_length=3, max_length=3)
    paid_at: datetime
    reference: str = Field(default="", max_length=64)

    @field_validator("plate")
    @classmethod
    def _plate(cls, value: str) -> str:
        return plate_key(value)

    _aware_time = field_validator("paid_at")(_aware)


class RemotePaymentsPage(_Doc):
    payments: list[RemotePaymentDoc]
    cursor: str | None = Field(default=None, max_length=128)
    more: bool = False


class SiteCommandDoc(_Doc):
    """Something the cloud asks the site's booths to do. `close_maintenance`: close the
    maintenance record of `fault_id` with `note`, as `actor` (a person of the cloud)."""

    id: str = Field(min_length=1, max_length=64)
    kind: str = Field(min_length=1, max_length=32)
    fault_id: str | None = Field(default=None, max_length=36)
    note: str = Field(default="", max_length=2000)
    actor: str = Field(default="cloud", max_length=64)
    # `charging.start` (from a phone): start `pile`/`port` for `card` with `preset` and
    # `mode`, answering with events that name `request_id`; `charging.stop`: stop
    # `session_id`.
    request_id: str | None = Field(default=None, max_length=64)
    pile: str | None = Field(default=None, max_length=64)
    port: int | None = Field(default=None, ge=0, le=10_000)
    card: str | None = Field(default=None, max_length=64)
    preset: str | None = Field(default=None, max_length=40)
    mode: str | None = Field(default=None, max_length=16)
    session_id: str | None = Field(default=None, max_length=36)
    # `charging.bind_card`: bind (proof "code": the card's printed code) or claim (proof
    # "pin") `card`; `charging.authorize_piles`: `piles` on the landlord's `card`, taken
    # away with `remove`. Both answer `charging.change_answered` naming `request_id`.
    proof: str | None = Field(default=None, max_length=8)
    piles: list[str] = Field(default_factory=list, max_length=50)
    remove: bool = False


class CommandsPage(_Doc):
    commands: list[SiteCommandDoc]
    cursor: str | None = Field(default=None, max_length=128)
    more: bool = False


def problems(exc: ValidationError, limit: int = 5) -> str:
    """A short, readable list of what was wrong with a document."""
    parts = []
    for err in exc.errors()[:limit]:
        where = ".".join(str(p) for p in err["loc"]) or "(document)"
        parts.append(f"{where}: {err['msg'].removeprefix('Value error, ')}")
    more = len(exc.errors()) - limit
    if more > 0:
        parts.append(f"and {more} more")
    return "; ".join(parts)


def retry_after_seconds(value: str | None, date_header: str | None, now: datetime | None = None) -> float | None:
    """Seconds to wait from a Retry-After header (delta-seconds or an HTTP date).

    An HTTP date is measured against the response's own Date header when there is one,
    so a booth whose clock is wrong still waits as long as the server asked.
    """
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(int(value))
    try:
        until = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    reference: datetime | None = None
    if date_header:
        try:
            reference = parsedate_to_datetime(date_header)
        except (TypeError, ValueError, IndexError):
            reference = None
    if reference is None:
        reference = now or datetime.now(timezone.utc)
    if until.tzinfo is None:
        until = until.replace(tzinfo=timezone.utc)
    if reference.tzinfo is None:
        reference = reference.replace(tzinfo=timezone.utc)
    return max(0.0, (until - reference).total_seconds())
