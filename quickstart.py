#!/usr/bin/env python3
"""Set up and run the booth console, or its test suite, with only Python 3.11+.

    python3 quickstart.py demo     # set up, then open the console on the simulated site
    python3 quickstart.py test     # set up, then run the whole test suite
    sudo python3 quickstart.py install /opt/booth   # a booth PC: the console only, no test tools

Set-up creates `.venv` beside this file and installs the project with its test
dependencies from pyproject.toml; it is skipped when nothing changed since the last run.
Extra arguments go to the command: `python3 quickstart.py test -m slow`,
`python3 quickstart.py demo --headless --seconds 5`.

`install PREFIX` is the production path: a virtual environment at PREFIX with this project
installed as a regular (not editable) package and none of the test dependencies; run it
again after updating the checkout to upgrade. `booth` is then PREFIX/bin/booth.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = ROOT / ".venv"
BIN = VENV / ("Scripts" if os.name == "nt" else "bin")
PYTHON = BIN / ("python.exe" if os.name == "nt" else "python")
STAMP = VENV / ".booth-installed"


def _fingerprint() -> str:
    return hashlib.sha256((ROOT / "pyproject.toml").read_bytes()).hexdigest()


def setup() -> None:
    """Create the virtual environment and install the project (editable) with test extras."""
    if sys.version_info < (3, 11):
        sys.exit(f"booth needs Python 3.11 or newer; this is {sys.version.split()[0]}")
    if not PYTHON.exists():
        print("creating .venv …", flush=True)
        venv.EnvBuilder(with_pip=True).create(VENV)
    if STAMP.exists() and STAMP.read_text() == _fingerprint():
        return
    print("installing booth and its dependencies into .venv …", flush=True)
    subprocess.run([str(PYTHON), "-m", "pip", "install", "--quiet", "--upgrade", "pip"], check=True)
    subprocess.run([str(PYTHON), "-m", "pip", "install", "--quiet", "-e", f"{ROOT}[test]"], check=True)
    STAMP.write_text(_fingerprint())


def install(prefix: Path) -> int:
    """Install the console for production into a virtual environment at `prefix`."""
    if sys.version_info < (3, 11):
        sys.exit(f"booth needs Python 3.11 or newer; this is {sys.version.split()[0]}")
    python = prefix / ("Scripts" if os.name == "nt" else "bin") / ("python.exe" if os.name == "nt" else "python")
    if not python.exists():
        print(f"creating {prefix} …", flush=True)
        venv.EnvBuilder(with_pip=True).create(prefix)
    print(f"installing booth into {prefix} …", flush=True)
    subprocess.run([str(python), "-m", "pip", "install", "--quiet", "--upgrade", "pip"], check=True)
    subprocess.run([str(python), "-m", "pip", "install", "--quiet", "--upgrade", str(ROOT)], check=True)
    print(f"installed: {python.parent / 'booth'}")
    return 0


def main(argv: list[str]) -> int:
    if argv[:1] == ["install"]:
        if len(argv) != 2:
            print("usage: python3 quickstart.py install PREFIX   (e.g. /opt/booth)")
            return 2
        return install(Path(argv[1]).resolve())
    if not argv or argv[0] not in ("demo", "test", "run", "setup"):
        print(__doc__)
        return 2
    command, rest = argv[0], argv[1:]
    setup()
    if command == "setup":
        return 0
    if command == "test":
        return subprocess.call([str(PYTHON), "-m", "pytest", *rest], cwd=ROOT)
    return subprocess.call([str(BIN / "booth"), command, *rest], cwd=ROOT)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
