"""One `/rest/v1` request's context (caller, schema, catalogue, preferences) and the
answer of rows, shared by reads and writes."""

from __future__ import annotations

from functools import partial
from typing import Any

from litestar import Request
from litestar.response.base import ASGIResponse

from api.auth.principal import Principal
from api.database import Result
from api.rest.ast import ReadQuery
from api.rest.errors import RestError, not_found_table
from api.rest.governed import Governed, governed
from api.rest.grammar import parse_query
from api.rest.headers import CSV, OBJECT, Prefer, RequestHeaders, parse_prefer, token_of
from api.rest.output import encode_rows
from api.rest.read import Level, Window, run
from api.sql import Catalog, TableDef
from api.sql.catalog import snapshot_catalog

MAX_QUERY_STRING = 32 * 1024
"""Longest query string accepted (PostgREST has none; a bound keeps parsing cheap)."""


class Call:
    """What every handler needs: backend, caller, schema, catalogue, parsed query."""

    def __init__(
        self,
        request: Request[Any, Any, Any],
        headers: RequestHeaders,
        backend: Governed,
        principal: Principal,
        schema: str,
        catalog: Catalog,
    ) -> None:
        self.request, self.headers = request, headers
        self.backend, self.principal = backend, principal
        self.schema, self.catalog = schema, catalog
        self.prefer: Prefer = parse_prefer(headers.getall("prefer"))

    async def read(
        self, level: Level, query: ReadQuery, window: Window, count: bool
    ) -> tuple[list[dict[str, Any]], int | None]:
        """Run a planned read as the caller on the reader pool, under one deadline."""
        deadline = self.backend.deadline(self.principal)
        db, principal = self.backend.db, self.principal

        def statement(sql: str, params: list[Any]) -> Result:
            return db.execute(sql, params, principal, deadline=deadline)

        work = partial(run, statement, level, query, window, count)
        return await self.backend.off_loop(principal, work)

    def table(self, name: str) -> TableDef:
        found = self.catalog.tables.get(f"{self.schema}.{name}")
        if found is None:
            raise not_found_table(self.schema, name)
        return found

    def query(self) -> ReadQuery:
        return parse_query(self.params())

    def params(self) -> list[tuple[str, str]]:
        """The query string's parameters, in order (414 beyond `MAX_QUERY_STRING`)."""
        raw = self.request.scope.get("query_string", b"")
        if len(raw) > MAX_QUERY_STRING:
            raise RestError(
                414, "PGRST100", f"the query string is longer than {MAX_QUERY_STRING} bytes"
            )
        return list(self.request.query_params.multi_items())


def open_call(request: Request[Any, Any, Any], profile_header: str) -> Call:
    """Authenticate, choose the schema, load the catalogue (memoised by the pooled
    snapshot for as long as its read transaction lasts, so no lookup while nothing is
    committed; a DDL commit ends that transaction)."""
    backend = governed(request)
    headers = RequestHeaders(request.scope["headers"])
    principal = backend.principal(token_of(headers.get("authorization"), headers.get("apikey")))
    request.state.rest_principal = principal
    with backend.db.store.snapshot() as snap:
        catalog = snapshot_catalog(snap)
    schema = _profile(headers.get(profile_header), principal, catalog)
    return Call(request, headers, backend, principal, schema, catalog)


def _profile(asked: str | None, principal: Principal, catalog: Catalog) -> str:
    """The schema a request works in; PGRST106 (406) for one the caller may not use."""
    allowed = sorted(catalog.schemas) if principal.namespace is None else [principal.namespace]
    schema = asked or principal.default_namespace
    if schema not in allowed or schema not in catalog.schemas:
        raise RestError(
            406,
            "PGRST106",
            "Invalid schema: " + schema,
            None,
            "Only the following schemas are exposed: " + ", ".join(allowed),
        )
    return schema


def respond_rows(
    call: Call,
    media: str,
    rows: list[dict[str, Any]],
    total: int | None,
    offset: int,
    head: bool = False,
    status: int = 200,
) -> ASGIResponse:
    """Rows as JSON, a single object or CSV, with `Content-Range` (206 when partial): the
    ASGI response itself, as Litestar would make it of a `Response` (which it would first
    copy and merge with the route's empty defaults)."""
    if total is not None and offset > 0 and offset >= total and not rows:
        raise RestError(
            416,
            "PGRST103",
            "Requested range not satisfiable",
            f"An offset of {offset} was requested, but there are only {total} rows.",
            headers={"Content-Range": f"*/{total}"},
        )
    if media == OBJECT and len(rows) != 1:
        raise RestError(
            406,
            "PGRST116",
            "JSON object requested, multiple (or no) rows returned",
            f"The result contains {len(rows)} rows",
        )
    shown = "*" if total is None else str(total)
    span = f"{offset}-{offset + len(rows) - 1}" if rows else "*"
    headers = {"Content-Range": f"{span}/{shown}"}
    if call.prefer.values:
        headers["Preference-Applied"] = call.prefer.applied()
    if total is not None and status == 200 and len(rows) < total:
        status = 206
    strip = "nulls=stripped" in (call.headers.get("accept") or "").replace(" ", "")
    body = b"" if head else encode_rows(rows, media, strip)
    # Litestar appends "; charset=utf-8" to text/* media types itself.
    content_type = CSV if media == CSV else f"{media}; charset=utf-8"
    return ASGIResponse(
        body=body,
        status_code=status,
        headers=headers,
        media_type=content_type,
    )
