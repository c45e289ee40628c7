"""`POST /query` and `GET /schema`: statements and the catalogue, as the caller may see them.

Statements run as the authenticated principal: the database's access hook applies the
namespace and row-level-security rewrite and the SQLite authorizer, so nothing here decides
what a caller may read; these handlers only shape requests and answers.

Nothing heavy runs on the event loop: a request's statements are parsed, planned, read and
their answer encoded on the reader pool (`api.readers`, one hand-off per request, admitted
per namespace); a write found there goes back to the loop only to wait for the commit
pipeline. Every statement runs under the request's deadline (`Backend.deadline`).
"""

from __future__ import annotations

import time
from functools import partial
from typing import Any

import msgspec
from litestar import Request, Response, get, post

from api.auth.principal import Principal
from api.database import BatchResult, Result
from api.http.backend import Backend
from api.http.deps import (
    AUTHED_ERRORS,
    GUARDS,
    JSON,
    SECURITY,
    BackendDep,
    Caller,
    backend_of,
    bearer_of,
    error_responses,
    idempotent,
    json_response,
    read_body,
)
from api.http.errors import ApiError
from api.http.models import (
    BatchResponse,
    ColumnInfo,
    IndexInfo,
    QueryRequest,
    QueryResult,
    SchemaResponse,
    TableInfo,
    ViewInfo,
)
from api.sql import TableDef
from api.sql.catalog import snapshot_catalog
from api.sql.engine import Params
from projections.deadline import Deadline

MAX_STATEMENTS = 1000
QUERY_ERRORS = error_responses(400, 401, 403, 404, 408, 409, 413, 422, 429, 501, 503)


@post(
    "/query",
    status_code=200,
    summary="Run one statement, or an atomic batch",
    responses=QUERY_ERRORS,
    security=SECURITY,
)
async def query(request: Request[Any, Any, Any]) -> Response[QueryResult | BatchResponse]:
    """One statement (`sql`) or an atomic batch (`statements`): one log record per write.

    The hot path authenticates the caller itself (first, before the body is read) instead
    of through a guard, takes the backend from the request instead of a dependency provider,
    and decodes its body itself (documented by `api.http.openapi`): each of those Litestar
    mechanisms costs a sizeable share of a point read's time (a guard copies the handler)."""
    backend = backend_of(request)
    principal = backend.principal(bearer_of(request))
    data, body = await read_body(request, QueryRequest)
    statements = _statements(data)
    deadline = backend.deadline(principal, data.timeout_ms)
    read = partial(_read, backend, data, statements, principal, deadline)
    encoded = await backend.off_loop(principal, read)
    if encoded is not None:
        answer: Response[Any] = Response(content=encoded, media_type=JSON)
        return answer

    async def run() -> Response[Any]:
        began = time.perf_counter()
        batch = await backend.db.write_async(statements, principal, deadline=deadline)
        backend.metrics.commit_latency.observe(time.perf_counter() - began)
        if data.statements is None:
            return json_response(_result(batch.results[0]))
        return json_response(_batch(batch))

    return await idempotent(request, principal, run, body)


@get(
    "/schema",
    summary="The tables the caller can see",
    responses=AUTHED_ERRORS,
    security=SECURITY,
    guards=GUARDS,
)
async def schema(principal: Caller, backend: BackendDep) -> SchemaResponse:
    """Tables (columns, indexes, whether policies protect them) and views at the current
    LSN."""
    with backend.db.store.snapshot() as snap:
        catalog = snapshot_catalog(snap)
        lsn = snap.lsn
    protected = {p.qualified_table for p in backend.layer.policies.all()}
    tables = [
        _table(table, table.name in protected)
        for name, table in sorted(catalog.tables.items())
        if principal.namespace is None or table.schema == principal.namespace
    ]
    views = [
        ViewInfo(view.name, list(view.columns), view.sql)
        for name, view in sorted(catalog.views.items())
        if principal.namespace is None or view.schema == principal.namespace
    ]
    return SchemaResponse(lsn=lsn, tables=tables, views=views)


def _read(
    backend: Backend,
    data: QueryRequest,
    statements: list[tuple[str, Params]],
    principal: Principal,
    deadline: Deadline,
) -> bytes | None:
    """On a reader thread: the encoded answer of a read, or None when a statement writes
    (parsing is cached, so the commit pipeline does not parse it again)."""
    db = backend.db
    if db.writes(statements, principal, data.as_of_lsn):
        return None
    if data.statements is None:
        sql, params = statements[0]
        result = db.execute(sql, params, principal, data.as_of_lsn, deadline=deadline)
        return msgspec.json.encode(_result(result))
    return msgspec.json.encode(_batch(db.execute_batch(statements, principal, deadline=deadline)))


def _statements(data: QueryRequest) -> list[tuple[str, Params]]:
    """The request's statements; exactly one of `sql` and `statements` must be given."""
    if (data.sql is None) == (data.statements is None):
        raise ApiError("VALIDATION_ERROR", "give exactly one of 'sql' and 'statements'")
    if data.statements is None:
        assert data.sql is not None
        return [(data.sql, data.params)]
    if data.params is not None or data.as_of_lsn is not None:
        raise ApiError("VALIDATION_ERROR", "a batch takes 'params' per statement and no as_of_lsn")
    if not data.statements or len(data.statements) > MAX_STATEMENTS:
        raise ApiError("VALIDATION_ERROR", f"a batch holds 1 to {MAX_STATEMENTS} statements")
    return [(s.sql, s.params) for s in data.statements]


def _result(result: Result) -> QueryResult:
    return QueryResult(result.columns, result.rows, result.rowcount, result.lsn)


def _batch(batch: BatchResult) -> BatchResponse:
    return BatchResponse([_result(r) for r in batch.results], batch.lsn)


def _table(table: TableDef, protected: bool) -> TableInfo:
    return TableInfo(
        name=table.name,
        columns=[ColumnInfo(c.name, c.type, c.nullable, c.primary_key) for c in table.columns],
        indexes=[IndexInfo(i.name, list(i.columns), i.unique) for i in table.indexes],
        rls_enabled=table.rls_enabled or protected,
    )
