"""The reference cloud's tables (SQLAlchemy Core, on their own metadata, apart from the
booth's schema) and its engine.

A reference server may create its tables with `create_all`; a production cloud would
manage its schema with migrations.
"""

from __future__ import annotations

from sqlalchemy import Boolean, Column, Float, Index, Integer, LargeBinary, MetaData, String, Table, Text, UniqueConstraint
from sqlalchemy.engine import Engine

from console.store.engine import make_engine
from console.store.types import UTCDateTime

metadata = MetaData()

site = Table(
    "cloud_site",
    metadata,
    Column("site_id", String(64), primary_key=True),
    Column("name", String(80), nullable=False, default=""),
    # Only a SHA-256 of the token is kept; a stolen database does not leak tokens.
    Column("token_hash", String(64), nullable=False, unique=True),
    # Coordinates are not money: floats are fine for a distance.
    Column("lat", Float, nullable=True),
    Column("lon", Float, nullable=True),
    Column("currency", String(3), nullable=False, default="EUR"),
    Column("created_at", UTCDateTime(), nullable=False),
)

event = Table(
    "cloud_event",
    metadata,
    # (site, event id) is the idempotency key: a repeated delivery changes nothing.
    Column("site_id", String(64), primary_key=True),
    Column("event_id", String(36), primary_key=True),
    Column("booth_id", String(32), nullable=False, default=""),
    Column("type", String(48), nullable=False),
    Column("occurred_at", UTCDateTime(), nullable=False),  # booth clock: data only
    Column("received_at", UTCDateTime(), nullable=False),  # server clock
    Column("payload", Text, nullable=False),
    Index("ix_cloud_event_site_type", "site_id", "type"),
)

visit = Table(
    "cloud_visit",
    metadata,
    Column("site_id", String(64), primary_key=True),
    Column("visit_id", String(36), primary_key=True),
    Column("plate", String(16), nullable=False),
    Column("zone", String(32), nullable=True),
    Column("entry_lane", String(32), nullable=True),
    Column("entry_at", UTCDateTime(), nullable=True),
    Column("exit_lane", String(32), nullable=True),
    Column("exit_at", UTCDateTime(), nullable=True),
    Column("fee_minor", Integer, nullable=True),
    Column("currency", String(3), nullable=True),
    Column("tariff_id", String(64), nullable=True),
    Column("vehicle_class", String(32), nullable=True),
    Column("state", String(16), nullable=False, default="open"),
    Index("ix_cloud_visit_site_plate", "site_id", "plate"),
)

payment = Table(
    "cloud_payment",
    metadata,
    Column("site_id", String(64), primary_key=True),
    Column("payment_id", String(36), primary_key=True),
    Column("visit_id", String(36), nullable=False),
    Column("method", String(16), nullable=False),
    Column("amount_minor", Integer, nullable=False),
    Column("currency", String(3), nullable=False),
    Column("attendant", String(64), nullable=False, default=""),
    Column("reference", String(64), nullable=True),
    Column("occurred_at", UTCDateTime(), nullable=False),
    Column("received_at", UTCDateTime(), nullable=False),
)

occupancy = Table(
    "cloud_occupancy",
    metadata,
    Column("site_id", String(64), primary_key=True),
    Column("zone", String(32), primary_key=True),
    Column("name", String(80), nullable=False, default=""),
    Column("capacity", Integer, nullable=False),
    Column("occupied", Integer, nullable=False),
    Column("observed_at", UTCDateTime(), nullable=False),  # booth clock
    Column("received_at", UTCDateTime(), nullable=False),  # server clock: freshness
    Column("booth_id", String(32), nullable=False, default=""),
)

document = Table(
    "cloud_document",
    metadata,
    Column("site_id", String(64), primary_key=True),
    Column("kind", String(16), primary_key=True),  # tariff / members / accounts
    Column("version", String(64), nullable=False),
    Column("etag", String(80), nullable=False),
    Column("body", Text, nullable=False),
    Column("updated_at", UTCDateTime(), nullable=False),
)

