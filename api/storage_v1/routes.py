"""The `/storage/v1` router: Supabase Storage's routes over `api.storage`.

Each request authenticates as `/rest/v1` does (`Authorization: Bearer`, else the `apikey`
header: an API key, or a user's JWT beside the project's anon key), except public objects
and signed URLs, which need no credential. Object routes share one path space
(`/object/{bucket}/{path}` beside `/object/sign/...`, `/object/list/...`, ...), so one
handler reads the path and dispatches, as Supabase does (a bucket named like one of those
words is reachable only through the routes that name a bucket first). Bodies of uploads
stream into the blob store (no request body limit here: the object service enforces its
own); JSON bodies are bounded by the server's limit.
"""

from __future__ import annotations

import asyncio
import base64
from collections.abc import Callable, Iterable
from typing import Any, TypeVar
from urllib.parse import quote, unquote_to_bytes

from litestar import Request, Response, Router, route
from litestar.params import FromPath

from api.auth.principal import Principal
from api.http.deps import backend_of, json_response, read_body
from api.http.routes.storage import (
    check_signed,
    json_object,
    open_download,
    reading_of,
)
from api.http.transfer import body_chunks, request_body
from api.storage.errors import BadObjectRequestError, ForbiddenError, NotFoundError
from api.storage.meta import ObjectMeta
from api.storage.names import check_object_name
from api.storage.presign import Grant, expiry
from api.storage.served import Storage
from api.storage.service import ObjectService
from api.storage_v1 import shapes, tokens
from api.storage_v1.bodies import (
    BucketBody,
    ListBody,
    MoveBody,
    RemoveBody,
    SignBody,
    check_count,
)
from api.storage_v1.context import caller, storage_of
from api.storage_v1.errors import HANDLERS, StorageV1Error, invalid, not_supported
from api.storage_v1.form import boundary_of, open_form
from api.storage_v1.listing import list_folder
from api.storage_v1.resumable import create as resumable_create
from api.storage_v1.resumable import upload as resumable_upload

T = TypeVar("T")
Req = Request[Any, Any, Any]
UPLOAD_URL_EXPIRES_S = 2 * 3600
"""How long a signed upload URL lasts (Supabase's two hours)."""
OBJECT_PREFIX = "/storage/v1/object/"
NO_ACCESS = "Either the object does not exist or you do not have access to it"


async def _in_thread(call: Callable[..., T], *args: Any) -> T:
    return await asyncio.to_thread(call, *args)


def _upsert(request: Req) -> bool:
    return request.headers.get("x-upsert", "").strip().lower() == "true"


def _split(path: str) -> tuple[str, str]:
    """`bucket/name...` (one leading `/`, as Litestar keeps it, removed) as bucket, name."""
    bucket, _, name = (path[1:] if path.startswith("/") else path).partition("/")
    return bucket, name


def _exact_path(request: Req, path: str) -> str:
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


# -- buckets -------------------------------------------------------------------------------


@route("/bucket", http_method=["GET", "POST"])
async def buckets(request: Req) -> Response[Any]:
    """List the buckets of the caller's namespace, or create one."""
    principal, service = caller(request), storage_of(request).service
    if request.method == "GET":
        found = await _in_thread(service.list_buckets, principal)
        return json_response([shapes.bucket_json(b) for b in found])
    body, _ = await read_body(request, BucketBody)
    name = body.bucket_id()
    await _in_thread(
        service.create_bucket, principal, name, bool(body.public), body.size_limit(),
        body.allowed_mime_types,
    )  # fmt: skip
    return json_response({"name": name})


