"""`/bucket` routes: list, create, read, change, delete and empty buckets."""

from __future__ import annotations

from typing import Any

from litestar import Response, route
from litestar.params import FromPath

from api.http.deps import json_response, read_body
from api.storage_v1 import shapes
from api.storage_v1.bodies import (
    BucketBody,
)
from api.storage_v1.context import Req, caller, in_thread, storage_of


@route("/bucket", http_method=["GET", "POST"])
async def buckets(request: Req) -> Response[Any]:
    """List the buckets of the caller's namespace, or create one."""
    principal, service = caller(request), storage_of(request).service
    if request.method == "GET":
        found = await in_thread(service.list_buckets, principal)
        return json_response([shapes.bucket_json(b) for b in found])
    body, _ = await read_body(request, BucketBody)
    name = body.bucket_id()
    await in_thread(
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
            shapes.bucket_json(await in_thread(service.bucket, principal, bucket_id))
        )
    if request.method == "DELETE":
        await in_thread(service.delete_bucket, principal, bucket_id)
        return json_response({"message": "Successfully deleted"})
    body, _ = await read_body(request, BucketBody)
    body.bucket_id(bucket_id)
    await in_thread(
        service.update_bucket, principal, bucket_id, body.public, body.size_limit(),
        body.allowed_mime_types,
    )  # fmt: skip
    return json_response({"message": "Successfully updated"})


@route("/bucket/{bucket_id:str}/empty", http_method=["POST"], status_code=200)
async def empty_bucket(request: Req, bucket_id: FromPath[str]) -> Response[Any]:
    principal, service = caller(request), storage_of(request).service
    await in_thread(service.empty_bucket, principal, bucket_id)
    return json_response({"message": "Successfully emptied"})
