"""The JSON bodies of `/storage/v1` requests, decoded in one pass and bounded.

Bodies are read through `api.http.deps.read_body` (at most the server's body limit; bad
JSON a 400, a body that does not match a 422, both in Supabase's shape). Lists of paths are
capped so that one request stays one bounded piece of work.
"""

from __future__ import annotations

import re

import msgspec

from api.storage_v1.errors import invalid

MAX_PATHS = 1000
"""Paths one request may name (removal, signing many)."""
MAX_LIST = 1000
_SIZE_RE = re.compile(r"^\s*(\d{1,15})\s*(b|kb|mb|gb|tb)?\s*$", re.IGNORECASE)
_UNITS = {"b": 1, "kb": 1 << 10, "mb": 1 << 20, "gb": 1 << 30, "tb": 1 << 40}


class BucketBody(msgspec.Struct, forbid_unknown_fields=False):
    id: str | None = None
    name: str | None = None
    public: bool | None = None
    file_size_limit: int | str | None = None
    allowed_mime_types: list[str] | None = None

    def bucket_id(self, path_id: str | None = None) -> str:
        """The bucket's name: bkg-db buckets have one, so `id` and `name` must agree."""
        chosen = path_id or self.id or self.name
        if not chosen:
            raise invalid("the bucket needs an id")
        if self.name not in (None, chosen) or (path_id and self.id not in (None, path_id)):
            raise invalid("a bucket's id and name must be the same in bkg-db")
        return chosen

    def size_limit(self) -> int | None:
        """`file_size_limit` in bytes: an integer or a string like `"50MB"`."""
        value = self.file_size_limit
        if value is None or isinstance(value, int):
            return value
        match = _SIZE_RE.match(value)
        if match is None:
            raise invalid(f"file_size_limit {value[:40]!r} is not a size")
        return int(match.group(1)) * _UNITS[(match.group(2) or "b").lower()]


class SortBy(msgspec.Struct):
    column: str = "name"
    order: str = "asc"


class ListBody(msgspec.Struct):
    prefix: str = ""
    limit: int = 100
    offset: int = 0
    sortBy: SortBy = msgspec.field(default_factory=SortBy)  # noqa: N815 (Supabase's name)
    search: str = ""


class SignBody(msgspec.Struct):
    expiresIn: int | str  # noqa: N815 (Supabase's name)
    download: str | bool | None = None
    transform: dict[str, object] | None = None
    paths: list[str] | None = None

    def expires_in(self) -> int:
        value = self.expiresIn
        if isinstance(value, str):
            if not value.strip().isdigit() or len(value) > 12:
                raise invalid("expiresIn must be a number of seconds")
            return int(value)
        return value


class RemoveBody(msgspec.Struct):
    prefixes: list[str]


class MoveBody(msgspec.Struct):
    bucketId: str  # noqa: N815 (Supabase's name)
    sourceKey: str  # noqa: N815
    destinationKey: str  # noqa: N815
    destinationBucket: str | None = None  # noqa: N815


def check_count(items: list[str], what: str) -> list[str]:
    if len(items) > MAX_PATHS:
        raise invalid(f"at most {MAX_PATHS} {what} at once")
    return items
