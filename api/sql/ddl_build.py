"""Build catalogue definitions and SQLite DDL text from parsed Postgres DDL."""

from __future__ import annotations

from typing import Any

from sqlglot import exp

from api.sql.catalog import Catalog, ColumnDef, TableDef
from api.sql.enums import enum_name, label_check
from api.sql.errors import (
    LimitExceededError,
    NotFoundError,
    NotSupportedError,
    with_sqlstate,
)
from api.sql.parse import logical_name
from api.sql.sequences import qualify_sequence_calls
from api.sql.translate import generate, parse_fragment
from api.sql.typemap import lookup
from projections.apply import quote_ident

Change = dict[str, Any]
MAX_COLUMNS = 1600
"""Columns per table, as in Postgres; the capture of a table's row images is as wide."""
_FK_ACTIONS = ("CASCADE", "SET NULL", "SET DEFAULT", "RESTRICT", "NO ACTION")


def check_width(table: str, columns: int) -> None:
    """Refuse a table of more than MAX_COLUMNS columns (Postgres: SQLSTATE 54011)."""
    if columns > MAX_COLUMNS:
        error = LimitExceededError(
            f"tables can have at most {MAX_COLUMNS} columns ({table} would have {columns})",
            {"limit": "columns_per_table", "value": MAX_COLUMNS},
        )
        raise with_sqlstate(error, "54011")


def column_def(node: exp.ColumnDef, namespace: str, catalog: Catalog) -> ColumnDef:
    """A ColumnDef from a parsed column definition; unsupported constraints are refused."""
    kind = node.args.get("kind")
    if not isinstance(kind, exp.DataType):
        raise NotSupportedError(f"column {node.name} needs a type")
    enum = enum_name(kind, namespace, catalog)
    declared = enum or kind.sql("postgres").lower()
    affinity = "TEXT" if enum else lookup(declared).affinity
    fields: dict[str, Any] = {"nullable": True}
    for constraint in node.constraints:
        _column_constraint(constraint.kind, fields, namespace, catalog)
    if fields.pop("identity", False):
        declared, affinity = _identity_type(node.name, declared, fields), "INTEGER"
    if enum is not None:
        check = label_check(node.name, catalog.enums[enum])
        fields["check"] = f"({fields['check']}) AND ({check})" if fields.get("check") else check
    if fields.get("primary_key"):
        fields["nullable"] = False
    return ColumnDef(name=node.name, type=declared, affinity=affinity, **fields)


def _column_constraint(
    kind: exp.Expr, fields: dict[str, Any], namespace: str, catalog: Catalog
) -> None:
    """Record one column constraint in ``fields``."""
    if isinstance(kind, exp.NotNullColumnConstraint):
        fields["nullable"] = bool(kind.args.get("allow_null"))
    elif isinstance(kind, exp.PrimaryKeyColumnConstraint):
        fields["primary_key"] = True
    elif isinstance(kind, exp.UniqueColumnConstraint):
        fields["unique"] = True
    elif isinstance(kind, exp.DefaultColumnConstraint):
        default = kind.this.copy()
        qualify_sequence_calls(default, namespace, catalog)
        fields["default"] = default.sql("postgres")
    elif isinstance(kind, exp.CheckColumnConstraint):
        fields["check"] = kind.this.sql("postgres")
    elif isinstance(kind, exp.GeneratedAsIdentityColumnConstraint) and kind.this is not None:
        fields["identity"] = True
    elif isinstance(kind, exp.Reference):
        target, column, on_delete = reference_parts(kind, namespace, catalog)
        fields["references"] = f"{target}({column})"
        fields["on_delete"] = on_delete
    else:
        raise NotSupportedError(f"column constraint {kind.sql('postgres')} is not supported")


def _identity_type(name: str, declared: str, fields: dict[str, Any]) -> str:
    """An identity column is its integer type's serial: numbered by the table's counter, as a
    serial primary key is (Postgres numbers it from a sequence of its own)."""
    serial = _IDENTITY_SERIALS.get(declared)
    if serial is None or not fields.get("primary_key"):
        raise NotSupportedError(
            f"identity column {name}: only an integer primary key can be an identity column"
        )
    return serial


_IDENTITY_SERIALS = {
    **dict.fromkeys(("int", "integer", "int4"), "serial"),
    **dict.fromkeys(("bigint", "int8"), "bigserial"),
    **dict.fromkeys(("smallint", "int2"), "smallserial"),
}


def reference_parts(
    reference: exp.Reference, namespace: str, catalog: Catalog
) -> tuple[str, str, str | None]:
    """(logical table, column, ON DELETE action) of a REFERENCES clause."""
    schema = reference.this
    table = schema.this if isinstance(schema, exp.Schema) else schema
    if not isinstance(table, exp.Table):
        raise NotSupportedError("REFERENCES must name a table")
    target = catalog.table(logical_name(table, namespace))
    columns = [c.name for c in schema.expressions] if isinstance(schema, exp.Schema) else []
    if len(columns) > 1:
        raise NotSupportedError("multi-column REFERENCES on a column is not supported")
    column = columns[0] if columns else (target.primary_key() or [""])[0]
    if not column or target.column(column) is None:
        raise with_sqlstate(
            NotFoundError(f"referenced column {target.name}({column}) does not exist"), "42703"
        )
    on_delete = None
    for option in reference.args.get("options") or []:
        text = str(option).upper()
        action = next((a for a in _FK_ACTIONS if text.endswith(a)), None)
        if not text.startswith("ON DELETE") or action is None:
            raise NotSupportedError(f"REFERENCES option {text} is not supported")
        on_delete = action
    return target.name, column, on_delete


