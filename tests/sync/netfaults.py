"""Network faults on real sockets, for the sync tests.

- `Faults` wraps the real cloud app (ASGI) and answers chosen requests with a status
  of our choosing (500, 429 + Retry-After) before they reach the app; it also logs
  when each request arrived, so tests can measure how long the booth waited.
- `Switch` is a loopback TCP relay standing in for the network between booth and
  cloud: it can drop a connection right after the server answered (the server has
  committed, the booth never hears the answer), refuse connections (link down), and be
  pointed at a restarted server.
"""

from __future__ import annotations

import socket
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from typing import Any


@dataclass
class Fault:
    status: int
    path_contains: str
    headers: tuple[tuple[str, str], ...] = ()


@dataclass
class Seen:
    at: float  # time.monotonic()
    method: str
    path: str
    status: int
    query: str = ""


class Faults:
    """ASGI middleware: scripted failures in front of the real app, and a request log."""

    def __init__(self, app: Any) -> None:
        self.app = app
        self._script: deque[Fault] = deque()
        self._lock = threading.Lock()
        self.seen: list[Seen] = []

    def fail_next(self, count: int, status: int, path_contains: str = "/events", headers: tuple[tuple[str, str], ...] = ()) -> None:
        with self._lock:
            for _ in range(count):
                self._script.append(Fault(status, path_contains, headers))

    def requests(self, path_contains: str, method: str | None = None) -> list[Seen]:
        with self._lock:
            return [s for s in self.seen if path_contains in s.path and (method is None or s.method == method)]

    def _take(self, path: str) -> Fault | None:
        with self._lock:
            for fault in self._script:
                if fault.path_contains in path:
                    self._script.remove(fault)
                    return fault
        return None

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        arrived = time.monotonic()
        path, method = scope["path"], scope["method"]
        query = scope.get("query_string", b"").decode("latin-1")
        fault = self._take(path)
        if fault is not None:
            # Read the request body so the connection stays usable, then answer.
            more = True
            while more:
                message = await receive()
                more = message.get("more_body", False)
            headers = [(b"content-type", b"application/json")] + [(k.encode(), v.encode()) for k, v in fault.headers]
            await send({"type": "http.response.start", "status": fault.status, "headers": headers})
            await send({"type": "http.response.body", "body": b'{"error":"injected fault"}'})
            with self._lock:
                self.seen.append(Seen(arrived, method, path, fault.status, query))
            return
        status_box: list[int] = []

        async def spy(message: dict[str, Any]) -> None:
            if message["type"] == "http.response.start":
                status_box.append(message["status"])
            await send(message)

        await self.app(scope, receive, spy)
        with self._lock:
            self.seen.append(Seen(arrived, method, path, status_box[0] if status_box else 0, query))


@dataclass
class _Pair:
    client: socket.socket
    upstream: socket.socket
    closed: bool = False
    lock: threading.Lock = field(default_factory=threading.Lock)

    def close(self) -> None:
        with self.lock:
            if self.closed:
                return
            self.closed = True
        for s in (self.client, self.upstream):
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            s.close()


class Switch:
    """A TCP relay on 127.0.0.1 (port 0) in front of the cloud."""

    def __init__(self, target_port: int) -> None:
        self.target_port = target_port
        self.link_up = True
        self.dropped = 0
        self._drop_responses = 0
        self._lock = threading.Lock()
        self._pairs: list[_Pair] = []
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port = self._listener.getsockname()[1]
        self._running = True
        threading.Thread(target=self._accept, name="switch-accept", daemon=True).start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def drop_next_responses(self, count: int) -> None:
        """The next `count` responses from the server are thrown away and the connection
        cut: the request reached the server, its answer never reaches the booth."""
        with self._lock:
            self._drop_responses += count

    def cut_all(self) -> None:
        """Cut every open connection (a cable pulled)."""
        with self._lock:
            pairs, self._pairs = self._pairs, []
        for pair in pairs:
            pair.close()

    def close(self) -> None:
        self._running = False
        self._listener.close()
        self.cut_all()

    def _accept(self) -> None:
        while self._running:
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            if not self.link_up:
                client.close()
                continue
            try:
                upstream = socket.create_connection(("127.0.0.1", self.target_port), timeout=2)
                upstream.settimeout(None)
            except OSError:
                client.close()  # server down: the booth sees the connection fail
                continue
            pair = _Pair(client, upstream)
            with self._lock:
                self._pairs.append(pair)
            threading.Thread(target=self._pipe, args=(pair, client, upstream, False), daemon=True).start()
            threading.Thread(target=self._pipe, args=(pair, upstream, client, True), daemon=True).start()

    def _pipe(self, pair: _Pair, src: socket.socket, dst: socket.socket, from_server: bool) -> None:
        try:
            while True:
                data = src.recv(65536)
                if not data:
                    break
                if from_server:
                    with self._lock:
                        drop = self._drop_responses > 0
                        if drop:
                            self._drop_responses -= 1
                            self.dropped += 1
                    if drop:
                        break
                dst.sendall(data)
        except OSError:
            pass
        finally:
            pair.close()
