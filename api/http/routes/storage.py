"""`/storage/...`: buckets, objects (streamed both ways, with Range), signed URLs and TUS.

The handlers only shape HTTP: `api.storage.service` decides what a principal may do and
records every change in the log. Request bodies stream from the connection into the blob
store on a worker thread and responses stream out of it (`api.http.transfer`), so no
object is held in memory; Litestar's body limit is lifted here because the storage service
enforces its own (per bucket and `BKG_STORAGE_MAX_BYTES`). Storage errors become the DESIGN
error codes in `api.http.errors`, beside every other error.
"""

from __future__ import annotations

import asyncio
import base64
import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from litestar import Request, Response, Router, delete, get, head, patch, post, put, route
from litestar.di import NamedDependency, Provide
from litestar.params import FromPath, FromQuery, JSONBody

from api.auth.principal import Principal
from api.http.deps import (
    AUTHED_ERRORS,
    GUARDS,
    SECURITY,
    Caller,
    backend_of,
    bearer_of,
    json_response,
)
from api.http.models import BucketRequest, CopyRequest, SignRequest
from api.http.object_headers import object_headers
from api.http.transfer import Download, body_chunks, can_send_files, request_body
from api.storage import errors
from api.storage.meta import Bucket
from api.storage.presign import Grant, expiry
from api.storage.served import Storage
from api.storage.tus import UploadInfo

T = TypeVar("T")
TUS_VERSION = "1.0.0"
TUS_HEADERS = {"Tus-Resumable": TUS_VERSION}


StorageDep = NamedDependency[Storage]


async def _provide_storage(request: Request[Any, Any, Any]) -> Storage:
    storage: Storage | None = request.app.state.backend.storage
    if storage is None:
        raise errors.StorageError("this server holds no object storage")
    return storage


async def _in_thread(call: Callable[..., T], *args: Any) -> T:
    return await asyncio.to_thread(call, *args)


def _name(path: str) -> str:
    """The object name of a `{path:path}` parameter (Litestar keeps its leading slash)."""
    return path[1:] if path.startswith("/") else path


def declared_length(request: Request[Any, Any, Any]) -> int | None:
    value = request.headers.get("content-length")
    if value is None:
        return None
    if not value.isdigit():
        raise errors.BadObjectRequestError("Content-Length must be a non-negative integer")
    return int(value)


def _metadata(request: Request[Any, Any, Any]) -> dict[str, Any]:
    raw = request.headers.get("x-bkg-metadata")
    return {} if raw is None else json_object(raw, "x-bkg-metadata")


def json_object(raw: str, what: str) -> dict[str, Any]:
    """Object metadata sent as JSON text: anything but an object is a 400."""
    try:
        value = json.loads(raw)
    except (ValueError, RecursionError) as exc:
        raise errors.BadObjectRequestError(f"{what} must be a JSON object") from exc
    if not isinstance(value, dict):
        raise errors.BadObjectRequestError(f"{what} must be a JSON object")
    return value


def _bucket_json(bucket: Bucket) -> dict[str, Any]:
    return {
        "name": bucket.name,
        "namespace": bucket.namespace,
        "public": bucket.public,
        "size_limit": bucket.size_limit,
        "owner": bucket.owner,
        "created_lsn": bucket.created_lsn,
    }


# -- buckets -----------------------------------------------------------------------------


@post("/buckets", status_code=201, summary="Create a bucket", responses=AUTHED_ERRORS,
      security=SECURITY, guards=GUARDS)  # fmt: skip
async def create_bucket(
    data: JSONBody[BucketRequest], principal: Caller, storage: StorageDep
) -> Response[Any]:
    """`{"name", "public"?, "size_limit"?}`: a bucket in the caller's namespace."""
    bucket = await _in_thread(
        storage.service.create_bucket, principal, data.name, data.public, data.size_limit
    )
    return json_response(_bucket_json(bucket), 201)


@get("/buckets", summary="List buckets", responses=AUTHED_ERRORS, security=SECURITY, guards=GUARDS)
async def list_buckets(principal: Caller, storage: StorageDep) -> Response[Any]:
    """The buckets of the caller's namespace (admins: all)."""
    found = await _in_thread(storage.service.list_buckets, principal)
    return json_response({"buckets": [_bucket_json(b) for b in found]})


# -- objects -----------------------------------------------------------------------------


@put("/objects/{bucket:str}/{path:path}", status_code=200, summary="Upload an object",
     responses=AUTHED_ERRORS, security=SECURITY, guards=GUARDS)  # fmt: skip
