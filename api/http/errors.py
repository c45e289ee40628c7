"""Every failure as `{"error": {"code", "message", "detail"?}}` with its HTTP status.

The lower layers raise their own exceptions (`api.sql.errors`, `api.auth.errors`,
`api.rls.errors`, `api.storage.errors`, `eventlog` errors); this module is the one place
where they become HTTP responses. Anything not recognised is a 500 whose body says only
"internal error" (the traceback goes to the server log, never to the client).
"""

from __future__ import annotations

import logging
import sqlite3
from typing import Any

import msgspec
from litestar import Request, Response
from litestar.exceptions import (
    ClientException,
    HTTPException,
    NotAuthorizedException,
    NotFoundException,
    PermissionDeniedException,
    ValidationException,
)
from litestar.types import ExceptionHandlersMap

from api.auth.errors import (
    AuthError,
    ForbiddenError,
    IdempotencyConflictError,
    KeySpecError,
    RateLimitedError,
    UnauthorizedError,
)
from api.readers import OverloadedError
from api.rls.errors import RlsError
from api.sql.errors import ReadOnlyError, SqlError
from api.sql.limits import record_too_large
from api.sql.sqlite_errors import is_corruption
from api.storage import errors as storage_errors
from api.tracecontext import current_trace_id
from eventlog import LogError, RecordTooLargeError
from projections.blobs.errors import (
    BlobConflictError,
    BlobError,
    BlobNotFoundError,
    BlobUnavailableError,
    LengthMismatchError,
)
from projections.errors import LsnOutOfRangeError, ProjectionError, StoreDamagedError

log = logging.getLogger("bkgdb.http")
RETRY_AFTER_S = "5"

STATUS_OF_CODE = {
    "SYNTAX_ERROR": 400,
    "BAD_REQUEST": 400,
    "UNAUTHORIZED": 401,
    "FORBIDDEN": 403,
    "NOT_FOUND": 404,
    "CONFLICT": 409,
    "QUERY_CANCELED": 408,
    "LIMIT_EXCEEDED": 413,
    "VALIDATION_ERROR": 422,
    "RATE_LIMIT_EXCEEDED": 429,
    "CAPABILITY_NOT_SUPPORTED": 501,
    "UNAVAILABLE": 503,
    "INTERNAL_ERROR": 500,
}
_AUTH_CODES: dict[type[AuthError], str] = {
    UnauthorizedError: "UNAUTHORIZED",
    ForbiddenError: "FORBIDDEN",
    RateLimitedError: "RATE_LIMIT_EXCEEDED",
    KeySpecError: "VALIDATION_ERROR",
    IdempotencyConflictError: "CONFLICT",
}


class ErrorInfo(msgspec.Struct):
    """The inside of an error body."""

    code: str
    message: str
    detail: Any | None = msgspec.field(default=None)


class ErrorBody(msgspec.Struct):
    """What every failing request returns."""

    error: ErrorInfo


