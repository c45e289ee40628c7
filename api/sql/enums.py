"""Enum types: ``CREATE TYPE name AS ENUM (...)``, ``DROP TYPE``, columns of enum types.

An enum column is stored as TEXT with a CHECK that the value is one of the labels, so SQLite
refuses any other value on every path; literals are checked when a statement is translated
(22P02, as Postgres reports a bad label). Values order by the labels' declared order, as in
Postgres: comparisons and ORDER BY on an enum column compare label positions.
"""

from __future__ import annotations

from sqlglot import exp

from api.sql.catalog import Catalog, TableDef
from api.sql.errors import (
    ConflictError,
    NotFoundError,
    NotSupportedError,
    SqlValidationError,
    with_sqlstate,
)
from api.sql.parse import StatementInfo, logical_name
from api.sql.typemap import family_of

_COMPARISONS = (exp.GT, exp.GTE, exp.LT, exp.LTE)
_PASSED_THROUGH = frozenset(
    {"oid", "name", "xid", "cid", "tid", "unknown", "anyelement", "char", "int2vector", "oidvector"}
)


def plan_create_type(
    statement: exp.Create, info: StatementInfo, catalog: Catalog
) -> list[dict[str, object]]:
    """CREATE TYPE name AS ENUM ('label', ...)."""
    enum = statement.expression
    if not isinstance(enum, exp.DataType) or enum.this != exp.DType.ENUM:
        raise NotSupportedError("CREATE TYPE is supported for enums only")
    if not isinstance(statement.this, exp.Table):
        raise NotSupportedError("CREATE TYPE needs a name")
    name = logical_name(statement.this, info.namespace)
    if name.split(".", 1)[0] not in catalog.schemas:
        raise NotFoundError(f"schema {name.split('.', 1)[0]} does not exist")
    if name in catalog.enums:
        raise with_sqlstate(ConflictError(f"type {name} already exists"), "42710")
    labels = [str(e.this) for e in enum.expressions if isinstance(e, exp.Literal)]
    if len(labels) != len(enum.expressions) or len(set(labels)) != len(labels):
        error = SqlValidationError("enum labels must be distinct string literals")
        raise with_sqlstate(error, "42710")
    quoted = ", ".join(exp.Literal.string(label).sql("postgres") for label in labels)
    return [_change("create_type", name, f"CREATE TYPE {name} AS ENUM ({quoted})", labels)]


def plan_drop_type(
    statement: exp.Drop, info: StatementInfo, catalog: Catalog
) -> list[dict[str, object]]:
    """DROP TYPE [IF EXISTS] name; refused while a column has the type (2BP01)."""
    tables = statement.args.get("tables") or []
    if len(tables) != 1:
        raise NotSupportedError("DROP TYPE of several types is not supported")
    name = logical_name(tables[0], info.namespace)
    if name not in catalog.enums:
        if statement.args.get("exists"):
            return []
        raise with_sqlstate(NotFoundError(f"type {name} does not exist"), "42704")
    for table in catalog.tables.values():
        if any(c.type == name for c in table.columns):
            error = ConflictError(f"cannot drop type {name}: a column of {table.name} uses it")
            raise with_sqlstate(error, "2BP01")
    return [_change("drop_type", name, f"DROP TYPE {name}", None)]


def enum_name(kind: exp.DataType, namespace: str, catalog: Catalog) -> str | None:
    """The catalogued enum a declared column type names, if it is one."""
    if kind.this != exp.DType.USERDEFINED:
        return None
    named = kind.args.get("kind")
    text = named.sql("postgres").replace('"', "").lower() if named is not None else ""
    name = text if "." in text else f"{namespace}.{text}"
    return name if name in catalog.enums else None


def label_check(column: str, labels: list[str]) -> str:
    """The CHECK (Postgres text) that keeps an enum column's values among its labels."""
    quoted = ", ".join(exp.Literal.string(label).sql("postgres") for label in labels)
    return f"{exp.to_identifier(column).sql('postgres')} IN ({quoted})"


