"""`GET /realtime`: the log's row changes as server-sent events (see docs/realtime.md).

A namespace key or user holds at most `--max-streams-per-principal` open streams (default
32, counted by identity, bounded history reads included; admins are not capped); one more
is 429 `RATE_LIMIT_EXCEEDED`.

Open streams would hold the server's graceful stop forever, so `serve` calls
`backend.realtime.close()` on a stop signal first: every stream ends, clients resume later.

The token comes from `Authorization: Bearer` or, because browsers' EventSource cannot set
headers, from the `access_token` query parameter (this route only). The hub that follows the
log and the stream slots are the backend's `realtime` (`api.realtime.service`), built with
the server.

A read replica serves the same route over its history of applied records (its "log" is a
`projections.consumers.replica_history.ReplicaHistory`; see `api.realtime.source`).

The route is left out of the OpenAPI document: a response that never ends cannot be
described there usefully, and generated requests against it would never finish.
"""

from __future__ import annotations

import asyncio
import time
import weakref
from collections.abc import Callable
from typing import Any

from litestar import Request, get
from litestar.connection import ASGIConnection
from litestar.handlers.base import BaseRouteHandler
from litestar.params import FromQuery
from litestar.response import Stream

from api.auth.errors import AuthError
from api.auth.principal import Principal
from api.http.backend import Backend
from api.http.deps import SECURITY, backend_of, bearer_of, caller_of, error_responses
from api.http.errors import ApiError
from api.http.routes.realtime_ws import realtime_websocket
from api.realtime.access import Access, Filters, parse_filters
from api.realtime.catchup import CatchUp
from api.realtime.errors import HistoryGoneError, SubscriptionError
from api.realtime.events import OBJECTS_TABLE
from api.realtime.hub import store_connection
from api.realtime.position import Position, start_position
from api.realtime.source import RecordSource, check_readable
from api.realtime.stream import history, subscription
from api.realtime.subscriber import Subscriber
from api.sql.catalog import snapshot_catalog

DEFAULT_HEARTBEAT_S = 15.0
HEARTBEAT_RANGE = (0.1, 300.0)
DEFAULT_BUFFER = 1024
BUFFER_RANGE = (1, 10_000)
SSE_HEADERS = {"Cache-Control": "no-store", "X-Accel-Buffering": "no"}


def token_of(connection: ASGIConnection[Any, Any, Any, Any]) -> str | None:
    """The bearer header's token, else the `access_token` parameter's."""
    return bearer_of(connection) or connection.query_params.get("access_token") or None


async def authenticate_stream(
    connection: ASGIConnection[Any, Any, Any, Any], _: BaseRouteHandler
) -> None:
    """Resolve (and rate-limit) the caller from the header or the `access_token` parameter."""
    backend: Backend = connection.app.state.backend
    connection.state.principal = backend.principal(token_of(connection))


def still_valid(
    backend: Backend, token: str | None, principal: Principal, every_s: float
) -> Callable[[], bool]:
    """Whether the stream's credential still holds, asked by the open stream before each
    delivery, outside the rate budget. Cheap every time: is the API key behind it (the key
    itself, or the key its token was minted from) still active, so that revoking a key
    stops its streams before their next event. Full at most once per `every_s`: the
    credential resolves again (signature, expiry)."""
    checked = time.monotonic()

    def check() -> bool:
        nonlocal checked
        key_id = principal.key_id
        if key_id is not None and not backend.bearers.keys.is_active(key_id, time.time()):
            return False
        if time.monotonic() - checked < every_s:
            return True
        checked = time.monotonic()
        try:
            backend.bearers.resolve(token)
        except AuthError:
            return False
        return True

    return check


@get("/realtime", guards=[authenticate_stream], media_type="text/event-stream",
     summary="Subscribe to changes (Server-Sent Events)", security=SECURITY,
     responses=error_responses(400, 401, 403, 429))  # fmt: skip
