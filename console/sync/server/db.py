"""The reference cloud's tables (SQLAlchemy Core, on their own metadata, apart from the
booth's schema) and its engine.

A reference server may create its tables with `create_all`; a production cloud would
manage its schema with migrations.
"""

from __future__ import annotations

from sqlalchemy import Column, Float, Index, Integer, MetaData, String, Table, Text
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


def open_cloud_db(url: str) -> Engine:
    """An engine for the cloud's database (SQLite file or PostgreSQL URL) with its
    tables created. SQLite gets the same durability settings as a booth."""
    engine = make_engine(url)
    metadata.create_all(engine)
    return engine
