"""DSSE envelopes (https://github.com/secure-systems-lab/dsse), signed with Ed25519.

A signature covers the pre-authentication encoding (PAE) of the payload type and the
payload, never the payload alone, so that a signature over one type cannot be replayed as
another. An envelope is JSON: `{"payload": b64, "payloadType", "signatures": [{"keyid",
"sig": b64}]}`.
"""

from __future__ import annotations

import base64
import hashlib
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

IN_TOTO = "application/vnd.in-toto+json"


class EnvelopeError(ValueError):
    """An envelope that is malformed or whose signature does not verify."""


def pae(payload_type: str, payload: bytes) -> bytes:
    """DSSEv1 PAE: `"DSSEv1" SP LEN(type) SP type SP LEN(body) SP body` (ASCII decimals)."""
    kind = payload_type.encode()
    return b"DSSEv1 %d %s %d %s" % (len(kind), kind, len(payload), payload)


def key_id(public: Ed25519PublicKey) -> str:
    """A key's id: the SHA-256 of its raw 32 bytes, in hex."""
    return hashlib.sha256(public.public_bytes(Encoding.Raw, PublicFormat.Raw)).hexdigest()


def sign(payload: bytes, payload_type: str, key: Ed25519PrivateKey) -> dict[str, Any]:
    """An envelope of `payload` signed by `key`."""
    signature = key.sign(pae(payload_type, payload))
    return {
        "payload": base64.b64encode(payload).decode(),
        "payloadType": payload_type,
        "signatures": [
            {"keyid": key_id(key.public_key()), "sig": base64.b64encode(signature).decode()}
        ],
    }


def verify(envelope: Any, public: Ed25519PublicKey, payload_type: str) -> bytes:
    """The payload of `envelope` if it is of `payload_type` and `public` signed it."""
    if not isinstance(envelope, dict) or envelope.get("payloadType") != payload_type:
        raise EnvelopeError(f"not a DSSE envelope of {payload_type}")
    try:
        payload = base64.b64decode(envelope["payload"], validate=True)
        signatures = [
            base64.b64decode(s["sig"], validate=True)
            for s in envelope["signatures"]
            if s.get("keyid") in (None, "", key_id(public))
        ]
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise EnvelopeError(f"malformed DSSE envelope: {exc}") from exc
    message = pae(payload_type, payload)
    for signature in signatures:
        try:
            public.verify(signature, message)
        except InvalidSignature:
            continue
        return payload
    raise EnvelopeError("no signature of the envelope verifies with the release key")
