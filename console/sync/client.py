"""The booth's HTTP client for its cloud (protocol v1, docs/cloud-protocol.md).

One method per endpoint; every failure becomes a `CloudError` that says whether trying
again later can help and how long the server asked us to wait. The token is sent as a
bearer header and never appears in a message or a log line.
"""

from __future__ import annotations

import functools
import json
import ssl
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, Literal, Sequence

import httpx
from pydantic import ValidationError

from console.i18n import _
from console.store.outbox import OutboxEvent
from console.sync import protocol as p
from console.sync.urls import CloudConfigError, check_cloud_url

# Statuses after which the same request may succeed later.
RETRYABLE_STATUSES = frozenset({408, 425, 429, 500, 502, 503, 504})


class CloudError(RuntimeError):
    """A request to the cloud failed. `retryable` says whether waiting can help."""

    def __init__(self, message: str, *, retryable: bool = True, status: int | None = None, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retryable = retryable
        self.status = status
        self.retry_after = retry_after


class AuthError(CloudError):
    """The cloud refused the token (missing, wrong, or for another site)."""


class TooLarge(CloudError):
    """The batch was too large for the server; send fewer events at a time."""


@dataclass(frozen=True, slots=True)
class Ack:
    """The server's answer to a batch: ids it holds now (new or already known)."""

    acknowledged: frozenset[str]
    accepted: int
    duplicates: int
    rejected: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True, slots=True)
class Fetched:
    """A conditional GET: `changed` carries a body and its ETag; `unchanged` (304) and
    `absent` (404, nothing published yet) carry none."""

    outcome: Literal["changed", "unchanged", "absent"]
    etag: str | None = None
    body: dict[str, Any] = field(default_factory=dict)