class ApiError(Exception):
    """An error raised by the HTTP layer itself (bad request shape, unknown key id, ...)."""

    def __init__(self, code: str, message: str, detail: Any = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.detail = detail


def error_response(
    code: str, message: str, detail: Any = None, headers: dict[str, str] | None = None
) -> Response[Any]:
    """The JSON error response for `code` (status from the catalogue)."""
    return _error(code, message, STATUS_OF_CODE[code], detail, headers)


def _error(
    code: str, message: str, status: int, detail: Any = None, headers: dict[str, str] | None = None
) -> Response[Any]:
    info: dict[str, Any] = {"code": code, "message": message}
    detail = traced_detail(detail)
    if detail is not None:
        info["detail"] = detail
    return Response(
        {"error": info},
        status_code=status,
        headers=headers,
        media_type="application/json",
    )


def traced_detail(detail: Any) -> Any:
    """An error's `detail` with the request's trace id (`trace_id`) when it is traced: added
    to an object detail or standing alone; a list detail keeps its documented shape (the
    `X-Trace-Id` response header carries the id on every traced response)."""
    trace_id = current_trace_id.get()
    if trace_id is None:
        return detail
    if detail is None:
        return {"trace_id": trace_id}
    if isinstance(detail, dict):
        return {**detail, "trace_id": trace_id}
    return detail


def _api_error(_: Request[Any, Any, Any], exc: ApiError) -> Response[Any]:
    return error_response(exc.code, exc.message, exc.detail)


def _sql_error(_: Request[Any, Any, Any], exc: SqlError) -> Response[Any]:
    if exc.code == "UNAVAILABLE" and not isinstance(exc, ReadOnlyError):  # that one: no retry
        return _unavailable(exc.message)
    return error_response(exc.code, exc.message, exc.detail)


def _rls_error(_: Request[Any, Any, Any], exc: RlsError) -> Response[Any]:
    return error_response(exc.code, str(exc))


def _auth_error(_: Request[Any, Any, Any], exc: AuthError) -> Response[Any]:
    code = next((c for t, c in _AUTH_CODES.items() if isinstance(exc, t)), "FORBIDDEN")
    if isinstance(exc, RateLimitedError):
        retry = str(max(1, round(exc.retry_after + 0.5)))
        return error_response(
            code, str(exc), {"retry_after": exc.retry_after}, {"Retry-After": retry}
        )
    headers = {"WWW-Authenticate": "Bearer"} if code == "UNAUTHORIZED" else None
    return error_response(code, str(exc), headers=headers)


def _overloaded(_: Request[Any, Any, Any], exc: OverloadedError) -> Response[Any]:
    retry = {"retry_after": exc.retry_after}
    return error_response("UNAVAILABLE", str(exc), retry, {"Retry-After": str(exc.retry_after)})


def _log_error(_: Request[Any, Any, Any], exc: LogError) -> Response[Any]:
    if isinstance(exc, RecordTooLargeError):  # retrying can never help: the client's error
        error = record_too_large(exc)
        return error_response(error.code, error.message, error.detail)
    log.error("the log refused a write: %s", exc)
    return _unavailable("the log cannot accept writes now; retry later")


def _projection_error(_: Request[Any, Any, Any], exc: ProjectionError) -> Response[Any]:
    if isinstance(exc, LsnOutOfRangeError):
        return error_response("VALIDATION_ERROR", str(exc), {"head_lsn": exc.head_lsn})
    if isinstance(exc, StoreDamagedError):
        return _unavailable(str(exc))
    log.error("projection failure: %s", exc)
    return _unavailable("the projection cannot answer now; retry later")


def _sqlite_error(request: Request[Any, Any, Any], exc: sqlite3.DatabaseError) -> Response[Any]:
    """A SQLite error no lower layer translated: a damaged projection file is a 503 (and
    the store stops answering until rebuilt); anything else is a 500."""
    if not is_corruption(exc):
        return _internal(exc)
    store = request.app.state.backend.db.store
    return _unavailable(str(store.mark_damaged(str(exc))))


def _unavailable(message: str) -> Response[Any]:
    return error_response("UNAVAILABLE", message, headers={"Retry-After": RETRY_AFTER_S})


def _http_exception(_: Request[Any, Any, Any], exc: HTTPException) -> Response[Any]:
    """Litestar's own exceptions: body decoding, validation, routing, size limits."""
    if isinstance(exc, ValidationException):
        detail = exc.extra if isinstance(exc.extra, list | dict) else None
        return error_response("VALIDATION_ERROR", "the request body does not match", detail)
    if isinstance(exc, NotAuthorizedException):
        return error_response("UNAUTHORIZED", exc.detail)
    if isinstance(exc, PermissionDeniedException):
        return error_response("FORBIDDEN", exc.detail)
    if isinstance(exc, NotFoundException):
        return error_response("NOT_FOUND", "no such route")
    if exc.status_code == 413:
        return _error("BAD_REQUEST", "the request body is too large", 413)
    if exc.status_code == 405:
        return _error("BAD_REQUEST", "method not allowed on this route", 405)
    if isinstance(exc, ClientException) or exc.status_code < 500:
        return error_response("BAD_REQUEST", exc.detail or "bad request")
    return _internal(exc)


def _bad_encoding(_: Request[Any, Any, Any], exc: UnicodeError) -> Response[Any]:
    return error_response("BAD_REQUEST", "the request is not valid UTF-8")


def _too_deep(_: Request[Any, Any, Any], exc: RecursionError) -> Response[Any]:
    """A body or value nested deeper than the decoder or a recursive check can follow."""
    return error_response("BAD_REQUEST", "the input is nested too deeply")


def _unexpected(_: Request[Any, Any, Any], exc: Exception) -> Response[Any]:
    return _internal(exc)


def _internal(exc: BaseException) -> Response[Any]:
    log.error("unhandled error", exc_info=exc)
    return error_response("INTERNAL_ERROR", "internal error")


_STORAGE_CODES: tuple[tuple[type[Exception], str, int | None], ...] = (
    (storage_errors.TooLargeError, "BAD_REQUEST", 413),
    (storage_errors.BadMimeTypeError, "BAD_REQUEST", 415),
    (storage_errors.RangeNotSatisfiableError, "BAD_REQUEST", 416),
    (storage_errors.NotFoundError, "NOT_FOUND", None),
    (storage_errors.BadObjectRequestError, "BAD_REQUEST", None),
    (storage_errors.ConflictError, "CONFLICT", None),
    (storage_errors.ForbiddenError, "FORBIDDEN", None),
    (BlobNotFoundError, "NOT_FOUND", None),
    (LengthMismatchError, "BAD_REQUEST", None),
    (BlobConflictError, "CONFLICT", None),
    (BlobUnavailableError, "UNAVAILABLE", None),
)
"""Object storage's errors and those of the blob stores below it, with their HTTP codes."""


def _storage_error(
    _: Request[Any, Any, Any], exc: storage_errors.StorageError | BlobError
) -> Response[Any]:
    code, status = next(
        ((c, s) for t, c, s in _STORAGE_CODES if isinstance(exc, t)), ("UNAVAILABLE", None)
    )
    response = error_response(code, str(exc))
    if status is not None:
        response.status_code = status
    if isinstance(exc, storage_errors.RangeNotSatisfiableError):
        response.headers["Content-Range"] = f"bytes */{exc.size}"
    return response


EXCEPTION_HANDLERS: ExceptionHandlersMap = {
    ApiError: _api_error,
    SqlError: _sql_error,
    RlsError: _rls_error,
    AuthError: _auth_error,
    LogError: _log_error,
    OverloadedError: _overloaded,
    storage_errors.StorageError: _storage_error,
    BlobError: _storage_error,
    ProjectionError: _projection_error,
    HTTPException: _http_exception,
    UnicodeError: _bad_encoding,
    sqlite3.DatabaseError: _sqlite_error,
    RecursionError: _too_deep,
    Exception: _unexpected,
}