payment_link = Table(
    "cloud_payment_link",
    metadata,
    Column("link_id", String(36), primary_key=True),
    Column("site_id", String(64), nullable=False),
    Column("plate", String(16), nullable=False),
    Column("amount_minor", Integer, nullable=False),
    Column("currency", String(3), nullable=False),
    Column("created_at", UTCDateTime(), nullable=False),
    Column("expires_at", UTCDateTime(), nullable=False),
    Column("status", String(16), nullable=False),  # open / paid
    Column("paid_at", UTCDateTime(), nullable=True),
    Column("reference", String(64), nullable=True),
    Column("remote_payment_id", String(64), nullable=True),
    # The cloud's own quote: the amount the provider's order was created with.
    Column("visit_id", String(36), nullable=True),
    Column("tariff_id", String(64), nullable=True),
    Column("provider", String(32), nullable=True),
)

tariff_version = Table(
    "cloud_tariff_version",
    metadata,
    # The tariff versions a site's booths price with, as they sent them (the cloud quotes
    # drivers with the very same text).
    Column("site_id", String(64), primary_key=True),
    Column("tariff_id", String(96), primary_key=True),
    Column("text", Text, nullable=False),
    Column("received_at", UTCDateTime(), nullable=False),
)

notification = Table(
    "cloud_notification",
    metadata,
    # Every payment notification the cloud received, accepted or refused, and why.
    Column("seq", Integer, primary_key=True, autoincrement=True),
    Column("provider", String(32), nullable=False),
    Column("received_at", UTCDateTime(), nullable=False),
    Column("outcome", String(16), nullable=False),  # accepted / repeated / refused
    Column("reason", String(200), nullable=False, default=""),
    Column("link_id", String(64), nullable=True),
    Column("nonce", String(64), nullable=True),
    Column("client", String(64), nullable=False, default=""),
    Column("body", Text, nullable=False, default=""),
    Index("ix_cloud_notification_nonce", "provider", "nonce"),
)

audit = Table(
    "cloud_audit",
    metadata,
    # What the cloud refused or did on a driver's behalf (rate limits, refused lookups).
    Column("seq", Integer, primary_key=True, autoincrement=True),
    Column("at", UTCDateTime(), nullable=False),
    Column("action", String(48), nullable=False),
    Column("client", String(64), nullable=False, default=""),
    Column("detail", Text, nullable=False, default=""),
)

remote_payment = Table(
    "cloud_remote_payment",
    metadata,
    # The sequence number is the booths' pull cursor: it only grows.
    Column("seq", Integer, primary_key=True, autoincrement=True),
    Column("payment_id", String(64), nullable=False, unique=True),
    Column("site_id", String(64), nullable=False),
    Column("plate", String(16), nullable=False),
    Column("amount_minor", Integer, nullable=False),
    Column("currency", String(3), nullable=False),
    Column("paid_at", UTCDateTime(), nullable=False),
    Column("reference", String(64), nullable=False, default=""),
    Column("link_id", String(36), nullable=True),
    Index("ix_cloud_remote_payment_site_seq", "site_id", "seq"),
)

delivery = Table(
    "cloud_delivery",
    metadata,
    Column("site_id", String(64), primary_key=True),
    Column("batches", Integer, nullable=False, default=0),
    Column("events", Integer, nullable=False, default=0),
    Column("duplicates", Integer, nullable=False, default=0),
    Column("rejected", Integer, nullable=False, default=0),
    Column("last_booth_sent_at", UTCDateTime(), nullable=True),
    Column("last_received_at", UTCDateTime(), nullable=True),
)


# -- people: accounts, what each may see, sessions -----------------------------------------------
person = Table(
    "cloud_person",
    metadata,
    Column("name", String(64), primary_key=True),  # the sign-in name
    Column("display_name", String(80), nullable=False, default=""),
    Column("role", String(24), nullable=False),  # site_manager / building_manager / franchise_manager / landlord / tenant
    Column("password_hash", String(200), nullable=False),  # argon2id
    Column("email", String(200), nullable=False, default=""),
    Column("active", Boolean, nullable=False, default=True),
    Column("failed_attempts", Integer, nullable=False, default=0),
    Column("lockouts", Integer, nullable=False, default=0),
    Column("locked_until", UTCDateTime(), nullable=True),
    Column("created_at", UTCDateTime(), nullable=False),
)

