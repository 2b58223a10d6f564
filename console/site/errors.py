"""Errors the site reports to whoever sent a command."""

from __future__ import annotations


class SiteError(ValueError):
    """A command the site refused, with a message for the attendant. Nothing changed."""


class PlateNotFound(SiteError):
    """No open visit for the plate. `candidates` are open plates that differ only by
    plate-reader confusions (empty when nothing comes close)."""

    def __init__(self, plate: str, candidates: tuple[str, ...] = ()) -> None:
        self.plate = plate
        self.candidates = candidates
        if candidates:
            super().__init__(f"no visit for {plate}; did the reader mean {', '.join(candidates)}?")
        else:
            super().__init__(f"unknown plate {plate}: no visit found")
