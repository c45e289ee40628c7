"""`/storage/v1/upload/resumable`: Supabase's TUS endpoint over `api.storage.tus`.

The clients (tus-js-client, as supabase-js uses it) send `Upload-Metadata` with
`bucketName`, `objectName`, optional `contentType`, `cacheControl` and `metadata` (a JSON
object), and `x-upsert: true` to replace an existing object. The upload itself is our TUS
module's: parked on disk, synced as it arrives, visible and continuable only by the
principal who started it, stored as one object (one log record) when its last byte comes.
"""

from __future__ import annotations

import asyncio
from typing import Any

from litestar import Request, Response, route
from litestar.params import FromPath

from api.http.routes.storage import TUS_HEADERS, TUS_VERSION, json_object, tus_metadata, tus_offsets
from api.http.transfer import body_chunks
from api.storage.errors import BadObjectRequestError
from api.storage.served import Storage
from api.storage_v1.context import caller, storage_of, upsert_of

Req = Request[Any, Any, Any]
PATH = "/upload/resumable"


@route(PATH, http_method=["OPTIONS", "POST"], status_code=201)
async def create(request: Req) -> Response[Any]:
    """OPTIONS: the capabilities; POST: start an upload, answering its `Location`."""
    storage = storage_of(request)
    if request.method == "OPTIONS":
        headers = {
            **TUS_HEADERS,
            "Tus-Version": TUS_VERSION,
            "Tus-Extension": "creation,termination",
            "Tus-Max-Size": str(storage.service.max_object_bytes),
        }
        return Response(b"", status_code=204, headers=headers)
    principal = caller(request)
    length = request.headers.get("upload-length", "")
    if not length.isdigit():
        raise BadObjectRequestError("Upload-Length must be a non-negative integer")
    fields = tus_metadata(request.headers.get("upload-metadata", ""))
    if "bucketName" not in fields or "objectName" not in fields:
        raise BadObjectRequestError("Upload-Metadata needs bucketName and objectName")
    bucket, name = fields["bucketName"], fields["objectName"]
    extra = json_object(fields["metadata"], "metadata") if "metadata" in fields else {}
    info = await asyncio.to_thread(
        storage.uploads.create, principal, bucket, name, int(length),
        fields.get("contentType"), extra, upsert_of(request),
    )  # fmt: skip
    location = f"/storage/v1{PATH}/{info.id}"
    return Response(b"", status_code=201, headers={**TUS_HEADERS, "Location": location})


@route(f"{PATH}/{{upload_id:str}}", http_method=["HEAD", "PATCH", "DELETE"], status_code=200)
async def upload(request: Req, upload_id: FromPath[str]) -> Response[Any]:
    """HEAD: the offset to go on from; PATCH: append at it (the last byte stores the
    object); DELETE: abandon the upload."""
    storage, principal = storage_of(request), caller(request)
    uploads = storage.uploads
    if request.method == "HEAD":
        info = await asyncio.to_thread(uploads.get, principal, upload_id)
        return Response(b"", status_code=200, headers=tus_offsets(info))
    if request.method == "DELETE":
        await asyncio.to_thread(uploads.delete, principal, upload_id)
        return Response(b"", status_code=204, headers=TUS_HEADERS)
    return await _append(request, storage, upload_id)


async def _append(request: Req, storage: Storage, upload_id: str) -> Response[Any]:
    if request.headers.get("content-type") != "application/offset+octet-stream":
        raise BadObjectRequestError("PATCH body must be application/offset+octet-stream")
    offset = request.headers.get("upload-offset", "")
    if not offset.isdigit():
        raise BadObjectRequestError("Upload-Offset must be a non-negative integer")
    principal = caller(request)
    chunks = body_chunks(request, asyncio.get_running_loop())
    info = await asyncio.to_thread(
        storage.uploads.append, principal, upload_id, int(offset), chunks
    )
    headers = tus_offsets(info)
    if info.offset == info.length:
        await asyncio.to_thread(storage.uploads.finish, info)
    return Response(b"", status_code=204, headers=headers)