@route("/bucket/{bucket_id:str}", http_method=["GET", "PUT", "DELETE"], status_code=200)
async def bucket(request: Req, bucket_id: FromPath[str]) -> Response[Any]:
    """Read, change or delete (when empty) one bucket."""
    principal, service = caller(request), storage_of(request).service
    if request.method == "GET":
        return json_response(
            shapes.bucket_json(await _in_thread(service.bucket, principal, bucket_id))
        )
    if request.method == "DELETE":
        await _in_thread(service.delete_bucket, principal, bucket_id)
        return json_response({"message": "Successfully deleted"})
    body, _ = await read_body(request, BucketBody)
    body.bucket_id(bucket_id)
    await _in_thread(
        service.update_bucket, principal, bucket_id, body.public, body.size_limit(),
        body.allowed_mime_types,
    )  # fmt: skip
    return json_response({"message": "Successfully updated"})


@route("/bucket/{bucket_id:str}/empty", http_method=["POST"], status_code=200)
async def empty_bucket(request: Req, bucket_id: FromPath[str]) -> Response[Any]:
    principal, service = caller(request), storage_of(request).service
    await _in_thread(service.empty_bucket, principal, bucket_id)
    return json_response({"message": "Successfully emptied"})


# -- objects -------------------------------------------------------------------------------


@route("/object/{path:path}", http_method=["GET", "HEAD", "POST", "PUT", "DELETE"],
       status_code=200)  # fmt: skip
async def objects(request: Req, path: FromPath[str]) -> Response[Any]:
    """Every `/object/...` route, told apart by method and first segment."""
    first, rest = _split(_exact_path(request, path))
    method = request.method
    if method in ("GET", "HEAD"):
        return await _get(request, first, rest)
    if method == "POST" and first in ("list", "move", "copy", "sign", "upload"):
        return await _post(request, first, rest)
    if method == "PUT" and first == "upload":
        return await _upload_signed(request, rest)
    if method == "DELETE" and not rest:
        return await _remove(request, first)
    bucket_name, name = first, rest
    principal = caller(request)
    if method == "DELETE":
        await _in_thread(storage_of(request).service.delete_object, principal, bucket_name, name)
        return json_response({"message": "Successfully deleted"})
    replace = method == "PUT" or _upsert(request)
    stored = await _upload(request, principal, bucket_name, name, replace)
    return json_response(shapes.uploaded(stored))


async def _get(request: Req, first: str, rest: str) -> Response[Any]:
    if first == "public":
        return await _download(request, None, *_split(rest))
    if first == "sign":
        return await _download_signed(request, *_split(rest))
    if first == "info":
        return await _info(request, rest)
    if first == "authenticated":
        return await _download(request, caller(request), *_split(rest))
    return await _download(request, caller(request), first, rest)


async def _post(request: Req, first: str, rest: str) -> Response[Any]:
    if first == "list":
        return await _list(request, rest)
    if first in ("move", "copy") and not rest:
        return await _move_or_copy(request, first)
    if first == "sign":
        bucket_name, name = _split(rest)
        return await (_sign(request, bucket_name, name) if name else _sign_many(request, rest))
    if first == "upload" and rest.startswith("sign/"):
        return await _sign_upload(request, *_split(rest[len("sign/") :]))
    principal = caller(request)  # a bucket named like a route word: an upload into it
    stored = await _upload(request, principal, first, rest, _upsert(request))
    return json_response(shapes.uploaded(stored))


# -- downloads -----------------------------------------------------------------------------


async def _download(
    request: Req, principal: Principal | None, bucket_name: str, name: str
) -> Response[Any]:
    """An object's bytes (or, for HEAD, its headers), as `principal` (None: public)."""
    storage = storage_of(request)
    if request.method == "HEAD":
        found = await _in_thread(storage.service.stat_object, principal, bucket_name, name)
        return Response(b"", headers=_head_headers(found), media_type=found.content_type)
    opened = await _in_thread(
        open_download, storage, principal, bucket_name, name, reading_of(request)
    )
    download = request.query_params.get("download")
    if download is not None:
        filename = quote(download or name.rsplit("/", 1)[-1], safe="")
        opened.headers["Content-Disposition"] = f"attachment; filename*=UTF-8''{filename}"
    return opened.response()


