"""The SQL catalogue: declared Postgres tables, persisted inside the projection database.

The catalogue is a fold of DDL changes (see ``projections.apply``), so rebuilding the
projection from the log rebuilds it too.  ``Catalog.load`` reads it; loaded catalogues are
cached by catalogue token, which changes with every DDL change.
"""

from __future__ import annotations

import functools
import json
import sqlite3
from dataclasses import asdict, dataclass, field, replace
from typing import Any

from api.sql.errors import NotFoundError
from api.sql.functions import FunctionDef
from api.sql.lru import LRU
from projections.apply import (
    CATALOG_TABLE,
    DEFAULT_NAMESPACE,
    META_TABLE,
    TOKEN_KEY,
    rowid_alias,
)
from projections.store import Snapshot


@dataclass(frozen=True)
class ColumnDef:
    """One column: declared Postgres type, SQLite storage type and constraints (Postgres SQL)."""

    name: str
    type: str
    affinity: str
    nullable: bool = True
    primary_key: bool = False
    default: str | None = None
    unique: bool = False
    check: str | None = None
    references: str | None = None
    on_delete: str | None = None


@dataclass(frozen=True)
class IndexDef:
    """A secondary index; ``name`` is logical (``ns.idx``)."""

    name: str
    columns: list[str]
    unique: bool = False


@dataclass(frozen=True)
class TableDef:
    """A table as declared; ``constraints`` are table-level constraints in Postgres SQL."""

    name: str
    columns: list[ColumnDef]
    indexes: list[IndexDef] = field(default_factory=list)
    constraints: list[str] = field(default_factory=list)
    rls_enabled: bool = False

    def to_dict(self) -> dict[str, Any]:
        """The JSON-able form carried in DDL changes and stored in the catalogue."""
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> TableDef:
        """Inverse of ``to_dict``."""
        return cls(
            name=data["name"],
            columns=[ColumnDef(**c) for c in data["columns"]],
            indexes=[IndexDef(**i) for i in data.get("indexes", [])],
            constraints=list(data.get("constraints", [])),
            rls_enabled=bool(data.get("rls_enabled", False)),
        )

    @property
    def schema(self) -> str:
        """The namespace part of the logical name."""
        return self.name.split(".", 1)[0]

    @property
    def short_name(self) -> str:
        """The table part of the logical name."""
        return self.name.split(".", 1)[1]

    def column(self, name: str) -> ColumnDef | None:
        """Column by name, case-insensitively (as SQLite resolves them)."""
        lowered = name.lower()
        return next((c for c in self.columns if c.name.lower() == lowered), None)

    def column_names(self) -> list[str]:
        """Column names in table order."""
        return [c.name for c in self.columns]

    def primary_key(self) -> list[str]:
        """Primary key columns in table order (empty when the table has none)."""
        return [c.name for c in self.columns if c.primary_key]

    @functools.cached_property
    def rowid_alias(self) -> str | None:
        """The INTEGER PRIMARY KEY column, which is SQLite's rowid (same rule as replay's)."""
        keys = [
            {"name": c.name, "primary_key": c.primary_key, "affinity": c.affinity}
            for c in self.columns
        ]
        return rowid_alias({"columns": keys})

    @functools.cached_property
    def autoincrement(self) -> bool:
        """True when the key is a serial column (SQLite AUTOINCREMENT)."""
        column = self.column(self.rowid_alias) if self.rowid_alias else None
        return column is not None and column.type.endswith("serial")

    def with_columns(self, columns: list[ColumnDef]) -> TableDef:
        """Copy with a new column list."""
        return replace(self, columns=columns)


@dataclass(frozen=True)
class ViewDef:
    """A view: its query in Postgres SQL with every table name schema-qualified (so it reads
    the same tables whoever's namespace it is used from) and its output column names."""

    name: str
    sql: str
    columns: list[str]

    def to_dict(self) -> dict[str, Any]:
        """The JSON-able form carried in DDL changes and stored in the catalogue."""
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ViewDef:
        """Inverse of ``to_dict``."""
        return cls(name=data["name"], sql=data["sql"], columns=list(data["columns"]))

    @property
    def schema(self) -> str:
        """The namespace part of the logical name."""
        return self.name.split(".", 1)[0]

    @property
    def short_name(self) -> str:
        """The view part of the logical name."""
        return self.name.split(".", 1)[1]


