"""API keys: minting, hashing and the log payloads that record them.

A key looks like ``bkg_<scope>_<secret>``; only a salted SHA-256 of it is ever stored (in the
log, and in projections folded from it). A fast hash is the right tool here: the secret part
carries ~238 bits from ``secrets``, so guessing is infeasible whatever the hash speed, and a
slow password KDF would only add latency to every request. The per-key salt keeps identical
digests from ever appearing twice. No server-side pepper is mixed in on purpose: a restored
data directory gets fresh secrets, and keys must keep working from the hashes in the log alone.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
import string
from dataclasses import asdict, dataclass
from typing import Any

from api.auth.errors import KeySpecError, UnauthorizedError
from api.sql.limits import MAX_IDENTIFIER_BYTES
from api.sql.names import namespace_problem

SCOPES = ("admin", "namespace", "anon")
KEY_PREFIX = "bkg_"
SECRET_ALPHABET = string.ascii_letters + string.digits
SECRET_LENGTH = 40
VISIBLE_SECRET_CHARS = 8
HASH_SCHEME = "sha256"
_KEY_RE = re.compile(r"^bkg_(admin|namespace|anon)_([A-Za-z0-9]{40})$")


@dataclass(frozen=True)
class ApiKeyRecord:
    """What is remembered of an API key: never the key itself, only its salted hash."""

    id: str
    prefix: str
    hash: str
    scope: str
    namespace: str | None
    name: str | None
    created_at: float
    expires_at: float | None

    def to_event_payload(self) -> dict[str, Any]:
        """Payload of the ``Entry(kind="auth")`` that announces this key."""
        return {"type": "key.created", **asdict(self)}

    @classmethod
    def from_event_payload(cls, payload: dict[str, Any]) -> ApiKeyRecord:
        """Inverse of :meth:`to_event_payload` (extra fields such as ``type`` are ignored)."""
        return cls(
            id=str(payload["id"]),
            prefix=str(payload["prefix"]),
            hash=str(payload["hash"]),
            scope=str(payload["scope"]),
            namespace=payload.get("namespace"),
            name=payload.get("name"),
            created_at=float(payload["created_at"]),
            expires_at=None if payload.get("expires_at") is None else float(payload["expires_at"]),
        )

    def is_expired(self, now_s: float) -> bool:
        """True once the key's lifetime is over."""
        return self.expires_at is not None and now_s >= self.expires_at

    def matches(self, plaintext: str) -> bool:
        """Constant-time check that ``plaintext`` is the key this record was made from."""
        scheme, _, rest = self.hash.partition("$")
        salt_hex, _, digest_hex = rest.partition("$")
        if scheme != HASH_SCHEME or not salt_hex or not digest_hex:
            return False
        candidate = _digest(bytes.fromhex(salt_hex), plaintext)
        return hmac.compare_digest(candidate, bytes.fromhex(digest_hex))


def validate_key_spec(scope: str, namespace: str | None, ttl_seconds: int | None) -> None:
    """Raise :class:`KeySpecError` unless scope, namespace and ttl fit together."""
    if scope not in SCOPES:
        raise KeySpecError(f"scope must be one of {', '.join(SCOPES)}, not {scope!r}")
    if scope in ("namespace", "anon"):
        problem = "no namespace given" if namespace is None else namespace_problem(namespace)
        if problem is not None:
            raise KeySpecError(f"a {scope} key needs a valid namespace name: {problem}")
    if scope == "admin" and namespace is not None:
        raise KeySpecError("an admin key has no namespace")
    if ttl_seconds is not None and ttl_seconds <= 0:
        raise KeySpecError("ttl_seconds must be positive")


def new_api_key(
    scope: str,
    namespace: str | None,
    name: str | None,
    ttl_seconds: int | None,
    now_s: float,
) -> tuple[str, ApiKeyRecord]:
    """Mint a key: return the plaintext (shown once) and the record that may be stored."""
    validate_key_spec(scope, namespace, ttl_seconds)
    # Key names are recorded in the log like every other name: an identifier's bound.
    if name is not None and len(name.encode("utf-8", "surrogatepass")) > MAX_IDENTIFIER_BYTES:
        raise KeySpecError(f"a key name is at most {MAX_IDENTIFIER_BYTES} bytes")
    secret = "".join(secrets.choice(SECRET_ALPHABET) for _ in range(SECRET_LENGTH))
    plaintext = f"{KEY_PREFIX}{scope}_{secret}"
    salt = secrets.token_bytes(16)
    record = ApiKeyRecord(
        id=secrets.token_hex(8),
        prefix=key_prefix(plaintext),
        hash=f"{HASH_SCHEME}${salt.hex()}${_digest(salt, plaintext).hex()}",
        scope=scope,
        namespace=namespace,
        name=name,
        created_at=now_s,
        expires_at=None if ttl_seconds is None else now_s + ttl_seconds,
    )
    return plaintext, record


def looks_like_api_key(bearer: str) -> bool:
    """Cheap syntactic test used to route a bearer string to key or JWT verification."""
    return bearer.startswith(KEY_PREFIX)


def key_prefix(plaintext: str) -> str:
    """The visible, indexable part of a key: scope plus the first characters of the secret.

    Raises :class:`UnauthorizedError` for anything that is not a well-formed key.
    """
    match = _KEY_RE.match(plaintext)
    if match is None:
        raise UnauthorizedError("malformed API key")
    return f"{KEY_PREFIX}{match.group(1)}_{match.group(2)[:VISIBLE_SECRET_CHARS]}"


def _digest(salt: bytes, plaintext: str) -> bytes:
    return hashlib.sha256(salt + plaintext.encode("utf-8")).digest()