grant = Table(
    "cloud_grant",
    metadata,
    # One thing a person may see: a site, a building, a franchise, a pile or a card.
    Column("seq", Integer, primary_key=True, autoincrement=True),
    Column("person", String(64), nullable=False),
    Column("kind", String(16), nullable=False),  # site / building / franchise / pile / card
    Column("site_id", String(64), nullable=False, default=""),  # "" for buildings and franchises
    Column("ref", String(64), nullable=False),
    UniqueConstraint("person", "kind", "site_id", "ref", name="uq_cloud_grant"),
)

person_session = Table(
    "cloud_person_session",
    metadata,
    # Only a SHA-256 of the cookie's value is kept.
    Column("token_hash", String(64), primary_key=True),
    Column("person", String(64), nullable=False),
    Column("csrf", String(64), nullable=False),
    Column("created_at", UTCDateTime(), nullable=False),
    Column("expires_at", UTCDateTime(), nullable=False),
    Column("ended_at", UTCDateTime(), nullable=True),
)

person_audit = Table(
    "cloud_person_audit",
    metadata,
    # What people did and saw in the cloud: sign-ins, every portrait shown or refused,
    # faults closed. Never updated, never deleted.
    Column("seq", Integer, primary_key=True, autoincrement=True),
    Column("at", UTCDateTime(), nullable=False),
    Column("person", String(64), nullable=False),
    Column("action", String(48), nullable=False),
    Column("site_id", String(64), nullable=False, default=""),
    Column("subject", String(64), nullable=False, default=""),
    Column("outcome", String(16), nullable=False, default=""),
    Column("client", String(64), nullable=False, default=""),
    Column("detail", Text, nullable=False, default=""),
    Index("ix_cloud_person_audit_subject", "site_id", "subject"),
)

# -- elevators -----------------------------------------------------------------------------------
building = Table(
    "cloud_building",
    metadata,
    Column("building_id", String(64), primary_key=True),
    Column("site_id", String(64), nullable=False),
    Column("name", String(80), nullable=False, default=""),
    Column("cars", String(200), nullable=False, default=""),  # comma list of car numbers; "": every car of the site
)

site_elevator = Table(
    "cloud_site_elevator",
    metadata,
    # What the site's booths last said about their elevator: their time zone (statement
    # months) and how long they keep portraits (the cloud keeps them no longer).
    Column("site_id", String(64), primary_key=True),
    Column("timezone", String(64), nullable=False),
    Column("retention_days", Integer, nullable=False),
    Column("updated_at", UTCDateTime(), nullable=False),
)

ride = Table(
    "cloud_ride",
    metadata,
    Column("site_id", String(64), primary_key=True),
    Column("ride_id", String(36), primary_key=True),
    Column("building_id", String(64), nullable=True),
    Column("card", String(40), nullable=True),
    Column("card_class", String(32), nullable=True),
    Column("account_id", String(64), nullable=True),
    Column("car", Integer, nullable=False),
    Column("from_floor", Integer, nullable=True),
    Column("floor", Integer, nullable=False),
    Column("swiped_at", UTCDateTime(), nullable=True),
    Column("doors_open_at", UTCDateTime(), nullable=False),
    Column("fee_minor", Integer, nullable=False),
    Column("currency", String(3), nullable=False),
    Column("price_rule", String(64), nullable=False, default=""),
    Column("flagged", Boolean, nullable=False, default=False),
    Column("flag_reason", String(200), nullable=True),
    Column("snapshot", LargeBinary(), nullable=True),
    Column("snapshot_face", Boolean, nullable=False, default=False),
    Column("purge_after", UTCDateTime(), nullable=False),  # doors_open_at + the booth's retention
    Column("snapshot_purged_at", UTCDateTime(), nullable=True),
    Column("received_at", UTCDateTime(), nullable=False),
    Index("ix_cloud_ride_card", "site_id", "card", "doors_open_at"),
    Index("ix_cloud_ride_building", "building_id", "doors_open_at"),
    Index("ix_cloud_ride_purge", "purge_after"),
)

