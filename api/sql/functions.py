"""SQL functions (``LANGUAGE sql``): stored as their query, inlined where statements call them.

A function has no SQLite object. Before a statement is rewritten for row-level security and
translated, a call of a scalar function becomes a scalar subquery of its query, cast to the
declared return type, and a call of a set-returning function (``RETURNS TABLE``/``SETOF``)
in FROM becomes a subquery; arguments replace the parameters (by name or ``$n``). So the body
reads with the caller's rights and policies (``SECURITY INVOKER``, the only kind), and replay
needs nothing but the catalogue entry: the effects of statements that call functions are
logged as row images like any others.
"""

from __future__ import annotations

import functools
import re
from dataclasses import asdict, dataclass
from typing import Any

import sqlglot
from sqlglot import exp

from api.sql.errors import NotFoundError, NotSupportedError, SqlValidationError, with_sqlstate
from api.sql.reader import BkgPostgres

SETOF_COLUMN = "_bkg_setof"
"""``RETURNS SETOF t`` is read as ``RETURNS TABLE (_bkg_setof t)`` (see ``read_setof``)."""
_SETOF = re.compile(r"\bRETURNS\s+SETOF\s+", re.IGNORECASE)
_CREATE_FUNCTION = re.compile(
    r"^\s*(?:--[^\n]*\n\s*|/\*.*?\*/\s*)*CREATE\s+(?:OR\s+REPLACE\s+)?FUNCTION\b",
    re.IGNORECASE | re.DOTALL,
)


def read_setof(sql: str) -> str:
    """``RETURNS SETOF t`` in a CREATE FUNCTION, in a form the parser reads (other
    statements are returned unchanged)."""
    if not _CREATE_FUNCTION.match(sql):
        return sql
    match = _SETOF.search(sql)
    if match is None:
        return sql
    rest = sql[match.end() :]
    type_name = re.match(r'[\w."]+(?:\[\])?', rest)
    if type_name is None:
        return sql
    after = rest[type_name.end() :]
    return f"{sql[: match.start()]}RETURNS TABLE ({SETOF_COLUMN} {type_name.group(0)}){after}"


@dataclass(frozen=True)
class Argument:
    """One parameter: its name (None for positional-only) and declared type."""

    name: str | None
    type: str


@dataclass(frozen=True)
class FunctionDef:
    """A SQL function. ``sql`` is its query with table names schema-qualified and outputs
    named by ``columns``; ``returns`` is the scalar return type, or None for a set-returning
    function whose rows have ``columns`` of ``column_types``."""

    name: str
    arguments: list[Argument]
    returns: str | None
    columns: list[str]
    column_types: list[str]
    volatility: str
    sql: str

    def to_dict(self) -> dict[str, Any]:
        """The JSON-able form carried in DDL changes and stored in the catalogue."""
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> FunctionDef:
        """Inverse of ``to_dict``."""
        return cls(
            name=data["name"],
            arguments=[Argument(**a) for a in data["arguments"]],
            returns=data["returns"],
            columns=list(data["columns"]),
            column_types=list(data["column_types"]),
            volatility=data["volatility"],
            sql=data["sql"],
        )

    @property
    def schema(self) -> str:
        """The namespace part of the logical name."""
        return self.name.split(".", 1)[0]

    @property
    def short_name(self) -> str:
        """The function part of the logical name."""
        return self.name.split(".", 1)[1]

    @property
    def returns_set(self) -> bool:
        """True for ``RETURNS TABLE (...)`` and ``RETURNS SETOF t``."""
        return self.returns is None

    @property
    def return_type(self) -> str:
        """The declared return type as Postgres spells it (``TABLE(id int, ...)`` for sets)."""
        if self.returns is not None:
            return self.returns
        pairs = ", ".join(f"{c} {t}" for c, t in zip(self.columns, self.column_types, strict=True))
        return f"TABLE({pairs})"

    def call_sql(self) -> str:
        """A statement calling the function with named parameters ``:arg`` (positional-only
        arguments are ``:arg1``, ``:arg2``, ...), e.g. for an RPC endpoint."""
        names = [a.name or f"arg{i}" for i, a in enumerate(self.arguments, 1)]
        call = f"{self.name}({', '.join(':' + n for n in names)})"
        if self.returns_set:
            return f"SELECT * FROM {call}"
        return f'SELECT {call} AS "{self.short_name}"'


