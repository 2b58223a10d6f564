"""Errors the site reports to whoever sent a command."""


class SiteError(ValueError):
    """A command the site refused, with a message for the attendant. Nothing changed."""
