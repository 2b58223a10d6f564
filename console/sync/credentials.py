"""The cloud token lives in the OS keyring, never in the site file, the database or logs.

One entry per cloud URL: service `booth-cloud`, user name the cloud's base URL.
"""

from __future__ import annotations

import logging
from typing import Callable

import keyring
from keyring.errors import KeyringError, PasswordDeleteError

from console.sync.client import check_cloud_url

SERVICE = "booth-cloud"
log = logging.getLogger(__name__)


class CredentialError(RuntimeError):
    """The keyring cannot be used (no backend on this machine, locked, refused)."""


def _user(cloud_url: str) -> str:
    return check_cloud_url(cloud_url)


def save_token(cloud_url: str, token: str) -> None:
    """Store the site token for `cloud_url` in the keyring."""
    token = token.strip()
    if not token:
        raise CredentialError("no token given")
    if any(c.isspace() for c in token) or not token.isprintable():
        raise CredentialError("a token is one word of printable characters")
    try:
        keyring.set_password(SERVICE, _user(cloud_url), token)
    except KeyringError as exc:
        raise CredentialError(f"cannot store the token in the keyring: {exc}") from None


def load_token(cloud_url: str) -> str | None:
    """The stored token for `cloud_url`, or None when there is none."""
    try:
        return keyring.get_password(SERVICE, _user(cloud_url))
    except KeyringError as exc:
        raise CredentialError(f"cannot read the keyring: {exc}") from None


def delete_token(cloud_url: str) -> bool:
    """Forget the token. Returns False when there was none."""
    try:
        keyring.delete_password(SERVICE, _user(cloud_url))
        return True
    except PasswordDeleteError:
        return False
    except KeyringError as exc:
        raise CredentialError(f"cannot change the keyring: {exc}") from None


def keyring_token_provider(cloud_url: str) -> Callable[[], str | None]:
    """A token provider for SyncService that reads the keyring each time it is asked
    (so a `booth cloud login` takes effect without a restart). A keyring that cannot be
    read counts as no token; the reason is logged, the token never is."""

    def provide() -> str | None:
        try:
            return load_token(cloud_url)
        except CredentialError as exc:
            log.warning("%s", exc)
            return None

    return provide
