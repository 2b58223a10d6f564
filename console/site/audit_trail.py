"""The audit chain's key and anchors, kept outside the database.

The key: 32 random bytes in an encrypted file beside the site's secret key file
(`audit-keys.enc`), named by the database it seals. The first booth to start on a
database creates it; every other booth on a shared database imports it once
(`booth audit key export` on the first, `booth audit key import` on the others). A booth
that lacks the key of a sealed database refuses to write audit entries rather than
leave entries nobody can verify.

The anchors: the chain's head copied where the database's editor cannot reach it: an
`audit.anchor` event to the cloud and a line in a local anchor file, at every shift
close (whose Z report prints the head) and every few minutes when the chain moved.
`booth audit verify` requires the chain to reach every anchor."""

from __future__ import annotations

import base64
import binascii
import json
import logging
import os
import secrets
import threading
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

from console.i18n import _
from console.locations import config_dir, data_dir
from console.site.config import SiteConfig
from console.store import audit
from console.store.audit import Anchor, AuditSeal
from console.store.companions import ANCHORS, companion
from console.store.database import Store
from console.store.errors import StoreError
from console.store.outbox import enqueue
from console.sync.secrets import CredentialError, EncryptedFileStore, SecretStore

log = logging.getLogger(__name__)

SERVICE = "booth-audit-key"
KEY_FILE = "audit-keys.enc"


class AuditKeyError(RuntimeError):
    """The audit key cannot be created, read, imported or matched to the database."""


@dataclass(frozen=True, slots=True)
class SealState:
    """What the booth knows of its database's seal, for the status bar and the doctor."""

    seal: AuditSeal | None
    recorded_fingerprint: str | None  # the database's record (None: not sealed yet)
    problem: str = ""  # why this booth does not seal (no secret store, key missing...)
    secret_store_failed: bool = False  # the problem is the secret store itself


def database_name(store: Store) -> str:
    """The name the key is kept under: the database it seals, without any password."""
    url = store.engine.url
    if url.get_backend_name() == "sqlite":
        return "sqlite:" + str(Path(url.database or "").expanduser().resolve())
    return f"{url.get_backend_name()}://{url.host or ''}:{url.port or ''}/{url.database or ''}"


def _encode(seal: AuditSeal) -> str:
    return json.dumps({"key": base64.b64encode(seal.key).decode(), "since": seal.since, "fingerprint": seal.fingerprint})


def _decode(text: str) -> AuditSeal:
    try:
        data = json.loads(text)
        seal = AuditSeal(base64.b64decode(data["key"], validate=True), int(data["since"]))
    except (ValueError, KeyError, TypeError, binascii.Error):
        raise AuditKeyError(_("this is not an audit key (it comes from `booth audit key export`)")) from None
    if len(seal.key) < 32 or seal.since < 1 or data.get("fingerprint", seal.fingerprint) != seal.fingerprint:
        raise AuditKeyError(_("this audit key is damaged (its fingerprint does not match)"))
    return seal


def secret_store_of(config: SiteConfig) -> SecretStore:
    """Where this booth keeps audit keys: `audit-keys.enc` beside the site's secret key
    file (`[cloud] key_file`, default `secret.key` in the user's config folder), encrypted
    with it. Never in the data folder, so a copy of the database and its folder carries no
    key; never in the OS keyring, whose availability depends on a desktop session (a key
    found at one start and not the next would stop the booth). Booths run by one user on
    one PC share it; a booth on another PC imports the key once."""
    key = Path(config.cloud.key_file).expanduser() if config.cloud.key_file else config_dir() / "secret.key"
    return EncryptedFileStore(key.with_name(KEY_FILE), key)  # beside the key that encrypts it


