"""A reference implementation of the booth cloud (protocol v1, docs/cloud-protocol.md).

For demos, tests and as a model for a real cloud: it keeps the books of every site's
events (deduplicated by event id), serves each site its tariff, members, accounts and
remote payments, and gives drivers the nearby sites with free spaces and payment links.
It creates its own tables with `metadata.create_all` instead of migrations.
"""
