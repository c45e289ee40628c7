"""Where an HTTP request's time goes: seconds per stage, always on (`/metrics`).

The request's outermost metrics layer opens a `Stages` slot in a context variable
(`begin`/`end`); the reader hop (`reader_hop`, the reader pool seen from the event loop) and
the commit wait (`Timed(COMMIT)`, the commit pipeline seen from the awaiting handler) add
their seconds to it, and the layer adds the time spent in the ASGI server's `receive` and
`send`. What is left of the request's time was spent on the event loop (routing,
middlewares, the handler, encoding done there) or waiting for it. Outside an HTTP request
(pgwire, in-process use) there is no slot and a timer costs one context-variable lookup.

The stages, in `STAGES` order:

    receive        inside the ASGI server's `receive` (waiting for the request's body)
    reader_queue   submitted to the reader pool, until a reader thread starts it
    reader         on the reader thread (parse, plan, read, encode there)
    reader_return  the reader finished, until the handler runs again on the event loop
    commit         submitted to the commit pipeline, until the handler runs again
                   (SQL on the write connection, the group's signature and fsync, the hop)
    send           inside the ASGI server's `send` (the response handed to the socket)
    loop           the rest: on the event loop, or waiting for it
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from contextvars import ContextVar, Token
from types import TracebackType
from typing import TypeVar

T = TypeVar("T")
READER_QUEUE, READER, READER_RETURN = "reader_queue", "reader", "reader_return"
RECEIVE, COMMIT, SEND, LOOP = "receive", "commit", "send", "loop"
STAGES = (RECEIVE, READER_QUEUE, READER, READER_RETURN, COMMIT, SEND, LOOP)


class Stages:
    """Seconds per stage of one request (only the stages it went through)."""

    __slots__ = ("seconds",)

    def __init__(self) -> None:
        self.seconds: dict[str, float] = {}

    def add(self, stage: str, seconds: float) -> None:
        self.seconds[stage] = self.seconds.get(stage, 0.0) + seconds


_current: ContextVar[Stages | None] = ContextVar("request_stages", default=None)


def begin() -> tuple[Stages, Token[Stages | None]]:
    """Open the current request's slot (the metrics layer, once per request)."""
    stages = Stages()
    return stages, _current.set(stages)


def end(token: Token[Stages | None]) -> None:
    """Close the slot `begin` opened."""
    _current.reset(token)


class Timed:
    """`with Timed(COMMIT): ...` adds the block's seconds to the request's stage."""

    __slots__ = ("_began", "_stage", "_stages")

    def __init__(self, stage: str) -> None:
        self._stage = stage
        self._stages = _current.get()
        self._began = 0.0

    def __enter__(self) -> None:
        if self._stages is not None:
            self._began = time.perf_counter()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._stages is not None:
            self._stages.add(self._stage, time.perf_counter() - self._began)


async def reader_hop(
    run: Callable[[str, Callable[[], T]], Awaitable[T]], key: str, work: Callable[[], T]
) -> T:
    """`await run(key, work)` (the reader pool's `run`), timed as queue, reader and return."""
    stages = _current.get()
    if stages is None:
        return await run(key, work)
    marks = [0.0, 0.0]

    def on_reader() -> T:
        marks[0] = time.perf_counter()
        try:
            return work()
        finally:
            marks[1] = time.perf_counter()

    submitted = time.perf_counter()
    try:
        return await run(key, on_reader)
    finally:
        if marks[1]:  # it ran (a refused or cancelled hop never started)
            stages.add(READER_QUEUE, marks[0] - submitted)
            stages.add(READER, marks[1] - marks[0])
            stages.add(READER_RETURN, time.perf_counter() - marks[1])
