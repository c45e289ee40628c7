"""Moving object bytes between a client connection and a blocking blob store.

Blob stores (local files, S3 through minio) block, so they run on worker threads, while the
connection belongs to the event loop. Every crossing between the two costs a thread
hand-off, which for a small object can cost more than its bytes. So the crossings are made
few and overlapped with I/O:

- uploads (`request_body`): a body declared no larger than `PULL_BYTES` is read whole on
  the loop before the worker starts; a larger one the worker pulls from the loop a batch of
  at least `PULL_BYTES` at a time, never holding more than one batch;
- downloads (`Download`): the worker that checks access also opens the blob. A whole blob
  that is a local file (the local store, or the S3 store's cache) is handed to the server by
  path when it can send files itself (ASGI's `http.response.pathsend`, which granian has),
  so no byte passes through Python. Otherwise the worker reads the first chunk, so an object
  of one chunk is answered whole with no further hand-off, and a larger one streams with the
  next chunk already being read while the previous is sent (`read_ahead`), so the store and
  the client work at the same time.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterable, Iterator
from contextlib import suppress
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from litestar import Litestar, Request, Response
from litestar.background_tasks import BackgroundTask, BackgroundTasks
from litestar.datastructures import Cookie
from litestar.enums import MediaType
from litestar.response import Stream
from litestar.response.base import ASGIResponse
from litestar.types import Receive, Send, TypeEncodersMap

from projections.blobs.blobstore import CHUNK_BYTES

PULL_BYTES = CHUNK_BYTES
"""The least a worker pulls from the connection per hand-off (less only at the end): the
stores' chunk, so a body of one chunk is read on the loop and never handed off in parts."""


async def request_body(request: Request[Any, Any, Any], size: int | None) -> Iterable[bytes]:
    """The request body, for a worker thread to consume, `size` being its declared length."""
    if size is not None and size <= PULL_BYTES:
        return [await request.body()]
    return body_chunks(request, asyncio.get_running_loop())


def body_chunks(
    request: Request[Any, Any, Any], loop: asyncio.AbstractEventLoop
) -> Iterator[bytes]:
    """The request body as a blocking iterator for a worker thread, pulled from the event
    loop in batches of at least `PULL_BYTES` (so at most one batch is in flight)."""
    stream: AsyncIterator[bytes] = request.stream()

    async def pull() -> bytes | None:
        parts, size = [], 0
        async for chunk in stream:
            parts.append(chunk)
            size += len(chunk)
            if size >= PULL_BYTES:
                break
        return b"".join(parts) if size else None  # one part: no copy

    while (chunk := asyncio.run_coroutine_threadsafe(pull(), loop).result()) is not None:
        yield chunk


PATHSEND = "http.response.pathsend"


def can_send_files(request: Request[Any, Any, Any]) -> bool:
    """Whether the server sends a file given its path (the `pathsend` ASGI extension)."""
    return PATHSEND in (request.scope.get("extensions") or {})


@dataclass
class Download:
    """An opened object, ready to send: status and headers, then either the path of a
    local file holding exactly the body, or the first chunk and the iterator of the rest
    (None when the first chunk is the whole body)."""

    status: int
    headers: dict[str, str]
    media_type: str
    first: bytes = b""
    rest: Iterator[bytes] | None = field(default=None)
    path: Path | None = None

    @classmethod
    def open(
        cls, status: int, headers: dict[str, str], media_type: str, chunks: Iterator[bytes]
    ) -> Download:
        """Read the first chunk of `chunks` (blocking: call it on the worker thread that
        opened them); `headers` must hold the Content-Length."""
        first = next(chunks, b"")
        rest: Iterator[bytes] | None = chunks
        if len(first) >= int(headers["Content-Length"]):
            _close(chunks)
            rest = None
        return cls(status, headers, media_type, first, rest)

    def response(self) -> Response[Any]:
        """The file by path, one body for a one-chunk object, else a stream that reads
        ahead."""
        if self.path is not None:
            return PathResponse(
                self.path,
                status_code=self.status,
                media_type=self.media_type,
                headers=self.headers,
            )
        if self.rest is None:
            return Response(
                self.first,
                status_code=self.status,
                media_type=self.media_type,
                headers=self.headers,
            )
        return Stream(
            read_ahead(self.first, self.rest),
            status_code=self.status,
            media_type=self.media_type,
            headers=self.headers,
        )


class PathResponse(Response[bytes]):
    """A response whose body is the file at `path`, sent by the server itself."""

    def __init__(
        self, path: Path, *, status_code: int, media_type: str, headers: dict[str, str]
    ) -> None:
        super().__init__(b"", status_code=status_code, media_type=media_type, headers=headers)
        self.path = path

    def to_asgi_response(
        self,
        app: Litestar | None,
        request: Request[Any, Any, Any],
        *,
        background: BackgroundTask | BackgroundTasks | None = None,
        cookies: Iterable[Cookie] | None = None,
        encoded_headers: Iterable[tuple[bytes, bytes]] | None = None,
        headers: dict[str, str] | None = None,
        is_head_response: bool = False,
        media_type: MediaType | str | None = None,
        status_code: int | None = None,
        type_encoders: TypeEncodersMap | None = None,
    ) -> ASGIResponse:
        return _PathSend(
            self.path,
            background=self.background or background,
            cookies=[*self.cookies, *(cookies or ())],
            encoded_headers=encoded_headers,
            headers={**(headers or {}), **self.headers},
            is_head_response=is_head_response,
            media_type=str(self.media_type),
            status_code=self.status_code,
        )


class _PathSend(ASGIResponse):
    def __init__(self, path: Path, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.path = path

    async def send_body(self, send: Send, receive: Receive) -> None:
        if self.is_head_response:
            await super().send_body(send, receive)
        else:
            await send({"type": PATHSEND, "path": str(self.path)})  # type: ignore[arg-type]


async def read_ahead(first: bytes, rest: Iterator[bytes]) -> AsyncIterator[bytes]:
    """`first`, then the chunks of `rest`, each read on a worker thread while the one before
    it is being sent. A stream abandoned early (client gone) closes `rest` once the read in
    flight has finished, on a worker thread, so a store connection is never leaked."""
    loop = asyncio.get_running_loop()
    pending: asyncio.Future[bytes | None] = loop.run_in_executor(None, next, rest, None)
    finished = False
    try:
        yield first
        while (chunk := await pending) is not None:
            pending = loop.run_in_executor(None, next, rest, None)
            yield chunk
        finished = True
    finally:
        if not finished:
            pending.add_done_callback(lambda done: _close_after(loop, done, rest))


def _close_after(
    loop: asyncio.AbstractEventLoop, done: asyncio.Future[bytes | None], rest: Iterator[bytes]
) -> None:
    if not done.cancelled():
        done.exception()  # retrieved: the client is gone, nobody else will look at it
    loop.run_in_executor(None, _close, rest)


def _close(chunks: Iterator[bytes]) -> None:
    """Close a generator of chunks (which releases what it holds: file, connection)."""
    close = getattr(chunks, "close", None)
    if close is not None:
        with suppress(Exception):
            close()
