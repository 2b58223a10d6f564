"""The root of every rule the domain refuses.

A `DomainError` is bad input or a request the rules do not allow, with a message for
people; the site's command boundary shows it to the attendant and nothing changes.
Any other exception is a fault of the program, logged and reported as such."""

from __future__ import annotations


class DomainError(ValueError):
    """A refusal by the domain's rules, with a message for people."""
