"""Per-request plumbing shared by the routes: the backend, the caller, idempotent writes.

Routes with `guards=GUARDS` are authenticated (401 without a valid bearer) and rate limited
(429 with `Retry-After`) by the `authenticate` guard, before their body is read; they get
the caller as the `principal` dependency (or `caller_of(request)` on the hot path). Routes
that must work without a token (health, metrics, OpenAPI, JWKS) have no guard.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any, TypeVar, cast

import msgspec
from litestar import Request, Response
from litestar.connection import ASGIConnection
from litestar.di import NamedDependency, Provide
from litestar.exceptions.http_exceptions import RequestEntityTooLarge
from litestar.handlers.base import BaseRouteHandler
from litestar.openapi.datastructures import ResponseSpec

from api.auth.principal import Principal
from api.http.backend import Backend
from api.http.errors import ApiError, ErrorBody
from api.http.idempotency import MAX_KEY_LENGTH, StoredResponse, fingerprint

T = TypeVar("T")
JSON = "application/json"
IDEMPOTENCY_HEADER = "idempotency-key"
ERROR_DESCRIPTIONS = {
    400: "SYNTAX_ERROR or BAD_REQUEST: the request cannot be understood",
    401: "UNAUTHORIZED: no valid bearer token",
    403: "FORBIDDEN: the principal may not do this",
    404: "NOT_FOUND: unknown table, key, policy or route",
    405: "BAD_REQUEST: method not allowed on this route",
    408: "QUERY_CANCELED: the statement ran past its deadline or was cancelled; nothing changed",
    409: "CONFLICT: constraint violation, or Idempotency-Key reused for another request",
    413: "LIMIT_EXCEEDED (a result or value beyond a limit, named in detail) or BAD_REQUEST"
    " (the request body is too large)",
    422: "VALIDATION_ERROR: the body does not match its schema, unknown column, type mismatch",
    429: "RATE_LIMIT_EXCEEDED: retry after the Retry-After header's seconds",
    501: "CAPABILITY_NOT_SUPPORTED: a valid construct bkg-db does not implement",
    503: "UNAVAILABLE: the log cannot accept writes now, or the server is busy (Retry-After)",
}
SECURITY: list[dict[str, list[str]]] = [{"bearer": []}]


def error_responses(*statuses: int) -> dict[int, ResponseSpec]:
    """OpenAPI descriptions of the error responses a route may give."""
    return {
        status: ResponseSpec(
            data_container=ErrorBody,
            description=ERROR_DESCRIPTIONS[status],
            generate_examples=False,
        )
        for status in statuses
    }


AUTHED_ERRORS = error_responses(400, 401, 403, 404, 409, 413, 422, 429, 501, 503)


def backend_of(request: Request[Any, Any, Any]) -> Backend:
    backend: Backend = request.app.state.backend
    return backend


def bearer_of(connection: ASGIConnection[Any, Any, Any, Any]) -> str | None:
    """The token of an `Authorization: Bearer <token>` header, or None (read from the raw
    ASGI headers: this runs on every request, and building a headers object costs more)."""
    for name, value in connection.scope["headers"]:
        if name == b"authorization":
            scheme, _, token = value.decode("latin-1").partition(" ")
            if scheme.lower() != "bearer":
                return None
            return token.strip() or None
    return None


async def authenticate(connection: ASGIConnection[Any, Any, Any, Any], _: BaseRouteHandler) -> None:
    """Guard of every authenticated route: resolve and rate-limit the caller before the
    request body is even read, so that a stranger's request costs no parsing."""
    backend: Backend = connection.app.state.backend
    connection.state.principal = backend.principal(bearer_of(connection))


def caller_of(request: Request[Any, Any, Any]) -> Principal:
    """The caller the `authenticate` guard resolved."""
    principal: Principal = request.state.principal
    return principal


async def _provide_principal(
    request: Request[Any, Any, Any], backend: NamedDependency[Backend]
) -> Principal:
    """The caller the guard resolved. Taking `backend` orders the two providers one after
    the other: Litestar would otherwise resolve them concurrently in a task group, which
    costs more than both providers together."""
    return caller_of(request)


async def _provide_backend(request: Request[Any, Any, Any]) -> Backend:
    return backend_of(request)


GUARDS = [authenticate]
Caller = NamedDependency[Principal]
BackendDep = NamedDependency[Backend]
DEPENDENCIES = {
    "principal": Provide(_provide_principal),
    "backend": Provide(_provide_backend),
}


async def read_body(request: Request[Any, Any, Any], model: type[T]) -> tuple[T, bytes]:
    """The body decoded and validated in one pass, and its bytes.

    For the hot path: Litestar's body parameter decodes to Python objects first and converts
    after, and its reader parses the headers again; together they cost a point read a
    quarter of its time. The size limit is enforced on the bytes received, like Litestar's
    (413). Malformed or too deeply nested JSON or bad UTF-8 is a 400, a body that does not
    match `model` a 422."""
    body = await _receive_body(request, backend_of(request).config.max_body_bytes)
    try:
        return msgspec.json.decode(body, type=model), body
    except msgspec.ValidationError as exc:
        raise ApiError("VALIDATION_ERROR", "the request body does not match", str(exc)) from exc
    except msgspec.DecodeError as exc:
        raise ApiError("BAD_REQUEST", f"the request body is not valid JSON: {exc}") from exc
    except RecursionError as exc:
        raise ApiError("BAD_REQUEST", "the request body is nested too deeply") from exc


async def _receive_body(request: Request[Any, Any, Any], limit: int) -> bytes:
    chunks: list[bytes] = []
    size = 0
    while True:
        event = cast("dict[str, Any]", await request.receive())
        if event["type"] == "http.disconnect":
            raise ApiError("BAD_REQUEST", "the client went away before sending its body")
        chunk: bytes = event.get("body", b"")
        size += len(chunk)
        if size > limit:
            raise RequestEntityTooLarge
        chunks.append(chunk)
        if not event.get("more_body", False):
            return b"".join(chunks)


def json_response(value: Any, status: int = 200) -> Response[Any]:
    """A JSON response whose body is encoded now (so that it can be remembered)."""
    return Response(content=msgspec.json.encode(value), status_code=status, media_type=JSON)


async def idempotent(
    request: Request[Any, Any, Any],
    principal: Principal,
    run: Callable[[], Awaitable[Response[Any]]],
    body: bytes | None = None,
) -> Response[Any]:
    """Run a write once per Idempotency-Key (if the request carries one) and principal
    identity (`Principal.key`: kind, namespace, id); `body` is the request body when the
    handler has already read it from the connection."""
    key = request.headers.get(IDEMPOTENCY_HEADER)
    if key is None:
        return await run()
    if not key or len(key) > MAX_KEY_LENGTH:
        raise ApiError("BAD_REQUEST", f"Idempotency-Key must be 1-{MAX_KEY_LENGTH} characters")
    store = backend_of(request).idempotency
    if body is None:
        body = await request.body()
    print_ = fingerprint(request.method, request.url.path, request.url.query or "", body)
    stored = store.begin(principal.key, key, print_)
    if stored is not None:
        replay = Response(
            content=stored.body, status_code=stored.status, media_type=stored.media_type
        )
        replay.headers["Idempotent-Replayed"] = "true"
        return replay
    try:
        response = await run()
    except BaseException:
        store.release(principal.key, key)
        raise
    content = response.content if isinstance(response.content, bytes) else b""
    status = response.status_code or 200
    store.finish(principal.key, key, StoredResponse(status, content, JSON))
    return response
