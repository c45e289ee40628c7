"""Sequences: CREATE SEQUENCE / DROP SEQUENCE planning and the names in nextval() calls.

A sequence is a one-row table holding its state (see ``projections.sequences``), created and
dropped by DDL changes that carry its SQLite statements, so replay recreates it; every
``nextval``/``setval`` step updates the row and is logged as a row image. Calls name the
sequence by a string literal, resolved against the caller's namespace when the statement is
translated (a column default when the table is created), so the function always gets the
schema-qualified name.
"""

from __future__ import annotations

from sqlglot import exp

from api.sql.catalog import Catalog, ColumnDef, TableDef
from api.sql.errors import (
    ConflictError,
    NotFoundError,
    NotSupportedError,
    SqlValidationError,
    with_sqlstate,
)
from api.sql.parse import StatementInfo, logical_name
from projections.apply import quote_ident
from projections.sequences import COLUMNS

SEQUENCE_FUNCTIONS = ("nextval", "currval", "setval")
_MAX = 9223372036854775807


def qualify_sequence_calls(expression: exp.Expr, namespace: str, catalog: Catalog) -> None:
    """Give every nextval/currval/setval call the sequence's schema-qualified name."""
    for call in list(expression.find_all(exp.Anonymous)):
        if call.name.lower() not in SEQUENCE_FUNCTIONS or not call.expressions:
            continue
        argument = call.expressions[0]
        while isinstance(argument, exp.Cast):
            argument = argument.this  # 'seq'::regclass
        if not isinstance(argument, exp.Literal) or not argument.is_string:
            raise NotSupportedError(f"{call.name.lower()} needs the sequence's name as a string")
        name = argument.this.lower()
        logical = name if "." in name else f"{namespace}.{name}"
        if logical not in catalog.sequences:
            error = NotFoundError(f"relation {name} does not exist")
            raise with_sqlstate(error, "42P01")
        call.expressions[0].replace(exp.Literal.string(logical))


def plan_create_sequence(
    statement: exp.Create, info: StatementInfo, catalog: Catalog
) -> list[dict[str, object]]:
    """CREATE SEQUENCE [IF NOT EXISTS] name [START [WITH] n] [INCREMENT [BY] n] [MINVALUE n]
    [MAXVALUE n] [CYCLE]."""
    if not isinstance(statement.this, exp.Table):
        raise NotSupportedError("CREATE SEQUENCE needs a name")
    name = logical_name(statement.this, info.namespace)
    if name.split(".", 1)[0] not in catalog.schemas:
        raise NotFoundError(f"schema {name.split('.', 1)[0]} does not exist")
    if catalog.relation_exists(name):
        if statement.args.get("exists"):
            return []
        raise with_sqlstate(ConflictError(f"relation {name} already exists"), "42P07")
    start, step, low, high, cycle = _options(statement)
    columns = [ColumnDef(c, "bigint", "INTEGER", nullable=False) for c in COLUMNS]
    definition = TableDef(name, columns)
    table = quote_ident(name)
    body = ", ".join(f"{quote_ident(c)} INTEGER NOT NULL" for c in COLUMNS)
    sqlite = [
        f"CREATE TABLE {table} ({body}) STRICT",
        f"INSERT INTO {table} VALUES ({start}, {start}, {step}, {low}, {high}, {cycle}, 0)",
    ]
    text = (
        f"CREATE SEQUENCE {name} START WITH {start} INCREMENT BY {step} MINVALUE {low}"
        f" MAXVALUE {high}{' CYCLE' if cycle else ''}"
    )
    return [_change("create_sequence", name, text, sqlite, definition)]


def plan_drop_sequence(
    statement: exp.Drop, info: StatementInfo, catalog: Catalog
) -> list[dict[str, object]]:
    """DROP SEQUENCE [IF EXISTS] name; refused while a column default uses it (2BP01)."""
    tables = statement.args.get("tables") or []
    if len(tables) != 1:
        raise NotSupportedError("DROP SEQUENCE of several sequences is not supported")
    name = logical_name(tables[0], info.namespace)
    if name not in catalog.sequences:
        if statement.args.get("exists"):
            return []
        raise with_sqlstate(NotFoundError(f"sequence {name} does not exist"), "42P01")
    for table in catalog.tables.values():
        if any(c.default and f"'{name}'" in c.default for c in table.columns):
            error = ConflictError(f"cannot drop sequence {name}: a default of {table.name} uses it")
            raise with_sqlstate(error, "2BP01")
    sqlite = [f"DROP TABLE {quote_ident(name)}"]
    return [_change("drop_sequence", name, f"DROP SEQUENCE {name}", sqlite, None)]


def _options(statement: exp.Create) -> tuple[int, int, int, int, int]:
    """(start, increment, minvalue, maxvalue, cycle) with Postgres's defaults."""
    properties = statement.args.get("properties")
    found: dict[str, int] = {}
    cycle = 0
    for prop in properties.expressions if properties else []:
        if not isinstance(prop, exp.SequenceProperties):
            raise NotSupportedError(f"sequence option {prop.sql('postgres')} is not supported")
        for key in ("start", "increment", "minvalue", "maxvalue"):
            value = prop.args.get(key)
            if value is not None:
                found[key] = _integer(value)
        for option in prop.args.get("options") or []:
            if option.name.upper() != "CYCLE":
                raise NotSupportedError(f"sequence option {option.sql('postgres')}")
            cycle = 1
        for key in ("cache", "owned"):
            if prop.args.get(key) is not None:
                raise NotSupportedError(f"sequence option {key.upper()} is not supported")
    step = found.get("increment", 1)
    if step == 0:
        raise with_sqlstate(SqlValidationError("INCREMENT must not be zero"), "22023")
    low = found.get("minvalue", 1 if step > 0 else -_MAX)
    high = found.get("maxvalue", _MAX if step > 0 else -1)
    start = found.get("start", low if step > 0 else high)
    if not low <= start <= high:
        error = SqlValidationError(f"START value ({start}) must be between {low} and {high}")
        raise with_sqlstate(error, "22023")
    return start, step, low, high, cycle


def _integer(node: exp.Expr) -> int:
    """An integer option value (possibly negative)."""
    negative = isinstance(node, exp.Neg)
    inner = node.this if negative else node
    if not isinstance(inner, exp.Literal) or inner.is_string:
        raise NotSupportedError(f"sequence option value {node.sql('postgres')}")
    value = int(inner.this)
    return -value if negative else value


def _change(
    action: str, name: str, text: str, sqlite: list[str], definition: TableDef | None
) -> dict[str, object]:
    return {
        "op": "ddl",
        "table": name,
        "action": action,
        "sql": text,
        "sqlite": sqlite,
        "definition": definition.to_dict() if definition else None,
    }
