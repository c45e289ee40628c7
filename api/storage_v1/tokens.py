"""Signed grants (`api.storage.presign`) as one opaque `token` query parameter.

Supabase's signed URLs carry a `token`; bkg-db's carry the grant's fields and their
HMAC-SHA256 (method, bucket, object name, expiry, signer and the API key the signer's
credential derives from). A token is those fields as base64url JSON, so it is checked by the
same `UrlSigner.check` as `/storage/signed/...` URLs: bound to one method on one object of
one bucket (bucket names are unique across namespaces), until its expiry, and only while the
signing key is active. Methods: `GET` (download), `PUT` (upload, replacing an existing
object) and `POST` (upload of a new object only, as Supabase's signed upload URLs without
`x-upsert`).
"""

from __future__ import annotations

import base64
import binascii
from urllib.parse import parse_qsl, urlsplit

import msgspec

from api.storage.presign import Grant, UrlSigner
from api.storage_v1.errors import StorageV1Error

MAX_TOKEN_CHARS = 4096
UPLOAD_METHODS = ("POST", "PUT")


def encode(signer: UrlSigner, grant: Grant) -> str:
    """The token granting `grant`."""
    fields = dict(parse_qsl(urlsplit(signer.sign(grant)).query, keep_blank_values=True))
    return base64.urlsafe_b64encode(msgspec.json.encode(fields)).decode().rstrip("=")


def decode(token: str | None) -> dict[str, str]:
    """The signed fields a token carries (not yet checked: see `UrlSigner.check`)."""
    if not token or len(token) > MAX_TOKEN_CHARS:
        raise _bad_token()
    try:
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
        fields = msgspec.json.decode(raw, type=dict[str, str])
    except (binascii.Error, ValueError, msgspec.DecodeError) as exc:
        raise _bad_token() from exc
    return fields


def _bad_token() -> StorageV1Error:
    return StorageV1Error(400, "InvalidSignature", "InvalidSignature", "malformed token")
