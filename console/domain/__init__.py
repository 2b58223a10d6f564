"""Pure rules of the parking business: no I/O, no clock reads, no UI."""