async def put_object(
    request: Request[Any, Any, Any],
    bucket: FromPath[str],
    path: FromPath[str],
    principal: Caller,
    storage: StorageDep,
) -> Response[Any]:
    """Create or replace an object from the streamed body (Content-Type is kept, JSON
    metadata from `x-bkg-metadata`); answers the object's metadata and commit LSN."""
    return await _upload(request, storage, principal, bucket, _name(path))


async def _upload(
    request: Request[Any, Any, Any],
    storage: StorageDep,
    principal: Principal,
    bucket: str,
    name: str,
) -> Response[Any]:
    size, metadata = declared_length(request), _metadata(request)
    content_type = request.headers.get("content-type")
    chunks = await request_body(request, size)
    stored = await _in_thread(
        storage.service.put_object, principal, bucket, name, chunks, size, content_type, metadata
    )
    return json_response(stored.to_json())


@get("/objects/{bucket:str}/{path:path}", summary="Download an object (Range supported)",
     responses=AUTHED_ERRORS, security=SECURITY)  # fmt: skip
async def get_object(
    request: Request[Any, Any, Any], bucket: FromPath[str], path: FromPath[str], storage: StorageDep
) -> Response[Any]:
    """The object's bytes; a token is needed unless the bucket is public."""
    principal = _optional_principal(request)
    opened = await _in_thread(
        open_download, storage, principal, bucket, _name(path), reading_of(request)
    )
    return opened.response()


def _optional_principal(request: Request[Any, Any, Any]) -> Principal | None:
    token = bearer_of(request)
    return None if token is None else request.app.state.backend.principal(token)


@dataclass(frozen=True)
class Reading:
    """What a download request asks for: its `Range` and `If-None-Match` headers, and
    whether the server can send a file by path."""

    ranged: str | None
    if_none_match: str | None
    by_path: bool


def reading_of(request: Request[Any, Any, Any]) -> Reading:
    headers = request.headers
    return Reading(headers.get("range"), headers.get("if-none-match"), can_send_files(request))


def _matches(if_none_match: str | None, etag: str) -> bool:
    """Whether a client's `If-None-Match` names this entity tag (or is `*`)."""
    if if_none_match is None:
        return False
    tags = {tag.strip().removeprefix("W/") for tag in if_none_match.split(",")}
    return "*" in tags or etag in tags


def open_download(
    storage: Storage, principal: Principal | None, bucket: str, name: str, reading: Reading
) -> Download:
    """Check access and open the object (or the `Range` of it), all on one worker thread:
    with S3 the opening is a request of its own. A client that already holds this version
    (`If-None-Match` naming its ETag, the SHA-256) gets 304 and no bytes."""
    found = storage.service.stat_object(principal, bucket, name)
    headers = {"ETag": f'"{found.sha256}"', "Accept-Ranges": "bytes"}
    headers.update(object_headers(found.content_type, name))
    if _matches(reading.if_none_match, headers["ETag"]):
        return Download(304, headers, found.content_type)
    span = parse_range(reading.ranged, found.size)
    if span is None:
        headers["Content-Length"] = str(found.size)
        local = storage.service.local_file(found) if reading.by_path else None
        if local is not None:
            return Download(200, headers, found.content_type, path=local)
        return Download.open(200, headers, found.content_type, storage.service.read(found))
    start, length = span[0], span[1] - span[0] + 1
    headers["Content-Range"] = f"bytes {span[0]}-{span[1]}/{found.size}"
    headers["Content-Length"] = str(length)
    chunks = storage.service.read(found, start, length)
    return Download.open(206, headers, found.content_type, chunks)


def parse_range(header: str | None, size: int) -> tuple[int, int] | None:
    """The first and last byte of a single `bytes=` range, None for no (or a multi-part)
    range; `RangeNotSatisfiableError` when it lies outside the object."""
    if not header or not header.startswith("bytes=") or "," in header:
        return None
    first, _, last = header[6:].strip().partition("-")
    try:
        if not first:
            start, end = max(size - int(last), 0), size - 1
        else:
            start, end = int(first), min(int(last), size - 1) if last else size - 1
    except ValueError as exc:
        raise errors.BadObjectRequestError(f"malformed Range {header[:60]!r}") from exc
    if start < 0 or start >= size or end < start:
        raise errors.RangeNotSatisfiableError(f"range {header[6:60]} is outside the object", size)
    return start, end


@delete("/objects/{bucket:str}/{path:path}", status_code=200, summary="Delete an object",
        responses=AUTHED_ERRORS, security=SECURITY, guards=GUARDS)  # fmt: skip
