"""Where the site's cloud token is kept, chosen by `[cloud] secrets` in the site file.

- `keyring`: the OS keyring (Secret Service, macOS Keychain, Windows Credential Locker).
  Needs a desktop session; a systemd service has none.
- `encrypted-file`: a Fernet-encrypted file in the data folder (`cloud-token.enc`, 0600),
  keyed by a key file that only the booth's user may read (`[cloud] key_file`, created on
  the first login). A copy of the data folder (a backup, a support bundle) holds no token.
- `systemd-credential`: the token is a systemd credential, encrypted with the machine's
  credential key (and its TPM, when it has one). `booth cloud login`, run as root, writes
  it with `systemd-creds encrypt`; the booth service gets it decrypted, in memory, in
  `$CREDENTIALS_DIRECTORY` (`LoadCredentialEncrypted=`, see packaging/INSTALL.md).

The token is passed to helper programs on standard input, never on a command line, and
is never logged.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path
from typing import Protocol

import keyring
from cryptography.fernet import Fernet, InvalidToken
from keyring.errors import KeyringError, PasswordDeleteError

from console.i18n import _

CREDENTIAL_NAME = "booth-cloud-token"


class CredentialError(RuntimeError):
    """The secret store cannot be used (no backend on this machine, locked, refused)."""


class SecretStore(Protocol):
    """One place tokens are kept, by (service, user)."""

    def get(self, service: str, user: str) -> str | None: ...

    def set(self, service: str, user: str, secret: str) -> None: ...

    def delete(self, service: str, user: str) -> bool: ...

    def describe(self) -> str: ...


class KeyringStore:
    """The OS keyring, through the keyring library."""

    def get(self, service: str, user: str) -> str | None:
        try:
            return keyring.get_password(service, user)
        except KeyringError as exc:
            raise CredentialError(_("cannot read the keyring: {exc}").format(exc=exc)) from None

    def set(self, service: str, user: str, secret: str) -> None:
        try:
            keyring.set_password(service, user, secret)
        except KeyringError as exc:
            raise CredentialError(
                f"cannot store the token in the keyring: {exc}. On a booth PC without a desktop session set "
                '[cloud] secrets = "encrypted-file" or "systemd-credential" in the site file'
            ) from None

    def delete(self, service: str, user: str) -> bool:
        try:
            keyring.delete_password(service, user)
            return True
        except PasswordDeleteError:
            return False
        except KeyringError as exc:
            raise CredentialError(_("cannot change the keyring: {exc}").format(exc=exc)) from None

    def describe(self) -> str:
        return "the OS keyring"


def _private(path: Path, what: str) -> None:
    """Refuse a secret file others could read, or that another user owns."""
    info = path.stat()
    if info.st_mode & 0o077:
        raise CredentialError(_("{what} {path} can be read by other users; run `chmod 600 {path}`").format(what=what, path=path))
    if info.st_uid != os.geteuid():
        raise CredentialError(_("{what} {path} belongs to another user; it must belong to the booth's user").format(what=what, path=path))


def _write_private(path: Path, data: bytes) -> None:
    """Write a file only its owner can read, atomically and durably."""
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    partial = path.with_name(f".{path.name}.partial")
    fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        os.write(fd, data)
        os.fsync(fd)
    finally:
        os.close(fd)
    os.replace(partial, path)


class EncryptedFileStore:
    """Tokens encrypted with Fernet (AES-128-CBC + HMAC-SHA256) in one file."""

    def __init__(self, path: Path, key_file: Path) -> None:
        self.path = path
        self.key_file = key_file

    def _key(self, *, create: bool) -> Fernet:
        if not self.key_file.exists():
            if not create:
                raise CredentialError(_("the key file {key_file} is missing; without it the stored token cannot be read (log in again)").format(key_file=self.key_file))
            try:
                _write_private(self.key_file, Fernet.generate_key())
            except OSError as exc:
                raise CredentialError(_("cannot create the key file {key_file}: {value}").format(key_file=self.key_file, value=exc.strerror or exc)) from None
        try:
            _private(self.key_file, "the key file")
            return Fernet(self.key_file.read_bytes().strip())
        except OSError as exc:
            raise CredentialError(_("cannot read the key file {key_file}: {value}").format(key_file=self.key_file, value=exc.strerror or exc)) from None
        except ValueError:
            raise CredentialError(_("{key_file} is not a key file (44 characters of URL-safe base64)").format(key_file=self.key_file)) from None

    def _entries(self, fernet: Fernet) -> dict[str, str]:
        if not self.path.exists():
            return {}
        try:
            _private(self.path, "the token file")
            data = json.loads(fernet.decrypt(self.path.read_bytes()))
        except InvalidToken:
            raise CredentialError(_("{path} was not written with the key in {key_file} (or was altered); log in again").format(path=self.path, key_file=self.key_file)) from None
        except (OSError, ValueError) as exc:
            raise CredentialError(_("cannot read {path}: {exc}").format(path=self.path, exc=exc)) from None
        return {str(k): str(v) for k, v in data.items()} if isinstance(data, dict) else {}

    @staticmethod
    def _name(service: str, user: str) -> str:
        return f"{service}\n{user}"

    def get(self, service: str, user: str) -> str | None:
        if not self.path.exists():
            return None
        return self._entries(self._key(create=False)).get(self._name(service, user))

    def set(self, service: str, user: str, secret: str) -> None:
        fernet = self._key(create=True)
        entries = self._entries(fernet)
        entries[self._name(service, user)] = secret
        self._save(fernet, entries)

    def delete(self, service: str, user: str) -> bool:
        if not self.path.exists():
            return False
        fernet = self._key(create=False)
        entries = self._entries(fernet)
        if entries.pop(self._name(service, user), None) is None:
            return False
        self._save(fernet, entries)
        return True

    def _save(self, fernet: Fernet, entries: dict[str, str]) -> None:
        try:
            _write_private(self.path, fernet.encrypt(json.dumps(entries).encode("utf-8")))
        except OSError as exc:
            raise CredentialError(_("cannot write {path}: {value}").format(path=self.path, value=exc.strerror or exc)) from None

    def describe(self) -> str:
        return f"{self.path}, encrypted with the key in {self.key_file}"


class SystemdCredentialStore:
    """The token as an encrypted systemd credential (one token: this site's)."""

    def __init__(self, credential_file: Path, name: str = CREDENTIAL_NAME) -> None:
        self.credential_file = credential_file
        self.name = name

    def _loaded(self) -> Path | None:
        folder = os.environ.get("CREDENTIALS_DIRECTORY")
        if folder and (Path(folder) / self.name).is_file():
            return Path(folder) / self.name
        return None

    @staticmethod
    def _tool() -> str:
        tool = shutil.which("systemd-creds")
        if tool is None:
            raise CredentialError(_("systemd-creds is not installed (it comes with systemd 250 and newer)"))
        return tool

    def _read(self) -> dict[str, str] | None:
        loaded = self._loaded()
        if loaded is not None:
            raw = loaded.read_bytes()
        elif self.credential_file.exists():
            # Outside the service (booth doctor, run as root): decrypt it as systemd would.
            done = subprocess.run(
                [self._tool(), f"--name={self.name}", "decrypt", str(self.credential_file), "-"],
                capture_output=True, timeout=30,
            )
            if done.returncode != 0:
                reason = done.stderr.decode(errors="replace").strip().splitlines()
                raise CredentialError(_("cannot decrypt {credential_file}: {value} (root only, on this machine)").format(credential_file=self.credential_file, value=reason[-1] if reason else 'refused'))
            raw = done.stdout
        else:
            return None
        try:
            data = json.loads(raw)
        except ValueError:
            raise CredentialError(_("the credential {name} was not written by `booth cloud login`").format(name=self.name)) from None
        return data if isinstance(data, dict) else None

    def get(self, service: str, user: str) -> str | None:
        data = self._read()
        if not data or data.get("service") != service or data.get("user") != user:
            return None
        return str(data.get("secret") or "") or None

    def set(self, service: str, user: str, secret: str) -> None:
        payload = json.dumps({"service": service, "user": user, "secret": secret}).encode("utf-8")
        target = self.credential_file
        partial = target.with_name(f".{target.name}.partial")
        try:
            target.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        except OSError as exc:
            raise CredentialError(_("cannot create {parent}: {value} (run `booth cloud login` as root)").format(parent=target.parent, value=exc.strerror or exc)) from None
        done = subprocess.run(
            [self._tool(), f"--name={self.name}", "encrypt", "-", str(partial)], input=payload, capture_output=True, timeout=30,
        )
        if done.returncode != 0:
            partial.unlink(missing_ok=True)
            reason = done.stderr.decode(errors="replace").strip().splitlines()
            raise CredentialError(_("systemd-creds could not encrypt the token: {value} (run as root)").format(value=reason[-1] if reason else 'refused'))
        os.chmod(partial, 0o600)
        os.replace(partial, target)

    def delete(self, service: str, user: str) -> bool:
        if not self.credential_file.exists():
            return False
        try:
            self.credential_file.unlink()
        except OSError as exc:
            raise CredentialError(_("cannot remove {credential_file}: {value}").format(credential_file=self.credential_file, value=exc.strerror or exc)) from None
        return True

    def describe(self) -> str:
        return f"the systemd credential {self.credential_file} (restart the booth service to use a new one)"
