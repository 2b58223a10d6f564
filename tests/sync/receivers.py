"""Loopback receivers for the cloud's fault notifications: a small SMTP server (asyncio,
the protocol's few commands a client needs) and a webhook receiver (http.server). Both
can refuse their first N deliveries, to prove the cloud retries."""

from __future__ import annotations

import asyncio
import json
import threading
from email import message_from_bytes
from email.message import Message
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


class SmtpReceiver:
    """An SMTP server on 127.0.0.1 in its own thread. `messages` holds what was accepted
    (envelope recipients and the parsed message); the first `refuse` transactions get a
    temporary 451 at MAIL FROM."""

    def __init__(self, refuse: int = 0) -> None:
        self.refuse = refuse
        self.messages: list[tuple[list[str], Message]] = []
        self.transactions = 0
        self._loop = asyncio.new_event_loop()
        self._ready = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True, name="smtp-receiver")
        self.port = 0
        self._server: asyncio.AbstractServer | None = None

    def _run(self) -> None:
        asyncio.set_event_loop(self._loop)
        self._server = self._loop.run_until_complete(asyncio.start_server(self._session, "127.0.0.1", 0))
        self.port = self._server.sockets[0].getsockname()[1]
        self._ready.set()
        self._loop.run_forever()

    async def _session(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        async def say(line: str) -> None:
            writer.write((line + "\r\n").encode("ascii"))
            await writer.drain()

        await say("220 loopback ESMTP")
        recipients: list[str] = []
        try:
            while True:
                raw = await reader.readline()
                if not raw:
                    break
                verb = raw.decode("ascii", "replace").strip()
                upper = verb.upper()
                if upper.startswith("EHLO"):
                    await say("250-loopback")
                    await say("250 8BITMIME")
                elif upper.startswith("HELO"):
                    await say("250 loopback")
                elif upper.startswith("MAIL FROM"):
                    self.transactions += 1
                    if self.transactions <= self.refuse:
                        await say("451 try again later")
                        continue
                    recipients = []
                    await say("250 OK")
                elif upper.startswith("RCPT TO"):
                    recipients.append(verb.split(":", 1)[1].strip().strip("<>"))
                    await say("250 OK")
                elif upper == "DATA":
                    await say("354 end with <CRLF>.<CRLF>")
                    lines: list[bytes] = []
                    while True:
                        line = await reader.readline()
                        if line in (b".\r\n", b".\n", b""):
                            break
                        lines.append(line[1:] if line.startswith(b"..") else line)
                    self.messages.append((recipients, message_from_bytes(b"".join(lines))))
                    await say("250 queued")
                elif upper == "RSET":
                    recipients = []
                    await say("250 OK")
                elif upper == "NOOP":
                    await say("250 OK")
                elif upper == "QUIT":
                    await say("221 bye")
                    break
                else:
                    await say("502 not implemented")
        finally:
            writer.close()

    def start(self) -> SmtpReceiver:
        self._thread.start()
        self._ready.wait(5)
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._loop.call_soon_threadsafe(self._server.close)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(5)


class WebhookReceiver:
    """An HTTP server on 127.0.0.1 that keeps every POST body; the first `refuse`
    requests get 503."""

    def __init__(self, refuse: int = 0) -> None:
        self.refuse = refuse
        self.requests: list[tuple[dict[str, str], Any]] = []
        self.raw: list[bytes] = []  # the bodies as sent (signatures are over these bytes)
        self.answered: list[int] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - http.server's name
                body = self.rfile.read(int(self.headers.get("content-length") or 0))
                status = 503 if len(receiver.answered) < receiver.refuse else 200
                receiver.answered.append(status)
                if status == 200:
                    receiver.raw.append(body)
                    receiver.requests.append((dict(self.headers), json.loads(body)))
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}/hooks/faults"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True, name="webhook-receiver")

    def start(self) -> WebhookReceiver:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
