"""Serving the app: granian's embedded server, in this process, until SIGINT or SIGTERM.

In-process matters: the database (and the log's writer lock) is opened before the port is
bound, so a second server on the same directory fails at once and names the holder. Why
granian and not uvicorn: see docs/operations.md (measured on this machine). The loop is
uvloop's where it is installed (every platform but Windows): granian hands each request to
the loop from its own threads, and a read comes back from the reader pool, so every request
wakes the loop from another thread at least twice, which costs uvloop a fraction of what it
costs asyncio's own loop (docs/benchmarks.md, "HTTP stack").

Graceful stop: the first SIGTERM or SIGINT stops accepting connections, cancels every
running statement (each in-flight request then answers, with its result or
QUERY_CANCELED), ends realtime streams and lets the caller stop the consumers and close the
database. If that has not finished within `STOP_GRACE_S`, or on a second signal, the
process exits at once with status 1: what is acknowledged is durable in the log, and the
projection, not marked clean, is repaired from the log at the next start.
"""

from __future__ import annotations

import asyncio
import gc
import logging
import os
import signal
import sys
import threading
from collections.abc import Coroutine, Sequence
from typing import Any, Protocol

from granian.constants import Interfaces
from granian.server.embed import Server
from litestar.types import ASGIApp

from api.http.backend import Backend

STOP_GRACE_S = 9.0
"""Seconds from the first stop signal until the process exits whatever it is doing."""
log = logging.getLogger("bkgdb.http")


class Listener(Protocol):
    """Another front door served on the same event loop (the PostgreSQL protocol)."""

    async def start(self) -> None: ...
    async def close(self) -> None: ...


def serve(
    backend: Backend,
    app: ASGIApp,
    host: str,
    port: int,
    listeners: Sequence[Listener] = (),
) -> None:
    """Serve `app` (built by `api.wiring` around `backend`) and `listeners` until a stop
    signal; the caller closes the backend afterwards.

    What start-up left alive (modules, parse caches, the app) is frozen out of the cyclic
    garbage collector first: full collections during requests then scan only what requests
    allocated, so they pause the event loop for less long."""
    gc.collect()
    gc.freeze()
    run_loop(_serve(app, backend, host, port, listeners))


def run_loop(main: Coroutine[Any, Any, None]) -> None:
    """Run `main` to completion on a new event loop: uvloop's where installed, else
    asyncio's."""
    try:
        import uvloop
    except ImportError:  # pragma: no cover - uvloop is a dependency except on Windows
        asyncio.run(main)
        return
    uvloop.run(main)


async def _serve(
    app: ASGIApp, backend: Backend, host: str, port: int, listeners: Sequence[Listener]
) -> None:
    server = Server(
        app,
        address=host,
        port=port,
        interface=Interfaces.ASGI,
        log_enabled=False,
        backlog=1024,
    )
    loop = asyncio.get_running_loop()
    stopping = threading.Event()

    def stop() -> None:
        if stopping.is_set():
            exit_now("second stop signal")
        stopping.set()
        arm_watchdog(STOP_GRACE_S)
        cancelled = backend.stop_statements()
        log.info(
            "stopping: %d running statement(s) cancelled",
            cancelled,
            extra={"event": "stopping", "cancelled": cancelled},
        )
        backend.realtime.close()  # open SSE streams would hold granian's graceful drain forever
        loop.call_soon(server.stop)

    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop)
    for listener in listeners:
        await listener.start()
    try:
        await server.serve()
    finally:
        for listener in listeners:
            await listener.close()


def arm_watchdog(seconds: float) -> threading.Timer:
    """Exit the process (`exit_now`) in `seconds` unless it has ended by then: a graceful
    stop waits for running statements, and a step SQLite cannot interrupt (a bounded
    quadratic string function, see `projections.bounds`) or a stuck drain must not hold it
    longer than that."""
    watchdog = threading.Timer(seconds, exit_now, ("graceful stop took too long",))
    watchdog.daemon = True
    watchdog.start()
    return watchdog


def exit_now(reason: str) -> None:
    """Leave the process at once (status 1) after flushing its output; nothing durable is
    lost, and the projection is repaired from the log at the next start."""
    print(f"bkg-db: {reason}; exiting now", file=sys.stderr)
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(1)
