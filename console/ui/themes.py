"""Themes are TOML files in the `themes/` folder, turned into Textual `Theme` objects."""

from __future__ import annotations

import logging
import tomllib
from pathlib import Path

from textual.theme import Theme

log = logging.getLogger(__name__)

_FIELDS = {"name", "primary", "secondary", "accent", "foreground", "background", "surface", "panel", "success", "warning", "error", "dark"}


def load_themes(folder: Path) -> list[Theme]:
    """Every valid theme file in `folder`; a broken file is logged and skipped."""
    themes = []
    for path in sorted(folder.glob("*.toml")):
        try:
            data = tomllib.loads(path.read_text(encoding="utf-8"))
            unknown = set(data) - _FIELDS
            if unknown:
                raise ValueError(f"unknown keys {sorted(unknown)}")
            themes.append(Theme(**data))
        except (OSError, ValueError, TypeError) as exc:
            log.warning("theme %s skipped: %s", path, exc)
    return themes
