"""Secrets kept in ``keys/``: the JWT secret (text) and the Ed25519 token signing key (PEM).

Both have mode 0600: the secret is written by ``bkgdb init`` (``api.datadir``), the signing
key by :func:`ensure_token_signing_key`. Loading refuses files that group or others can read,
since anyone who can read them can mint admin tokens. ``BKG_JWT_SECRET`` overrides the
secret file.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import stat
from collections.abc import Mapping
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from api.auth.errors import KeyFileError

JWT_SECRET_FILE = "jwt_secret"
TOKEN_KEY_FILE = "jwt_ed25519.pem"
SECRET_ENV = "BKG_JWT_SECRET"


def load_jwt_secret(keys_dir: Path, environ: Mapping[str, str] | None = None) -> bytes:
    """The project secret: ``BKG_JWT_SECRET`` if set, else the content of ``keys/jwt_secret``."""
    env = os.environ if environ is None else environ
    override = env.get(SECRET_ENV)
    if override:
        return override.encode("utf-8")
    return _read_private(keys_dir / JWT_SECRET_FILE).strip()


def ensure_token_signing_key(keys_dir: Path) -> Path:
    """Create ``keys/jwt_ed25519.pem`` (PKCS#8, mode 0600) if missing."""
    path = keys_dir / TOKEN_KEY_FILE
    if not path.exists():
        pem = Ed25519PrivateKey.generate().private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
        _write_private(path, pem)
    return path


def load_token_signing_key(keys_dir: Path) -> Ed25519PrivateKey | None:
    """The Ed25519 token signing key, or None when the data directory has none."""
    path = keys_dir / TOKEN_KEY_FILE
    if not path.exists():
        return None
    key = serialization.load_pem_private_key(_read_private(path), password=None)
    if not isinstance(key, Ed25519PrivateKey):
        raise KeyFileError(f"{path} does not hold an Ed25519 private key")
    return key


def key_id_of(public: Ed25519PublicKey) -> str:
    """RFC 7638 thumbprint of an Ed25519 public key: a stable ``kid`` for its JWK."""
    raw = public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    x = base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")
    canonical = json.dumps({"crv": "Ed25519", "kty": "OKP", "x": x}, separators=(",", ":"))
    digest = hashlib.sha256(canonical.encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


def _write_private(path: Path, data: bytes) -> None:
    """Write a new file readable by the owner only; never widen an existing one."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(data)
        handle.flush()
        os.fsync(handle.fileno())


def _read_private(path: Path) -> bytes:
    try:
        mode = path.stat().st_mode
        data = path.read_bytes()
    except OSError as exc:
        raise KeyFileError(f"cannot read {path}: {exc.strerror}") from exc
    if stat.S_IMODE(mode) & 0o077:
        raise KeyFileError(f"{path} must be readable by its owner only (chmod 600)")
    return data