def rewrite_enums(
    expression: exp.Expr, scope: dict[str, TableDef], catalog: Catalog, namespace: str
) -> None:
    """Casts to enums checked, comparisons and ORDER BY by label position (in place); a cast
    to a type that does not exist is 42704."""
    for cast in list(expression.find_all(exp.Cast)):
        if cast.to.this != exp.DType.USERDEFINED:
            continue
        name = enum_name(cast.to, namespace, catalog)
        if name is None:
            _check_known_type(cast.to, catalog)
            continue
        value = cast.this
        if isinstance(value, exp.Literal):
            _check_label(name, value.this, catalog)
        cast.replace(value.copy())
    if not catalog.enums:
        return
    for comparison in list(expression.find_all(*_COMPARISONS)):
        _compare_positions(comparison, scope, catalog)
    for ordered in list(expression.find_all(exp.Ordered)):
        labels = _labels_of(ordered.this, scope, catalog)
        if labels is not None:
            ordered.set("this", _position(ordered.this, labels))


def check_assigned_labels(pairs: list[tuple[str, exp.Expr]], catalog: Catalog) -> None:
    """String literals written to enum columns must be labels (22P02)."""
    for type_name, node in pairs:
        if type_name in catalog.enums and isinstance(node, exp.Literal) and node.is_string:
            _check_label(type_name, node.this, catalog)


def _check_known_type(kind: exp.DataType, catalog: Catalog) -> None:
    """A cast to a user-defined type names an enum, or one of the system types SQLite passes
    through (``regclass``, ``pg_*``, ``information_schema.*``, which Postgres tools send)."""
    named = kind.args.get("kind")
    text = named.sql("postgres").replace('"', "").lower() if named is not None else ""
    schema, _, base = text.rpartition(".")
    system = base.startswith(("reg", "pg_")) or base in _PASSED_THROUGH
    if system or family_of(base) is not None or (schema and schema not in catalog.schemas):
        return
    raise with_sqlstate(NotFoundError(f"type {text} does not exist"), "42704")


def _check_label(name: str, value: str, catalog: Catalog) -> None:
    if value not in catalog.enums[name]:
        short = name.split(".", 1)[1]
        error = SqlValidationError(f'invalid input value for enum {short}: "{value[:60]}"')
        raise with_sqlstate(error, "22P02")


def _labels_of(node: exp.Expr, scope: dict[str, TableDef], catalog: Catalog) -> list[str] | None:
    if not isinstance(node, exp.Column):
        return None
    tables = [scope[node.table.lower()]] if node.table and node.table.lower() in scope else []
    for table in tables or list(scope.values()):
        column = table.column(node.name)
        if column is not None:
            return catalog.enums.get(column.type)
    return None


def _position(node: exp.Expr, labels: list[str]) -> exp.Expr:
    return exp.Case(
        this=node.copy(),
        ifs=[
            exp.If(this=exp.Literal.string(label), true=exp.Literal.number(position))
            for position, label in enumerate(labels)
        ],
    )


def _compare_positions(comparison: exp.Expr, scope: dict[str, TableDef], catalog: Catalog) -> None:
    left, right = comparison.this, comparison.expression
    labels = _labels_of(left, scope, catalog) or _labels_of(right, scope, catalog)
    if labels is None:
        return
    for side in (left, right):
        if isinstance(side, exp.Literal) and side.is_string:
            if side.this not in labels:
                error = SqlValidationError(f'invalid input value for enum: "{side.this[:60]}"')
                raise with_sqlstate(error, "22P02")
            side.replace(exp.Literal.number(labels.index(side.this)))
        elif isinstance(side, exp.Column):
            side.replace(_position(side, labels))


def _change(action: str, name: str, text: str, labels: list[str] | None) -> dict[str, object]:
    return {
        "op": "ddl",
        "table": name,
        "action": action,
        "sql": text,
        "sqlite": [],
        "definition": {"name": name, "labels": labels} if labels is not None else None,
    }
