"""Replay SQL change records (row images and DDL) onto a projection connection.

The log stores what a statement *did*, never the statement to re-run: inserts, updates
and deletes as full row images with SQLite rowids, DDL as the SQLite statements it ran plus
the resulting table definition.  ``apply_changes`` folds those into a SQLite connection so a
projection rebuilt from the log is byte-for-byte the state the writer produced.

Physical naming (shared with ``api.sql``): the logical table ``ns.tbl`` is the SQLite table
whose name is the single identifier ``"ns.tbl"`` in the one projection database; an index
``ns.idx`` is ``"ns.idx"``.  The SQL catalogue lives in two internal tables created by
``ensure_internal_schema``:

- ``_bkg_sql_catalog(kind, name, definition)``: one row per schema (``kind='schema'``), per
  table (``kind='table'``, ``definition`` = the TableDef as canonical JSON) and per view
  (``kind='view'``, ``definition`` = its query and column names) and per SQL function
  (``kind='function'``: arguments, return type, volatility, query), and per sequence
  (``kind='sequence'``, besides the ``table`` row of the one-row table holding its state);
  per enum type (``kind='type'``, its labels); views and functions
  have no SQLite object: statements inline them where they name them;
- ``_bkg_sql_meta(key, value)``: ``catalog_token``, a hash chained over every catalogue
  change, so a cached catalogue is valid exactly while the token is unchanged (also across a
  rolled-back transaction, because equal tokens mean an equal DDL history).
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

CATALOG_TABLE = "_bkg_sql_catalog"
META_TABLE = "_bkg_sql_meta"
TOKEN_KEY = "catalog_token"
DEFAULT_NAMESPACE = "public"
# Per-connection TEMP objects with which api.sql captures row images (see api/sql/capture.py).
CAPTURE_TABLE = "_bkg_cap"
CAPTURE_STATE = "_bkg_cap_state"
CAPTURE_TRIGGER_PREFIX = "_bkg_cap_"
_ROW_OPS = ("insert", "update", "delete")


def physical_name(logical: str) -> str:
    """SQLite identifier (unquoted) of the logical table or index ``ns.name``."""
    return logical


def quote_ident(name: str) -> str:
    """Quote an identifier for SQLite, doubling embedded quotes."""
    return '"' + name.replace('"', '""') + '"'


def ensure_internal_schema(conn: sqlite3.Connection) -> None:
    """Create the catalogue tables and the ``public`` schema if they are missing."""
    conn.execute(
        f"CREATE TABLE IF NOT EXISTS {CATALOG_TABLE} (kind TEXT NOT NULL, name TEXT NOT NULL,"
        " definition TEXT, PRIMARY KEY (kind, name))"
    )
    conn.execute(
        f"CREATE TABLE IF NOT EXISTS {META_TABLE} (key TEXT PRIMARY KEY, value TEXT NOT NULL)"
    )
    conn.execute(
        f"INSERT OR IGNORE INTO {CATALOG_TABLE} (kind, name, definition) VALUES (?, ?, NULL)",
        ("schema", DEFAULT_NAMESPACE),
    )
    conn.execute(f"INSERT OR IGNORE INTO {META_TABLE} (key, value) VALUES (?, ?)", (TOKEN_KEY, "0"))


def catalog_token(conn: sqlite3.Connection) -> str:
    """The current catalogue token (``"0"`` for a fresh catalogue)."""
    row = conn.execute(f"SELECT value FROM {META_TABLE} WHERE key = ?", (TOKEN_KEY,)).fetchone()
    return str(row[0]) if row else "0"


def apply_changes(conn: sqlite3.Connection, changes: Iterable[Mapping[str, Any]]) -> None:
    """Apply change records in order; the caller owns the transaction.

    Foreign keys are deferred to commit because a statement's row images are replayed one
    row at a time, and only the statement as a whole was checked when it ran.
    """
    if conn.in_transaction:
        conn.execute("PRAGMA defer_foreign_keys = ON")
    batch: list[Mapping[str, Any]] = []
    aliases: dict[str, str | None] = {}
    for change in changes:
        if batch and not _same_insert_shape(batch[0], change):
            _apply_inserts(conn, batch)
            batch = []
        op = change["op"]
        if op == "insert":
            batch.append(change)
        elif op in _ROW_OPS:
            _apply_row(conn, change, aliases)
        elif op == "ddl":
            apply_ddl(conn, change)
            aliases.clear()
        else:
            raise ValueError(f"unknown change op {op!r}")
    if batch:
        _apply_inserts(conn, batch)


def _same_insert_shape(first: Mapping[str, Any], change: Mapping[str, Any]) -> bool:
    """True when ``change`` can join an executemany batch started by ``first``."""
    return (
        change["op"] == "insert"
        and change["table"] == first["table"]
        and bool(change["new"].keys() == first["new"].keys())
    )


def _apply_inserts(conn: sqlite3.Connection, batch: Sequence[Mapping[str, Any]]) -> None:
    """Insert a run of same-shaped row images with their original rowids."""
    first = batch[0]
    cols = list(first["new"])
    names = ", ".join(["rowid", *(quote_ident(c) for c in cols)])
    marks = ", ".join("?" * (len(cols) + 1))
    sql = f"INSERT INTO {quote_ident(physical_name(first['table']))} ({names}) VALUES ({marks})"
    conn.executemany(sql, [(ch["rowid"], *ch["new"].values()) for ch in batch])


def _apply_row(
    conn: sqlite3.Connection, change: Mapping[str, Any], aliases: dict[str, str | None]
) -> None:
    """Apply one update or delete image, addressed by rowid (``aliases`` memoises rowid
    alias columns per table between DDL changes)."""
    name = change["table"]
    if name not in aliases:
        aliases[name] = integer_pk_column(conn, name)
    table = quote_ident(physical_name(name))
    old_rowid = old_rowid_of(change, aliases[name])
    if change["op"] == "delete":
        conn.execute(f"DELETE FROM {table} WHERE rowid = ?", (old_rowid,))
        return
    new = change["new"]
    sets = ", ".join(["rowid = ?", *(f"{quote_ident(c)} = ?" for c in new)])
    conn.execute(
        f"UPDATE {table} SET {sets} WHERE rowid = ?", (change["rowid"], *new.values(), old_rowid)
    )


def old_rowid_of(change: Mapping[str, Any], alias: str | None) -> int:
    """Rowid of the row before an update/delete.

    ``rowid`` in a change is the row's rowid after the change; it differs from the old one
    only when an INTEGER PRIMARY KEY (the rowid alias) was updated, and then the old image
    carries the old value of that column (``alias``).
    """
    old = change["old"]
    if alias is not None and old is not None and isinstance(old.get(alias), int):
        return int(old[alias])
    return int(change["rowid"])


def integer_pk_column(conn: sqlite3.Connection, table: str) -> str | None:
    """Name of the column aliasing the rowid of ``table``, if it has one."""
    definition = load_definition(conn, table)
    if definition is None:
        return None
    return rowid_alias(definition)


def rowid_alias(definition: Mapping[str, Any]) -> str | None:
    """The INTEGER PRIMARY KEY column of a TableDef dict, which SQLite makes the rowid."""
    pks = [c for c in definition["columns"] if c["primary_key"]]
    if len(pks) == 1 and pks[0]["affinity"] == "INTEGER":
        return str(pks[0]["name"])
    return None


def load_definition(conn: sqlite3.Connection, table: str) -> dict[str, Any] | None:
    """The TableDef dict of a logical table from the catalogue, or None."""
    row = conn.execute(
        f"SELECT definition FROM {CATALOG_TABLE} WHERE kind = 'table' AND name = ?", (table,)
    ).fetchone()
    return json.loads(row[0]) if row else None


def drop_capture(conn: sqlite3.Connection) -> None:
    """Remove this connection's row-capture triggers, which DDL must not see (a dropped
    column would break them); they are reinstalled for the new catalogue when needed."""
    stale = conn.execute(
        "SELECT name FROM temp.sqlite_master WHERE type = 'trigger' AND name LIKE ?",
        (CAPTURE_TRIGGER_PREFIX + "%",),
    ).fetchall()
    for (name,) in stale:
        conn.execute(f"DROP TRIGGER temp.{quote_ident(name)}")
    conn.execute(f"DROP TABLE IF EXISTS temp.{CAPTURE_STATE}")


def apply_ddl(conn: sqlite3.Connection, change: Mapping[str, Any]) -> None:
    """Run a DDL change's SQLite statements and record its effect in the catalogue."""
    drop_capture(conn)
    for statement in change["sqlite"]:
        conn.execute(statement)
    action = change["action"]
    table = change["table"]
    definition = change.get("definition")
    if action == "create_schema":
        _put(conn, "schema", table, None)
    elif action == "drop_schema":
        conn.execute(f"DELETE FROM {CATALOG_TABLE} WHERE kind = 'schema' AND name = ?", (table,))
    elif action == "drop_table":
        conn.execute(f"DELETE FROM {CATALOG_TABLE} WHERE kind = 'table' AND name = ?", (table,))
    elif action in _CATALOG_ENTRIES:
        _catalog_entry(conn, action, table, definition)
    else:
        if definition is None:
            raise ValueError(f"{action} change without a definition")
        conn.execute(f"DELETE FROM {CATALOG_TABLE} WHERE kind = 'table' AND name = ?", (table,))
        _put(conn, "table", definition["name"], definition)
    _advance_token(conn, change)


