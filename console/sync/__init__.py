"""Cloud sync: the outbox pump, configuration pull, and a reference cloud server.

- `service.SyncService`: the booth's background sync (send the outbox, push occupancy,
  pull tariff / members / accounts / remote payments), with a status snapshot.
- `lookup`: what the site reads of the cloud's data, offline too.
- `credentials`: the site token in the OS keyring.
- `client`, `protocol`: the HTTP client and the wire format (docs/cloud-protocol.md).
- `server/`: the reference cloud (`booth cloud`).
"""
