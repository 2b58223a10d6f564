"""The report package is core code: it never loads the UI toolkit."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_reports_import_no_textual() -> None:
    code = (
        "import sys\n"
        "import console.reports.queries, console.reports.export, console.reports.printout, console.commands.reports\n"
        "print(','.join(sorted(m for m in sys.modules if m.split('.')[0] == 'textual' or m.startswith('console.ui'))))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, check=True).stdout
    assert out.strip() == ""
