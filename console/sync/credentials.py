"""The cloud token lives in a secret store (`[cloud] secrets`, see `console.sync.secrets`),
never in the site file, the database or logs.

One entry per cloud URL: service `booth-cloud`, user name the cloud's base URL.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Callable, Protocol

from console.i18n import _
from console.sync.secrets import (
    CredentialError,
    EncryptedFileStore,
    KeyringStore,
    SecretStore,
    SystemdCredentialStore,
)
from console.sync.urls import check_cloud_url


class SecretSettings(Protocol):
    """Where the site file says the token is kept (its `[cloud]` section)."""

    @property
    def secrets(self) -> str: ...

    @property
    def key_file(self) -> str: ...

    @property
    def credential_file(self) -> str: ...

SERVICE = "booth-cloud"
TOKEN_FILE = "cloud-token.enc"
log = logging.getLogger(__name__)

__all__ = ["CredentialError", "SERVICE", "delete_token", "keyring_token_provider", "load_token", "save_token", "secret_store"]


def secret_store(kind: str = "keyring", *, key_file: str = "", credential_file: str = "", data: Path | None = None) -> SecretStore:
    """The secret store a site file names (`[cloud] secrets`, `key_file`, `credential_file`)."""
    from console.locations import config_dir, data_dir

    if kind == "encrypted-file":
        key = Path(key_file).expanduser() if key_file else config_dir() / "secret.key"
        return EncryptedFileStore((data or data_dir()) / TOKEN_FILE, key)
    if kind == "systemd-credential":
        return SystemdCredentialStore(Path(credential_file or "/etc/credstore.encrypted/booth-cloud-token"))
    if kind == "keyring":
        return KeyringStore()
    raise CredentialError(_("unknown secret store {kind!r} (keyring, encrypted-file, systemd-credential)").format(kind=kind))


def site_secret_store(cloud: SecretSettings, data: Path | None = None) -> SecretStore:
    """The secret store of a site's `[cloud]` section (`data`: the data folder, default the booth's)."""
    return secret_store(cloud.secrets, key_file=cloud.key_file, credential_file=cloud.credential_file, data=data)


def _user(cloud_url: str) -> str:
    return check_cloud_url(cloud_url)


def save_token(cloud_url: str, token: str, store: SecretStore | None = None) -> None:
    """Store the site token for `cloud_url` (default store: the OS keyring)."""
    token = token.strip()
    if not token:
        raise CredentialError(_("no token given"))
    if any(c.isspace() for c in token) or not token.isprintable():
        raise CredentialError(_("a token is one word of printable characters"))
    (store or KeyringStore()).set(SERVICE, _user(cloud_url), token)


def load_token(cloud_url: str, store: SecretStore | None = None) -> str | None:
    """The stored token for `cloud_url`, or None when there is none."""
    try:
        return (store or KeyringStore()).get(SERVICE, _user(cloud_url))
    except OSError as exc:
        raise CredentialError(_("cannot read the secret store: {exc}").format(exc=exc)) from None


def delete_token(cloud_url: str, store: SecretStore | None = None) -> bool:
    """Forget the token. Returns False when there was none."""
    return (store or KeyringStore()).delete(SERVICE, _user(cloud_url))


def keyring_token_provider(cloud_url: str, store: SecretStore | None = None) -> Callable[[], str | None]:
    """A token provider for SyncService that reads the store each time it is asked
    (so a `booth cloud login` takes effect without a restart). A store that cannot be
    read counts as no token; the reason is logged, the token never is."""

    def provide() -> str | None:
        try:
            return load_token(cloud_url, store)
        except CredentialError as exc:
            log.warning("%s", exc)
            return None

    return provide