# -- charging faults -----------------------------------------------------------------------------
franchise = Table(
    "cloud_franchise",
    metadata,
    Column("franchise_id", String(64), primary_key=True),
    Column("name", String(80), nullable=False, default=""),
    Column("webhook_url", String(500), nullable=False, default=""),
    # The key webhooks are signed with (HMAC-SHA256); the receiver holds the same.
    Column("webhook_secret", String(64), nullable=False, default=""),
)

fault = Table(
    "cloud_fault",
    metadata,
    Column("site_id", String(64), primary_key=True),
    Column("fault_id", String(36), primary_key=True),
    Column("pile_id", String(64), nullable=False),
    Column("port", Integer, nullable=True),
    Column("code", String(16), nullable=False),
    Column("detail", String(300), nullable=False, default=""),
    Column("region", String(64), nullable=False, default=""),
    Column("franchise", String(64), nullable=False),
    Column("raised_at", UTCDateTime(), nullable=False),  # booth clock
    Column("received_at", UTCDateTime(), nullable=False),
    Column("state", String(8), nullable=False, default="open"),  # open / closed
    Column("closed_at", UTCDateTime(), nullable=True),
    Column("closed_by", String(64), nullable=True),
    Column("closed_where", String(8), nullable=True),  # booth / cloud
    Column("note", String(500), nullable=True),
    Index("ix_cloud_fault_franchise", "franchise", "state"),
)

fault_delivery = Table(
    "cloud_fault_delivery",
    metadata,
    # One notification of a raised fault to one target, until it is delivered or given up.
    Column("seq", Integer, primary_key=True, autoincrement=True),
    Column("site_id", String(64), nullable=False),
    Column("fault_id", String(36), nullable=False),
    Column("channel", String(8), nullable=False),  # webhook / email
    Column("target", String(500), nullable=False),
    Column("state", String(12), nullable=False, default="pending"),  # pending / delivered / failed
    Column("attempts", Integer, nullable=False, default=0),
    Column("next_attempt_at", UTCDateTime(), nullable=False),
    Column("last_error", String(300), nullable=True),
    Column("created_at", UTCDateTime(), nullable=False),
    Column("delivered_at", UTCDateTime(), nullable=True),
    UniqueConstraint("site_id", "fault_id", "channel", "target", name="uq_cloud_fault_delivery"),
    Index("ix_cloud_fault_delivery_due", "state", "next_attempt_at"),
)

delivery_attempt = Table(
    "cloud_delivery_attempt",
    metadata,
    Column("seq", Integer, primary_key=True, autoincrement=True),
    Column("delivery", Integer, nullable=False),
    Column("at", UTCDateTime(), nullable=False),
    Column("ok", Boolean, nullable=False),
    Column("detail", String(300), nullable=False, default=""),
)

site_command = Table(
    "cloud_site_command",
    metadata,
    # What the cloud asks a site's booths to do (pulled like remote payments; the
    # sequence number is the cursor).
    Column("seq", Integer, primary_key=True, autoincrement=True),
    Column("command_id", String(36), nullable=False, unique=True),
    Column("site_id", String(64), nullable=False),
    Column("kind", String(32), nullable=False),  # close_maintenance
    Column("subject", String(64), nullable=False),
    Column("body", Text, nullable=False),
    Column("created_at", UTCDateTime(), nullable=False),
    Index("ix_cloud_site_command_site_seq", "site_id", "seq"),
)

charge_request = Table(
    "cloud_charge_request",
    metadata,
    # A charging session asked from a phone (the pile's QR page): queued as a
    # `charging.start` command, then followed by the booth's events.
    Column("request_id", String(64), primary_key=True),  # random: the page's address is its only key
    Column("site_id", String(64), nullable=False),
    Column("pile", String(64), nullable=False),
    Column("port", Integer, nullable=False),
    Column("card", String(64), nullable=False),
    Column("person", String(64), nullable=True),  # signed in, or None (the card was typed)
    Column("preset", String(40), nullable=False),
    Column("mode", String(16), nullable=False),
    Column("state", String(16), nullable=False),  # queued / started / refused / closed
    Column("session_id", String(36), nullable=True, index=True),
    Column("energy_wh", Integer, nullable=False, default=0),
    Column("seconds", Integer, nullable=False, default=0),
    Column("fee_minor", Integer, nullable=False, default=0),
    Column("hold_minor", Integer, nullable=False, default=0),
    Column("refund_minor", Integer, nullable=True),
    Column("currency", String(3), nullable=False),
    Column("detail", String(300), nullable=False, default=""),  # the refusal, or why it ended
    Column("stop_asked", Boolean, nullable=False, default=False),
    Column("created_at", UTCDateTime(), nullable=False),
    Column("updated_at", UTCDateTime(), nullable=False),
)


