"""Durable records: SQLModel tables, engine set-up, the audit chain and the outbox."""