@functools.lru_cache(maxsize=1)
def system_trust() -> ssl.SSLContext:
    """The system's trust store as the OS installs it, never what the environment says:
    OpenSSL (and httpx) would otherwise take SSL_CERT_FILE / SSL_CERT_DIR of whoever
    started the console as the only authority, and the site file names its own CA."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)  # verifies the certificate and its host name
    paths = ssl.get_default_verify_paths()
    cafile = paths.openssl_cafile if paths.openssl_cafile and Path(paths.openssl_cafile).is_file() else None
    capath = paths.openssl_capath if paths.openssl_capath and Path(paths.openssl_capath).is_dir() else None
    if cafile is None and capath is None:  # a system without a CA store: the bundle httpx ships
        import certifi

        cafile = certifi.where()
    context.load_verify_locations(cafile=cafile, capath=capath)
    return context


def tls_verify(ca_bundle: str | None) -> ssl.SSLContext:
    """Verification is always on: the system's trust store, or the named CA bundle
    (only from the site file; SSL_CERT_FILE in the environment is ignored)."""
    if not ca_bundle:
        return system_trust()
    path = Path(ca_bundle).expanduser()
    if not path.is_file():
        raise CloudConfigError(_("cloud.ca_bundle: {ca_bundle} is not a file").format(ca_bundle=ca_bundle))
    try:
        return ssl.create_default_context(cafile=str(path))
    except (ssl.SSLError, OSError) as exc:
        raise CloudConfigError(_("cloud.ca_bundle: {ca_bundle} cannot be used: {exc}").format(ca_bundle=ca_bundle, exc=exc)) from None


def _error_text(response: httpx.Response) -> str:
    try:
        data = response.json()
        if isinstance(data, dict) and isinstance(data.get("error"), str):
            return data["error"][:300]
    except (ValueError, UnicodeDecodeError):
        pass
    return response.reason_phrase or "no reason given"


def _json_bytes(body: Any) -> bytes:
    return json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


class CloudClient:
    """Talks to one site's endpoints on one cloud. Not thread-safe: the sync pump owns it."""

    def __init__(
        self,
        base_url: str,
        site_id: str,
        *,
        ca_bundle: str | None = None,
        connect_timeout: float = 5.0,
        read_timeout: float = 20.0,
    ) -> None:
        self.base_url = check_cloud_url(base_url)
        self.site_id = site_id
        self._token: str | None = None
        self._http = httpx.Client(
            base_url=self.base_url,
            verify=tls_verify(ca_bundle),
            timeout=httpx.Timeout(read_timeout, connect=connect_timeout),
            headers={"User-Agent": "booth-console/1", "Accept": "application/json"},
            follow_redirects=False,
        )

    def set_token(self, token: str | None) -> None:
        """The site token to send from now on (None: send none, the server will refuse)."""
        self._token = token

    def close(self) -> None:
        self._http.close()

    # -- transport ---------------------------------------------------------------------
    def _request(self, method: str, path: str, *, body: Any = None, headers: dict[str, str] | None = None, params: dict[str, Any] | None = None, accept_404: bool = False) -> httpx.Response:
        all_headers = dict(headers or {})
        if self._token:
            all_headers["Authorization"] = f"Bearer {self._token}"
        content = None
        if body is not None:
            content = body if isinstance(body, bytes) else _json_bytes(body)
            all_headers["Content-Type"] = "application/json"
        try:
            response = self._http.request(method, path, content=content, headers=all_headers, params=params)
        except httpx.TimeoutException as exc:
            raise CloudError(_("the cloud did not answer in time ({kind})").format(kind=type(exc).__name__)) from None
        except httpx.TransportError as exc:
            raise CloudError(_("cannot reach the cloud: {value}").format(value=exc or type(exc).__name__)) from None
        if response.status_code in (200, 201, 304) or (accept_404 and response.status_code == 404):
            return response
        reason = _error_text(response)
        status = response.status_code
        retry_after = p.retry_after_seconds(response.headers.get("Retry-After"), response.headers.get("Date"))
        if status in (401, 403):
            raise AuthError(_("the cloud refused this booth's token ({status}: {reason}); run `booth cloud login`").format(status=status, reason=reason), retryable=False, status=status)
        if status == 413:
            raise TooLarge(_("the cloud refused a batch as too large ({reason})").format(reason=reason), retryable=True, status=status)
        if status in RETRYABLE_STATUSES:
            raise CloudError(_("the cloud is unavailable ({status}: {reason})").format(status=status, reason=reason), retryable=True, status=status, retry_after=retry_after)
        raise CloudError(_("the cloud refused the request ({status}: {reason})").format(status=status, reason=reason), retryable=False, status=status, retry_after=retry_after)

    @staticmethod
    def _json(response: httpx.Response) -> dict[str, Any]:
        try:
            data = response.json()
        except (ValueError, UnicodeDecodeError):
            raise CloudError(_("the cloud sent something that is not JSON ({value})").format(value=response.headers.get('content-type', '?'))) from None
        if not isinstance(data, dict):
            raise CloudError(_("the cloud sent JSON that is not an object"))
        return data

    # -- endpoints ---------------------------------------------------------------------
    def post_events(self, booth_id: str, sent_at: datetime, events: Sequence[OutboxEvent]) -> Ack:
        """Send one batch. Only ids in the answer's `acknowledged` may be marked sent."""
        body = {
            "booth_id": booth_id,
            "sent_at": p.utc_text(sent_at),
            "events": [
                {"id": e.id, "type": e.type, "occurred_at": p.utc_text(e.occurred_at), "payload": e.payload} for e in events
            ],
        }
        data = self._json(self._request("POST", p.events_path(self.site_id), body=body))
        acknowledged = data.get("acknowledged")
        if not isinstance(acknowledged, list) or not all(isinstance(i, str) for i in acknowledged):
            raise CloudError(_("the cloud's answer to a batch has no list of acknowledged ids"))
        rejected_raw = data.get("rejected") or []
        rejected = tuple(
            (str(r.get("id", "")), str(r.get("error", ""))[:300]) for r in rejected_raw if isinstance(r, dict)
        )
        return Ack(frozenset(acknowledged), int(data.get("accepted", 0) or 0), int(data.get("duplicates", 0) or 0), rejected)

    def put_occupancy(self, body: dict[str, Any]) -> None:
        """Replace the site's occupancy snapshot on the cloud."""
        self._request("PUT", p.occupancy_path(self.site_id), body=body)

    def put_tariff_versions(self, versions: list[tuple[str, str]]) -> None:
        """Tell the cloud every tariff version this booth prices with (id, text), so it
        quotes drivers as the booth does."""
        body = {"versions": [{"tariff_id": tid, "text": text} for tid, text in versions]}
        self._request("PUT", p.tariff_versions_path(self.site_id), body=body)

    def get_document(self, kind: str, etag: str | None) -> Fetched:
        """Fetch a configuration document if it changed since `etag`."""
        headers = {"If-None-Match": etag} if etag else {}
        response = self._request("GET", p.document_path(self.site_id, kind), headers=headers, accept_404=True)
        if response.status_code == 304:
            return Fetched("unchanged", etag)
        if response.status_code == 404:
            return Fetched("absent")
        return Fetched("changed", response.headers.get("ETag"), self._json(response))

    def get_remote_payments(self, after: str | None, limit: int = 500) -> p.RemotePaymentsPage:
        """One page of remote payments made after the cursor `after`."""
        params: dict[str, Any] = {"limit": limit}
        if after:
            params["after"] = after
        data = self._json(self._request("GET", p.remote_payments_path(self.site_id), params=params))
        try:
            return p.RemotePaymentsPage.model_validate(data)
        except ValidationError as exc:
            raise CloudError(_("the cloud sent a malformed page of remote payments: {value}").format(value=p.problems(exc)), retryable=False) from None

    def get_commands(self, after: str | None, limit: int = 200) -> p.CommandsPage:
        """One page of the cloud's commands to this site after the cursor `after` (an
        empty page from a cloud that has none to give)."""
        params: dict[str, Any] = {"limit": limit}
        if after:
            params["after"] = after
        response = self._request("GET", p.commands_path(self.site_id), params=params, accept_404=True)
        if response.status_code == 404:
            return p.CommandsPage(commands=[], cursor=after)
        try:
            return p.CommandsPage.model_validate(self._json(response))
        except ValidationError as exc:
            raise CloudError(_("the cloud sent a malformed page of commands: {value}").format(value=p.problems(exc)), retryable=False) from None

    def whoami(self) -> dict[str, Any]:
        """Which site the token belongs to."""
        return self._json(self._request("GET", f"{p.API}/whoami"))

    def books(self) -> dict[str, Any]:
        """The cloud's totals for this site (for reconciliation)."""
        return self._json(self._request("GET", p.books_path(self.site_id)))
