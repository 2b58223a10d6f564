"""Cloud sync: the outbox pump, configuration pull, and a reference cloud server."""
