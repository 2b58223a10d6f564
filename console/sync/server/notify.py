"""The cloud's background worker: delivers fault notifications (webhook POSTs and
e-mails through the configured SMTP server), each retried with back-off and every
attempt recorded, and deletes elevator portraits past their retention.

One daemon thread; the database work of each step is one short transaction, and the
network calls run outside any transaction.
"""

from __future__ import annotations

import json
import logging
import smtplib
import threading
import time
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from email.message import EmailMessage
from typing import Any, Callable

import httpx
from sqlalchemy import select
from sqlalchemy.engine import Engine

from console.i18n import _
from console.sync.backoff import Backoff
from console.sync.server import db, faults, rides_cloud

log = logging.getLogger("booth.cloud.notify")


@dataclass(frozen=True)
class SmtpSettings:
    """Where fault e-mails go out. No password: a relay on the cloud's own network (or
    localhost) that accepts its mail; STARTTLS when asked."""

    host: str
    port: int = 25
    sender: str = "booth-cloud@localhost"
    starttls: bool = False
    timeout: float = 10.0


@dataclass(frozen=True)
class NotifyTuning:
    tick: float = 1.0  # how often due notifications are looked for
    backoff_base: float = 5.0  # seconds before the first retry, doubled each time
    backoff_cap: float = 1800.0
    purge_every: float = 3600.0
    webhook_timeout: float = 10.0


def _utcnow() -> datetime:
    return datetime.now(timezone.utc)


class Notifier:
    """Delivers what faults.py queued; purges portraits. `start()`/`stop()`; `wake()`
    makes it look at once (a fault was just raised)."""

    def __init__(self, engine: Engine, *, smtp: SmtpSettings | None = None, tuning: NotifyTuning = NotifyTuning(),
                 now: Callable[[], datetime] = _utcnow) -> None:
        self.engine = engine
        self.smtp = smtp
        self.tuning = tuning
        self.now = now
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._last_purge = 0.0
        self._http = httpx.Client(timeout=tuning.webhook_timeout, follow_redirects=False)

    def start(self) -> Notifier:
        self._thread = threading.Thread(target=self._run, name="cloud-notify", daemon=True)
        self._thread.start()
        return self

    def stop(self, timeout: float = 5.0) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout)
        self._http.close()

    def wake(self) -> None:
        self._wake.set()

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                self.run_once()
            except Exception:  # a database hiccup must not end the worker
                log.exception("notification round failed")
            self._wake.wait(self.tuning.tick)
            self._wake.clear()

    def run_once(self) -> int:
        """Attempt every notification due now; purge portraits when it is time. Returns
        how many notifications were attempted."""
        if time.monotonic() - self._last_purge >= self.tuning.purge_every or not self._last_purge:
            self._last_purge = time.monotonic()
            with self.engine.begin() as conn:
                purged = rides_cloud.purge(conn, self.now())
            if purged:
                log.info("%d elevator portrait(s) past their retention deleted", purged)
        with self.engine.begin() as conn:
            items = faults.due(conn, self.now())
            names = {r.site_id: r.name for r in conn.execute(select(db.site.c.site_id, db.site.c.name))}
        for item in items:
            ok, detail = self._deliver(item, names.get(item["site_id"]) or item["site_id"])
            retry = timedelta(seconds=self._delay(item["attempts"]))
            with self.engine.begin() as conn:
                state = faults.record_attempt(conn, item["seq"], self.now(), ok, detail, retry)
            log.log(logging.INFO if ok else logging.WARNING, "fault %s %s to %s: %s (%s)", item["fault_id"], item["channel"], item["target"], state, detail)
        return len(items)

    def _delay(self, failures: int) -> float:
        backoff = Backoff(base=self.tuning.backoff_base, cap=self.tuning.backoff_cap, failures=failures)
        return backoff.next_delay()

    def _deliver(self, item: dict[str, Any], site_name: str) -> tuple[bool, str]:
        body = faults.notification_body(item, site_name)
        if item["channel"] == "webhook":
            return self._post(item["target"], body, item.get("webhook_secret") or "")
        return self._mail(item["target"], body)

    def _post(self, url: str, body: dict[str, Any], secret: str) -> tuple[bool, str]:
        content = json.dumps(body, ensure_ascii=False).encode("utf-8")
        headers = {"Content-Type": "application/json", "Idempotency-Key": f"{body['site_id']}/{body['fault_id']}"}
        if secret:
            stamp = str(int(self.now().timestamp()))
            headers |= {"X-Booth-Timestamp": stamp, "X-Booth-Signature": faults.webhook_signature(secret, stamp, content)}
        try:
            answer = self._http.post(url, content=content, headers=headers)
        except httpx.HTTPError as exc:
            return False, f"{type(exc).__name__}: {exc}"
        if 200 <= answer.status_code < 300:
            return True, f"HTTP {answer.status_code}"
        return False, f"HTTP {answer.status_code}"

    def _mail(self, address: str, body: dict[str, Any]) -> tuple[bool, str]:
        if self.smtp is None:
            return False, "no SMTP server is configured (booth cloud --smtp-host)"
        message = EmailMessage()
        message["From"] = self.smtp.sender
        message["To"] = address
        port = f"/{body['port']}" if body["port"] is not None else ""
        message["Subject"] = _("Charging fault {code} at {site}, pile {pile}{port}").format(code=body["code"], site=body["site_name"], pile=body["pile"], port=port)
        message["Message-ID"] = f"<{body['fault_id']}@{body['site_id']}.booth-cloud>"
        message.set_content(
            _("Fault {code} was raised at {time} (UTC) on pile {pile}{port} of {site}: {detail}\n\nFranchise: {franchise}. Region: {region}.\n"
              "Close it in the cloud's faults page once it is fixed.").format(
                code=body["code"], time=body["raised_at"], pile=body["pile"], port=port, site=body["site_name"], detail=body["detail"],
                franchise=body["franchise"], region=body["region"] or "-")
        )
        try:
            with smtplib.SMTP(self.smtp.host, self.smtp.port, timeout=self.smtp.timeout) as client:
                if self.smtp.starttls:
                    client.starttls()
                refused = client.send_message(message)
        except (smtplib.SMTPException, OSError) as exc:
            return False, f"{type(exc).__name__}: {exc}"
        if refused:
            return False, f"refused: {refused}"
        return True, f"accepted by {self.smtp.host}:{self.smtp.port}"