async def delete_object(
    bucket: FromPath[str], path: FromPath[str], principal: Caller, storage: StorageDep
) -> Response[Any]:
    """Delete an object; answers the LSN of the deletion."""
    lsn = await _in_thread(storage.service.delete_object, principal, bucket, _name(path))
    return json_response({"deleted": True, "lsn": lsn})


@get("/objects/{bucket:str}", summary="List objects by prefix", responses=AUTHED_ERRORS,
     security=SECURITY, guards=GUARDS)  # fmt: skip
async def list_objects(
    bucket: FromPath[str],
    principal: Caller,
    storage: StorageDep,
    prefix: FromQuery[str] = "",
    cursor: FromQuery[str] = "",
    limit: FromQuery[int] = 1000,
) -> Response[Any]:
    """One page of objects whose names start with `prefix`, after `cursor`; `next_cursor`
    is null on the last page."""
    page, following = await _in_thread(
        storage.service.list_objects, principal, bucket, prefix, cursor, limit
    )
    return json_response({"objects": [o.to_json() for o in page], "next_cursor": following})


@post("/copy", status_code=200, summary="Copy an object", responses=AUTHED_ERRORS,
      security=SECURITY, guards=GUARDS)  # fmt: skip
async def copy_object(
    data: JSONBody[CopyRequest], principal: Caller, storage: StorageDep
) -> Response[Any]:
    """`{"from": {"bucket", "name"}, "to": {"bucket", "name"}}`."""
    source, target = data.source, data.target
    stored = await _in_thread(
        storage.service.copy_object, principal, source.bucket, source.name, target.bucket,
        target.name,
    )  # fmt: skip
    return json_response(stored.to_json())


# -- signed URLs -------------------------------------------------------------------------


@post("/sign/{bucket:str}/{path:path}", status_code=200, summary="Sign a URL for GET or PUT",
      responses=AUTHED_ERRORS, security=SECURITY, guards=GUARDS)  # fmt: skip
async def sign_url(
    bucket: FromPath[str],
    path: FromPath[str],
    data: JSONBody[SignRequest],
    principal: Caller,
    storage: StorageDep,
) -> Response[Any]:
    """`{"expires_in": seconds, "method": "GET"|"PUT"}` -> `{"url", "expires_at"}`, checked
    now against what the caller may do."""
    name, method, expires_in = _name(path), data.method, data.expires_in
    if method not in ("GET", "PUT"):
        raise errors.BadObjectRequestError("method must be GET or PUT")
    expires_at = expiry(expires_in)
    service = storage.service
    if method == "GET":
        found = await _in_thread(service.stat_object, principal, bucket, name)
        direct = await _in_thread(service.blobs.direct_url, found.blob, expires_in)
        if direct is not None:
            return json_response({"url": direct, "expires_at": expires_at})
    else:
        await _in_thread(service.check_write, principal, bucket, name, None, {})
    url = storage.signer.sign(Grant(method, bucket, name, expires_at, principal))
    return json_response({"url": url, "expires_at": expires_at})


@route("/signed/{bucket:str}/{path:path}", http_method=["GET", "PUT"],
       summary="Use a signed URL (no token)")  # fmt: skip
async def use_signed_url(
    request: Request[Any, Any, Any], bucket: FromPath[str], path: FromPath[str], storage: StorageDep
) -> Response[Any]:
    """Download or upload as the signer, while the URL's signature holds, it has not
    expired and the API key the signer's credential derives from is still active."""
    query = {k: str(v) for k, v in request.query_params.items()}
    grant = check_signed(request, storage, request.method, bucket, _name(path), query)
    if request.method == "PUT":
        return await _upload(request, storage, grant.signer, bucket, grant.name)
    opened = await _in_thread(
        open_download, storage, grant.signer, bucket, grant.name, reading_of(request)
    )
    return opened.response()


def check_signed(
    request: Request[Any, Any, Any],
    storage: Storage,
    method: str,
    bucket: str,
    name: str,
    fields: dict[str, str],
) -> Grant:
    """The grant of signed `fields` used with `method` on `bucket`/`name`, if intact, not
    expired, and the API key the signer's credential derives from is still active."""
    grant = storage.signer.check(method, bucket, name, fields)
    key_id = grant.signer.key_id
    if key_id is not None and not backend_of(request).bearers.keys.is_active(key_id, time.time()):
        raise errors.ForbiddenError("the API key this URL was signed with is no longer active")
    return grant


# -- TUS resumable uploads ---------------------------------------------------------------


@route("/uploads", http_method=["OPTIONS"], summary="TUS capabilities", include_in_schema=False)
async def tus_options(storage: StorageDep) -> Response[Any]:
    headers = {
        **TUS_HEADERS,
        "Tus-Version": TUS_VERSION,
        "Tus-Extension": "creation,termination",
        "Tus-Max-Size": str(storage.service.max_object_bytes),
    }
    return Response(b"", status_code=204, headers=headers)


