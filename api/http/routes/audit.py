"""`GET /audit` and `POST /audit/verify`: the signed audit trail over HTTP, for admins only.

The trail is the one the server's audit consumer writes under `audit/` (see
`projections.consumers.audit`); these routes only read it. A page is the lines with an LSN
above the cursor, oldest first; the cursor is the last LSN of the previous page, as text, so
a client treats it as opaque. Verification is `bkgdb audit verify`'s check of each sealed file
against its seal, its seal's sigstore bundle when it has one, and the log; the active
(unsealed) file is still being written and is left out.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import msgspec
from litestar import get, post
from litestar.params import FromQuery

from api.auth.errors import ForbiddenError
from api.auth.principal import Principal
from api.http.deps import AUTHED_ERRORS, GUARDS, SECURITY, BackendDep, Caller
from api.http.errors import ApiError
from eventlog.keys import KeyRing
from projections.consumers.audit_files import audit_files, seal_path
from projections.consumers.audit_verify import (
    AuditFilter,
    log_key_ring,
    trail_page,
    verify_audit_file,
)
from projections.consumers.errors import AuditVerifyError
from projections.source import LogSource

DEFAULT_LIMIT = 100
MAX_LIMIT = 1000


class AuditPage(msgspec.Struct):
    """Audit lines (as `bkgdb audit export` writes them) and the next page's cursor."""

    items: list[dict[str, Any]]
    next_cursor: str | None


class AuditFileStatus(msgspec.Struct):
    """One sealed file: verified, or the first problem found in it. `keyless` is its seal's
    sigstore bundle: null (none), "verified", or "unchecked" (no trust root here; `notes`
    says why)."""

    name: str
    verified: bool
    first_lsn: int | None = None
    last_lsn: int | None = None
    lines: int | None = None
    keyless: str | None = None
    notes: list[str] = msgspec.field(default_factory=list)
    error: str | None = None


class AuditVerification(msgspec.Struct):
    """`ok` when every sealed file passes; `error` when the log's keys cannot be read."""

    ok: bool
    files: list[AuditFileStatus]
    error: str | None = None


@get(
    "/audit",
    summary="A page of the audit trail (admins)",
    responses=AUTHED_ERRORS,
    security=SECURITY,
    guards=GUARDS,
    sync_to_thread=True,
)
def audit_trail(
    principal: Caller,
    backend: BackendDep,
    from_lsn: FromQuery[int | None] = None,
    to_lsn: FromQuery[int | None] = None,
    actor: FromQuery[str | None] = None,
    table: FromQuery[str | None] = None,
    kind: FromQuery[str | None] = None,
    limit: FromQuery[int] = DEFAULT_LIMIT,
    cursor: FromQuery[str | None] = None,
) -> AuditPage:
    """Audit lines matching the filters, `limit` at most, and the cursor of the next page
    (null on the last page)."""
    _require_admin(principal)
    if not 1 <= limit <= MAX_LIMIT:
        raise ApiError("VALIDATION_ERROR", f"limit must be between 1 and {MAX_LIMIT}")
    selection = AuditFilter(from_lsn, to_lsn, actor or None, table or None, kind or None)
    after = _after_lsn(cursor)
    lines = trail_page(backend.db.data.audit, selection, after_lsn=after, limit=limit + 1)
    more = len(lines) > limit
    items = lines[:limit]
    return AuditPage(items=items, next_cursor=str(items[-1]["lsn"]) if more else None)


@post(
    "/audit/verify",
    status_code=200,
    summary="Verify the sealed audit files (admins)",
    responses=AUTHED_ERRORS,
    security=SECURITY,
    guards=GUARDS,
    sync_to_thread=True,
)
def verify_audit(principal: Caller, backend: BackendDep) -> AuditVerification:
    """Each sealed file checked against its seal and the log; `ok` when all pass."""
    _require_admin(principal)
    log: LogSource = backend.db.log
    try:
        ring = log_key_ring(log)
    except AuditVerifyError as exc:
        return AuditVerification(ok=False, files=[], error=str(exc))
    sealed = [p for p in audit_files(backend.db.data.audit) if seal_path(p).exists()]
    files = [_file_status(path, log, ring) for path in sealed]
    return AuditVerification(ok=all(f.verified for f in files), files=files)


def _file_status(path: Path, log: LogSource, ring: KeyRing) -> AuditFileStatus:
    try:
        report = verify_audit_file(path, log, ring)
    except AuditVerifyError as exc:
        return AuditFileStatus(name=path.name, verified=False, error=str(exc))
    return AuditFileStatus(
        name=path.name,
        verified=True,
        first_lsn=report.first_lsn,
        last_lsn=report.last_lsn,
        lines=report.lines,
        keyless=report.keyless,
        notes=report.notes,
    )


def _after_lsn(cursor: str | None) -> int:
    if cursor is None or cursor == "":
        return 0
    if not cursor.isdigit():
        raise ApiError("BAD_REQUEST", "cursor must be a next_cursor this endpoint returned")
    return int(cursor)


def _require_admin(principal: Principal) -> None:
    if principal.kind != "admin":
        raise ForbiddenError("the audit trail is for admins only")
