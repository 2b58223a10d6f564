"""Filling a DataTable whose rows arrive after it is shown.

A DataTable measures its columns against new rows only when its message pump is next
idle, and a row drawn before that keeps its drawing (at the header's widths) until
something else changes the table. On a busy screen the ride log could so stay cut to
its headers ("04A1", "resi"). Columns given their width up front are never re-measured,
so the first drawing of each row is the right one.
"""

from __future__ import annotations

from collections.abc import Sequence

from rich.cells import cell_len
from textual.widgets import DataTable


def fill_table(table: DataTable[str], headers: Sequence[str], rows: Sequence[tuple[str, Sequence[str]]]) -> None:
    """Replace the table's columns and rows: `rows` are (key, cells); each column as wide
    as its widest cell or header (in terminal cells, so Chinese text counts double)."""
    widths = [cell_len(h) for h in headers]
    for _key, cells in rows:
        for i, cell in enumerate(cells):
            widths[i] = max(widths[i], cell_len(cell))
    table.clear(columns=True)
    for header, width in zip(headers, widths):
        table.add_column(header, width=width)
    for key, cells in rows:
        table.add_row(*cells, key=key)
