"""The cloud token on a booth PC with no desktop: the real encrypted-file and systemd
credential stores, `booth cloud login` in a subprocess reading the token from stdin, a real
cloud on loopback, and `booth doctor` checking the link and the clock."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from console.ops.doctor import Checkup, Level, check_cloud
from console.site.config import load_site
from console.sync.credentials import keyring_token_provider, site_secret_store
from console.sync.secrets import (
    CREDENTIAL_NAME,
    CredentialError,
    EncryptedFileStore,
    SystemdCredentialStore,
)
from tests.conftest import site_text
from tests.sync.conftest import Cloud

ROOT = Path(__file__).resolve().parents[2]


def _site(tmp_path: Path, url: str, secrets: str, more: str = "") -> Path:
    path = tmp_path / "site.toml"
    path.write_text(site_text(extra=f'\n[cloud]\nurl = "{url}"\nsecrets = "{secrets}"\n{more}'), encoding="utf-8")
    return path


def _login(site: Path, token: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "console.cli", "cloud", "login", "--site-file", str(site)],
                          input=token + "\n", capture_output=True, text=True, cwd=ROOT, env={**os.environ, **env}, timeout=60)


def _all_bytes(folder: Path) -> bytes:
    return b"".join(p.read_bytes() for p in folder.rglob("*") if p.is_file())


def test_encrypted_file_store_end_to_end(cloud: Cloud, tmp_path: Path) -> None:
    data, conf = tmp_path / "data", tmp_path / "conf"
    key = conf / "secret.key"
    site = _site(tmp_path, cloud.url, "encrypted-file", f'key_file = "{key}"\n')
    env = {"BOOTH_DATA_DIR": str(data), "BOOTH_CONFIG_DIR": str(conf)}
    done = _login(site, cloud.token, env)
    assert done.returncode == 0, done.stderr
    assert "encrypted with the key" in done.stdout and cloud.token not in done.stdout + done.stderr
    token_file = data / "cloud-token.enc"
    assert oct(token_file.stat().st_mode & 0o777) == "0o600" and oct(key.stat().st_mode & 0o777) == "0o600"
    assert cloud.token.encode() not in _all_bytes(tmp_path)  # nowhere in clear: site, data, key, logs
    config = load_site(site)
    store = EncryptedFileStore(token_file, key)
    provider = keyring_token_provider(cloud.url, store)
    assert provider() == cloud.token
    key.chmod(0o644)  # a key others can read is refused, and the reason says how to fix it
    with pytest.raises(CredentialError, match="chmod 600"):
        store.get("booth-cloud", cloud.url)
    key.chmod(0o600)
    key.write_bytes(b"x" * 44)
    assert provider() is None  # a wrong key: no token (logged), never a crash
    assert config.cloud.secrets == "encrypted-file"


def _systemd_creds_usable() -> str:
    if shutil.which("systemd-creds") is None:
        return "systemd-creds is not installed"
    if os.geteuid() != 0:
        return "systemd-creds encrypts with the host key only as root"
    return ""


@pytest.mark.skipif(bool(_systemd_creds_usable()), reason=_systemd_creds_usable() or "usable")
def test_systemd_credential_store_end_to_end(cloud: Cloud, tmp_path: Path) -> None:
    credential = tmp_path / "credstore.encrypted" / CREDENTIAL_NAME
    site = _site(tmp_path, cloud.url, "systemd-credential", f'credential_file = "{credential}"\n')
    # The machine's credential key lives in the test's folder, not in /var/lib/systemd.
    env = {"SYSTEMD_CREDENTIAL_SECRET": str(tmp_path / "host.secret"), "BOOTH_DATA_DIR": str(tmp_path / "data")}
    done = _login(site, cloud.token, env)
    assert done.returncode == 0, done.stderr
    assert "systemd credential" in done.stdout and cloud.token.encode() not in credential.read_bytes()
    saved = {k: os.environ.get(k) for k in ("SYSTEMD_CREDENTIAL_SECRET", "CREDENTIALS_DIRECTORY")}
    try:
        os.environ["SYSTEMD_CREDENTIAL_SECRET"] = env["SYSTEMD_CREDENTIAL_SECRET"]
        os.environ.pop("CREDENTIALS_DIRECTORY", None)
        store = site_secret_store(load_site(site).cloud)
        assert store.get("booth-cloud", cloud.url) == cloud.token  # decrypted as root, outside the service
        # What systemd does at the service's start (LoadCredentialEncrypted=): decrypt into
        # the service's credentials folder, where the console reads it.
        loaded = tmp_path / "credentials"
        loaded.mkdir(mode=0o700)
        subprocess.run(["systemd-creds", f"--name={CREDENTIAL_NAME}", "decrypt", str(credential), str(loaded / CREDENTIAL_NAME)], check=True, env=os.environ)
        credential.unlink()
        os.environ["CREDENTIALS_DIRECTORY"] = str(loaded)
        assert keyring_token_provider(cloud.url, SystemdCredentialStore(credential))() == cloud.token
        assert SystemdCredentialStore(credential).get("booth-cloud", "https://another.example") is None
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def test_doctor_checks_token_link_and_clock(cloud: Cloud, tmp_path: Path) -> None:
    key = tmp_path / "secret.key"
    site = _site(tmp_path, cloud.url, "encrypted-file", f'key_file = "{key}"\n')
    checkup = Checkup(site_file=site, data=tmp_path / "data", config=load_site(site))
    [missing] = check_cloud(checkup)
    assert missing.level is Level.WARN and "booth cloud login" in missing.fix
    assert _login(site, cloud.token, {"BOOTH_DATA_DIR": str(tmp_path / "data")}).returncode == 0
    findings = {f.check: f for f in check_cloud(checkup)}
    assert findings["secrets"].level is Level.OK and findings["cloud link"].level is Level.OK
    assert findings["clock"].level is Level.OK
    checkup.now = lambda: datetime.now(timezone.utc) + timedelta(minutes=10)  # this PC runs 10 minutes fast
    skewed = {f.check: f for f in check_cloud(checkup)}
    assert skewed["clock"].level is Level.FAIL and skewed["clock"].detail.startswith("+6")
    assert "set-ntp" in skewed["clock"].fix

