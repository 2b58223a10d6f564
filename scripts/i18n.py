#!/usr/bin/env python3
"""Keep the translation catalogs in step with the code (Babel does the work).

    python scripts/i18n.py extract    # console/locale/booth.pot from every _(), N_(), ngettext() call
    python scripts/i18n.py update     # merge the template into each language's .po
    python scripts/i18n.py compile    # the .mo files the console loads (they ship in the wheel)
    python scripts/i18n.py all        # the three, in order

A translator edits console/locale/<lang>/LC_MESSAGES/booth.po, then runs `compile`. The
test suite fails while a message has no translation or a .mo is older than its .po.
"""

from __future__ import annotations

import sys
from pathlib import Path

from babel.messages.frontend import CommandLineInterface

ROOT = Path(__file__).resolve().parents[1]
LOCALE = ROOT / "console" / "locale"
TEMPLATE = LOCALE / "booth.pot"
KEYWORDS = ["-k", "_", "-k", "N_", "-k", "ngettext:1,2"]


def run(*args: str) -> None:
    import os

    here = os.getcwd()
    os.chdir(ROOT)  # locations in the catalogs are relative to the project
    try:
        CommandLineInterface().run(["pybabel", "-q", *args])
    finally:
        os.chdir(here)


def extract() -> None:
    run("extract", *KEYWORDS, "--no-default-keywords", "--sort-by-file", "--no-wrap", "--project", "booth",
        "--copyright-holder", "booth", "-o", str(TEMPLATE.relative_to(ROOT)), "console")


def update() -> None:
    run("update", "-i", str(TEMPLATE.relative_to(ROOT)), "-d", str(LOCALE.relative_to(ROOT)), "-D", "booth", "--no-wrap", "--ignore-obsolete", "--no-fuzzy-matching")


def compile_catalogs() -> None:
    run("compile", "-d", str(LOCALE.relative_to(ROOT)), "-D", "booth", "--statistics")


def main(argv: list[str]) -> int:
    steps = {"extract": [extract], "update": [update], "compile": [compile_catalogs], "all": [extract, update, compile_catalogs]}
    if len(argv) != 1 or argv[0] not in steps:
        print(__doc__)
        return 2
    for step in steps[argv[0]]:
        step()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
