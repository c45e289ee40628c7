"""`GET /realtime/v1/websocket`: Supabase Realtime's Phoenix channels (docs/realtime.md).

The handshake authenticates the ``apikey`` query parameter (an API key or a token, as
Supabase's clients send it) and takes one of the principal's realtime stream slots (shared
with `GET /realtime`; admins are not capped); a refusal closes the handshake (403). ``vsn``
picks the serialiser, 1.0.0 (default) or 2.0.0. Then one task reads frames and hands them to
the connection's `api.realtime.phoenix.socket.PhoenixSocket`, and one writes its outbox.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from typing import Any

from litestar import WebSocket, websocket
from litestar.exceptions import WebSocketDisconnect

from api.auth.errors import AuthError
from api.auth.principal import Principal
from api.http.backend import Backend
from api.realtime.phoenix.outbox import Outbox
from api.realtime.phoenix.socket import PhoenixSocket, SocketClosedError
from api.realtime.phoenix.wire import VERSIONS, VSN1

PATH = "/realtime/v1/websocket"
POLICY_VIOLATION = 1008
GOING_AWAY = 1001
IDLE_TIMEOUT_S = 60.0
"""A socket that sends nothing (not even a heartbeat; clients send one every 25-30 s) for
this long is closed, as Phoenix does: a vanished client holds nothing for long."""
CLOSE_QUIET_S = 0.25
CLOSE_DRAIN_S = 2.0
"""A socket the server closes first reads what the client still sends, until it pauses
this long (`CLOSE_QUIET_S`) or for this long in all (`CLOSE_DRAIN_S`): see `_close`."""


@websocket(PATH, include_in_schema=False)
async def realtime_websocket(socket: WebSocket[Any, Any, Any]) -> None:
    """Serve one Phoenix socket until either side closes it."""
    backend: Backend = socket.app.state.backend
    vsn = socket.query_params.get("vsn") or VSN1
    token = socket.query_params.get("apikey") or ""
    try:
        if vsn not in VERSIONS:
            raise AuthError(f"vsn must be one of {', '.join(VERSIONS)}")
        principal = backend.principal(token or None)
        release = _slot(backend, principal)
    except AuthError:
        await socket.close(code=POLICY_VIOLATION)
        return
    try:
        await socket.accept()
        outbox = Outbox()
        backend.realtime.sockets.add(outbox)
        connection = PhoenixSocket(backend, backend.realtime.rooms, principal, token, vsn, outbox)
        writer = asyncio.get_running_loop().create_task(_write(socket, outbox))
        try:
            await _read(socket, connection)
        finally:
            connection.close()
            outbox.close()
            backend.realtime.sockets.discard(outbox)
            await _finish(writer)
    finally:
        release()


def _slot(backend: Backend, principal: Principal) -> Callable[[], None]:
    """One of the principal's realtime stream slots (admins are not capped)."""
    if principal.kind == "admin":
        return _nothing
    return backend.realtime.slots.acquire(principal.key)


def _nothing() -> None:
    """Nothing to give back."""


async def _read(socket: WebSocket[Any, Any, Any], connection: PhoenixSocket) -> None:
    """Frames from the client until it goes, falls silent, or one of them ends the socket."""
    while True:
        try:
            message = await asyncio.wait_for(socket.receive(), IDLE_TIMEOUT_S)
        except TimeoutError:
            await _close(
                socket, connection, SocketClosedError(POLICY_VIOLATION, "heartbeat timeout")
            )
            return
        if message["type"] == "websocket.disconnect":
            return
        frame = message.get("text")
        if frame is None:
            frame = message.get("bytes")
        try:
            if not isinstance(frame, str | bytes):
                raise SocketClosedError(1003, "frames are JSON text")
            await connection.handle(frame)
        except SocketClosedError as exc:
            await _close(socket, connection, exc)
            return


async def _close(
    socket: WebSocket[Any, Any, Any], connection: PhoenixSocket, why: SocketClosedError
) -> None:
    """End the socket from the server's side: its channels leave, the client is told why.

    Before the close frame, what the client is still sending is read and dropped, until it
    pauses for `CLOSE_QUIET_S` (at most `CLOSE_DRAIN_S` in all): the ASGI server closes the
    connection once the close frame is sent, and closing it with the client's frames unread
    resets it, which discards what the client has not read yet, the close frame among them
    (a client flooding the socket would see the connection drop without the reason)."""
    connection.close()
    connection.outbox.close()
    with contextlib.suppress(Exception):
        await _drain(socket)
        await socket.close(code=why.code, reason=why.reason)


async def _drain(socket: WebSocket[Any, Any, Any]) -> None:
    """Read and drop frames until the client pauses, leaves, or `CLOSE_DRAIN_S` is up."""
    with contextlib.suppress(TimeoutError):
        async with asyncio.timeout(CLOSE_DRAIN_S):
            while True:
                message = await asyncio.wait_for(socket.receive(), CLOSE_QUIET_S)
                if message["type"] == "websocket.disconnect":
                    return


async def _write(socket: WebSocket[Any, Any, Any], outbox: Outbox) -> None:
    """The outbox to the client; a full outbox (a client not reading) closes the socket."""
    send = socket.send
    with contextlib.suppress(WebSocketDisconnect, OSError, RuntimeError):
        while True:
            frames = await outbox.take()
            if frames is None:
                break
            for frame in frames:
                await send({"type": "websocket.send", "bytes": None, "text": frame.decode()})
        if outbox.overflowed:
            await socket.close(code=POLICY_VIOLATION, reason="too slow: send queue full")
        elif outbox.going_away:
            await socket.close(code=GOING_AWAY, reason="server stopping")


async def _finish(writer: asyncio.Task[None]) -> None:
    """Let the writer send what is queued (a moment at most), then stop it."""
    with contextlib.suppress(asyncio.CancelledError, asyncio.TimeoutError):
        await asyncio.wait_for(writer, 1.0)
