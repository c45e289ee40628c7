"""What every `/storage/v1` handler needs first: the server's storage and the caller."""

from __future__ import annotations

from typing import Any

from litestar import Request

from api.auth.principal import Principal
from api.http.deps import backend_of
from api.rest.headers import token_of
from api.storage.served import Storage
from api.storage_v1.errors import StorageV1Error

Req = Request[Any, Any, Any]


def storage_of(request: Req) -> Storage:
    storage: Storage | None = backend_of(request).storage
    if storage is None:
        raise StorageV1Error(503, "InternalError", "internal", "this server holds no storage")
    return storage


def caller(request: Req) -> Principal:
    """The caller: a bearer token, else the `apikey` header (rate limited as any request)."""
    headers = request.headers
    bearer = token_of(headers.get("authorization"), headers.get("apikey"))
    return backend_of(request).principal(bearer)
