"""SQL fragments from the typed query: every name checked against the catalogue and quoted,
every value a bound parameter, casts only to known type names, JSON path keys as
validated literals (the engine's JSON paths take no parameters).

The SQL is the Postgres dialect `/query` accepts; it runs through the same engine, so the
namespace and row-level-security rewrite and the authorizer apply to it as to any statement.
"""

from __future__ import annotations

from typing import Any

from api.rest.ast import Condition, Field, Filter, Logic
from api.rest.coerce import typed_value
from api.rest.errors import RestError, unknown_column
from api.sql import TableDef
from api.sql.catalog import ColumnDef

CASTS = frozenset(
    {
        "text",
        "varchar",
        "char",
        "int",
        "int2",
        "int4",
        "int8",
        "integer",
        "smallint",
        "bigint",
        "real",
        "float4",
        "float8",
        "double precision",
        "numeric",
        "decimal",
        "bool",
        "boolean",
        "json",
        "jsonb",
        "date",
        "time",
        "timestamp",
        "timestamptz",
        "uuid",
    }
)
COMPARISONS = {"eq": "=", "neq": "<>", "gt": ">", "gte": ">=", "lt": "<", "lte": "<="}
IS_SQL = {
    "null": "IS NULL",
    "not_null": "IS NOT NULL",
    "true": "IS TRUE",
    "false": "IS FALSE",
    "unknown": "IS NULL",
}
UNSUPPORTED = {
    "cs": "containment (cs, cd, ov) on columns other than arrays and jsonb",
    "cd": "containment (cs, cd, ov) on columns other than arrays and jsonb",
    "ov": "containment (cs, cd, ov) on columns other than arrays",
}
ARRAY_SQL = {"cs": "@>", "cd": "<@", "ov": "&&"}
REGEX_SQL = {"match": "~", "imatch": "~*"}
TEXT_SEARCH_SQL = {
    "fts": "to_tsquery",
    "plfts": "plainto_tsquery",
    "phfts": "phraseto_tsquery",
    "wfts": "websearch_to_tsquery",
}


class Params:
    """The bound values of one statement, numbered `$1`, `$2`, ... as they are added."""

    def __init__(self) -> None:
        self.values: list[Any] = []

    def add(self, value: Any) -> str:
        self.values.append(value)
        return f"${len(self.values)}"


def quote(name: str) -> str:
    """A double-quoted identifier (the name comes from the catalogue)."""
    return '"' + name.replace('"', '""') + '"'


def table_sql(table: TableDef) -> str:
    return f"{quote(table.schema)}.{quote(table.short_name)}"


def column(table: TableDef, name: str) -> ColumnDef:
    """The column called exactly `name`; 42703 otherwise."""
    found = next((c for c in table.columns if c.name == name), None)
    if found is None:
        raise unknown_column(table.short_name, name)
    return found


def field_sql(table: TableDef, alias: str | None, field: Field) -> str:
    """`"t0"."data"->'a'->>'b'`: the column checked, the keys as literals (no alias: the
    bare column, as INSERT ... RETURNING and a write's WHERE want it)."""
    sql = quote(column(table, field.name).name)
    if alias is not None:
        sql = f"{quote(alias)}.{sql}"
    for step in field.path:
        key = step.key if _is_index(step.key) else "'" + step.key.replace("'", "''") + "'"
        sql += f"{step.op}{key}"
    return sql


def _is_index(key: str) -> bool:
    digits = key[1:] if key.startswith("-") else key
    return digits.isdigit() and digits.isascii() and len(digits) < 10


def cast_sql(expression: str, cast: str | None) -> str:
    """`expr::type` for a type of the allow-list; 42704 for any other."""
    if cast is None:
        return expression
    if cast not in CASTS:
        raise RestError(400, "42704", f'type "{cast}" does not exist')
    return f"CAST({expression} AS {cast.upper()})"


def label_of(field: Field, alias: str | None) -> str:
    """The key a selected field is returned under: its alias, else the last JSON key,
    else the column name (as PostgREST names them)."""
    if alias:
        return alias
    return field.path[-1].key if field.path else field.name


