"""Every path the console uses, in one place.

Themes, migrations and example tariffs live at the repository root in a checkout and
are bundled under `console/_bundled/` in a wheel; both layouts are looked up here.
"""

from __future__ import annotations

import os
from pathlib import Path

from platformdirs import user_config_dir, user_data_dir

APP_NAME = "booth"
_PACKAGE_DIR = Path(__file__).resolve().parent
_REPO_ROOT = _PACKAGE_DIR.parent


def _resource(name: str) -> Path:
    bundled = _PACKAGE_DIR / "_bundled" / name
    if bundled.is_dir():
        return bundled
    return _REPO_ROOT / name


def sqlite_url(path: Path) -> str:
    """The SQLAlchemy URL of an SQLite file (here, so that naming the database file does
    not import the database stack before the screen is drawn)."""
    return f"sqlite:///{path}"


def database_argument(value: str) -> str | None:
    """A `--db` value as a database URL: a URL as given, and the path of an existing SQLite
    file (as people type one, relative or with ~) as that file's URL. None for a path
    where no file is: a mistyped path must not become a new, empty database (a new
    database is named by its URL)."""
    if "://" in value:
        return value
    path = Path(value).expanduser().absolute()
    return sqlite_url(path) if path.is_file() else None


def themes_dir() -> Path:
    """Folder of the shipped theme files."""
    return _resource("themes")


def migrations_dir() -> Path:
    """Folder of the Alembic environment."""
    return _resource("migrations")


def tariffs_dir() -> Path:
    """Folder of the shipped example tariffs."""
    return _resource("tariffs")


def data_dir() -> Path:
    """Where the booth keeps its database, print files and snapshots.

    BOOTH_DATA_DIR overrides it (tests, several booths on one PC)."""
    override = os.environ.get("BOOTH_DATA_DIR")
    return Path(override) if override else Path(user_data_dir(APP_NAME, appauthor=False))


def log_dir() -> Path:
    """Where booth.log goes: BOOTH_LOG_DIR (the service's LogsDirectory), else the data folder."""
    override = os.environ.get("BOOTH_LOG_DIR")
    return Path(override) if override else data_dir()


def config_dir() -> Path:
    """Where `booth init` writes the site file by default."""
    override = os.environ.get("BOOTH_CONFIG_DIR")
    return Path(override) if override else Path(user_config_dir(APP_NAME, appauthor=False))


def default_site_file() -> Path:
    """The site file `booth run` reads when none is named (BOOTH_SITE overrides)."""
    override = os.environ.get("BOOTH_SITE")
    return Path(override) if override else config_dir() / "site.toml"
