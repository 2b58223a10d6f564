"""Running the reference cloud: in the foreground (`booth cloud`) or on a background
thread (tests, demos). Port 0 picks a free port; the real one is announced."""

from __future__ import annotations

import logging
import socket
import threading
import time
from typing import Any, Callable, Sequence

import uvicorn
from sqlalchemy.engine import make_url

from console.i18n import _
from console.sync.server.app import create_app
from console.sync.server.db import open_cloud_db
from console.sync.server.listen import bind
from console.sync.server.notify import Notifier, SmtpSettings


def _config(app: Any, log_level: str, certfile: str | None = None, keyfile: str | None = None) -> uvicorn.Config:
    return uvicorn.Config(
        app,
        log_level=log_level,
        access_log=False,
        lifespan="off",
        timeout_graceful_shutdown=2,
        ssl_certfile=certfile,
        ssl_keyfile=keyfile,
    )


class ServerThread:
    """An ASGI app served by uvicorn on a thread, on 127.0.0.1 and a free port."""

    def __init__(
        self,
        app: Any,
        host: str = "127.0.0.1",
        port: int = 0,
        log_level: str = "warning",
        *,
        certfile: str | None = None,
        keyfile: str | None = None,
        sock: socket.socket | None = None,
    ) -> None:
        """`sock`: a socket already listening (from `bind`), else one is bound on host:port."""
        self.app = app
        self.scheme = "https" if certfile else "http"
        self._sock = sock if sock is not None else bind(host, port)
        self.host = self._sock.getsockname()[0]
        self.port: int = self._sock.getsockname()[1]
        self._server = uvicorn.Server(_config(app, log_level, certfile, keyfile))
        self._thread = threading.Thread(target=self._server.run, kwargs={"sockets": [self._sock]}, name="cloud-server", daemon=True)

    @property
    def url(self) -> str:
        return f"{self.scheme}://{self.host}:{self.port}"

    def start(self, timeout: float = 10.0) -> ServerThread:
        self._thread.start()
        deadline = time.monotonic() + timeout
        while not self._server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError(_("the cloud server did not start"))
            time.sleep(0.01)
        return self

    def stop(self, timeout: float = 10.0) -> None:
        self._server.should_exit = True
        self._thread.join(timeout)
        self._sock.close()

    def __enter__(self) -> ServerThread:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def describe_db(url: str) -> str:
    """The database URL without its password, for messages."""
    try:
        return make_url(url).render_as_string(hide_password=True)
    except Exception:
        return "<unreadable database URL>"


def serve(
    db_url: str,
    host: str = "127.0.0.1",
    port: int = 8787,
    *,
    certfile: str | None = None,
    keyfile: str | None = None,
    announce: Callable[[str], None] = print,
    plate_regions: Sequence[str] | None = None,
    smtp: SmtpSettings | None = None,
) -> None:
    """Run the cloud in the foreground until interrupted (Ctrl-C / SIGTERM). With a
    certificate and key it speaks HTTPS. `plate_regions`: see create_app. `smtp`: where
    fault e-mails go (None: they wait, recorded as not delivered)."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    engine = open_cloud_db(db_url)
    notifier = Notifier(engine, smtp=smtp)
    app = create_app(engine, plate_regions=plate_regions, notifier=notifier, secure_cookie=bool(certfile))
    sock = bind(host, port)
    actual = sock.getsockname()[1]
    scheme = "https" if certfile else "http"
    shown = f"[{host}]" if ":" in host else host
    announce(f"booth cloud listening on {scheme}://{shown}:{actual} (database {describe_db(db_url)})")
    server = uvicorn.Server(_config(app, "info", certfile, keyfile))
    notifier.start()
    try:
        server.run(sockets=[sock])
    finally:
        notifier.stop()
        sock.close()
        engine.dispose()