def condition_sql(table: TableDef, alias: str | None, condition: Condition, params: Params) -> str:
    """One condition of a WHERE clause (`and`/`or` trees recursively)."""
    if isinstance(condition, Logic):
        joiner = f" {condition.op.upper()} "
        inner = joiner.join(condition_sql(table, alias, c, params) for c in condition.children)
        return f"NOT ({inner})" if condition.negated else f"({inner})"
    sql = _filter_sql(table, alias, condition, params)
    return f"NOT ({sql})" if condition.negated else sql


def _filter_sql(table: TableDef, alias: str | None, flt: Filter, params: Params) -> str:
    target = field_sql(table, alias, flt.field)
    op = flt.op
    if op in ARRAY_SQL:
        found = _containment_sql(table, target, flt, params)
        if found is not None:
            return found
    if op in UNSUPPORTED:
        raise RestError(
            501,
            "0A000",
            f"operator {op} is not supported",
            f"bkg-db does not implement {UNSUPPORTED[op]}",
        )
    if op in COMPARISONS:
        return f"{target} {COMPARISONS[op]} {params.add(_typed(table, flt, flt.value))}"
    if op in ("like", "ilike"):
        pattern = params.add(flt.value.replace("*", "%"))
        return f"{target} {op.upper()} {pattern}"
    if op in REGEX_SQL:
        return f"{target} {REGEX_SQL[op]} {params.add(flt.value)}"
    if op in TEXT_SEARCH_SQL:
        return _text_search_sql(target, flt, params)
    if op == "is":
        return f"{target} {IS_SQL[flt.value.lower()]}"
    if op == "isdistinct":
        return f"{target} IS DISTINCT FROM {params.add(_typed(table, flt, flt.value))}"
    if not flt.values:
        return "1 = 0"
    values = ", ".join(params.add(_typed(table, flt, v)) for v in flt.values)
    return f"{target} IN ({values})"


def _containment_sql(table: TableDef, target: str, flt: Filter, params: Params) -> str | None:
    """``cs``/``cd``/``ov`` on an array column (the value is an array literal, ``{a,b}``)
    and ``cs``/``cd`` on a json/jsonb column (the value is JSON); None for other columns."""
    if flt.field.path:
        return None
    declared = column(table, flt.field.name).type.strip().lower()
    if declared.endswith("[]"):
        value = f"CAST({params.add(flt.value)} AS {declared})"
        return f"{target} {ARRAY_SQL[flt.op]} {value}"
    if declared in ("json", "jsonb") and flt.op != "ov":
        value = f"CAST({params.add(flt.value)} AS jsonb)"
        return f"{target} {ARRAY_SQL[flt.op]} {value}"
    return None


def _text_search_sql(target: str, flt: Filter, params: Params) -> str:
    """``fts``/``plfts``/``phfts``/``wfts[(config)]``: the column's text as a vector matched
    with the query function PostgREST uses for each."""
    config = f"{params.add(flt.modifier)}, " if flt.modifier else ""
    query = f"{TEXT_SEARCH_SQL[flt.op]}({config}{params.add(flt.value)})"
    return f"to_tsvector({config}{target}) @@ {query}"


def _typed(table: TableDef, flt: Filter, text: str) -> Any:
    """A value compared with a column as the column's type; with a JSON path, text."""
    if flt.field.path:
        return text
    return typed_value(column(table, flt.field.name), text)


def where_sql(parts: list[str]) -> str:
    return f" WHERE {' AND '.join(parts)}" if parts else ""


def keys_match_sql(
    alias: str, columns: tuple[str, ...], keys: list[tuple[Any, ...]], params: Params
) -> str:
    """Rows whose `columns` equal one of the `keys` (a tuple per row)."""
    if len(columns) == 1:
        quoted = f"{quote(alias)}.{quote(columns[0])}"
        return f"{quoted} IN ({', '.join(params.add(k[0]) for k in keys)})"
    rows = [
        "("
        + " AND ".join(
            f"{quote(alias)}.{quote(c)} = {params.add(v)}"
            for c, v in zip(columns, key, strict=True)
        )
        + ")"
        for key in keys
    ]
    return "(" + " OR ".join(rows) + ")"


def join_sql(
    child_alias: str,
    child_columns: tuple[str, ...],
    parent_alias: str,
    parent_columns: tuple[str, ...],
) -> str:
    """The child's key columns equal the parent's."""
    return " AND ".join(
        f"{quote(child_alias)}.{quote(c)} = {quote(parent_alias)}.{quote(p)}"
        for c, p in zip(child_columns, parent_columns, strict=True)
    )