@functools.lru_cache(maxsize=256)
def body_query(sql: str) -> exp.Query:
    """A stored function query, parsed (shared: copy before changing it)."""
    parsed = sqlglot.parse_one(sql, read=BkgPostgres)
    if not isinstance(parsed, exp.Query):
        raise NotSupportedError("a SQL function's body must be one query")
    return parsed


def substitute(query: exp.Query, function: FunctionDef, values: list[exp.Expr]) -> exp.Query:
    """A copy of a function's stored query (whose parameters are all ``$n``) with the
    parameters replaced by the call's argument expressions."""
    body = query.copy()
    for node in list(body.find_all(exp.Parameter)):
        number = int(node.name) if node.name.isdigit() else 0
        if not 1 <= number <= len(values):
            error = SqlValidationError(f"there is no parameter ${node.name} in {function.name}")
            raise with_sqlstate(error, "42P02")
        node.replace(exp.paren(values[number - 1].copy()))
    return body


def expand_calls(expression: exp.Expr, namespace: str, functions: dict[str, FunctionDef]) -> bool:
    """Inline every call of a catalogued function (in place); True if any was found."""
    found = False
    for table in list(expression.find_all(exp.Table)):
        call = table.this
        function = _lookup(call, table.db or namespace, functions)
        if function is None or not isinstance(call, exp.Anonymous):
            continue
        values = _arguments(function, call)
        if function.returns_set:
            body: exp.Expr = substitute(body_query(function.sql), function, values)
        else:
            body = exp.select(exp.alias_(_scalar(function, values), function.short_name))
        alias = table.args.get("alias") or exp.TableAlias(
            this=exp.to_identifier(function.short_name)
        )
        table.replace(exp.Subquery(this=body, alias=alias))
        found = True
    for call in list(expression.find_all(exp.Anonymous)):
        node: exp.Expr = call
        schema = namespace
        if isinstance(call.parent, exp.Dot) and call.parent.expression is call:
            node, schema = call.parent, call.parent.this.name
        function = _lookup(call, schema, functions)
        if function is None:
            continue
        if function.returns_set:
            raise NotSupportedError(
                f"set-returning function {function.name} must be called in FROM"
            )
        scalar: exp.Expr = _scalar(function, _arguments(function, call))
        if isinstance(node.parent, exp.Select) and node.arg_key == "expressions":
            scalar = exp.alias_(scalar, function.short_name, quoted=True)
        node.replace(scalar)
        found = True
    return found


def _lookup(call: exp.Expr, schema: str, functions: dict[str, FunctionDef]) -> FunctionDef | None:
    """The catalogued function a call names, if any."""
    if not isinstance(call, exp.Anonymous):
        return None
    return functions.get(f"{schema.lower()}.{call.name.lower()}")


def _arguments(function: FunctionDef, call: exp.Anonymous) -> list[exp.Expr]:
    """The call's argument expressions; their number must match the declaration."""
    values = list(call.expressions)
    if len(values) != len(function.arguments):
        error = NotFoundError(
            f"function {function.name} takes {len(function.arguments)} arguments,"
            f" {len(values)} given"
        )
        raise with_sqlstate(error, "42883")
    return values


def _scalar(function: FunctionDef, values: list[exp.Expr]) -> exp.Expr:
    """A scalar call: the first column of the first row of the query, as the return type."""
    query = substitute(body_query(function.sql), function, values)
    target = exp.DataType.build(function.returns or "text", dialect="postgres")
    return exp.Cast(this=exp.Subquery(this=query), to=target)
