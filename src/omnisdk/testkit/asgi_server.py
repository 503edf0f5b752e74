"""An ASGI app served over real HTTP inside a test's event loop: :func:`serve_in_task`.

For a test that needs a real socket (a browser, a websocket client, a CLI in a thread, the
gateway calling a fake provider back), not ``httpx.ASGITransport``.
"""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import uvicorn

from omnisdk.testkit.polling import wait_for
from omnisdk.testkit.ports import LOOPBACK

DEFAULTS: dict[str, Any] = {"log_level": "warning", "lifespan": "off", "timeout_graceful_shutdown": 5}
"""uvicorn options unless the caller gives its own: quiet, no lifespan (the test usually
starts and stops the runtime itself; ``lifespan="on"`` lets the app do it), and requests still
open 5 s after the stop began cancelled (a held long-poll or a WebSocket a test left open
would otherwise hold the stop for as long as it lasts)."""


@asynccontextmanager
async def serve_in_task(
    app: Any,
    host: str = LOOPBACK,
    port: int = 0,
    *,
    start_within: float = 10.0,
    stop_within: float = 20.0,
    **options: Any,
) -> AsyncIterator[str]:
    """``app`` under uvicorn on ``host:port`` (``port=0``: one the OS picks) in a task of the
    running loop; yields its base URL (``http://127.0.0.1:PORT``) once it accepts connections,
    and stops it on exit (graceful: ``should_exit``, then at most ``stop_within`` seconds).

    ``options`` go to :class:`uvicorn.Config` over :data:`DEFAULTS` (``lifespan="on"``,
    ``ws="websockets-sansio"``, ...).  The socket is bound here, before uvicorn runs, so a
    port in use fails the caller, not the event loop.

    Raises:
        OSError: ``host:port`` cannot be bound.
        RuntimeError: uvicorn stopped before it started (a lifespan startup that failed: uvicorn
            exits, and its ``SystemExit`` is turned into this); any other exception of the
            server's task is raised as is.
        AssertionError: not started within ``start_within`` seconds (the task is cancelled).
        TimeoutError: not stopped within ``stop_within`` seconds on exit.
    """
    sock = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, port))
    except OSError:
        sock.close()
        raise
    server = uvicorn.Server(uvicorn.Config(app, host=host, port=port, **{**DEFAULTS, **options}))

    async def serve() -> None:
        try:
            await server.serve(sockets=[sock])
        except SystemExit as exc:  # uvicorn's answer to a failed startup; it would stop the loop
            raise RuntimeError(
                f"uvicorn stopped before it started (exit status {exc.code})"
            ) from None

    task = asyncio.create_task(serve())

    async def started() -> bool:
        if task.done():
            task.result()
            raise RuntimeError(f"uvicorn stopped before it started on {host}:{port}")
        return server.started

    try:
        await wait_for(started, start_within, interval=0.02)
    except BaseException:
        task.cancel()  # a server stuck in its startup would not see should_exit
        await asyncio.gather(task, return_exceptions=True)
        sock.close()
        raise
    try:
        yield f"http://{f'[{host}]' if ':' in host else host}:{sock.getsockname()[1]}"
    finally:
        server.should_exit = True
        try:
            await asyncio.wait_for(task, stop_within)
        finally:
            sock.close()


__all__ = ["DEFAULTS", "serve_in_task"]
