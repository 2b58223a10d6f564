"""The console as an installer gets it: sdist -> wheel -> a fresh virtual environment.

The wheel is built from the sdist (`python -m build`), so a file missing from either shows
up here. It is installed, not editable, into a new virtual environment in which pip really
resolves every dependency from the configured index; then `booth` runs from an empty folder
with an empty HOME, far from this checkout.

Speed (measured on the 2-core test machine; the choice is in the README's Decisions): the build takes ~5 s,
the install ~12 s because the venv is made without its own pip (the running pip installs
into it with `--python`) and without byte-compiling (`--no-compile`); the commands ~15 s.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tarfile
import time
import venv
import zipfile
from pathlib import Path
from typing import Iterator

import pytest

ROOT = Path(__file__).resolve().parents[2]
RUNTIME_FOLDERS = ("tariffs", "themes", "migrations")


def _timed(label: str, command: list[str], **kwargs: object) -> subprocess.CompletedProcess[str]:
    started = time.monotonic()
    done = subprocess.run(command, capture_output=True, text=True, timeout=240, **kwargs)  # type: ignore[call-overload]
    print(f"{label}: {time.monotonic() - started:.1f} s")
    assert done.returncode == 0, f"{label} failed:\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
    return done  # type: ignore[no-any-return]


@pytest.fixture(scope="module")
def dist(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("dist")
    _timed("build sdist and wheel", [sys.executable, "-m", "build", "--outdir", str(out), str(ROOT)])
    return out


@pytest.fixture(scope="module")
def installed(dist: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    prefix = tmp_path_factory.mktemp("venv") / "booth"
    venv.EnvBuilder(with_pip=False).create(prefix)
    wheel = next(dist.glob("booth-*.whl"))
    _timed("install the wheel", [
        sys.executable, "-m", "pip", "--python", str(prefix / "bin" / "python"), "install",
        "--quiet", "--no-compile", str(wheel),
    ])
    yield prefix / "bin"


def _clean_env(tmp: Path) -> dict[str, str]:
    home = tmp / "home"
    home.mkdir()
    env = {key: value for key, value in os.environ.items() if not key.startswith(("BOOTH_", "XDG_", "PYTHON"))}
    env.update(
        HOME=str(home),
        XDG_CONFIG_HOME=str(tmp / "xdg-config"),
        XDG_DATA_HOME=str(tmp / "xdg-data"),
        XDG_STATE_HOME=str(tmp / "xdg-state"),
        XDG_CACHE_HOME=str(tmp / "xdg-cache"),
    )
    return env


def test_sdist_and_wheel_hold_the_runtime_files(dist: Path) -> None:
    wheel = zipfile.ZipFile(next(dist.glob("booth-*.whl"))).namelist()
    for folder in RUNTIME_FOLDERS:
        shipped = sorted(p.name for p in (ROOT / folder).rglob("*") if p.is_file() and "__pycache__" not in p.parts)
        in_wheel = sorted(Path(n).name for n in wheel if n.startswith(f"console/_bundled/{folder}/") and "__pycache__" not in n)
        assert in_wheel == shipped, f"{folder}: wheel has {in_wheel}, checkout has {shipped}"
    for data in ("console/site/default_site.toml", "console/ui/app.tcss", "drivers/camera/assets/person.jpg"):
        assert data in wheel
    with tarfile.open(next(dist.glob("booth-*.tar.gz"))) as sdist:
        names = {name.split("/", 1)[1] for name in sdist.getnames() if "/" in name}
    for needed in ("tariffs/default.toml", "migrations/env.py", "packaging/booth.service", "packaging/INSTALL.md", "quickstart.py"):
        assert needed in names


def test_installed_console_runs_from_an_empty_folder(installed: Path, tmp_path: Path) -> None:
    env = _clean_env(tmp_path)
    work = tmp_path / "empty"
    work.mkdir()
    booth = str(installed / "booth")

    where = _timed("import check", [str(installed / "python"), "-c", "import console; print(console.__file__)"], cwd=work, env=env)
    assert Path(where.stdout.strip()).is_relative_to(installed.parent), "the console was not imported from the fresh venv"

    demo = _timed("booth demo --headless", [booth, "demo", "--headless", "--seconds", "3"], cwd=work, env=env)
    summary = json.loads(demo.stdout.strip().splitlines()[-1])
    assert summary["capacity"] == 200 and summary["entries"] >= 1

    _timed("booth init", [booth, "init"], cwd=work, env=env)
    site = tmp_path / "xdg-config" / "booth" / "site.toml"
    assert "[[lanes]]" in site.read_text(encoding="utf-8")

    migrated = _timed("booth migrate", [booth, "migrate"], cwd=work, env=env)
    assert "revision" in migrated.stdout
    assert (tmp_path / "xdg-data" / "booth" / "booth.sqlite3").is_file()

    quote = _timed("booth quote", [
        booth, "quote", "--tariff", "default.toml", "--entry", "2026-03-02T08:00", "--exit", "2026-03-02T10:30", "--json",
    ], cwd=work, env=env)
    assert json.loads(quote.stdout)["total_minor"] > 0
    assert list(work.iterdir()) == [], "the console wrote into the folder it was started from"
    assert list((tmp_path / "home").iterdir()) == [], "the console wrote into HOME instead of the XDG folders"
