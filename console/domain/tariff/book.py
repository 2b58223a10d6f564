"""Several versions of one tariff, and which one prices a stay."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import datetime

from console.domain.quote import Quote
from console.domain.tariff.calendar import to_epoch_minute
from console.domain.tariff.errors import Problem, QuoteError, TariffError
from console.domain.tariff.model import Tariff
from console.domain.tariff.pricing import PreviousVisit, quote
from console.i18n import _


class TariffBook:
    """The versions of one tariff id, kept immutable.

    Rule: the version in force at a stay's ENTRY prices the whole stay; a version is in
    force from its `effective_from` until the next version's. A version without
    `effective_from` is in force from the beginning of time.
    """

    def __init__(self, tariffs: list[Tariff] | tuple[Tariff, ...] = ()) -> None:
        self._versions: dict[str, Tariff] = {}
        for t in tariffs:
            self.add(t)

    @property
    def key(self) -> str | None:
        """The tariff id (without version) this book holds, once it holds one."""
        return next(iter(self._versions.values())).key if self._versions else None

    def add(self, tariff: Tariff) -> bool:
        """Add a version; return False if this very version was already present.

        Raises TariffError when the version id is present with different content (an
        active version is never changed: an edit needs a new version), when the tariff
        belongs to another id, or when another version starts at the same instant.
        """
        if self.key is not None and tariff.key != self.key:
            raise TariffError([Problem("tariff.id", f"this book holds tariff {self.key!r}, "
                                       f"not {tariff.key!r}")], tariff.source)
        present = self._versions.get(tariff.tariff_id)
        if present is not None:
            if present.fingerprint == tariff.fingerprint:
                return False
            raise TariffError([Problem("tariff.version", f"version {tariff.tariff_id} already "
                                       "exists with different content; a changed tariff needs "
                                       "a new version")], tariff.source)
        for other in self._versions.values():
            if _start(other) == _start(tariff):
                raise TariffError([Problem("tariff.effective_from", f"{other.tariff_id} already "
                                           "takes effect at the same instant")], tariff.source)
        self._versions[tariff.tariff_id] = tariff
        return True

    def version_at(self, instant: datetime) -> Tariff:
        """The version in force at `instant` (aware): the latest one that had taken effect."""
        if not isinstance(instant, datetime):
            raise QuoteError(_("the instant must be a datetime"))
        if instant.tzinfo is None or instant.utcoffset() is None:
            raise QuoteError(_("instant {value} has no time zone offset").format(value=instant.isoformat()))
        best: Tariff | None = None
        for t in self._versions.values():
            if t.effective_from is not None and _start(t) > instant.timestamp():
                continue
            if best is None or _start(t) > _start(best):
                best = t
        if best is None:
            raise QuoteError(_("no version of tariff {key!r} is in force at {instant}").format(
                key=self.key, instant=instant.isoformat()))
        return best

    def quote(
        self,
        entry: datetime | None,
        exit: datetime,
        *,
        vehicle_class: str = "car",
        member: str | None = None,
        validations: Sequence[str] = (),
        zone: str | None = None,
        paid_until: datetime | None = None,
        previous_visit: PreviousVisit | None = None,
        lost_ticket: bool = False,
    ) -> Quote:
        """Price a stay with the version in force at its entry.

        For a visit that continues a previous one (`previous_visit` within the re-entry
        time of the version in force at the previous entry) that first entry counts; for
        a lost ticket with an unknown entry, the version in force at the exit. The other
        arguments are those of `console.domain.tariff.quote`. This is the one pricing
        entry point: the site and `booth quote` both call it.
        """
        tariff = self.version_at(entry if entry is not None else exit)
        if previous_visit is not None and entry is not None and self.continues(previous_visit, entry, vehicle_class):
            tariff = self.version_at(previous_visit.entry)
        return quote(tariff, entry, exit, vehicle_class=vehicle_class, member=member,
                     validations=validations, zone=zone, paid_until=paid_until,
                     previous_visit=previous_visit, lost_ticket=lost_ticket)

    def continues(self, previous_visit: PreviousVisit, entry: datetime, vehicle_class: str = "car") -> bool:
        """Whether an entry at `entry` continues `previous_visit`: it came back no more than
        the re-entry time (of the version in force at the previous entry) after leaving,
        counted in whole minutes as the quote counts them."""
        older = self.version_at(previous_visit.entry)
        vc = older.classes.get(vehicle_class)
        if vc is None or not vc.rules.reentry:
            return False
        gap = to_epoch_minute(entry) - to_epoch_minute(previous_visit.exit)
        return 0 <= gap <= vc.rules.reentry

    def __iter__(self) -> Iterator[Tariff]:
        return iter(sorted(self._versions.values(), key=_start))

    def __len__(self) -> int:
        return len(self._versions)

    def get(self, tariff_id: str) -> Tariff | None:
        """A version by its id ("<id>@<version>")."""
        return self._versions.get(tariff_id)


def _start(t: Tariff) -> float:
    return t.effective_from.timestamp() if t.effective_from is not None else float("-inf")
