"""Plan CREATE [OR REPLACE] FUNCTION ... LANGUAGE sql and DROP FUNCTION as change records.

The definition is normalised when the function is created: table names are
schema-qualified, every reference to a parameter becomes ``$n`` (a column of a table the
query reads wins over a parameter of the same name, as in Postgres), the outputs of a
``RETURNS TABLE`` function are named by its columns, and the query is checked by describing
it on the projection with NULLs of the parameters' types. Replay stores the definition as
it is; calls are inlined by ``api.sql.functions``.
"""

from __future__ import annotations

from dataclasses import replace

import sqlglot
from sqlglot import exp

from api.sql.catalog import Catalog
from api.sql.ddl_view import Describe, stored_query
from api.sql.errors import (
    ConflictError,
    NotFoundError,
    NotSupportedError,
    SqlValidationError,
    with_sqlstate,
)
from api.sql.functions import SETOF_COLUMN, Argument, FunctionDef
from api.sql.parse import StatementInfo, cte_names, logical_name
from api.sql.reader import BkgPostgres

_VOLATILITY = ("IMMUTABLE", "STABLE", "VOLATILE")
_SEQUENCE_STEPS = ("nextval", "setval")


def plan_create_function(
    statement: exp.Create, info: StatementInfo, catalog: Catalog, describe: Describe
) -> list[dict[str, object]]:
    """CREATE [OR REPLACE] FUNCTION name(args) RETURNS ... LANGUAGE sql AS 'query'."""
    header = statement.this
    if not isinstance(header, exp.UserDefinedFunction) or not isinstance(header.this, exp.Table):
        raise NotSupportedError("CREATE FUNCTION needs a name")
    name = logical_name(header.this, info.namespace)
    if name.split(".", 1)[0] not in catalog.schemas:
        raise NotFoundError(f"schema {name.split('.', 1)[0]} does not exist")
    if name in catalog.functions and not statement.args.get("replace"):
        raise with_sqlstate(ConflictError(f"function {name} already exists"), "42723")
    arguments = [_argument(node) for node in header.expressions]
    returns, columns, types, volatility = _properties(statement, info.namespace, catalog)
    query = _parameters_to_numbers(_body(statement), name, arguments, catalog, info.namespace)
    _refuse_sequence_steps(query)
    first = query
    while isinstance(first, exp.SetOperation):
        first = first.this
    star = any(o.is_star for o in first.expressions) if isinstance(first, exp.Select) else False
    named = columns if returns is None and not star else None
    stored = stored_query(query, info.namespace, named)
    draft = FunctionDef(
        name, arguments, returns, columns, types, volatility, stored.sql("postgres")
    )
    pending = replace(catalog, functions={**catalog.functions, name: draft})
    outputs = describe(_with_typed_nulls(stored, arguments), pending)
    function = replace(draft, columns=_checked_columns(draft, outputs))
    change: dict[str, object] = {
        "op": "ddl",
        "table": name,
        "action": "create_function",
        "sql": _normalised_sql(function),
        "sqlite": [],
        "definition": function.to_dict(),
    }
    return [change]


def _refuse_sequence_steps(query: exp.Query) -> None:
    """A body may not step a sequence: a call is classified as a read or a write before its
    functions are inlined, so `nextval` inside one would run on a read snapshot; the caller
    calls `nextval` in the statement itself instead."""
    if any(f.name.lower() in _SEQUENCE_STEPS for f in query.find_all(exp.Anonymous)):
        raise NotSupportedError(
            "a SQL function cannot call nextval or setval: call it in the statement instead"
        )


def _with_typed_nulls(stored: exp.Query, arguments: list[Argument]) -> exp.Query:
    """The query with each ``$n`` replaced by a NULL of its parameter's type (to describe it)."""
    probe = stored.copy()
    for node in list(probe.find_all(exp.Parameter)):
        number = int(node.name) if node.name.isdigit() else 0
        if not 1 <= number <= len(arguments):
            error = SqlValidationError(f"there is no parameter ${node.name}")
            raise with_sqlstate(error, "42P02")
        target = exp.DataType.build(arguments[number - 1].type, dialect="postgres")
        node.replace(exp.Cast(this=exp.Null(), to=target))
    return probe


def _checked_columns(function: FunctionDef, outputs: list[str]) -> list[str]:
    """The function's result columns, given what its query returns (Postgres: 42P13)."""
    expected = 1 if function.returns is not None else len(function.columns) or len(outputs)
    if len(outputs) != expected:
        error = SqlValidationError(
            f"return type mismatch in function {function.name}: its query returns"
            f" {len(outputs)} columns, the declaration {expected}"
        )
        raise with_sqlstate(error, "42P13")
    if function.returns is None and not function.columns:
        return outputs
    return function.columns


def plan_drop_function(
    statement: exp.Drop, info: StatementInfo, catalog: Catalog
) -> list[dict[str, object]]:
    """DROP FUNCTION [IF EXISTS] name[(types)]: functions are known by name alone."""
    tables = statement.args.get("tables") or []
    if len(tables) != 1:
        raise NotSupportedError("DROP FUNCTION of several functions is not supported")
    name = logical_name(tables[0], info.namespace)
    if name not in catalog.functions:
        if statement.args.get("exists"):
            return []
        error = NotFoundError(f"function {name} does not exist")
        raise with_sqlstate(error, "42883")
    logged = exp.Drop(this=exp.to_table(name), kind="FUNCTION")
    return [
        {
            "op": "ddl",
            "table": name,
            "action": "drop_function",
            "sql": logged.sql("postgres"),
            "sqlite": [],
            "definition": None,
        }
    ]


