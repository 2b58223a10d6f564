"""The shipped systemd units pass `systemd-analyze verify` (with ExecStart pointed at this
checkout's `booth`, since /opt/booth does not exist on a test machine)."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

PACKAGING = Path(__file__).resolve().parents[2] / "packaging"


@pytest.mark.skipif(shutil.which("systemd-analyze") is None, reason="systemd-analyze is not installed on this machine")
@pytest.mark.parametrize("unit", ["booth.service", "cloud.service"])
def test_unit_verifies(unit: str, tmp_path: Path) -> None:
    booth = Path(sys.executable).with_name("booth")
    text = (PACKAGING / unit).read_text(encoding="utf-8")
    assert "/opt/booth/bin/booth" in text
    (tmp_path / unit).write_text(text.replace("/opt/booth/bin/booth", str(booth)), encoding="utf-8")
    done = subprocess.run(["systemd-analyze", "verify", unit], cwd=tmp_path, capture_output=True, text=True, timeout=60)
    problems = [line for line in (done.stdout + done.stderr).splitlines() if unit.split(".")[0] in line or "Unknown" in line]
    assert done.returncode == 0 and not problems, done.stdout + done.stderr


def test_kiosk_unit_gives_getty_the_slip_and_keeps_its_state() -> None:
    text = (PACKAGING / "booth.service").read_text(encoding="utf-8")
    tty = next(line.split("/dev/")[1] for line in text.splitlines() if line.startswith("TTYPath="))
    assert f"Conflicts=getty@{tty}.service" in text
    for key in ("StateDirectory=booth", "LogsDirectory=booth", "Restart=always", "StandardError=journal", "StandardInput=tty"):
        assert key in text
    cloud = (PACKAGING / "cloud.service").read_text(encoding="utf-8")
    assert "StateDirectory=booth-cloud" in cloud and "--tls-cert" in cloud and "--host 0.0.0.0" in cloud
