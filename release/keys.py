"""The release signing key: from `BKG_SIGNING_KEY`, else a throwaway one.

`BKG_SIGNING_KEY` holds an Ed25519 private key as PEM (PKCS#8), or the path of a file
holding one. Without it (a fresh clone), signing uses a key generated for this run only: it
is never written anywhere, its public half goes beside the signed files, and the run says
so. Verification takes the public key from `BKG_VERIFY_KEY` (PEM or a path), else derives
it from `BKG_SIGNING_KEY`, else uses the public key beside the files (which proves the
files unchanged since signing, not who signed them).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import (
    Encoding,
    PublicFormat,
    load_pem_private_key,
    load_pem_public_key,
)

SIGNING_ENV = "BKG_SIGNING_KEY"
VERIFY_ENV = "BKG_VERIFY_KEY"
PUBLIC_KEY_FILE = "release-signing-key.pub"


class SigningKeyError(ValueError):
    """A key variable that does not hold an Ed25519 key."""


@dataclass(frozen=True)
class SigningKey:
    key: Ed25519PrivateKey
    throwaway: bool


def _pem(value: str) -> bytes:
    """The PEM a variable holds, itself or in the file it names."""
    if "-----BEGIN" in value:
        return value.encode()
    path = Path(value).expanduser()
    if not path.is_file():
        raise SigningKeyError("the key variable holds neither a PEM key nor the path of a file")
    return path.read_bytes()


def signing_key(env: Mapping[str, str] = os.environ) -> SigningKey:
    """The key `BKG_SIGNING_KEY` holds, else a new throwaway key."""
    value = env.get(SIGNING_ENV, "").strip()
    if not value:
        return SigningKey(Ed25519PrivateKey.generate(), throwaway=True)
    key = load_pem_private_key(_pem(value), password=None)
    if not isinstance(key, Ed25519PrivateKey):
        raise SigningKeyError(f"{SIGNING_ENV} is not an Ed25519 private key")
    return SigningKey(key, throwaway=False)


def verify_key(dist: Path, env: Mapping[str, str] = os.environ) -> tuple[Ed25519PublicKey, str]:
    """The public key to verify with, and where it came from."""
    value = env.get(VERIFY_ENV, "").strip()
    if value:
        public = load_pem_public_key(_pem(value))
        if not isinstance(public, Ed25519PublicKey):
            raise SigningKeyError(f"{VERIFY_ENV} is not an Ed25519 public key")
        return public, VERIFY_ENV
    if env.get(SIGNING_ENV, "").strip():
        return signing_key(env).key.public_key(), f"the public half of {SIGNING_ENV}"
    path = dist / PUBLIC_KEY_FILE
    written = path.read_bytes()
    public = load_pem_public_key(written)
    if not isinstance(public, Ed25519PublicKey) or public_pem(public) != written:
        raise SigningKeyError(f"{path} is not an Ed25519 public key as signing wrote it")
    return public, f"{path} (set {VERIFY_ENV} to check who signed, not only what)"


def public_pem(public: Ed25519PublicKey) -> bytes:
    return public.public_bytes(Encoding.PEM, PublicFormat.SubjectPublicKeyInfo)