@dataclass(frozen=True)
class Catalog:
    """All schemas, tables and views at one catalogue token."""

    token: str
    schemas: frozenset[str]
    tables: dict[str, TableDef]
    views: dict[str, ViewDef] = field(default_factory=dict)
    functions: dict[str, FunctionDef] = field(default_factory=dict)
    sequences: frozenset[str] = frozenset()
    enums: dict[str, list[str]] = field(default_factory=dict)

    @classmethod
    def load(cls, conn: sqlite3.Connection) -> Catalog:
        """Read the catalogue from ``conn`` (cached by token)."""
        token = current_token(conn)
        cached = _CACHE.get(token)
        if cached is not None:
            return cached
        rows = conn.execute(f"SELECT kind, name, definition FROM {CATALOG_TABLE}").fetchall()
        schemas = frozenset(name for kind, name, _ in rows if kind == "schema")
        tables = {
            name: TableDef.from_dict(json.loads(text))
            for kind, name, text in rows
            if kind == "table"
        }
        views = {
            name: ViewDef.from_dict(json.loads(text)) for kind, name, text in rows if kind == "view"
        }
        functions = {
            name: FunctionDef.from_dict(json.loads(text))
            for kind, name, text in rows
            if kind == "function"
        }
        sequences = frozenset(name for kind, name, _ in rows if kind == "sequence")
        enums = {
            name: list(json.loads(text)["labels"]) for kind, name, text in rows if kind == "type"
        }
        schemas = schemas | {DEFAULT_NAMESPACE}
        catalog = cls(token, schemas, tables, views, functions, sequences, enums)
        _CACHE.put(token, catalog)
        return catalog

    def table(self, logical: str) -> TableDef:
        """The table named ``ns.t``; NotFoundError when it does not exist."""
        found = self.tables.get(logical)
        if found is None:
            raise NotFoundError(f"table {logical} does not exist")
        return found

    def relation_exists(self, logical: str) -> bool:
        """Whether a table or a view is called ``ns.name`` (they share one name space)."""
        return logical in self.tables or logical in self.views

    def index_owner(self, logical_index: str) -> TableDef | None:
        """The table owning index ``ns.idx``, if any."""
        for table in self.tables.values():
            if any(i.name == logical_index for i in table.indexes):
                return table
        return None


_CACHE: LRU[str, Catalog] = LRU(64)
_MEMO_KEY = "sql.catalog"


def snapshot_catalog(snapshot: Snapshot) -> Catalog:
    """The catalogue a pooled snapshot sees, read once per read transaction: the snapshot
    forgets it when the transaction ends, and a DDL change is a commit that ends it, so
    the next read after a DDL sees the new catalogue. This saves the token lookup that
    `Catalog.load` costs on every statement."""
    if not snapshot.conn.in_transaction:
        return Catalog.load(snapshot.conn)
    return memo_catalog(snapshot.conn, snapshot.memo)


def memo_catalog(conn: sqlite3.Connection, memo: dict[str, object]) -> Catalog:
    """The catalogue ``conn`` sees, kept in ``memo`` (the write connection's
    `ProjectionStore.write_memo`, a snapshot's `memo`) until its owner empties it, which it
    must do whenever the catalogue may have changed: after DDL, a rollback or a replay."""
    found = memo.get(_MEMO_KEY)
    if isinstance(found, Catalog):
        return found
    catalog = Catalog.load(conn)
    memo[_MEMO_KEY] = catalog
    return catalog


def current_token(conn: sqlite3.Connection) -> str:
    """Catalogue token of ``conn``; NotFoundError if the internal tables are missing."""
    try:
        row = conn.execute(f"SELECT value FROM {META_TABLE} WHERE key = ?", (TOKEN_KEY,)).fetchone()
    except sqlite3.OperationalError as exc:
        raise NotFoundError("the SQL catalogue is not initialised") from exc
    return str(row[0]) if row else "0"
