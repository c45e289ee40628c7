"""`POST /migrate/apply`, `GET /migrate/status`: migrations beside a running server (admins).

`bkgdb migrate up --url` reads the ledger, plans against its local files, then sends each
pending file here: `{"version", "name", "sql", "sha256"}`. The server checks the digest
against the SQL it received (a file damaged on the way is refused, 422), then applies it
exactly as an embedded `migrate up` does (`Database.apply_migration`): one transaction, one
record, refused with 409 CONFLICT naming the file if its version was applied with another
digest or a newer version is applied; a version applied with the same digest answers 200
with `applied: false` and changes nothing, so two appliers at once apply each file once.
"""

from __future__ import annotations

from functools import partial
from typing import Any

import msgspec
from litestar import Request, Response, get, post

from api.auth.errors import ForbiddenError
from api.auth.principal import Principal
from api.http.backend import Backend
from api.http.deps import (
    AUTHED_ERRORS,
    GUARDS,
    SECURITY,
    BackendDep,
    Caller,
    json_response,
    read_body,
)
from api.http.errors import ApiError
from api.migrations import ledger
from api.migrations.errors import MigrationFileError
from api.migrations.files import Migration, statements_of


class MigrationRequest(msgspec.Struct, forbid_unknown_fields=True):
    """One migration file: its version and name (`NNNN_name.sql`), text and SHA-256."""

    version: int
    name: str
    sql: str
    sha256: str


@post(
    "/migrate/apply",
    summary="Apply one migration (admins)",
    responses=AUTHED_ERRORS,
    security=SECURITY,
    guards=GUARDS,
)
async def apply_migration(
    request: Request[Any, Any, Any], principal: Caller, backend: BackendDep
) -> Response[Any]:
    """201 with the ledger row when applied; 200 with `applied: false` when it already was."""
    _require_admin(principal)
    body, _ = await read_body(request, MigrationRequest)
    migration = _migration(body)
    statements = await backend.off_loop(principal, partial(statements_of, migration))
    deadline = backend.deadline(principal)
    outcome = await backend.db.apply_migration_async(
        migration, statements, principal, deadline=deadline
    )
    answer = {**outcome.row.to_json(), "applied": outcome.applied}
    return json_response(answer, 201 if outcome.applied else 200)


@get(
    "/migrate/status",
    summary="Applied migrations (admins)",
    responses=AUTHED_ERRORS,
    security=SECURITY,
    guards=GUARDS,
)
async def migration_status(principal: Caller, backend: BackendDep) -> Response[Any]:
    """`{"applied": [{"version", "name", "filename", "sha256", "lsn", "applied_at_us",
    "actor"}], "lsn"}`, by version, read on one snapshot."""
    _require_admin(principal)
    rows, lsn = await backend.off_loop(principal, partial(_ledger, backend))
    return json_response({"applied": [row.to_json() for row in rows], "lsn": lsn})


def _ledger(backend: Backend) -> tuple[list[ledger.Applied], int]:
    with backend.db.store.snapshot() as snap:
        return ledger.applied(snap.conn), snap.lsn


def _migration(body: MigrationRequest) -> Migration:
    """The migration a request names, its digest checked against its SQL."""
    try:
        migration = Migration.of(body.version, body.name, body.sql)
    except MigrationFileError as exc:
        raise ApiError("VALIDATION_ERROR", str(exc)) from exc
    if migration.sha256 != body.sha256.lower():
        raise ApiError(
            "VALIDATION_ERROR",
            f"sha256 does not match the sql of {migration.filename}",
            {"file": migration.filename, "sha256": migration.sha256},
        )
    return migration


def _require_admin(principal: Principal) -> None:
    if principal.kind != "admin":
        raise ForbiddenError("migrations are applied and listed by admins only")