async def realtime(
    request: Request[Any, Any, Any],
    tables: FromQuery[str | None] = None,
    ops: FromQuery[str | None] = None,
    from_lsn: FromQuery[int | None] = None,
    until_lsn: FromQuery[int | None] = None,
    heartbeat: FromQuery[float] = DEFAULT_HEARTBEAT_S,
    buffer: FromQuery[int] = DEFAULT_BUFFER,
) -> Stream:
    """Subscribe to changes: `tables`, `ops` filters; resume with `Last-Event-ID` or
    `from_lsn`; `heartbeat` seconds between idle comments; `buffer` events before overflow.
    With `until_lsn` the stream is a bounded read of the past that ends with ``end``."""
    backend, principal = backend_of(request), caller_of(request)
    try:
        filters = parse_filters(tables, ops, principal)
        start = start_position(request.headers.get("last-event-id"), from_lsn)
    except SubscriptionError as exc:
        raise ApiError("BAD_REQUEST", str(exc)) from exc
    _check_setting("heartbeat", heartbeat, HEARTBEAT_RANGE)
    _check_setting("buffer", buffer, BUFFER_RANGE)
    _check_tables(backend, principal, filters)
    hub = backend.realtime.hub()
    if start is not None:
        await _check_start(backend.db.history, start)
    after = start if start is not None else Position(hub.position)
    subscriber = Subscriber(Access(principal, filters), after, buffer, heartbeat)
    catchup = CatchUp(
        backend.db.history, store_connection(backend.db.store), hub.policies, subscriber
    )
    if until_lsn is not None:
        if not after.done_through <= until_lsn <= backend.db.history.head_lsn:
            raise ApiError("BAD_REQUEST", "until_lsn must lie between the start and the head")
        release = _take_slot(backend, principal)
        frames = history(subscriber, catchup, until_lsn, release)
    else:
        valid = still_valid(backend, token_of(request), principal, heartbeat)
        release = _take_slot(backend, principal)
        frames = subscription(hub, subscriber, catchup, valid, release)
    # The frames give the slot back when they end or the client goes; this, when the
    # response is dropped before it ever started (then no `finally` runs).
    weakref.finalize(frames, release)
    return Stream(frames, media_type="text/event-stream", headers=SSE_HEADERS)


def _take_slot(backend: Backend, principal: Principal) -> Callable[[], None]:
    """One of the principal's stream slots (admins are not capped: they hold every power
    over the server already); the returned function gives it back."""
    if principal.kind == "admin":
        return lambda: None
    return backend.realtime.slots.acquire(principal.key)


async def _check_start(log: RecordSource, start: Position) -> None:
    """A resume position must lie within the history this server can replay: not beyond
    its head (on a replica: the LSN it has applied), and not before records it does not
    hold (pruned without an archive, or before the checkpoint a replica was seeded from)."""
    head = log.head_lsn
    if start.lsn > head:
        raise ApiError(
            "BAD_REQUEST", f"event id {start} is beyond the log's head", {"head_lsn": head}
        )
    if start.done_through < head:
        try:
            await asyncio.to_thread(check_readable, log, start.done_through + 1)
        except HistoryGoneError as exc:
            raise ApiError(
                "BAD_REQUEST",
                f"event id {start} is older than the history this server can replay: {exc}",
            ) from exc


def _check_setting(name: str, value: float, bounds: tuple[float, float]) -> None:
    if not bounds[0] <= value <= bounds[1]:
        raise ApiError("BAD_REQUEST", f"{name} must be between {bounds[0]} and {bounds[1]}")


def _check_tables(backend: Backend, principal: Principal, filters: Filters) -> None:
    """Named tables must exist (404) and lie in the caller's namespace (403). The objects
    of storage (`storage.objects`) are every namespace's: each sees its own buckets'."""
    if filters.tables is None:
        return
    with backend.db.store.snapshot() as snap:
        known = snapshot_catalog(snap).tables
    for table in sorted(filters.tables - {OBJECTS_TABLE}):
        namespace = table.partition(".")[0]
        if principal.kind != "admin" and namespace != principal.namespace:
            raise ApiError("FORBIDDEN", f"table {table} is outside namespace {principal.namespace}")
        if table not in known:
            raise ApiError("NOT_FOUND", f"table {table} does not exist")


def realtime_handlers() -> list[Any]:
    """The route handlers to register in the app: this one and the Phoenix websocket."""
    return [realtime, realtime_websocket]