def _head_headers(found: ObjectMeta) -> dict[str, str]:
    return {
        "ETag": f'"{found.sha256}"',
        "Last-Modified": shapes.iso(found.updated_us),
        "Cache-Control": shapes.CACHE_CONTROL,
        "X-Content-Length": str(found.size),
    }


async def _download_signed(request: Req, bucket_name: str, name: str) -> Response[Any]:
    fields = tokens.decode(request.query_params.get("token"))
    grant = check_signed(request, storage_of(request), "GET", bucket_name, name, fields)
    return await _download(request, grant.signer, bucket_name, name)


async def _info(request: Req, rest: str) -> Response[Any]:
    first, tail = _split(rest)
    principal: Principal | None = None if first == "public" else caller(request)
    bucket_name, name = _split(tail) if first in ("public", "authenticated") else (first, tail)
    service = storage_of(request).service
    found = await _in_thread(service.stat_object, principal, bucket_name, name)
    return json_response(shapes.object_info(found))


# -- uploads -------------------------------------------------------------------------------


async def _upload(
    request: Req, principal: Principal, bucket_name: str, name: str, replace: bool
) -> ObjectMeta:
    """Store the body (a multipart form with a file field, or the raw bytes) as one object."""
    service = storage_of(request).service
    content_type = request.headers.get("content-type", "")
    boundary = boundary_of(content_type)
    if boundary is not None:
        chunks = body_chunks(request, asyncio.get_running_loop())
        return await _in_thread(
            _store_form, service, principal, bucket_name, name, chunks, boundary, replace
        )
    size = _declared_length(request)
    metadata = _header_metadata(request)
    body = await request_body(request, size)
    return await _in_thread(
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


def _declared_length(request: Req) -> int | None:
    value = request.headers.get("content-length")
    if value is None:
        return None
    if not value.isdigit():
        raise invalid("Content-Length must be a non-negative integer")
    return int(value)


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


async def _upload_signed(request: Req, rest: str) -> Response[Any]:
    if not rest.startswith("sign/"):
        raise StorageV1Error(404, "NotFound", "not_found", "no such route")
    bucket_name, name = _split(rest[len("sign/") :])
    fields = tokens.decode(request.query_params.get("token"))
    method = fields.get("method", "")
    if method not in tokens.UPLOAD_METHODS:
        raise ForbiddenError("the token is not an upload token")
    grant = check_signed(request, storage_of(request), method, bucket_name, name, fields)
    stored = await _upload(request, grant.signer, bucket_name, name, method == "PUT")
    return json_response(shapes.uploaded(stored))


# -- signing -------------------------------------------------------------------------------


def _signed_path(route_: str, bucket_name: str, name: str, token: str) -> str:
    return f"/object/{route_}/{bucket_name}/{quote(name)}?token={token}"


async def _sign(request: Req, bucket_name: str, name: str) -> Response[Any]:
    """`{"expiresIn"}` → `{"signedURL"}` for an object the caller may read now."""
    principal, storage = caller(request), storage_of(request)
    body, _ = await read_body(request, SignBody)
    if body.transform:
        raise not_supported("image transformation is not supported")
    expires_at = expiry(body.expires_in())
    await _in_thread(storage.service.stat_object, principal, bucket_name, name)
    token = tokens.encode(storage.signer, Grant("GET", bucket_name, name, expires_at, principal))
    return json_response({"signedURL": _signed_path("sign", bucket_name, name, token)})


async def _sign_many(request: Req, bucket_name: str) -> Response[Any]:
    """`{"expiresIn", "paths"}` → one `{"path", "signedURL", "error"}` per path."""
    principal, storage = caller(request), storage_of(request)
    body, _ = await read_body(request, SignBody)
    if body.paths is None:
        raise invalid("paths is required")
    paths = check_count(body.paths, "paths")
    expires_at = expiry(body.expires_in())
    answers = await _in_thread(_sign_each, storage, principal, bucket_name, paths, expires_at)
    return json_response(answers)


def _sign_each(
    storage: Storage, principal: Principal, bucket_name: str, paths: list[str], expires_at: int
) -> list[dict[str, Any]]:
    storage.service.bucket(principal, bucket_name)
    answers: list[dict[str, Any]] = []
    for name in paths:
        try:
            storage.service.stat_object(principal, bucket_name, name)
        except (NotFoundError, ForbiddenError, BadObjectRequestError):
            answers.append({"error": NO_ACCESS, "path": name, "signedURL": None})
            continue
        grant = Grant("GET", bucket_name, name, expires_at, principal)
        url = _signed_path("sign", bucket_name, name, tokens.encode(storage.signer, grant))
        answers.append({"error": None, "path": name, "signedURL": url})
    return answers


async def _sign_upload(request: Req, bucket_name: str, name: str) -> Response[Any]:
    """A URL (and its token) to upload `name` once without credentials, for two hours:
    create-only, or replacing with `x-upsert: true`; checked now against the policies."""
    principal, storage = caller(request), storage_of(request)
    await _in_thread(storage.service.check_write, principal, bucket_name, name, None, {})
    method = "PUT" if _upsert(request) else "POST"
    grant = Grant(method, bucket_name, name, expiry(UPLOAD_URL_EXPIRES_S), principal)
    token = tokens.encode(storage.signer, grant)
    return json_response(
        {"url": _signed_path("upload/sign", bucket_name, name, token), "token": token}
    )


# -- listing, removal, move, copy ----------------------------------------------------------


async def _list(request: Req, bucket_name: str) -> Response[Any]:
    principal, service = caller(request), storage_of(request).service
    body, _ = await read_body(request, ListBody)
    work = lambda: list_folder(service, principal, bucket_name, body)  # noqa: E731
    return json_response(await backend_of(request).off_loop(principal, work))


async def _remove(request: Req, bucket_name: str) -> Response[Any]:
    """`{"prefixes": [names]}`: delete those the caller may delete; answers them. A
    malformed name refuses the whole request before anything is deleted."""
    principal, service = caller(request), storage_of(request).service
    body, _ = await read_body(request, RemoveBody)
    names = check_count(body.prefixes, "prefixes")
    for name in names:
        check_object_name(name)
    removed = await _in_thread(_remove_each, service, principal, bucket_name, names)
    return json_response(removed)


def _remove_each(
    service: ObjectService, principal: Principal, bucket_name: str, names: list[str]
) -> list[dict[str, Any]]:
    service.bucket(principal, bucket_name)
    removed = []
    for name in dict.fromkeys(names):
        try:
            _, found = service.check_delete(principal, bucket_name, name)
            service.delete_object(principal, bucket_name, name)
        except (NotFoundError, ForbiddenError):
            continue
        removed.append(shapes.object_row(found))
    return removed


async def _move_or_copy(request: Req, action: str) -> Response[Any]:
    principal, service = caller(request), storage_of(request).service
    body, _ = await read_body(request, MoveBody)
    target_bucket = body.destinationBucket or body.bucketId
    source = (body.bucketId, body.sourceKey)
    if action == "move":
        await _in_thread(
            service.move_object, principal, *source, target_bucket, body.destinationKey
        )
        return json_response({"message": "Successfully moved"})
    stored = await _in_thread(
        service.copy_object, principal, *source, target_bucket, body.destinationKey,
        _upsert(request),
    )  # fmt: skip
    return json_response(shapes.uploaded(stored))


@route("/render/{path:path}", http_method=["GET", "HEAD"])
async def render(path: FromPath[str]) -> Response[Any]:
    """Image transformation is not part of bkg-db."""
    raise not_supported("image transformation is not supported")


def storage_v1_router() -> Router:
    """The router mounted at `/storage/v1` (the one mounting point in `api.http.app`)."""
    return Router(
        path="/storage/v1",
        route_handlers=[
            buckets,
            bucket,
            empty_bucket,
            objects,
            render,
            resumable_create,
            resumable_upload,
        ],
        exception_handlers=HANDLERS,
        request_max_body_size=None,
        include_in_schema=False,
    )