def seal_store(config: SiteConfig, store: Store, *, create: bool, secrets_store: SecretStore | None = None,
               _retried: bool = False) -> SealState:
    """Find (or, with `create`, make) the key that seals `store`'s chain and write with it.

    Raises AuditKeyError when the database is sealed with a key this booth does not hold
    or that differs: writing on would leave entries nobody can verify."""
    holder = secrets_store or secret_store_of(config)
    name = database_name(store)
    with store.read() as tx:
        recorded = audit.recorded_seal(tx)
        fingerprint, since = (recorded.fingerprint, recorded.since) if recorded else (None, None)
    try:
        text = holder.get(SERVICE, name)
    except CredentialError as exc:
        text, reason = None, str(exc)
    else:
        reason = ""
    held = _decode(text) if text else None
    if recorded is not None:
        if held is None or held.fingerprint != fingerprint:
            raise AuditKeyError(_(
                "this database's audit chain is sealed with key {fingerprint}, which this booth does not hold. "
                "On a booth that has it run `booth audit key export > key.txt`, then here `booth audit key import < key.txt`"
            ).format(fingerprint=fingerprint) + " " + _("(looked in {place})").format(place=holder.describe()) + (f" ({reason})" if reason else ""))
        seal = AuditSeal(held.key, int(since or held.since))
        audit.seal_audit(store.engine, seal)
        return SealState(seal, fingerprint)
    if held is not None:
        # A key kept for this database but no record of it: set up and not committed, or
        # removed. Re-establishing it is harmless only while nothing is sealed yet.
        with store.read() as tx:
            last = audit.head(tx)
        if last is not None and last[0] >= held.since:
            audit.seal_audit(store.engine, held)  # verify reports the missing record
            return SealState(held, None, _("the database's record of the audit key is missing"))
    if not create:
        return SealState(None, None, reason or _("the audit chain is not sealed yet (the console seals it at its first start)"))
    key = held.key if held is not None else secrets.token_bytes(32)
    try:
        with store.write() as tx:
            seal = audit.establish_seal(tx, key, at=datetime.now(timezone.utc))
            holder.set(SERVICE, name, _encode(seal))  # kept before the record commits
    except CredentialError as exc:
        return SealState(None, None, _("the audit chain is not sealed: {exc}").format(exc=exc), secret_store_failed=True)
    except ValueError as exc:
        if _retried:
            raise AuditKeyError(str(exc)) from None
        # Another booth sealed it first (while this one waited for the lock): its key
        # may be in the same secret store (one PC, one user).
        return seal_store(config, store, create=create, secrets_store=secrets_store, _retried=True)
    audit.seal_audit(store.engine, seal)
    return SealState(seal, seal.fingerprint)


def held_seal(config: SiteConfig, store: Store, *, secrets_store: SecretStore | None = None) -> SealState:
    """What this computer holds for `store`'s seal, without creating or refusing anything
    (for `booth audit verify` and the doctor). `problem` says why there is no seal."""
    holder = secrets_store or secret_store_of(config)
    with store.read() as tx:
        recorded = audit.recorded_seal(tx)
        fingerprint, since = (recorded.fingerprint, recorded.since) if recorded else (None, None)
    try:
        text = holder.get(SERVICE, database_name(store))
    except CredentialError as exc:
        return SealState(None, fingerprint, str(exc), secret_store_failed=True)
    try:
        held = _decode(text) if text else None
    except AuditKeyError as exc:
        return SealState(None, fingerprint, str(exc))
    if held is None:
        return SealState(None, fingerprint, _("this computer holds no audit key for this database") if fingerprint else
                         _("the audit chain is not sealed yet (the console seals it at its first start)"))
    if fingerprint is not None and held.fingerprint != fingerprint:
        return SealState(None, fingerprint, _("the audit key held here ({held}) is not the one that seals this database ({recorded})").format(
            held=held.fingerprint, recorded=fingerprint))
    return SealState(AuditSeal(held.key, int(since or held.since)), fingerprint)


def export_key(config: SiteConfig, store: Store, *, secrets_store: SecretStore | None = None) -> str:
    """The key as text to carry to another booth of the same database."""
    holder = secrets_store or secret_store_of(config)
    try:
        text = holder.get(SERVICE, database_name(store))
    except CredentialError as exc:
        raise AuditKeyError(str(exc)) from None
    if not text:
        raise AuditKeyError(_("this booth holds no audit key for this database"))
    return text


def import_key(config: SiteConfig, store: Store, text: str, *, secrets_store: SecretStore | None = None) -> AuditSeal:
    """Keep another booth's key here, after checking it is the one that seals this database."""
    seal = _decode(text.strip())
    with store.read() as tx:
        row = audit.recorded_seal(tx)
        recorded = AuditSeal(b"", row.since) if row else None
        fingerprint = row.fingerprint if row else ""
    if recorded is None:
        raise AuditKeyError(_("this database's audit chain is not sealed yet; start the console once instead"))
    if fingerprint != seal.fingerprint:
        raise AuditKeyError(_("this key ({given}) is not the one that seals this database ({recorded})").format(given=seal.fingerprint, recorded=fingerprint))
    holder = secrets_store or secret_store_of(config)
    try:
        holder.set(SERVICE, database_name(store), _encode(AuditSeal(seal.key, recorded.since)))
    except CredentialError as exc:
        raise AuditKeyError(str(exc)) from None
    return AuditSeal(seal.key, recorded.since)


