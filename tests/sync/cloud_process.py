"""The reference cloud in its own process, for crash tests: it can be killed (SIGKILL)
while a batch is in flight.

    python tests/sync/cloud_process.py DB_URL MODE SECONDS

MODE `before`: the first batch of events is held SECONDS before it reaches the books
(prints HOLDING); `after`: the first batch is committed, then its answer is held
(prints COMMITTED); `none`: no hold. Prints `PORT n` once listening on 127.0.0.1.
"""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

import uvicorn  # noqa: E402

from console.sync.server.app import create_app  # noqa: E402
from console.sync.server.db import open_cloud_db  # noqa: E402
from console.sync.server.run import bind  # noqa: E402


class HoldFirstBatch:
    def __init__(self, app: Any, mode: str, seconds: float) -> None:
        self.app, self.mode, self.seconds = app, mode, seconds
        self.held = False

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        hold = scope["type"] == "http" and scope["path"].endswith("/events") and not self.held and self.mode != "none"
        if not hold:
            await self.app(scope, receive, send)
            return
        self.held = True
        if self.mode == "before":
            print("HOLDING", flush=True)
            await asyncio.sleep(self.seconds)
            await self.app(scope, receive, send)
            return

        async def late_send(message: dict[str, Any]) -> None:
            if message["type"] == "http.response.start":
                print("COMMITTED", flush=True)
                await asyncio.sleep(self.seconds)
            await send(message)

        await self.app(scope, receive, late_send)


def main() -> None:
    db_url, mode, seconds = sys.argv[1], sys.argv[2], float(sys.argv[3])
    app = HoldFirstBatch(create_app(open_cloud_db(db_url)), mode, seconds)
    sock = bind("127.0.0.1", 0)
    print(f"PORT {sock.getsockname()[1]}", flush=True)
    uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="off")).run(sockets=[sock])


if __name__ == "__main__":
    main()
