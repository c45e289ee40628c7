"""What every `/storage/v1` handler needs: the server's storage, the caller, the object path
as sent, and a worker thread for the blocking object service."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any, TypeVar
from urllib.parse import unquote_to_bytes

from litestar import Request

from api.auth.principal import Principal
from api.http.deps import backend_of
from api.rest.headers import token_of
from api.storage.served import Storage
from api.storage_v1.errors import StorageV1Error, invalid

T = TypeVar("T")
Req = Request[Any, Any, Any]
OBJECT_PREFIX = "/storage/v1/object/"


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


async def in_thread(call: Callable[..., T], *args: Any) -> T:
    return await asyncio.to_thread(call, *args)


def upsert_of(request: Req) -> bool:
    return request.headers.get("x-upsert", "").strip().lower() == "true"


def split(path: str) -> tuple[str, str]:
    """`bucket/name...` (one leading `/`, as Litestar keeps it, removed) as bucket, name."""
    bucket, _, name = (path[1:] if path.startswith("/") else path).partition("/")
    return bucket, name


def exact_path(request: Req, path: str) -> str:
    """The path below `/object` exactly as the client sent it: Litestar's own parameter has
    runs of `/` collapsed, which would store `a//b` (a name refused as ambiguous) as `a/b`."""
    raw = request.scope.get("raw_path")
    if not raw:
        return path
    try:
        text = unquote_to_bytes(raw.split(b"?", 1)[0]).decode("utf-8")
    except UnicodeDecodeError as exc:
        raise invalid("the path is not valid UTF-8") from exc
    return text[len(OBJECT_PREFIX) - 1 :] if text.startswith(OBJECT_PREFIX) else path
