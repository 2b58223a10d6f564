"""The core never imports the UI toolkit; drivers never import the console."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

CORE_MODULES = [
    "console.domain.money",
    "console.domain.quote",
    "console.domain.tariff",
    "console.store.database",
    "console.store.visits",
    "console.store.migrate",
    "console.site.site",
    "console.site.build",
    "console.site.headless",
    "drivers.gate",
]


def test_core_imports_no_textual() -> None:
    code = "import sys\n" + "".join(f"import {m}\n" for m in CORE_MODULES) + (
        "bad = sorted(m for m in sys.modules if m == 'textual' or m.startswith('textual.') or m.startswith('console.ui'))\n"
        "print(','.join(bad))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, check=True).stdout.strip()
    assert out == ""


def test_import_contracts_hold() -> None:
    # import-linter checks every module, including ones added later.
    lint = Path(sys.executable).with_name("lint-imports")
    result = subprocess.run([str(lint)], capture_output=True, text=True, cwd=ROOT)
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_screen_starts_without_the_database_stack() -> None:
    # The dashboard is drawn before the database opens: importing the app must not pull in
    # SQLAlchemy (the slowest import), or start-up waits for it.
    code = "import sys\nimport console.cli, console.ui.app\nprint(','.join(sorted(m for m in ('sqlalchemy', 'sqlmodel', 'alembic') if m in sys.modules)))\n"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, check=True).stdout.strip()
    assert out == ""
