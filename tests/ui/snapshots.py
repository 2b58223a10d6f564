"""Screen snapshots as text: what a screen draws, row by row, kept under tests/ui/snapshots/
and compared on every run. A change shows as a diff of plain lines in review.

A test fails when the screen differs from its stored snapshot, or when the snapshot is
missing. After a deliberate change of a screen, write the snapshots anew and read the diff:

    BOOTH_UPDATE_SNAPSHOTS=1 .venv/bin/python -m pytest -p no:cacheprovider tests/ui/test_snapshots.py tests/rides/test_elevator_snapshots.py

Values no test can fix in advance (record ids drawn at random) are masked before comparing.
"""

from __future__ import annotations

import difflib
import os
import re
from pathlib import Path
from typing import Iterable

from rich.segment import Segment
from textual.app import App
from textual.strip import Strip
from textual.widget import Widget

FOLDER = Path(__file__).resolve().parent / "snapshots"
UPDATE = "BOOTH_UPDATE_SNAPSHOTS"

# Record ids shown to the attendant (a visit's short id in the event log): random per run.
_RANDOM_ID = re.compile(r"(?<![0-9A-Za-z])[0-9a-f]{6}(?![0-9A-Za-z])")


def screen_text(app: App[object], masked: Iterable[Widget] = ()) -> str:
    """The top screen as drawn, one line per row (trailing blanks cut), ids masked, and
    the regions of `masked` widgets filled with ░ (drawings whose details are not the
    screen's, such as a chart's tick labels, which the plotting library places as it likes)."""
    strips = list(app.screen._compositor.render_strips())
    width = app.size.width
    for widget in masked:
        r = widget.region
        for y in range(r.y, min(r.bottom, len(strips))):
            row = strips[y]
            strips[y] = Strip.join([row.crop(0, r.x), Strip([Segment("░" * r.width)]), row.crop(r.right, width)])
    rows = [strip.text.rstrip() for strip in strips]
    return "\n".join(_RANDOM_ID.sub("······", row) for row in rows) + "\n"


def compare(name: str, shown: str) -> None:
    """Fail unless `shown` equals the snapshot `name`; with BOOTH_UPDATE_SNAPSHOTS=1,
    store it instead."""
    path = FOLDER / f"{name}.txt"
    if os.environ.get(UPDATE) == "1":
        FOLDER.mkdir(exist_ok=True)
        path.write_text(shown, encoding="utf-8")
        return
    if not path.exists():
        raise AssertionError(f"no snapshot {path.name} yet: run with {UPDATE}=1 and review the new file\n{shown}")
    stored = path.read_text(encoding="utf-8")
    if stored != shown:
        diff = "".join(difflib.unified_diff(stored.splitlines(True), shown.splitlines(True), f"stored {path.name}", "shown now"))
        raise AssertionError(f"screen {name} differs from its snapshot ({UPDATE}=1 stores the new one):\n{diff}")