_CATALOG_ENTRIES = {
    "create_view": "view",
    "drop_view": "view",
    "create_function": "function",
    "drop_function": "function",
    "create_type": "type",
    "drop_type": "type",
    "create_sequence": "sequence",
    "drop_sequence": "sequence",
}


def _catalog_entry(conn: sqlite3.Connection, action: str, name: str, definition: Any) -> None:
    """Record a view, function, enum type or sequence (with the one-row table holding its
    state) in the catalogue, or remove it."""
    kind = _CATALOG_ENTRIES[action]
    kinds = ("table", kind) if kind == "sequence" else (kind,)
    if action.startswith("drop_"):
        marks = ", ".join("?" for _ in kinds)
        conn.execute(
            f"DELETE FROM {CATALOG_TABLE} WHERE kind IN ({marks}) AND name = ?", (*kinds, name)
        )
    elif kind == "sequence":
        _put(conn, "table", name, definition)
        _put(conn, "sequence", name, None)
    else:
        _put(conn, kind, name, definition)


def _put(conn: sqlite3.Connection, kind: str, name: str, definition: Any) -> None:
    """Insert or replace one catalogue row."""
    text = None if definition is None else canonical_json(definition)
    conn.execute(
        f"INSERT OR REPLACE INTO {CATALOG_TABLE} (kind, name, definition) VALUES (?, ?, ?)",
        (kind, name, text),
    )


def _advance_token(conn: sqlite3.Connection, change: Mapping[str, Any]) -> None:
    """Chain the catalogue token over this change so equal tokens mean equal catalogues."""
    material = canonical_json(
        [catalog_token(conn), change["action"], change["table"], change.get("definition")]
    )
    token = hashlib.sha256(material.encode()).hexdigest()[:32]
    conn.execute(
        f"INSERT OR REPLACE INTO {META_TABLE} (key, value) VALUES (?, ?)", (TOKEN_KEY, token)
    )


def canonical_json(value: Any) -> str:
    """Deterministic JSON text (sorted keys, no whitespace)."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"))