# -- charging cards as the booths reported them, and what proves a card's holder -----------------
charge_card = Table(
    "cloud_charge_card",
    metadata,
    Column("site_id", String(64), primary_key=True),
    Column("card", String(64), primary_key=True),
    Column("account", String(64), nullable=False, default=""),
    Column("kind", String(16), nullable=False, default="tenant"),  # tenant / landlord
    Column("state", String(16), nullable=False, default="active"),  # active / blocked
    Column("piles", Text, nullable=False, default=""),  # a landlord card's piles, comma list
    Column("pin_hash", String(200), nullable=True),  # argon2id, as the booth made it
    Column("updated_at", UTCDateTime(), nullable=False),
)

card_attempt = Table(
    "cloud_card_attempt",
    metadata,
    # Wrong PINs or bind codes typed for a card number, counted whether or not the card
    # exists (so a lock says nothing about it); locks like the booth's staff PINs.
    Column("site_id", String(64), primary_key=True),
    Column("card", String(64), primary_key=True),
    Column("failed", Integer, nullable=False, default=0),
    Column("lockouts", Integer, nullable=False, default=0),
    Column("locked_until", UTCDateTime(), nullable=True),
)

bind_code = Table(
    "cloud_bind_code",
    metadata,
    # A code the booth printed for binding a new card from here (only its hash).
    Column("site_id", String(64), primary_key=True),
    Column("card", String(64), primary_key=True),
    Column("account", String(64), nullable=False),
    Column("code_hash", String(200), nullable=False),
    Column("expires_at", UTCDateTime(), nullable=False),
    Column("used_at", UTCDateTime(), nullable=True),
)

charge_ledger = Table(
    "cloud_charge_ledger",
    metadata,
    # What a postpaid account owes, entry by entry: each closed postpaid session's booked
    # bill (+) and each payment the booth recorded (-). One entry per booth event.
    Column("site_id", String(64), primary_key=True),
    Column("entry_id", String(64), primary_key=True),  # the booth event's id
    Column("account", String(64), nullable=False),
    Column("card", String(64), nullable=True),
    Column("kind", String(8), nullable=False),  # bill / payment
    Column("amount_minor", Integer, nullable=False),  # signed: what it adds to the owed
    Column("currency", String(3), nullable=False),
    Column("at", UTCDateTime(), nullable=False),
    Index("ix_cloud_charge_ledger_account", "site_id", "account"),
)

card_change = Table(
    "cloud_card_change",
    metadata,
    # A card binding or a pile authorization asked on a person's page, sent down as a
    # command and answered by the booth (`charging.change_answered`).
    Column("request_id", String(64), primary_key=True),
    Column("site_id", String(64), nullable=False),
    Column("kind", String(32), nullable=False),  # charging.bind_card / charging.authorize_piles
    Column("card", String(64), nullable=False),
    Column("piles", String(300), nullable=False, default=""),
    Column("remove", Boolean, nullable=False, default=False),
    Column("person", String(64), nullable=False),
    Column("state", String(12), nullable=False),  # queued / done / refused
    Column("detail", String(300), nullable=False, default=""),
    Column("created_at", UTCDateTime(), nullable=False),
    Column("updated_at", UTCDateTime(), nullable=False),
)


def open_cloud_db(url: str) -> Engine:
    """An engine for the cloud's database (SQLite file or PostgreSQL URL) with its
    tables created. SQLite gets the same durability settings as a booth."""
    engine = make_engine(url)
    metadata.create_all(engine)
    return engine
