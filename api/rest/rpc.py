"""`/rest/v1/rpc/<fn>`: calling a SQL function (`CREATE FUNCTION ... LANGUAGE sql`) the way
PostgREST does.

Arguments come by name: a POST's JSON object, or a GET's query string (each value read as
its argument's type). The function is found by its name and the names of its arguments in
the request's schema; none matching is PGRST202. The call is one statement run as the
caller, exactly as `/query` runs it: functions are `SECURITY INVOKER` and inlined before the
row-level security rewrite, so they read with the caller's policies, on the reader pool,
under the caller's deadline. A SQL function's body is one query and may not step a
sequence, so a call never writes: GET and POST run it alike. A scalar function answers its
value; a set-returning one an array of objects.
"""

from __future__ import annotations

from typing import Any

import msgspec
from litestar import Response

from api.database import Result
from api.rest.call import Call
from api.rest.coerce import typed_value
from api.rest.errors import RestError
from api.sql.catalog import ColumnDef
from api.sql.functions import FunctionDef
from api.sql.typemap import lookup

JSON = "application/json; charset=utf-8"


def arguments_of(method: str, body: bytes, query: list[tuple[str, str]]) -> dict[str, Any]:
    """The call's named arguments: a POST's JSON object, else the query string's pairs."""
    if method != "POST":
        named = dict(query)
        if len(named) != len(query):
            raise RestError(400, "PGRST100", "an argument is given more than once")
        return named
    if not body.strip():
        return {}
    try:
        decoded = msgspec.json.decode(body)
    except msgspec.DecodeError:
        raise RestError(400, "PGRST102", "Empty or invalid json") from None
    if not isinstance(decoded, dict):
        raise RestError(400, "PGRST102", "the arguments of a function call are one JSON object")
    return decoded


def find(call: Call, name: str, arguments: dict[str, Any]) -> FunctionDef:
    """The function of the request's schema named `name` whose argument names are the
    ones given; PGRST202 (404) when there is none."""
    function = call.catalog.functions.get(f"{call.schema}.{name}")
    if function is not None and {a.name for a in function.arguments} == set(arguments):
        return function
    given = ", ".join(sorted(arguments))
    raise RestError(
        404,
        "PGRST202",
        f"Could not find the function {call.schema}.{name}({given}) in the schema cache",
        f"Searched for the function {call.schema}.{name} with parameters {given or 'none'},"
        " but no matches were found in the schema cache.",
    )


def typed_arguments(function: FunctionDef, arguments: dict[str, Any]) -> dict[str, Any]:
    """A GET's text values as values of their arguments' types (JSON values pass as they are)."""
    typed: dict[str, Any] = {}
    for argument in function.arguments:
        name = argument.name or ""
        value = arguments[name]
        if isinstance(value, str):
            column = ColumnDef(name, argument.type, lookup(argument.type).affinity)
            value = typed_value(column, value)
        typed[name] = value
    return typed


async def call_function(call: Call, name: str, method: str, body: bytes) -> Response[Any]:
    """Run the call as the caller and answer PostgREST's body."""
    arguments = arguments_of(method, body, list(call.request.query_params.multi_items()))
    function = find(call, name, arguments)
    statement = (function.call_sql(), typed_arguments(function, arguments))
    result = await _run(call, statement)
    if method == "HEAD":
        return Response(b"", media_type=JSON)
    return Response(msgspec.json.encode(_answer(function, result)), media_type=JSON)


async def _run(call: Call, statement: tuple[str, dict[str, Any]]) -> Result:
    backend, principal = call.backend, call.principal
    db, deadline = backend.db, backend.deadline(principal)

    def read() -> Result:
        return db.execute(statement[0], statement[1], principal, deadline=deadline)

    return await backend.off_loop(principal, read)


def _answer(function: FunctionDef, result: Result) -> Any:
    """A scalar function's value, or a set-returning one's rows as objects."""
    if not function.returns_set:
        return result.rows[0][0] if result.rows else None
    return [dict(zip(result.columns, row, strict=True)) for row in result.rows]