@post("/uploads", status_code=201, summary="Start a resumable (TUS) upload",
      responses=AUTHED_ERRORS, security=SECURITY, guards=GUARDS)  # fmt: skip
async def tus_create(
    request: Request[Any, Any, Any], principal: Caller, storage: StorageDep
) -> Response[Any]:
    """`Upload-Length` and `Upload-Metadata` (`bucket`, `name`, optional `contentType` and
    `metadata` as JSON), base64 values as TUS has them; answers `Location`."""
    length = request.headers.get("upload-length", "")
    if not length.isdigit():
        raise errors.BadObjectRequestError("Upload-Length must be a non-negative integer")
    fields = tus_metadata(request.headers.get("upload-metadata", ""))
    if "bucket" not in fields or "name" not in fields:
        raise errors.BadObjectRequestError("Upload-Metadata needs bucket and name")
    extra = (
        json_object(fields["metadata"], "Upload-Metadata metadata") if "metadata" in fields else {}
    )
    info = await _in_thread(
        storage.uploads.create, principal, fields["bucket"], fields["name"], int(length),
        fields.get("contentType"), extra,
    )  # fmt: skip
    location = f"/storage/uploads/{info.id}"
    return Response(b"", status_code=201, headers={**TUS_HEADERS, "Location": location})


def tus_metadata(header: str) -> dict[str, str]:
    fields: dict[str, str] = {}
    for pair in filter(None, (p.strip() for p in header.split(","))):
        key, _, value = pair.partition(" ")
        try:
            fields[key] = base64.b64decode(value, validate=True).decode()
        except (ValueError, UnicodeDecodeError) as exc:
            raise errors.BadObjectRequestError(f"Upload-Metadata {key}: not base64") from exc
    return fields


@head("/uploads/{upload_id:str}", summary="Offset of a resumable upload", guards=GUARDS,
      security=SECURITY)  # fmt: skip
async def tus_head(
    upload_id: FromPath[str], principal: Caller, storage: StorageDep
) -> Response[None]:
    info = await _in_thread(storage.uploads.get, principal, upload_id)
    return Response(None, status_code=200, headers=tus_offsets(info))


def tus_offsets(info: UploadInfo) -> dict[str, str]:
    return {
        **TUS_HEADERS,
        "Upload-Offset": str(info.offset),
        "Upload-Length": str(info.length),
        "Cache-Control": "no-store",
    }


@patch("/uploads/{upload_id:str}", status_code=200, summary="Continue a resumable upload",
       responses=AUTHED_ERRORS, security=SECURITY, guards=GUARDS)  # fmt: skip
async def tus_patch(
    request: Request[Any, Any, Any],
    upload_id: FromPath[str],
    principal: Caller,
    storage: StorageDep,
) -> Response[Any]:
    """Append the body at `Upload-Offset`; the last byte stores the object."""
    if request.headers.get("content-type") != "application/offset+octet-stream":
        raise errors.BadObjectRequestError("PATCH body must be application/offset+octet-stream")
    offset = request.headers.get("upload-offset", "")
    if not offset.isdigit():
        raise errors.BadObjectRequestError("Upload-Offset must be a non-negative integer")
    chunks = body_chunks(request, asyncio.get_running_loop())
    info = await _in_thread(storage.uploads.append, principal, upload_id, int(offset), chunks)
    headers = tus_offsets(info)
    if info.offset == info.length:
        stored = await _in_thread(storage.uploads.finish, info)
        headers["X-Bkg-Lsn"] = str(stored.lsn)
    return Response(b"", status_code=204, headers=headers)


@delete("/uploads/{upload_id:str}", status_code=204, summary="Abandon a resumable upload",
        responses=AUTHED_ERRORS, security=SECURITY, guards=GUARDS)  # fmt: skip
async def tus_delete(upload_id: FromPath[str], principal: Caller, storage: StorageDep) -> None:
    await _in_thread(storage.uploads.delete, principal, upload_id)


def storage_router() -> Router:
    """The `/storage` routes, for one application."""
    return Router(
        path="/storage",
        route_handlers=[
            create_bucket, list_buckets, put_object, get_object, delete_object, list_objects,
            copy_object, sign_url, use_signed_url, tus_options, tus_create, tus_head,
            tus_patch, tus_delete,
        ],
        dependencies={"storage": Provide(_provide_storage)},
        request_max_body_size=None,
        tags=["storage"],
    )  # fmt: skip
