"""quickstart.py: standard library only, and its system-package step on a real Debian."""

from __future__ import annotations

import ast
import os
import pwd
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

import quickstart

ROOT = Path(__file__).resolve().parents[1]


def test_quickstart_needs_only_the_standard_library() -> None:
    tree = ast.parse((ROOT / "quickstart.py").read_text())
    imported = {alias.name.split(".")[0] for node in ast.walk(tree) if isinstance(node, ast.Import) for alias in node.names}
    imported |= {node.module.split(".")[0] for node in ast.walk(tree) if isinstance(node, ast.ImportFrom) and node.module}
    assert imported - {"__future__"} <= set(sys.stdlib_module_names)


def test_missing_packages_are_found_by_their_files(tmp_path: Path) -> None:
    assert quickstart.missing_system_packages(tmp_path) == list(quickstart.SYSTEM_PACKAGES)
    for relative in ("usr/lib/postgresql/17/bin/initdb", "usr/bin/chromium"):
        (tmp_path / relative).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / relative).write_text("")
    assert quickstart.missing_system_packages(tmp_path) == ["chromium-driver", "fonts-wqy-microhei"]


def test_this_machines_postgresql_is_seen() -> None:
    if not list(Path("/usr/lib/postgresql").glob("*/bin/initdb")):
        pytest.skip("no Debian PostgreSQL on this machine")
    assert "postgresql" not in quickstart.missing_system_packages()


def _as_nobody() -> None:
    if os.geteuid() != 0 or shutil.which("runuser") is None:
        pytest.skip("needs root to run a step as another user")
    try:
        pwd.getpwnam("nobody")
    except KeyError:
        pytest.skip("no `nobody` user")


def test_a_user_who_cannot_install_is_told_what_is_missing_and_set_up_goes_on() -> None:
    _as_nobody()
    code = "import sys, quickstart; sys.exit(0 if quickstart.install_system_packages(['fonts-wqy-microhei']) is False else 1)"
    result = subprocess.run(["runuser", "-u", "nobody", "--", sys.executable, "-c", code], cwd=ROOT,
                            capture_output=True, text=True, timeout=60, check=False)
    assert result.returncode == 0, result.stderr
    assert "system packages missing: fonts-wqy-microhei (not root: run `sudo apt-get install fonts-wqy-microhei`)" in result.stdout
    assert "will be skipped" in result.stdout


def test_root_with_apt_would_install_what_is_missing(capsys: pytest.CaptureFixture[str]) -> None:
    if os.geteuid() != 0 or shutil.which("apt-get") is None:
        pytest.skip("needs root and apt-get")
    # Simulated (apt-get -s): the real install is what set-up does on a CI machine.
    missing = [p for p in quickstart.missing_system_packages() if quickstart._apt_knows([p])] or ["postgresql"]
    assert quickstart.install_system_packages(missing, simulate=True)
    out = capsys.readouterr().out
    assert f"installing system packages: {' '.join(missing)} (simulated)" in out
    if missing != ["postgresql"]:
        assert all(f"Inst {package} " in out for package in missing)


def test_pip_progress_is_printed_while_pip_works(tmp_path: Path) -> None:
    """A first install downloads for minutes: every package collected gets a line, and a
    silent pip still gets a line every `heartbeat` seconds (here a stand-in for pip that
    talks like it and stays silent for 2.5 s)."""
    import io

    fake = tmp_path / "python"
    fake.write_text("#!/bin/sh\necho 'Collecting textual>=8'\necho '  Downloading textual-8.2.8.whl (700 kB)'\n"
                    "echo 'Processing /opt/wheels/babel-2.18.0-py3-none-any.whl (from booth)'\nsleep 2.5\n"
                    "echo 'Installing collected packages: babel, textual'\necho 'Successfully installed babel-2.18.0 textual-8.2.8'\n")
    fake.chmod(0o755)
    out = io.StringIO()
    assert quickstart.pip_install(fake, ["-e", "."], heartbeat=1.0, out=out) == 0
    lines = out.getvalue().splitlines()
    assert lines[:2] == ["  [1] textual>=8", "  [2] babel-2.18.0-py3-none-any.whl"]
    assert any("still working" in line for line in lines)
    assert lines[-2:] == ["  installing 2 packages …", "  Successfully installed babel-2.18.0 textual-8.2.8"]


def test_a_failing_pip_shows_its_last_lines(tmp_path: Path) -> None:
    import io

    fake = tmp_path / "python"
    fake.write_text("#!/bin/sh\necho 'ERROR: No matching distribution found for textual'\nexit 1\n")
    fake.chmod(0o755)
    out = io.StringIO()
    assert quickstart.pip_install(fake, ["textual"], out=out) == 1
    assert "No matching distribution found for textual" in out.getvalue()
