"""The `/rest/v1` router: tables, the OpenAPI description, `rpc/` (SQL functions).
`OPTIONS` is Litestar's own answer (204 with `Allow`).

Each request authenticates (`Authorization: Bearer`, else the `apikey` header), picks its
schema (`Accept-Profile` for reads, `Content-Profile` for writes; default: the caller's
namespace, admin: `public`), parses its query string, and runs its statements as the caller
on the reader pool (reads) or the commit pipeline (writes: one transaction, one record),
under the caller's deadline, exactly as `/query` does. Errors leave in PostgREST's shape.
"""

from __future__ import annotations

from typing import Any

import msgspec
from litestar import Request, Response, Router, route
from litestar.exceptions import HTTPException
from litestar.params import FromPath
from litestar.types import ASGIApp
from litestar.types import Method as HttpMethodName

from api.auth.errors import AuthError
from api.auth.principal import Principal
from api.rest import write
from api.rest.ast import ReadQuery
from api.rest.call import open_call, respond_rows
from api.rest.errors import RestError
from api.rest.headers import negotiate, parse_range
from api.rest.openapi import describe
from api.rest.plans import ReadPlans
from api.rest.read import Window
from api.rest.rpc import call_function
from api.rest.translate import from_auth, from_rls, from_sql
from api.rls.errors import RlsError
from api.sql.errors import SqlError

READ_METHODS: list[HttpMethodName] = ["GET", "HEAD"]
ALL_METHODS: list[HttpMethodName] = ["GET", "HEAD", "POST", "PATCH", "PUT", "DELETE"]
READ_PLANS = ReadPlans()
"""Parsed and planned reads by query-string shape (`api.rest.plans`): keyed by catalogue
token, whose equal values mean equal catalogues, so one memory serves every app."""


@route("/", http_method=READ_METHODS)
async def root(request: Request[Any, Any, Any]) -> Response[Any]:
    """The OpenAPI (Swagger 2.0) description of the tables in the schema."""
    call = open_call(request, "accept-profile")
    document = describe(call.catalog, call.schema, str(request.base_url).rstrip("/"))
    body = b"" if request.method == "HEAD" else msgspec.json.encode(document)
    return Response(body, media_type="application/openapi+json; charset=utf-8")


@route("/rpc/{function:str}", http_method=["GET", "POST", "HEAD"])
async def rpc(request: Request[Any, Any, Any], function: FromPath[str]) -> Response[Any]:
    """Call a SQL function of the schema with named arguments (`api.rest.rpc`)."""
    call = open_call(request, "content-profile" if request.method == "POST" else "accept-profile")
    body = await request.body() if request.method == "POST" else b""
    return await call_function(call, function, request.method, body)


@route("/{table:str}", http_method=ALL_METHODS)
async def table_route(request: Request[Any, Any, Any], table: FromPath[str]) -> ASGIApp:
    """Reads (GET, HEAD) and writes (POST, PATCH, PUT, DELETE) of one table."""
    if request.method in READ_METHODS:
        return await _read(request, table)
    return await write.handle(open_call(request, "content-profile"), table)


@route("/{table:str}/{rest:path}", http_method=ALL_METHODS)
async def deeper(
    request: Request[Any, Any, Any], table: FromPath[str], rest: FromPath[str]
) -> Response[Any]:
    """A path below a table names nothing: PostgREST's PGRST125."""
    raise RestError(404, "PGRST125", "Invalid path specified in request URL")


async def _read(request: Request[Any, Any, Any], name: str) -> ASGIApp:
    call = open_call(request, "accept-profile")
    media = negotiate(call.headers.get("accept"))
    table = call.table(name)
    query, level = READ_PLANS.planned(call.catalog, table, call.params())
    window = _window(query, parse_range(call.headers.get("range")))
    count = call.prefer.get("count") is not None
    rows, total = await call.read(level, query, window, count)
    return respond_rows(call, media, rows, total, window.offset, request.method == "HEAD")


def _window(query: ReadQuery, ranged: tuple[int, int | None] | None) -> Window:
    """`limit`/`offset` of the query string, narrowed by a `Range` header."""
    offset = query.offset.get((), 0)
    limit = query.limit.get(())
    if ranged is not None:
        start, size = ranged
        offset += start
        if size is not None:
            limit = size if limit is None else min(limit, max(0, limit - start))
    return Window(offset, limit)


# -- errors in PostgREST's shape ------------------------------------------------------------------


def _principal(request: Request[Any, Any, Any]) -> Principal | None:
    found: Principal | None = getattr(request.state, "rest_principal", None)
    return found


def _rest_error(_: Request[Any, Any, Any], exc: RestError) -> Response[Any]:
    return Response(
        msgspec.json.encode(exc.body()),
        status_code=exc.status,
        headers=exc.headers,
        media_type="application/json; charset=utf-8",
    )


def _sql_error(request: Request[Any, Any, Any], exc: SqlError) -> Response[Any]:
    return _rest_error(request, from_sql(exc, _principal(request)))


def _rls_error(request: Request[Any, Any, Any], exc: RlsError) -> Response[Any]:
    return _rest_error(request, from_rls(exc, _principal(request)))


def _auth_error(request: Request[Any, Any, Any], exc: AuthError) -> Response[Any]:
    return _rest_error(request, from_auth(exc))


def _http_error(request: Request[Any, Any, Any], exc: HTTPException) -> Response[Any]:
    code = {404: "PGRST125", 405: "PGRST117", 413: "PGRST413"}.get(exc.status_code, "PGRST100")
    return _rest_error(request, RestError(exc.status_code, code, str(exc.detail)))


def rest_router() -> Router:
    """The router mounted at `/rest/v1` (the one mounting point in `api.http.app`)."""
    return Router(
        path="/rest/v1",
        route_handlers=[root, rpc, table_route, deeper],
        exception_handlers={
            RestError: _rest_error,
            SqlError: _sql_error,
            RlsError: _rls_error,
            AuthError: _auth_error,
            HTTPException: _http_error,
        },
        include_in_schema=False,
    )
