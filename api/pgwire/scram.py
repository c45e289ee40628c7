"""SCRAM-SHA-256 (RFC 5802, RFC 7677) as PostgreSQL speaks it, server side and sans-IO.

The server checks a client's proof against a stored verifier (salt, iterations, StoredKey,
ServerKey; `api.auth.apikeys.scram_verifier`) and proves in turn that it knows the
verifier: the key itself never crosses the wire. Channel binding (`SCRAM-SHA-256-PLUS`) is
not offered, so a client that asks for it (`p=`) is refused and one that could use it
(`y`) is accepted, as RFC 5802 allows when the server offered none.

An exchange for a name that designates no key runs with a made-up salt and fails at the
proof, like PostgreSQL's mock authentication, so that the answer does not tell which keys
exist.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import secrets
from dataclasses import dataclass

from api.auth.apikeys import SCRAM_ITERATIONS, SCRAM_SCHEME
from api.pgwire.errors import PgError

MECHANISM = "SCRAM-SHA-256"
NONCE_BYTES = 18
MAX_MESSAGE_BYTES = 1024
"""A SCRAM message of a well-behaved client is about 100 bytes."""


@dataclass(frozen=True)
class Verifier:
    """A parsed verifier: what the server keeps instead of the secret."""

    iterations: int
    salt: bytes
    stored_key: bytes
    server_key: bytes

    @classmethod
    def parse(cls, text: str) -> Verifier:
        """`SCRAM-SHA-256$<iterations>:<salt>$<StoredKey>:<ServerKey>` (base64 parts)."""
        scheme, _, rest = text.partition("$")
        params, _, keys = rest.partition("$")
        iterations, _, salt = params.partition(":")
        stored, _, server = keys.partition(":")
        if scheme != SCRAM_SCHEME:
            raise ValueError("not a SCRAM-SHA-256 verifier")
        b64 = base64.b64decode
        return cls(int(iterations), b64(salt), b64(stored), b64(server))

    @classmethod
    def mock(cls, seed: bytes, name: str) -> Verifier:
        """A verifier no proof satisfies, with a salt stable per name (so repeated
        attempts for one name look alike, as they would for a real key)."""
        salt = hmac.digest(seed, name.encode(), "sha256")[:16]
        return cls(SCRAM_ITERATIONS, salt, secrets.token_bytes(32), secrets.token_bytes(32))


def _malformed(why: str) -> PgError:
    return PgError("08P01", f"malformed SCRAM message: {why}", fatal=True)


def _attributes(text: str) -> list[tuple[str, str]]:
    """`a=value` pairs separated by commas (a value may contain `=`)."""
    pairs = []
    for part in text.split(","):
        name, eq, value = part.partition("=")
        if len(name) != 1 or not eq:
            raise _malformed(f"bad attribute {part[:20]!r}")
        pairs.append((name, value))
    return pairs


def _decode(data: bytes) -> str:
    if len(data) > MAX_MESSAGE_BYTES:
        raise _malformed("message too long")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise _malformed("not UTF-8") from exc


def _b64(value: str, what: str) -> bytes:
    try:
        return base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise _malformed(f"{what} is not base64") from exc


class Exchange:
    """One SCRAM exchange: `first` answers the client-first message, `final` the
    client-final one (raising 28P01 for a wrong proof), each returning the server's."""

    def __init__(self, verifier: Verifier, server_nonce: str | None = None) -> None:
        """`server_nonce` is random unless given (RFC 7677's test vector gives one)."""
        self.verifier = verifier
        self._server_nonce = (
            server_nonce or base64.b64encode(secrets.token_bytes(NONCE_BYTES)).decode()
        )
        self._gs2 = ""
        self._client_first_bare = ""
        self._server_first = ""
        self._nonce = ""

    def first(self, data: bytes) -> bytes:
        text = _decode(data)
        flag, sep, rest = text.partition(",")
        authzid, sep2, bare = rest.partition(",")
        if not sep or not sep2:
            raise _malformed("no GS2 header")
        if flag.startswith("p="):
            raise _malformed("channel binding was not offered by the server")
        if flag not in ("n", "y"):
            raise _malformed(f"bad channel binding flag {flag[:10]!r}")
        if authzid:
            raise _malformed("an authorization identity is not supported")
        attributes = _attributes(bare)
        if len(attributes) < 2 or attributes[0][0] != "n" or attributes[1][0] != "r":
            raise _malformed("expected n= and r= attributes")
        if any(name == "m" for name, _ in attributes):
            raise _malformed("mandatory extensions are not supported")
        client_nonce = attributes[1][1]
        if not client_nonce or not all(0x21 <= ord(c) <= 0x7E and c != "," for c in client_nonce):
            raise _malformed("bad client nonce")
        self._gs2 = f"{flag},{authzid},"
        self._client_first_bare = bare
        self._nonce = client_nonce + self._server_nonce
        salt = base64.b64encode(self.verifier.salt).decode()
        self._server_first = f"r={self._nonce},s={salt},i={self.verifier.iterations}"
        return self._server_first.encode()

    def final(self, data: bytes) -> bytes:
        if not self._nonce:
            raise _malformed("final message before the first")
        text = _decode(data)
        without_proof, sep, proof_part = text.rpartition(",p=")
        if not sep:
            raise _malformed("no proof")
        attributes = _attributes(without_proof)
        if len(attributes) < 2 or attributes[0][0] != "c" or attributes[1][0] != "r":
            raise _malformed("expected c= and r= attributes")
        if _b64(attributes[0][1], "channel binding") != self._gs2.encode():
            raise _malformed("channel binding does not match the GS2 header")
        if attributes[1][1] != self._nonce:
            raise _malformed("nonce does not match")
        proof = _b64(proof_part, "proof")
        if len(proof) != hashlib.sha256().digest_size:
            raise _malformed("proof of the wrong length")
        message = f"{self._client_first_bare},{self._server_first},{without_proof}".encode()
        signature = hmac.digest(self.verifier.stored_key, message, "sha256")
        client_key = bytes(a ^ b for a, b in zip(proof, signature, strict=True))
        if not hmac.compare_digest(hashlib.sha256(client_key).digest(), self.verifier.stored_key):
            raise PgError("28P01", "password authentication failed", fatal=True)
        server_signature = hmac.digest(self.verifier.server_key, message, "sha256")
        return b"v=" + base64.b64encode(server_signature)
