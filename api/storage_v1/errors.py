"""Failures in Supabase Storage's shape: `{"statusCode": "404", "code": "NoSuchKey",
"error": "not_found", "message": "..."}` with the same HTTP status.

`statusCode` (a string) and `error` are what the clients read (`storage3` raises
`StorageApiError(message, error, statusCode)`, and its `exists()` looks for
`not_found`); `code` is Supabase's newer error code. Lower-layer errors (object storage,
blob stores, authentication, our own HTTP layer) are translated here, at the edge of this
package, and nowhere else.
"""

from __future__ import annotations

from typing import Any

import msgspec
from litestar import Request, Response
from litestar.exceptions import HTTPException
from litestar.types import ExceptionHandlersMap

from api.auth.errors import AuthError, RateLimitedError, UnauthorizedError
from api.http.errors import STATUS_OF_CODE, ApiError
from api.storage import errors as storage_errors
from projections.blobs import errors as blob_errors


class StorageV1Error(Exception):
    """A failure answered in Supabase Storage's shape."""

    def __init__(
        self,
        status: int,
        code: str,
        error: str,
        message: str,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status, self.code, self.error, self.message = status, code, error, message
        self.headers = headers or {}

    def body(self) -> dict[str, str]:
        return {
            "statusCode": str(self.status),
            "code": self.code,
            "error": self.error,
            "message": self.message,
        }


def invalid(message: str) -> StorageV1Error:
    """A request that can never succeed as sent."""
    return StorageV1Error(400, "InvalidRequest", "invalid_request", message)


def not_supported(message: str) -> StorageV1Error:
    return StorageV1Error(501, "NotSupported", "not_supported", message)


_STORAGE: tuple[tuple[type[Exception], int, str, str], ...] = (
    (storage_errors.TooLargeError, 413, "EntityTooLarge", "Payload too large"),
    (storage_errors.BadMimeTypeError, 415, "InvalidMimeType", "invalid_mime_type"),
    (storage_errors.RangeNotSatisfiableError, 416, "InvalidRange", "invalid_range"),
    (storage_errors.InvalidKeyError, 400, "InvalidKey", "Invalid Input"),
    (storage_errors.BadObjectRequestError, 400, "InvalidRequest", "invalid_request"),
    (storage_errors.ConflictError, 409, "ResourceAlreadyExists", "Duplicate"),
    (storage_errors.ForbiddenError, 403, "AccessDenied", "Unauthorized"),
    (blob_errors.BlobNotFoundError, 404, "NoSuchKey", "not_found"),
    (blob_errors.LengthMismatchError, 400, "InvalidRequest", "invalid_request"),
    (blob_errors.BlobConflictError, 409, "ResourceAlreadyExists", "Duplicate"),
)


def from_storage(exc: Exception) -> StorageV1Error:
    """An object-storage or blob-store error as Supabase reports its kind."""
    if isinstance(exc, storage_errors.NotFoundError):
        if str(exc).startswith("no bucket"):
            return StorageV1Error(404, "NoSuchBucket", "Bucket not found", str(exc))
        return StorageV1Error(404, "NoSuchKey", "not_found", str(exc))
    for kind, status, code, error in _STORAGE:
        if isinstance(exc, kind):
            return StorageV1Error(status, code, error, str(exc))
    headers = {"Retry-After": "5"}
    return StorageV1Error(503, "InternalError", "internal", str(exc), headers)


def from_auth(exc: AuthError) -> StorageV1Error:
    if isinstance(exc, RateLimitedError):
        retry = str(max(1, round(exc.retry_after + 0.5)))
        return StorageV1Error(
            429, "SlowDown", "too_many_requests", str(exc), {"Retry-After": retry}
        )
    if isinstance(exc, UnauthorizedError):
        return StorageV1Error(401, "InvalidJWT", "Unauthorized", str(exc))
    return StorageV1Error(403, "AccessDenied", "Unauthorized", str(exc))


def respond(_: Request[Any, Any, Any], exc: StorageV1Error) -> Response[Any]:
    return Response(
        msgspec.json.encode(exc.body()),
        status_code=exc.status,
        headers=exc.headers,
        media_type="application/json",
    )


def _storage(request: Request[Any, Any, Any], exc: Exception) -> Response[Any]:
    return respond(request, from_storage(exc))


def _auth(request: Request[Any, Any, Any], exc: AuthError) -> Response[Any]:
    return respond(request, from_auth(exc))


def _api(request: Request[Any, Any, Any], exc: ApiError) -> Response[Any]:
    status = STATUS_OF_CODE.get(exc.code, 400)
    return respond(
        request, StorageV1Error(status, "InvalidRequest", "invalid_request", exc.message)
    )


def _http(request: Request[Any, Any, Any], exc: HTTPException) -> Response[Any]:
    status = exc.status_code
    if status == 404:
        return respond(request, StorageV1Error(404, "NotFound", "not_found", "no such route"))
    if status == 413:
        return respond(
            request,
            StorageV1Error(413, "EntityTooLarge", "Payload too large", "the body is too large"),
        )
    error = "invalid_request" if status < 500 else "internal"
    return respond(request, StorageV1Error(status, "InvalidRequest", error, str(exc.detail)))


HANDLERS: ExceptionHandlersMap = {
    StorageV1Error: respond,
    storage_errors.StorageError: _storage,
    blob_errors.BlobError: _storage,
    AuthError: _auth,
    ApiError: _api,
    HTTPException: _http,
}
"""The router's exception handlers: everything else falls to the application's."""
