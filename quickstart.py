#!/usr/bin/env python3
"""Set up and run the booth console, or its test suite, with only Python 3.11+.

    python3 quickstart.py demo     # set up, then open the console on the simulated site
    python3 quickstart.py test     # set up, then run the whole test suite
    sudo python3 quickstart.py install /opt/booth   # a booth PC: the console only, no test tools

Set-up creates `.venv` beside this file and installs the project with its test
dependencies from pyproject.toml; it is skipped when nothing changed since the last run.
Before the tests (`test`, `setup`) it also installs the system packages the suite uses
(PostgreSQL, Chromium and its driver, a Chinese font) with apt-get when it runs as root on
Debian; elsewhere it names what is missing, and the tests that need it are skipped.
Set BOOTH_NO_SYSTEM_PACKAGES=1 to leave the system alone.
Extra arguments go to the command: `python3 quickstart.py test -m slow`,
`python3 quickstart.py demo --headless --seconds 5`.

`install PREFIX` is the production path: a virtual environment at PREFIX with this project
installed as a regular (not editable) package and none of the test dependencies; run it
again after updating the checkout to upgrade. `booth` is then PREFIX/bin/booth.
"""

from __future__ import annotations

import glob
import hashlib
import os
import shutil
import subprocess
import sys
import threading
import time
import venv
from pathlib import Path
from typing import TextIO

ROOT = Path(__file__).resolve().parent
VENV = ROOT / ".venv"
BIN = VENV / ("Scripts" if os.name == "nt" else "bin")
PYTHON = BIN / ("python.exe" if os.name == "nt" else "python")
STAMP = VENV / ".booth-installed"


# Debian packages the test suite uses, each with a file it installs: looking for the file
# is how set-up knows, in a few microseconds, that nothing needs installing. The font is
# WenQuanYi Micro Hei (1.6 MB to download, 5 MB installed) rather than Noto CJK (57 MB, 91 MB):
# it covers Simplified Chinese, which is what the receipts and reports print.
SYSTEM_PACKAGES: dict[str, tuple[str, ...]] = {
    "postgresql": ("/usr/lib/postgresql/*/bin/initdb",),
    "chromium": ("/usr/bin/chromium",),
    "chromium-driver": ("/usr/bin/chromedriver",),
    "fonts-wqy-microhei": ("/usr/share/fonts/truetype/wqy/wqy-microhei.ttc",),
}


def missing_system_packages(root: Path = Path("/")) -> list[str]:
    """The packages of SYSTEM_PACKAGES whose files are not under `root`."""
    missing = []
    for package, patterns in SYSTEM_PACKAGES.items():
        if not any(glob.glob(str(root / pattern.lstrip("/"))) for pattern in patterns):
            missing.append(package)
    return missing


def _apt(args: list[str]) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    return subprocess.run(["apt-get", *args], env=env, check=False, text=True, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)


