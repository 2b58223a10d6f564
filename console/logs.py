"""Logging goes to a file in the data folder, never to the terminal the console draws on."""

from __future__ import annotations

import logging
import logging.handlers
import os
from pathlib import Path


def _stderr_is_journal() -> bool:
    """Under systemd with StandardError=journal, stderr is not the console's screen: the
    service manager says so in JOURNAL_STREAM (device:inode of the journal's stream)."""
    stream = os.environ.get("JOURNAL_STREAM", "")
    try:
        info = os.fstat(2)
    except OSError:
        return False
    return stream == f"{info.st_dev}:{info.st_ino}"


def configure_logging(folder: Path, *, to_stderr: bool = False, level: int = logging.INFO) -> Path:
    """Send the console's logs to `folder/booth.log` (rotated). Call this before importing
    device libraries: python-escpos installs a stderr handler on import when none exists."""
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    path = folder / "booth.log"
    try:
        folder.mkdir(parents=True, exist_ok=True, mode=0o700)
        handler: logging.Handler = logging.handlers.RotatingFileHandler(path, maxBytes=5_000_000, backupCount=5, encoding="utf-8")
    except OSError:
        handler = logging.NullHandler()
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root.addHandler(handler)
    if to_stderr or _stderr_is_journal():
        stream = logging.StreamHandler()
        stream.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))
        stream.setLevel(logging.WARNING)
        root.addHandler(stream)
    root.setLevel(level)
    return path
