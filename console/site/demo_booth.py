"""`booth demo` as one booth of a shared site: its booth id, the lanes it drives and the
database it shares with the other booths, checked before anything starts.

Kept apart from `console.site.demo` (which needs the whole site) so that a mistake in the
arguments is told at once, before the database stack is imported.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from pydantic import ValidationError

from console.i18n import _
from console.site.charging_config import ChargingSection
from console.site.config import ConfigError, DatabaseSection, LaneSection, SiteConfig, SiteSection
from console.site.elevator_config import ElevatorSection


@dataclass(frozen=True, slots=True)
class DemoBooth:
    """What `--db`, `--booth-id` and `--lanes` made of the demo site."""

    config: SiteConfig
    url: str | None  # a database URL given with --db (None: an SQLite file path or the default)
    shared: bool  # one booth of several: the database is kept, the clock is the site's


def is_database_url(value: str) -> bool:
    """A `--db` value that is a URL (postgresql+psycopg://..., sqlite:///...), not a file."""
    return "://" in value


def demo_booth(config: SiteConfig, *, db: str | None, booth_id: str | None, lanes: str | None) -> DemoBooth:
    """The demo site for this booth. Raises ConfigError naming the argument and the problem.

    A booth id, a lane list or a database URL make the demo one booth of a shared site:
    it drives only the lanes named, writes as the booth named, and leaves the elevator and
    the charging piles to the site file's own booth (they are wired to one PC)."""
    url = db if db and is_database_url(db) else None
    if url is not None:
        if urlsplit(url).password is not None:
            raise ConfigError(_("--db: a password does not belong on the command line (any user of this PC can read it there); "
                                "use the PostgreSQL password file ~/.pgpass or a client certificate").format())
        try:
            section = DatabaseSection.model_validate({**config.database.model_dump(), "url": url})
        except ValidationError as exc:
            raise ConfigError(_("--db {value}: {problem}").format(value=url, problem=_problem(exc))) from None
        config = config.model_copy(update={"database": section})
    shared = bool(booth_id or lanes or url)
    if not shared:
        return DemoBooth(config, None, False)
    own_booth = config.site.booth_id
    if booth_id is not None:
        try:
            site = SiteSection.model_validate({**config.site.model_dump(), "booth_id": booth_id})
        except ValidationError:
            raise ConfigError(_("--booth-id {value!r}: give 1 to 32 letters, digits, '.', '_' or '-' (e.g. booth-2)").format(
                value=booth_id)) from None
        config = config.model_copy(update={"site": site})
    if lanes is not None:
        config = config.model_copy(update={"lanes": _chosen_lanes(config, lanes)})
    if config.site.booth_id != own_booth:
        config = config.model_copy(update={"elevator": ElevatorSection(), "charging": ChargingSection()})
    printer = config.printer.url
    if printer.startswith("file://"):
        # Each booth its own receipt file: two booths appending to one would mix receipts.
        path = Path(printer.removeprefix("file://"))
        own_file = path.with_name(f"{path.stem}-{config.site.booth_id}{path.suffix}")
        config = config.model_copy(update={"printer": config.printer.model_copy(update={"url": f"file://{own_file}"})})
    return DemoBooth(config, url, True)


def _chosen_lanes(config: SiteConfig, text: str) -> list[LaneSection]:
    known = [lane.id for lane in config.lanes]
    names = [name.strip() for name in text.split(",") if name.strip()]
    if not names:
        raise ConfigError(_("--lanes: name at least one lane, separated by commas (this site's lanes: {lanes})").format(
            lanes=", ".join(known)))
    for name in names:
        if name not in known:
            raise ConfigError(_("--lanes: this site has no lane {lane} (its lanes: {lanes})").format(lane=name, lanes=", ".join(known)))
        if names.count(name) > 1:
            raise ConfigError(_("--lanes: {lane} is named twice").format(lane=name))
    return [lane for lane in config.lanes if lane.id in names]


def _problem(exc: ValidationError) -> str:
    return "; ".join(str(error.get("msg", "")).removeprefix("Value error, ") for error in exc.errors())

