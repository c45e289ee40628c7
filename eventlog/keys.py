"""Ed25519 signing keys, seals over the hash chain, and key announcements.

The writer signs every group commit with its current key. Public keys travel inside the
log itself: LSN 1 announces the first key, and a rotation appends a `key.rotated` system
event endorsed by the previous key, so a verifier outside the process needs nothing but
the log (or, to pin trust, the exported first key).
"""

from __future__ import annotations

import functools
import hashlib
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import msgpack
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from eventlog.errors import SigningKeyError
from eventlog.framing import LSN_FIELD

SEAL_CONTEXT = b"bkg-seal-v1"
ENDORSE_CONTEXT = b"bkg-key-v1"
MANIFEST_CONTEXT = b"bkg-manifest-v1"
KEY_EVENT_KIND = "system"
RESTORED = "key.restored"


def key_id_of(public_bytes: bytes) -> str:
    """A short, stable name for a public key: the first 16 hex digits of its SHA-256."""
    return hashlib.sha256(public_bytes).hexdigest()[:16]


@dataclass(frozen=True)
class SigningKey:
    """A private Ed25519 key with its id; stored as 32 raw bytes in a 0600 file."""

    private: Ed25519PrivateKey = field(repr=False)

    @classmethod
    def generate(cls) -> SigningKey:
        return cls(Ed25519PrivateKey.generate())

    @classmethod
    def load(cls, path: Path) -> SigningKey:
        try:
            raw = path.read_bytes()
            return cls(Ed25519PrivateKey.from_private_bytes(raw))
        except (OSError, ValueError) as exc:
            raise SigningKeyError(f"cannot load signing key {path}: {exc}") from exc

    def save(self, path: Path) -> None:
        """Write the key readable by its owner only, created with that mode from the start."""
        raw = self.private.private_bytes_raw()
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            os.write(fd, raw)
            os.fsync(fd)
        finally:
            os.close(fd)

    @functools.cached_property
    def public_bytes(self) -> bytes:
        """Derived once: every seal names its key, so this is asked once per group commit."""
        return self.private.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)

    @functools.cached_property
    def key_id(self) -> str:
        return key_id_of(self.public_bytes)

    def sign(self, message: bytes) -> bytes:
        return self.private.sign(message)


def seal_message(lsn: int, chain_head: bytes) -> bytes:
    return SEAL_CONTEXT + LSN_FIELD.pack(lsn) + chain_head


def seal_body(key: SigningKey, lsn: int, chain_head: bytes) -> bytes:
    """The body of a seal frame: who signed, the signature, and the head it covers."""
    signature = key.sign(seal_message(lsn, chain_head))
    return msgpack.packb([key.key_id, signature, chain_head], use_bin_type=True)


def parse_seal(body: bytes) -> tuple[str, bytes, bytes]:
    fields = msgpack.unpackb(body, raw=False)
    if not isinstance(fields, list) or len(fields) != 3:
        raise ValueError("seal body is not [key_id, signature, chain_head]")
    key_id, signature, chain_head = fields
    return str(key_id), bytes(signature), bytes(chain_head)


def announcement(new: SigningKey, previous: SigningKey | None, reason: str) -> dict[str, Any]:
    """Payload of the system event that introduces a key, endorsed by its predecessor."""
    payload: dict[str, Any] = {
        "type": "key.announced" if previous is None else "key.rotated",
        "key_id": new.key_id,
        "public_key": new.public_bytes,
        "reason": reason,
    }
    if previous is not None:
        payload["previous_key_id"] = previous.key_id
        payload["endorsement"] = previous.sign(ENDORSE_CONTEXT + new.public_bytes)
    return payload


def restore_announcement(new: SigningKey, restored_lsn: int) -> dict[str, Any]:
    """Payload of the system event with which a log restored from an archive up to
    `restored_lsn` hands over to a key that nothing in the log endorses (the previous
    private key is not in the archive). Verifiers accept it only on trust, see `KeyRing`."""
    return {
        "type": RESTORED,
        "key_id": new.key_id,
        "public_key": new.public_bytes,
        "reason": "restore",
        "restored_lsn": restored_lsn,
    }


class KeyRing:
    """The public keys a verifier trusts, grown by following announcements in the log.

    A `key.restored` announcement (a restore from an archive with a fresh key) is accepted
    unendorsed when the ring was not pinned, and noted in `restore_notes` so that `verify`
    can warn; with pinned keys only if the restore key is one of them. The keys known
    before it may seal nothing after it.
    """

    def __init__(self, trusted: dict[str, bytes] | None = None) -> None:
        self._keys: dict[str, Ed25519PublicKey] = {}
        self._valid_until: dict[str, int] = {}
        self.restore_notes: list[str] = []
        self.pinned = bool(trusted)
        for key_id, raw in (trusted or {}).items():
            self._keys[key_id] = Ed25519PublicKey.from_public_bytes(raw)

    def __contains__(self, key_id: str) -> bool:
        return key_id in self._keys

    def public_keys(self) -> dict[str, bytes]:
        return {k: v.public_bytes(Encoding.Raw, PublicFormat.Raw) for k, v in self._keys.items()}

    def verify(self, key_id: str, signature: bytes, message: bytes, lsn: int | None = None) -> bool:
        """Check a signature by a known key; for a seal or manifest ending at `lsn`, the
        key must not have been rotated out before that LSN."""
        key = self._keys.get(key_id)
        if key is None or (lsn is not None and lsn > self._valid_until.get(key_id, lsn)):
            return False
        try:
            key.verify(signature, message)
        except InvalidSignature:
            return False
        return True

    def learn(self, payload: Any, lsn: int) -> str | None:
        """Accept a key announcement at `lsn` if it is trustworthy; return why not, or None.

        The first announcement is trusted on first use unless keys were pinned; every later
        key must be endorsed by a key already in the ring.
        """
        if not isinstance(payload, dict) or payload.get("type") not in (
            "key.announced",
            "key.rotated",
            RESTORED,
        ):
            return None
        raw = bytes(payload.get("public_key", b""))
        if key_id_of(raw) != payload.get("key_id"):
            return "announced key id does not match its public key"
        previous = payload.get("previous_key_id")
        if payload["type"] == RESTORED:
            if self.pinned and payload["key_id"] not in self._keys:
                return f"restore key {payload['key_id']} is not among the trusted keys"
            self.restore_notes.append(
                f"LSN {lsn}: key {payload['key_id']} was introduced by a restore, endorsed by no"
                " earlier key; records from here on are authenticated by it alone"
            )
            for earlier in set(self._keys) - {payload["key_id"]}:
                # Like a rotation: the keys before the restore seal nothing after it.
                self._valid_until.setdefault(earlier, lsn)
        elif previous is None:
            if self._keys and payload["key_id"] not in self._keys:
                return "unendorsed key announced after the first"
        elif not self.verify(
            previous, bytes(payload.get("endorsement", b"")), ENDORSE_CONTEXT + raw
        ):
            return f"key {payload['key_id']} is not endorsed by {previous}"
        else:
            # The group holding the rotation is the last one the previous key may seal.
            self._valid_until[previous] = lsn
        self._keys[payload["key_id"]] = Ed25519PublicKey.from_public_bytes(raw)
        return None