def _apt_knows(packages: list[str]) -> bool:
    """Whether the package lists name every package (a fresh image has empty lists)."""
    result = subprocess.run(["apt-cache", "show", *packages], check=False, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return result.returncode == 0


def install_system_packages(packages: list[str], *, simulate: bool = False) -> bool:
    """Install `packages` with apt-get (root only); True when they are installed.

    `apt-get update` runs only when the package lists do not know a package or an install
    from them failed. `simulate` asks apt-get what it would do (`-s`) and changes nothing.
    Never raises: a machine that cannot install gets a message saying what is missing.
    """
    if not packages:
        return True
    listed = " ".join(packages)
    if os.name != "posix" or shutil.which("apt-get") is None:
        print(f"system packages missing: {listed} (no apt-get here: install them with the system's "
              "package manager); the tests that need them will be skipped", flush=True)
        return False
    if os.geteuid() != 0:
        print(f"system packages missing: {listed} (not root: run `sudo apt-get install {listed}`); "
              "the tests that need them will be skipped", flush=True)
        return False
    install = ["install", "-y", "-q", "--no-install-recommends", *(["-s"] if simulate else []), *packages]
    print(f"installing system packages: {listed}{' (simulated)' if simulate else ''} …", flush=True)
    updated = False
    if not _apt_knows(packages) and not simulate:
        print("updating the package lists (apt-get update) …", flush=True)
        _apt(["update", "-q"])
        updated = True
    result = _apt(install)
    if result.returncode != 0 and not updated and not simulate:
        # Stale lists point at files the mirror no longer has: refresh them once and retry.
        print("updating the package lists (apt-get update) …", flush=True)
        _apt(["update", "-q"])
        result = _apt(install)
    if result.returncode != 0:
        tail = "\n".join(result.stdout.strip().splitlines()[-15:])
        print(f"could not install {listed} (apt-get exit {result.returncode}):\n{tail}\n"
              "going on; the tests that need them will be skipped", flush=True)
        return False
    print(f"system packages installed: {listed}" if not simulate else result.stdout, flush=True)
    return True


def ensure_system_packages() -> None:
    """Install what the test suite needs from the system and is missing (see the docstring above)."""
    if os.environ.get("BOOTH_NO_SYSTEM_PACKAGES", "") not in ("", "0"):
        return
    install_system_packages(missing_system_packages())


def pip_install(python: Path, args: list[str], *, heartbeat: float = 10.0, out: TextIO | None = None) -> int:
    """`pip install ARGS` with one short line per package it collects and installs, and a
    line at least every `heartbeat` seconds while it is busy, so a first install (minutes
    of downloads) never looks hung. Returns pip's exit code; its last lines on failure."""
    stream = out or sys.stdout
    command = [str(python), "-m", "pip", "install", "--progress-bar", "off", "--disable-pip-version-check", *args]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, bufsize=1)
    started = time.monotonic()
    last = [started]
    done = threading.Event()
    collected = 0
    tail: list[str] = []

    def say(text: str) -> None:
        last[0] = time.monotonic()
        print(text, file=stream, flush=True)

    def beat() -> None:
        while not done.wait(1.0):
            if time.monotonic() - last[0] >= heartbeat:
                say(f"  … still working ({time.monotonic() - started:.0f} s)")

    ticker = threading.Thread(target=beat, daemon=True)
    ticker.start()
    assert process.stdout is not None
    for raw in process.stdout:
        line = raw.rstrip()
        tail = (tail + [line])[-15:]
        if line.startswith(("Collecting ", "Processing ")) and len(line.split()) > 1:
            collected += 1
            say(f"  [{collected}] {Path(line.split()[1]).name}")
        elif line.startswith("Installing collected packages:"):
            names = line.split(":", 1)[1].split(",")
            say(f"  installing {len(names)} packages …")
        elif line.startswith(("Successfully installed", "Building wheel", "Building editable")):
            say("  " + (line if len(line) < 100 else line[:97] + "…"))
    code = process.wait()
    done.set()
    if code != 0:
        print("\n".join(tail), file=stream, flush=True)
    return code


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
    print("installing booth and its dependencies into .venv (a first install downloads for a few minutes) …", flush=True)
    for args in (["--upgrade", "pip"], ["-e", f"{ROOT}[test]"]):
        if pip_install(PYTHON, args) != 0:
            sys.exit(f"pip install {' '.join(args)} failed (its last lines are above)")
    STAMP.write_text(_fingerprint())
    print("set-up done", flush=True)


def install(prefix: Path) -> int:
    """Install the console for production into a virtual environment at `prefix`."""
    if sys.version_info < (3, 11):
        sys.exit(f"booth needs Python 3.11 or newer; this is {sys.version.split()[0]}")
    python = prefix / ("Scripts" if os.name == "nt" else "bin") / ("python.exe" if os.name == "nt" else "python")
    if not python.exists():
        print(f"creating {prefix} …", flush=True)
        venv.EnvBuilder(with_pip=True).create(prefix)
    print(f"installing booth into {prefix} …", flush=True)
    for args in (["--upgrade", "pip"], ["--upgrade", str(ROOT)]):
        if pip_install(python, args) != 0:
            sys.exit(f"pip install {' '.join(args)} failed (its last lines are above)")
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
    if command in ("test", "setup"):
        ensure_system_packages()
    setup()
    if command == "setup":
        return 0
    if command == "test":
        return subprocess.call([str(PYTHON), "-m", "pytest", *rest], cwd=ROOT)
    return subprocess.call([str(BIN / "booth"), command, *rest], cwd=ROOT)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
