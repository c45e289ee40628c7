"""Object bytes both ways: downloads (authenticated, public, signed; HEAD; `download=`),
info, and uploads (multipart forms or raw bodies, with or without credentials)."""

from __future__ import annotations

import asyncio
import base64
from collections.abc import Iterable
from email.utils import formatdate
from typing import Any
from urllib.parse import quote

from litestar import Response

from api.auth.principal import Principal
from api.http.deps import json_response
from api.http.object_headers import object_headers
from api.http.routes.storage import (
    check_signed,
    declared_length,
    json_object,
    open_download,
    reading_of,
)
from api.http.transfer import body_chunks, request_body
from api.storage.errors import BadObjectRequestError, ForbiddenError
from api.storage.meta import ObjectMeta
from api.storage.service import ObjectService
from api.storage_v1 import shapes, tokens
from api.storage_v1.context import Req, caller, in_thread, split, storage_of
from api.storage_v1.errors import StorageV1Error
from api.storage_v1.form import boundary_of, open_form


async def download(
    request: Req, principal: Principal | None, bucket_name: str, name: str
) -> Response[Any]:
    """An object's bytes (or, for HEAD, its headers), as `principal` (None: public)."""
    storage = storage_of(request)
    if request.method == "HEAD":
        found = await in_thread(storage.service.stat_object, principal, bucket_name, name)
        return Response(b"", headers=_head_headers(found, name), media_type=found.content_type)
    opened = await in_thread(
        open_download, storage, principal, bucket_name, name, reading_of(request)
    )
    wanted = request.query_params.get("download")
    if wanted is not None:
        filename = quote(wanted or name.rsplit("/", 1)[-1], safe="")
        opened.headers["Content-Disposition"] = f"attachment; filename*=UTF-8''{filename}"
    return opened.response()


def _head_headers(found: ObjectMeta, name: str) -> dict[str, str]:
    """What a HEAD tells of an object (the body's length in `X-Content-Length`: the answer
    itself has none)."""
    return {
        "ETag": f'"{found.sha256}"',
        "Last-Modified": formatdate(found.updated_us / 1e6, usegmt=True),
        "Cache-Control": shapes.CACHE_CONTROL,
        "X-Content-Length": str(found.size),
        **object_headers(found.content_type, name),
    }


async def download_signed(request: Req, bucket_name: str, name: str) -> Response[Any]:
    fields = tokens.decode(request.query_params.get("token"))
    grant = check_signed(request, storage_of(request), "GET", bucket_name, name, fields)
    return await download(request, grant.signer, bucket_name, name)


async def info(request: Req, rest: str) -> Response[Any]:
    first, tail = split(rest)
    principal: Principal | None = None if first == "public" else caller(request)
    bucket_name, name = split(tail) if first in ("public", "authenticated") else (first, tail)
    service = storage_of(request).service
    found = await in_thread(service.stat_object, principal, bucket_name, name)
    return json_response(shapes.object_info(found))


async def upload(
    request: Req, principal: Principal, bucket_name: str, name: str, replace: bool
) -> ObjectMeta:
    """Store the body (a multipart form with a file field, or the raw bytes) as one object."""
    service = storage_of(request).service
    content_type = request.headers.get("content-type", "")
    boundary = boundary_of(content_type)
    if boundary is not None:
        chunks = body_chunks(request, asyncio.get_running_loop())
        return await in_thread(
            _store_form, service, principal, bucket_name, name, chunks, boundary, replace
        )
    size = declared_length(request)
    metadata = _header_metadata(request)
    body = await request_body(request, size)
    return await in_thread(
        service.put_object, principal, bucket_name, name, body, size, content_type or None,
        metadata, replace,
    )  # fmt: skip


def _store_form(
    service: ObjectService,
    principal: Principal,
    bucket_name: str,
    name: str,
    body: Iterable[bytes],
    boundary: str,
    replace: bool,
) -> ObjectMeta:
    form = open_form(body, boundary)
    raw = form.fields.get("metadata")
    metadata = {} if raw is None else json_object(raw, "metadata")
    return service.put_object(
        principal, bucket_name, name, form.chunks, None, form.content_type, metadata, replace
    )


def _header_metadata(request: Req) -> dict[str, Any]:
    """`x-metadata`: user metadata as base64 JSON (how supabase-js sends it with raw bytes)."""
    raw = request.headers.get("x-metadata")
    if raw is None:
        return {}
    try:
        text = base64.b64decode(raw, validate=True).decode()
    except (ValueError, UnicodeDecodeError) as exc:
        raise BadObjectRequestError("x-metadata must be base64 JSON") from exc
    return json_object(text, "x-metadata")


async def upload_signed(request: Req, rest: str) -> Response[Any]:
    if not rest.startswith("sign/"):
        raise StorageV1Error(404, "NotFound", "not_found", "no such route")
    bucket_name, name = split(rest[len("sign/") :])
    fields = tokens.decode(request.query_params.get("token"))
    method = fields.get("method", "")
    if method not in tokens.UPLOAD_METHODS:
        raise ForbiddenError("the token is not an upload token")
    grant = check_signed(request, storage_of(request), method, bucket_name, name, fields)
    stored = await upload(request, grant.signer, bucket_name, name, method == "PUT")
    return json_response(shapes.uploaded(stored))