# -- anchors ------------------------------------------------------------------------------

def anchor_file(config: SiteConfig, store: Store) -> Path:
    """Next to a SQLite file, or in the booth's data folder for a server database."""
    database = store.engine.url.database if store.dialect == "sqlite" else None
    if database and database != ":memory:":
        return companion(Path(database), ANCHORS)
    return data_dir() / f"audit-anchors-{config.site.booth_id}.jsonl"


def read_anchors(path: Path) -> list[Anchor]:
    """The anchors kept in a local anchor file (a damaged line is skipped, not fatal)."""
    found: list[Anchor] = []
    try:
        # Bytes that are not UTF-8 make a damaged line like any other.
        lines = path.read_text(encoding="utf-8", errors="replace").splitlines()
    except FileNotFoundError:
        return found
    for line in lines:
        try:
            data = json.loads(line)
            found.append(Anchor(int(data["seq"]), str(data["digest"]), _("in {path} on {at}").format(path=path.name, at=data.get("at", "?"))))
        except (ValueError, KeyError, TypeError):
            continue
    return found


def parse_anchor(text: str) -> Anchor:
    """`SEQ:DIGEST` as printed on a Z report (at least 12 hex digits of the digest)."""
    seq, _sep, digest = text.strip().partition(":")
    digest = digest.strip().lower()
    if not seq.strip().isdigit() or len(digest) < 12 or any(c not in "0123456789abcdef" for c in digest):
        raise ValueError(_("{text!r}: write an anchor as ENTRY:DIGEST, e.g. 1234:9f2c61d0a4b3e8f1 (from the Z report)").format(text=text))
    return Anchor(int(seq), digest, _("given on the command line"))


class AuditAnchors:
    """Copies the chain's head out of the booth: to the cloud (outbox) and the anchor file."""

    def __init__(self, store: Store, path: Path, booth_id: str, *, every_s: float = 600.0) -> None:
        self.store = store
        self.path = path
        self.booth_id = booth_id
        self.every_s = every_s
        self._last: int | None = None
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def anchor(self) -> Anchor | None:
        """Anchor the current head now (no-op for an empty chain or an unchanged head)."""
        with self._lock:
            # Looked at first without the write lock: an unchanged head (the usual case)
            # must not hold up the lanes' writers.
            peek = self.store.query(audit.head)
            if peek is None or peek[0] == self._last:
                return None
            with self.store.write() as tx:
                last = audit.head(tx)
                if last is None or last[0] == self._last:
                    return None
                at = datetime.now(timezone.utc)
                enqueue(tx, type="audit.anchor", occurred_at=at, payload={"seq": last[0], "digest": last[1], "booth": self.booth_id})
            self._last = last[0]
            self._append({"seq": last[0], "digest": last[1], "at": at.isoformat(timespec="seconds"), "booth": self.booth_id})
            return Anchor(last[0], last[1])

    def _append(self, line: dict[str, object]) -> None:
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            with open(self.path, "a", encoding="utf-8") as f:
                f.write(json.dumps(line) + "\n")
                f.flush()
                os.fsync(f.fileno())
        except OSError as exc:  # the cloud copy still went out through the outbox
            log.warning("cannot write the anchor file %s: %s", self.path, exc)

    def start(self) -> None:
        """Anchor every `every_s` seconds while the site runs."""
        if self._thread is not None:
            return
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name="audit-anchors", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Anchor once more (the head at closing time) and stop."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None
        self.anchor_safely()

    def _run(self) -> None:
        while not self._stop.wait(self.every_s):
            self.anchor_safely()

    def anchor_safely(self) -> None:
        """Anchor now; a database that is busy or down only defers it (logged)."""
        try:
            self.anchor()
        except StoreError as exc:  # the database is busy or down: the next round anchors
            log.info("audit anchor deferred: %s", exc)
        except Exception:
            log.exception("audit anchor failed")