def sqlite_column(column: ColumnDef, single_pk: bool, bare_default: bool = False) -> str:
    """SQLite column definition for a STRICT table (ADD COLUMN wants a bare default)."""
    parts = [quote_ident(column.name), column.affinity]
    if column.primary_key and single_pk:
        parts.append("PRIMARY KEY")
        if column.type.endswith("serial"):
            parts.append("AUTOINCREMENT")
    if not column.nullable:
        parts.append("NOT NULL")
    if column.default is not None and not column.type.endswith("serial"):
        value = generate(parse_fragment(column.default).copy())
        parts.append(f"DEFAULT {value}" if bare_default else f"DEFAULT ({value})")
    if column.unique:
        parts.append("UNIQUE")
    for check in type_checks(column):
        parts.append(f"CHECK ({check})")
    if column.check is not None:
        parts.append(f"CHECK ({generate(parse_fragment(column.check).copy())})")
    if column.references is not None:
        parts.append(sqlite_reference(column.references, column.on_delete))
    return " ".join(parts)


def type_checks(column: ColumnDef) -> list[str]:
    """Extra CHECKs enforcing what STRICT typing alone does not (booleans, JSON)."""
    name = quote_ident(column.name)
    base = column.type.split("(", 1)[0]
    if base in ("boolean", "bool"):
        return [f"{name} IN (0, 1)"]
    if base in ("json", "jsonb"):
        return [f"{name} IS NULL OR json_valid({name})"]
    if column.type.strip().endswith("[]"):
        return [f"{name} IS NULL OR (json_valid({name}) AND json_type({name}) = 'array')"]
    return []


def sqlite_reference(references: str, on_delete: str | None) -> str:
    """``REFERENCES "ns.t" ("col") [ON DELETE ...]`` from ``ns.t(col)``."""
    table, column = references[:-1].split("(", 1)
    clause = f"REFERENCES {quote_ident(table)} ({quote_ident(column)})"
    return f"{clause} ON DELETE {on_delete}" if on_delete else clause


def sqlite_create_table(definition: TableDef, constraints: list[str]) -> str:
    """CREATE TABLE for a definition plus already-translated table constraints."""
    pk = definition.primary_key()
    items = [sqlite_column(c, len(pk) == 1) for c in definition.columns]
    if len(pk) > 1:
        items.append("PRIMARY KEY (" + ", ".join(quote_ident(c) for c in pk) + ")")
    items.extend(constraints)
    return f"CREATE TABLE {quote_ident(definition.name)} ({', '.join(items)}) STRICT"


def table_constraint(
    node: exp.Expr, namespace: str, catalog: Catalog
) -> tuple[str, str, list[str] | None]:
    """(Postgres text, SQLite text, primary key columns or None) of a table constraint."""
    if isinstance(node, exp.Constraint):
        inner = node.expressions
        if len(inner) != 1:
            raise NotSupportedError("named constraints with several parts are not supported")
        return table_constraint(inner[0], namespace, catalog)
    if isinstance(node, exp.PrimaryKey):
        return "", "", [e.name for e in node.expressions]
    pg_text = node.sql("postgres")
    if isinstance(node, exp.ForeignKey):
        target, column, on_delete = reference_parts(node.args["reference"], namespace, catalog)
        names = [e.name for e in node.expressions]
        action = f" ON DELETE {on_delete}" if on_delete else ""
        pg_text = f"FOREIGN KEY ({', '.join(names)}) REFERENCES {target}({column}){action}"
        cols = ", ".join(quote_ident(n) for n in names)
        reference = sqlite_reference(f"{target}({column})", on_delete)
        return pg_text, f"FOREIGN KEY ({cols}) {reference}", None
    if isinstance(node, exp.UniqueColumnConstraint | exp.CheckColumnConstraint):
        return pg_text, generate(node.copy()), None
    raise NotSupportedError(f"table constraint {pg_text} is not supported")


def ddl_change(
    action: str, table: str, statement: exp.Expr, sqlite: list[str], definition: TableDef | None
) -> Change:
    """A DDL change record."""
    return {
        "op": "ddl",
        "table": table,
        "action": action,
        "sql": statement.sql("postgres"),
        "sqlite": sqlite,
        "definition": definition.to_dict() if definition else None,
    }


def qualify(statement: exp.Expr, namespace: str) -> exp.Expr:
    """Copy of a DDL statement with every table name schema-qualified (the logged form)."""
    qualified = statement.copy()
    for table in qualified.find_all(exp.Table):
        if table.name and not table.db:
            table.set("db", exp.to_identifier(namespace))
    return qualified


def references_table(definition: TableDef, target: str) -> bool:
    """True when ``definition`` has a foreign key to ``target``."""
    prefix = f"{target}("
    if any(c.references and c.references.startswith(prefix) for c in definition.columns):
        return True
    return any(f"REFERENCES {prefix}" in c for c in definition.constraints)
