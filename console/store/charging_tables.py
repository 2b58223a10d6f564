"""Tables of the charging piles: accounts, cards, sessions, meter samples, faults,
maintenance records, anomalies and the account ledger.

Plain SQLAlchemy Core tables on SQLModel's metadata (so Alembic's environment sees them);
migrations 0006_charging and 0012_charge_card_pin create them.
"""

from __future__ import annotations

from sqlalchemy import Column, ForeignKey, Index, Integer, String, Table, Text, text
from sqlmodel import SQLModel

from console.store.types import UTCDateTime

metadata = SQLModel.metadata

charge_account = Table(
    "charge_account",
    metadata,
    Column("id", String(64), primary_key=True),
    Column("name", String(120), nullable=False),
    Column("kind", String(16), nullable=False),  # tenant / landlord / user
    Column("currency", String(3), nullable=False),
    Column("balance_minor", Integer, nullable=False, server_default="0"),  # prepaid wallet
    Column("owed_minor", Integer, nullable=False, server_default="0"),  # postpaid, unbilled to the tenant yet
    Column("credit_limit_minor", Integer, nullable=False, server_default="0"),
    Column("created_at", UTCDateTime(), nullable=False),
)

charge_card = Table(
    "charge_card",
    metadata,
    Column("card_id", String(64), primary_key=True),
    Column("account_id", String(64), ForeignKey("charge_account.id"), nullable=False, index=True),
    Column("kind", String(16), nullable=False),  # tenant / landlord
    Column("state", String(16), nullable=False),  # active / blocked
    Column("piles", Text, nullable=False, server_default=""),  # landlord cards: piles they authorize
    Column("blocked_at", UTCDateTime(), nullable=True),
    Column("note", String(200), nullable=True),
    # argon2id of the card's PIN (its own random salt inside); None: no PIN set. Proves the
    # holder on a phone that is not signed in as the card's owner (migration 0012).
    Column("pin_hash", String(200), nullable=True),
)

charge_bind_code = Table(
    "charge_bind_code",
    metadata,
    # A one-time code the booth prints so the holder of a new card binds it to an
    # account from the cloud; only its argon2id hash is kept (migration 0012).
    Column("card_id", String(64), primary_key=True),
    Column("account_id", String(64), ForeignKey("charge_account.id"), nullable=False),
    Column("code_hash", String(200), nullable=False),
    Column("issued_at", UTCDateTime(), nullable=False),
    Column("expires_at", UTCDateTime(), nullable=False),
    Column("used_at", UTCDateTime(), nullable=True),
)

charge_session = Table(
    "charge_session",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("pile_id", String(64), nullable=False),
    Column("port", Integer, nullable=False),
    Column("pile_kind", String(8), nullable=False),  # epile / ocpp
    Column("region", String(64), nullable=False),
    Column("franchise", String(64), nullable=False),
    Column("account_id", String(64), ForeignKey("charge_account.id"), nullable=False, index=True),
    Column("card_id", String(64), nullable=True),
    Column("source", String(8), nullable=False),  # card / qr / charger
    Column("mode", String(8), nullable=False),  # prepaid / postpaid
    Column("preset_kind", String(8), nullable=True),
    Column("preset_value", Integer, nullable=True),
    Column("plan_id", String(64), nullable=False),
    Column("currency", String(3), nullable=False),
    Column("hold_minor", Integer, nullable=False, server_default="0"),
    Column("state", String(8), nullable=False),  # open / closed
    Column("started_at", UTCDateTime(), nullable=False, index=True),
    Column("start_hour", Integer, nullable=False),  # local hour of day at start
    Column("ended_at", UTCDateTime(), nullable=True),
    Column("start_meter_wh", Integer, nullable=True),
    Column("last_meter_wh", Integer, nullable=True),
    Column("energy_wh", Integer, nullable=False, server_default="0"),
    Column("seconds", Integer, nullable=False, server_default="0"),
    Column("lines", Text, nullable=False, server_default="{}"),
    Column("fee_minor", Integer, nullable=False, server_default="0"),
    Column("bill_minor", Integer, nullable=True),
    Column("refund_minor", Integer, nullable=True),
    Column("stop_reason", String(120), nullable=True),
    Column("ocpp_tx_id", Integer, nullable=True),
    # One open session per port and per card; a charger's transaction id is unique.
    Index("uq_charge_session_open_port", "pile_id", "port", unique=True,
          sqlite_where=text("state = 'open'"), postgresql_where=text("state = 'open'")),
    Index("uq_charge_session_open_card", "card_id", unique=True,
          sqlite_where=text("state = 'open' AND card_id IS NOT NULL"), postgresql_where=text("state = 'open' AND card_id IS NOT NULL")),
    Index("uq_charge_session_tx", "pile_id", "ocpp_tx_id", unique=True,
          sqlite_where=text("ocpp_tx_id IS NOT NULL"), postgresql_where=text("ocpp_tx_id IS NOT NULL")),
)

charge_meter_sample = Table(
    "charge_meter_sample",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("session_id", String(36), ForeignKey("charge_session.id"), nullable=False, index=True),
    Column("at", UTCDateTime(), nullable=False),
    Column("meter_wh", Integer, nullable=False),
    Column("current_ma", Integer, nullable=False),
)

charge_fault = Table(
    "charge_fault",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("pile_id", String(64), nullable=False, index=True),
    Column("port", Integer, nullable=True),
    Column("code", String(40), nullable=False),
    Column("detail", String(300), nullable=False),
    Column("region", String(64), nullable=False),
    Column("franchise", String(64), nullable=False),
    Column("raised_at", UTCDateTime(), nullable=False, index=True),
    Column("state", String(8), nullable=False),  # open / closed (follows its maintenance record)
)

maintenance_record = Table(
    "maintenance_record",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("fault_id", String(36), ForeignKey("charge_fault.id"), nullable=False, unique=True),
    Column("opened_at", UTCDateTime(), nullable=False),
    Column("closed_at", UTCDateTime(), nullable=True),
    Column("closed_by", String(64), nullable=True),
    Column("note", Text, nullable=True),
)

charge_anomaly = Table(
    "charge_anomaly",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("at", UTCDateTime(), nullable=False, index=True),
    Column("pile_id", String(64), nullable=False),
    Column("port", Integer, nullable=True),
    Column("kind", String(32), nullable=False),
    Column("detail", String(300), nullable=False),
)

charge_ledger = Table(
    "charge_ledger",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("account_id", String(64), ForeignKey("charge_account.id"), nullable=False, index=True),
    Column("session_id", String(36), nullable=True),
    Column("at", UTCDateTime(), nullable=False),
    Column("kind", String(16), nullable=False),  # hold / refund / bill / topup
    Column("amount_minor", Integer, nullable=False),
    Column("currency", String(3), nullable=False),
)
