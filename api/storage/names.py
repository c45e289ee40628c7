"""Bucket and object names: what is accepted, and where each object's bytes are kept.

An object name is a `/`-separated path inside its bucket. Names that could step outside
the bucket or be read two ways are refused before anything is stored: empty names and
segments, `.` and `..` segments, a leading `/`, backslashes, control characters, and names
over 1024 bytes. Bucket names are 3-63 lower-case letters, digits, `-` and `_`, unique
across namespaces (so that a public object's URL needs no namespace).
"""

from __future__ import annotations

import re
import uuid

from api.storage.errors import InvalidKeyError

MAX_NAME_BYTES = 1024
_BUCKET_RE = re.compile(r"^[a-z0-9][a-z0-9_-]{2,62}$")
_CONTROL_RE = re.compile(r"[\x00-\x1f\x7f]")


def check_bucket_name(name: str) -> str:
    """`name` if it is a valid bucket name, else `InvalidKeyError`."""
    if not _BUCKET_RE.match(name):
        raise InvalidKeyError(
            f"bucket name {name[:80]!r} must be 3-63 of a-z, 0-9, '-', '_' (starting with a"
            " letter or digit)"
        )
    return name


def check_object_name(name: str) -> str:
    """`name` if it is a valid object name, else `InvalidKeyError` saying why."""
    if not name:
        raise InvalidKeyError("object name is empty")
    if len(name.encode("utf-8", "surrogatepass")) > MAX_NAME_BYTES:
        raise InvalidKeyError(f"object name is longer than {MAX_NAME_BYTES} bytes")
    if _CONTROL_RE.search(name) or "\\" in name:
        raise InvalidKeyError("object name contains a control character or a backslash")
    if name.startswith("/"):
        raise InvalidKeyError("object name must not start with '/'")
    for segment in name.split("/"):
        if segment in ("", ".", ".."):
            raise InvalidKeyError(f"object name has an empty, '.' or '..' segment: {name!r}")
    return name


def check_prefix(prefix: str) -> str:
    """A listing prefix: like a name, but may be empty or end with '/'."""
    if prefix:
        check_object_name(prefix[:-1] if prefix.endswith("/") and len(prefix) > 1 else prefix)
    return prefix


def new_blob_key(namespace: str, bucket: str) -> str:
    """A fresh blob key for one version of an object: every upload writes a new blob, and
    the log event that names it is what makes it the object's content."""
    return f"{namespace}/{bucket}/{uuid.uuid4().hex}"
