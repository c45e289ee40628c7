"""URLs signed by bkg-db: one method on one object until an expiry, no token needed.

`POST /storage/sign/{bucket}/{path}` checks that the caller may do the action now and
returns a URL `/storage/signed/{bucket}/{path}?method=&expires=&kind=&id=&ns=&sub=&key=&sig=`
whose HMAC-SHA256 (key `keys/storage_url.key`, 32 random bytes, mode 0600) covers the
method, bucket, object name, expiry and the signer; using it acts as the signer (kind, id,
namespace, JWT subject and the API key the signer's credential derives from; other claims
are not carried). An expired or altered URL is refused with `ForbiddenError`, a malformed
one with `BadObjectRequestError`; the route refuses a URL whose signing key is no longer
active (revoked, expired, rotated out) with `ForbiddenError` too.
With the S3 backend a GET is signed by S3 itself (minio presign) and served by S3 directly;
PUTs always come back to bkg-db, because the upload must be recorded in the log.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import cast
from urllib.parse import quote, urlencode

from api.auth.principal import Principal, PrincipalKind
from api.storage.errors import BadObjectRequestError, ForbiddenError

KEY_FILE = "storage_url.key"
METHODS = ("GET", "PUT")
MAX_EXPIRES_S = 7 * 24 * 3600
_REQUIRED = ("method", "expires", "kind", "id", "sig")
_KINDS = ("admin", "namespace", "user", "anon")


@dataclass(frozen=True)
class Grant:
    """What a valid signed URL allows: `method` on `bucket`/`name`, acting as `signer`."""

    method: str
    bucket: str
    name: str
    expires: int
    signer: Principal

    def fields(self) -> list[str]:
        """What the signature covers. The signer's API key is appended only when there is
        one, so URLs signed before keys were recorded in them still verify."""
        signer = self.signer
        head = [self.method, self.bucket, self.name, str(self.expires)]
        tail = [] if signer.key_id is None else [signer.key_id]
        return [*head, signer.kind, signer.id, signer.namespace or "", signer.sub or "", *tail]


def load_url_key(keys_dir: Path) -> bytes:
    """The URL signing key, created (owner-only) on first use."""
    path = keys_dir / KEY_FILE
    try:
        return path.read_bytes()
    except FileNotFoundError:
        pass
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return path.read_bytes()
    with os.fdopen(fd, "wb") as handle:
        handle.write(secrets.token_bytes(32))
        handle.flush()
        os.fsync(handle.fileno())
    return path.read_bytes()


class UrlSigner:
    """Signs and checks `/storage/signed/...` URLs with one secret key."""

    def __init__(self, key: bytes) -> None:
        self._key = key

    def sign(self, grant: Grant) -> str:
        """The path and query of a URL granting `grant`."""
        signer = grant.signer
        query = {
            "method": grant.method,
            "expires": str(grant.expires),
            "kind": signer.kind,
            "id": signer.id,
            "ns": signer.namespace or "",
            "sub": signer.sub or "",
            "key": signer.key_id or "",
            "sig": self._mac(grant),
        }
        return f"/storage/signed/{grant.bucket}/{quote(grant.name)}?{urlencode(query)}"

    def check(self, method: str, bucket: str, name: str, query: Mapping[str, str]) -> Grant:
        """The grant of a signed URL used with `method`, if it is intact and current."""
        if any(not query.get(f) for f in _REQUIRED) or query["kind"] not in _KINDS:
            raise BadObjectRequestError("signed URL lacks method, expires, kind, id or sig")
        try:
            expires = int(query["expires"])
        except ValueError as exc:
            raise BadObjectRequestError("signed URL has a malformed expiry") from exc
        signer = Principal(
            kind=cast(PrincipalKind, query["kind"]),
            id=query["id"],
            namespace=query.get("ns") or None,
            sub=query.get("sub") or None,
            key_id=query.get("key") or None,
        )
        grant = Grant(query["method"], bucket, name, expires, signer)
        if not hmac.compare_digest(self._mac(grant), query["sig"]):
            raise ForbiddenError("signed URL does not match its signature")
        if grant.method != method:
            raise ForbiddenError(f"signed URL is for {grant.method}, not {method}")
        if expires < time.time():
            raise ForbiddenError("signed URL has expired")
        return grant

    def _mac(self, grant: Grant) -> str:
        message = "\n".join(grant.fields())
        return hmac.new(self._key, message.encode(), hashlib.sha256).hexdigest()


def expiry(expires_in: int, now: float | None = None) -> int:
    """The absolute expiry of a URL valid `expires_in` seconds (1 s to 7 days)."""
    if not 1 <= expires_in <= MAX_EXPIRES_S:
        raise BadObjectRequestError(f"expires_in must be 1-{MAX_EXPIRES_S} seconds")
    return int((time.time() if now is None else now) + expires_in)