def _argument(node: exp.Expr) -> Argument:
    """One declared parameter: ``name type`` or a bare type."""
    if isinstance(node, exp.ColumnDef):
        kind = node.args.get("kind")
        if node.constraints or not isinstance(kind, exp.DataType):
            raise NotSupportedError("function parameters with defaults or modes are not supported")
        return Argument(node.name.lower(), kind.sql("postgres").lower())
    if isinstance(node, exp.Identifier | exp.DataType):
        return Argument(None, node.sql("postgres").lower())
    raise NotSupportedError(f"function parameter {node.sql('postgres')} is not supported")


def _properties(
    statement: exp.Create, namespace: str, catalog: Catalog
) -> tuple[str | None, list[str], list[str], str]:
    """(scalar return type or None, set columns, their types, volatility)."""
    properties = statement.args.get("properties")
    returns: str | None = None
    columns: list[str] = []
    types: list[str] = []
    volatility = "volatile"
    language = None
    for prop in properties.expressions if properties else []:
        if isinstance(prop, exp.ReturnsProperty):
            returns, columns, types = _returns(prop, namespace, catalog)
        elif isinstance(prop, exp.LanguageProperty):
            language = prop.this.name.lower()
        elif isinstance(prop, exp.StabilityProperty) and prop.name.upper() in _VOLATILITY:
            volatility = prop.name.lower()
        elif isinstance(prop, exp.SqlSecurityProperty) and prop.name.upper() == "INVOKER":
            continue
        else:
            raise NotSupportedError(f"function option {prop.sql('postgres')} is not supported")
    if language != "sql":
        raise NotSupportedError(f"LANGUAGE {language or '(none)'} is not supported (only sql)")
    if returns is None and not columns:
        raise NotSupportedError("a function needs RETURNS")
    return returns, columns, types, volatility


def _returns(
    prop: exp.ReturnsProperty, namespace: str, catalog: Catalog
) -> tuple[str | None, list[str], list[str]]:
    """The RETURNS clause: a scalar type, TABLE (columns) or SETOF a table or type."""
    node = prop.this
    if isinstance(node, exp.DataType):
        declared = node.sql("postgres").lower()
        if declared in ("void", "trigger", "record"):
            raise NotSupportedError(f"RETURNS {declared} is not supported")
        return declared, [], []
    if not isinstance(node, exp.Schema):
        raise NotSupportedError(f"RETURNS {prop.sql('postgres')} is not supported")
    pairs = [(c.name, c.args["kind"].sql("postgres").lower()) for c in node.expressions]
    if len(pairs) == 1 and pairs[0][0] == SETOF_COLUMN:
        element = pairs[0][1].replace('"', "")
        table = catalog.tables.get(element if "." in element else f"{namespace}.{element}")
        if table is None:
            return None, [], [element]  # SETOF a base type: one column named by the function
        return None, table.column_names(), [c.type for c in table.columns]
    return None, [p[0] for p in pairs], [p[1] for p in pairs]


def _body(statement: exp.Create) -> exp.Query:
    """The function's query: one SELECT (or VALUES), from a dollar-quoted or string body."""
    body = statement.expression
    text = body.this if isinstance(body, exp.Heredoc | exp.Literal) else None
    if not isinstance(text, str):
        raise NotSupportedError("a SQL function needs its body as a string")
    parsed = [s for s in sqlglot.parse(text.strip().rstrip(";"), read=BkgPostgres) if s is not None]
    if len(parsed) != 1 or not isinstance(parsed[0], exp.Query):
        raise NotSupportedError("a SQL function's body must be one query (SELECT)")
    return parsed[0]


def _parameters_to_numbers(
    query: exp.Query, name: str, arguments: list[Argument], catalog: Catalog, namespace: str
) -> exp.Query:
    """References to named parameters as ``$n`` (columns of the tables read win)."""
    positions = {a.name: i for i, a in enumerate(arguments, 1) if a.name}
    if not positions:
        return query
    local = cte_names(query)
    in_scope: set[str] = set()
    for table in query.find_all(exp.Table):
        if not table.name or table.name.lower() in local:
            continue
        logical = logical_name(table, namespace)
        if logical in catalog.tables:
            in_scope.update(c.lower() for c in catalog.tables[logical].column_names())
        elif logical in catalog.views:
            in_scope.update(c.lower() for c in catalog.views[logical].columns)
    short = name.split(".", 1)[1]
    for column in list(query.find_all(exp.Column)):
        qualifier = column.table.lower()
        position = positions.get(column.name.lower())
        if position is None or (qualifier and qualifier != short):
            continue
        if qualifier or column.name.lower() not in in_scope:
            column.replace(exp.Parameter(this=exp.Literal.number(position)))
    return query


def _normalised_sql(function: FunctionDef) -> str:
    """The logged statement: the definition as it is stored."""
    arguments = ", ".join(f"{a.name} {a.type}" if a.name else a.type for a in function.arguments)
    return (
        f"CREATE OR REPLACE FUNCTION {function.name}({arguments}) RETURNS "
        f"{function.return_type} LANGUAGE sql {function.volatility.upper()} "
        f"SECURITY INVOKER AS $$ {function.sql} $$"
    )
