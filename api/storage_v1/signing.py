"""Signed URLs: one or many downloads, and uploads, as tokens over `api.storage.presign`."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from litestar import Response

from api.auth.principal import Principal
from api.http.deps import json_response, read_body
from api.storage.errors import BadObjectRequestError, ForbiddenError, NotFoundError
from api.storage.presign import Grant, expiry
from api.storage.served import Storage
from api.storage_v1 import tokens
from api.storage_v1.bodies import (
    SignBody,
    check_count,
)
from api.storage_v1.context import Req, caller, in_thread, storage_of, upsert_of
from api.storage_v1.errors import invalid, not_supported

UPLOAD_URL_EXPIRES_S = 2 * 3600
"""How long a signed upload URL lasts (Supabase's two hours)."""
NO_ACCESS = "Either the object does not exist or you do not have access to it"


def _signed_path(route_: str, bucket_name: str, name: str, token: str) -> str:
    return f"/object/{route_}/{bucket_name}/{quote(name)}?token={token}"


async def sign(request: Req, bucket_name: str, name: str) -> Response[Any]:
    """`{"expiresIn"}` → `{"signedURL"}` for an object the caller may read now."""
    principal, storage = caller(request), storage_of(request)
    body, _ = await read_body(request, SignBody)
    if body.transform:
        raise not_supported("image transformation is not supported")
    expires_at = expiry(body.expires_in())
    await in_thread(storage.service.stat_object, principal, bucket_name, name)
    token = tokens.encode(storage.signer, Grant("GET", bucket_name, name, expires_at, principal))
    return json_response({"signedURL": _signed_path("sign", bucket_name, name, token)})


async def sign_many(request: Req, bucket_name: str) -> Response[Any]:
    """`{"expiresIn", "paths"}` → one `{"path", "signedURL", "error"}` per path."""
    principal, storage = caller(request), storage_of(request)
    body, _ = await read_body(request, SignBody)
    if body.paths is None:
        raise invalid("paths is required")
    paths = check_count(body.paths, "paths")
    expires_at = expiry(body.expires_in())
    answers = await in_thread(_sign_each, storage, principal, bucket_name, paths, expires_at)
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


async def sign_upload(request: Req, bucket_name: str, name: str) -> Response[Any]:
    """A URL (and its token) to upload `name` once without credentials, for two hours:
    create-only, or replacing with `x-upsert: true`; checked now against the policies."""
    principal, storage = caller(request), storage_of(request)
    await in_thread(storage.service.check_write, principal, bucket_name, name, None, {})
    method = "PUT" if upsert_of(request) else "POST"
    grant = Grant(method, bucket_name, name, expiry(UPLOAD_URL_EXPIRES_S), principal)
    token = tokens.encode(storage.signer, grant)
    return json_response(
        {"url": _signed_path("upload/sign", bucket_name, name, token), "token": token}
    )
