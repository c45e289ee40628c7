"""One folder level of a bucket, as Supabase's `POST /object/list/{bucket}` answers it.

Names are `/`-separated paths; listing the folder `prefix` shows the objects directly in it
and one entry (with a null `id`) for each sub-folder holding objects the caller may read.
`search` keeps entries whose name starts with it (case-insensitively), `sortBy` orders them
by `name`, `created_at`, `updated_at` or `last_accessed_at` (folders, which have no times,
last when ascending, as in Postgres), then `offset` and `limit` page them.

A folder is read whole before it is sorted, so it is bounded: a folder (with everything
below it) holding more than `MAX_SCAN` objects is refused rather than listed partly.
"""

from __future__ import annotations

from typing import Any

from api.auth.principal import Principal
from api.storage.meta import ObjectMeta
from api.storage.names import check_prefix
from api.storage.service import MAX_PAGE, ObjectService
from api.storage_v1.bodies import MAX_LIST, ListBody
from api.storage_v1.errors import StorageV1Error, invalid
from api.storage_v1.shapes import file_entry, folder_entry

MAX_SCAN = 10_000
SORT_COLUMNS = ("name", "created_at", "updated_at", "last_accessed_at")


def folder_prefix(prefix: str) -> str:
    """The name prefix of a folder: `a/b` and `a/b/` are both `a/b/`, the root is ``."""
    stripped = prefix.strip("/")
    return f"{stripped}/" if stripped else ""


def list_folder(
    service: ObjectService, principal: Principal, bucket: str, body: ListBody
) -> list[dict[str, Any]]:
    """The entries of one folder the principal may see (blocking: run off the loop)."""
    column, descending = _sort(body)
    if not 0 <= body.offset <= MAX_SCAN or body.limit < 0:
        raise invalid("offset and limit must be non-negative (offset at most 10000)")
    limit = min(body.limit, MAX_LIST)
    prefix = check_prefix(folder_prefix(body.prefix))
    files, folders = _scan(service, principal, bucket, prefix)
    needle = body.search.lower()
    entries = [
        (name, found)
        for name, found in [*files.items(), *((f, None) for f in folders - files.keys())]
        if name.lower().startswith(needle)
    ]
    entries.sort(key=lambda item: _key(item, column), reverse=descending)
    page = entries[body.offset : body.offset + limit]
    return [folder_entry(n) if o is None else file_entry(o, n) for n, o in page]


def _sort(body: ListBody) -> tuple[str, bool]:
    column, order = body.sortBy.column, body.sortBy.order.lower()
    if column not in SORT_COLUMNS or order not in ("asc", "desc"):
        raise invalid(f"sortBy must be one of {', '.join(SORT_COLUMNS)}, asc or desc")
    return column, order == "desc"


def _scan(
    service: ObjectService, principal: Principal, bucket: str, prefix: str
) -> tuple[dict[str, ObjectMeta], set[str]]:
    """The readable objects directly in the folder, by relative name, and the names of the
    sub-folders holding readable objects."""
    files: dict[str, ObjectMeta] = {}
    folders: set[str] = set()
    cursor: str | None = ""
    scanned = 0
    while cursor is not None:
        page, cursor = service.list_objects(principal, bucket, prefix, cursor, MAX_PAGE)
        scanned += MAX_PAGE if cursor is not None else 0
        if scanned > MAX_SCAN:
            raise StorageV1Error(
                400,
                "InvalidRequest",
                "invalid_request",
                f"more than {MAX_SCAN} objects under {prefix or 'the bucket'!r}: list a"
                " folder further down",
            )
        for found in page:
            rest = found.name[len(prefix) :]
            head, slash, _ = rest.partition("/")
            if slash:
                folders.add(head)
            else:
                files[rest] = found
    return files, folders


def _key(item: tuple[str, ObjectMeta | None], column: str) -> tuple[int, Any, str]:
    """Sort key: by time, folders (no times) sort as Postgres sorts NULL, after files
    ascending and before them descending."""
    name, found = item
    if column == "name":
        return (0, name, name)
    if found is None:
        return (1, 0, name)
    return (0, found.updated_us, name)
