"""The cloud's address as the site file gives it: checked without the HTTP stack, so the
site file is refused at load (not at the first sync) for a URL a token must not use."""

from __future__ import annotations

import ipaddress
from urllib.parse import urlsplit

from console.i18n import _


class CloudConfigError(ValueError):
    """The [cloud] section cannot be used (bad URL, missing CA bundle)."""


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def check_cloud_url(url: str) -> str:
    """The cloud's base URL without a trailing slash.

    Refuses anything but https, except plain http to this machine (demos and tests):
    a token must never cross a network in clear text.
    """
    text = url.strip().rstrip("/")
    parts = urlsplit(text)
    if parts.scheme not in ("https", "http") or not parts.hostname:
        raise CloudConfigError(_("cloud.url: {url!r} is not an http(s) URL").format(url=url))
    if parts.scheme == "http" and not _is_loopback(parts.hostname):
        raise CloudConfigError(_("cloud.url: {url!r} must use https (plain http is only allowed to this machine)").format(url=url))
    if parts.query or parts.fragment:
        raise CloudConfigError(_("cloud.url: {url!r} must not carry a query or fragment").format(url=url))
    return text
