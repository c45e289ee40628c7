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

from functools import partial
from typing import Any

from litestar import Response, Router, route
from litestar.params import FromPath

from api.auth.principal import Principal
from api.http.deps import backend_of, json_response, read_body
from api.storage.errors import ForbiddenError, NotFoundError
from api.storage.names import check_object_name
from api.storage.service import ObjectService
from api.storage_v1 import shapes
from api.storage_v1.bodies import (
    ListBody,
    MoveBody,
    RemoveBody,
    check_count,
)
from api.storage_v1.buckets import bucket, buckets, empty_bucket
from api.storage_v1.context import Req, caller, exact_path, in_thread, split, storage_of, upsert_of
from api.storage_v1.errors import HANDLERS, not_supported
from api.storage_v1.listing import list_folder
from api.storage_v1.resumable import create as resumable_create
from api.storage_v1.resumable import upload as resumable_upload
from api.storage_v1.signing import sign, sign_many, sign_upload
from api.storage_v1.transfers import download, download_signed, info, upload, upload_signed


@route("/object/{path:path}", http_method=["GET", "HEAD", "POST", "PUT", "DELETE"],
       status_code=200)  # fmt: skip
async def objects(request: Req, path: FromPath[str]) -> Response[Any]:
    """Every `/object/...` route, told apart by method and first segment."""
    first, rest = split(exact_path(request, path))
    method = request.method
    if method in ("GET", "HEAD"):
        return await _get(request, first, rest)
    if method == "POST" and first in ("list", "move", "copy", "sign", "upload"):
        return await _post(request, first, rest)
    if method == "PUT" and first == "upload":
        return await upload_signed(request, rest)
    if method == "DELETE" and not rest:
        return await _remove(request, first)
    bucket_name, name = first, rest
    principal = caller(request)
    if method == "DELETE":
        await in_thread(storage_of(request).service.delete_object, principal, bucket_name, name)
        return json_response({"message": "Successfully deleted"})
    replace = method == "PUT" or upsert_of(request)
    stored = await upload(request, principal, bucket_name, name, replace)
    return json_response(shapes.uploaded(stored))


async def _get(request: Req, first: str, rest: str) -> Response[Any]:
    if first == "public":
        return await download(request, None, *split(rest))
    if first == "sign":
        return await download_signed(request, *split(rest))
    if first == "info":
        return await info(request, rest)
    if first == "authenticated":
        return await download(request, caller(request), *split(rest))
    return await download(request, caller(request), first, rest)


async def _post(request: Req, first: str, rest: str) -> Response[Any]:
    if first == "list":
        return await _list(request, rest)
    if first in ("move", "copy") and not rest:
        return await _move_or_copy(request, first)
    if first == "sign":
        bucket_name, name = split(rest)
        return await (sign(request, bucket_name, name) if name else sign_many(request, rest))
    if first == "upload" and rest.startswith("sign/"):
        return await sign_upload(request, *split(rest[len("sign/") :]))
    principal = caller(request)  # a bucket named like a route word: an upload into it
    stored = await upload(request, principal, first, rest, upsert_of(request))
    return json_response(shapes.uploaded(stored))


async def _list(request: Req, bucket_name: str) -> Response[Any]:
    principal, service = caller(request), storage_of(request).service
    body, _ = await read_body(request, ListBody)
    work = partial(list_folder, service, principal, bucket_name, body)
    return json_response(await backend_of(request).off_loop(principal, work))


async def _remove(request: Req, bucket_name: str) -> Response[Any]:
    """`{"prefixes": [names]}`: delete those the caller may delete; answers them. A
    malformed name refuses the whole request before anything is deleted."""
    principal, service = caller(request), storage_of(request).service
    body, _ = await read_body(request, RemoveBody)
    names = check_count(body.prefixes, "prefixes")
    for name in names:
        check_object_name(name)
    removed = await in_thread(_remove_each, service, principal, bucket_name, names)
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
        await in_thread(service.move_object, principal, *source, target_bucket, body.destinationKey)
        return json_response({"message": "Successfully moved"})
    stored = await in_thread(
        service.copy_object, principal, *source, target_bucket, body.destinationKey,
        upsert_of(request),
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
