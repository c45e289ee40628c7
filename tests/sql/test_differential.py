"""Differential property: engine (A) == replay of its changes (B) == plain SQLite (C).

Random schemas and random DDL/DML programs, including statements that fail, run through
SqlEngine on A; the changes A produced are replayed with apply_changes on an empty B; the
same statements, written for SQLite by hand, run on a plain sqlite3 connection C.  Table
contents (with storage classes) must agree everywhere, rowids and the catalogue A == B.

SQLite advances an AUTOINCREMENT counter even for a row an ON CONFLICT DO NOTHING drops;
bkg-db pins counters to what replay reproduces (A == B checks that), so C's counters are
set to A's after each statement and C checks everything else.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass, field
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from api.sql import SqlEngine, SqlError
from projections.apply import apply_changes, ensure_internal_schema
from projections.meta import connect

TYPES = {"int": "INTEGER", "text": "TEXT", "real": "REAL"}
VALUES: dict[str, list[str]] = {
    "int": ["-1", "0", "1", "2", "3", "NULL"],
    "text": ["'a'", "'b'", "'c'", "NULL"],
    "real": ["0.5", "1.5", "2.0", "NULL"],
}


@dataclass
class Column:
    name: str
    type: str
    not_null: bool = False
    unique: bool = False
    check: bool = False


@dataclass
class Table:
    name: str
    serial: bool
    columns: list[Column] = field(default_factory=list)
    parent: str | None = None

    def ddl(self, dialect: str) -> str:
        """CREATE TABLE in Postgres (engine) or SQLite (reference) spelling."""
        if dialect == "pg":
            parts = ["id serial PRIMARY KEY" if self.serial else "id int PRIMARY KEY"]
        else:
            auto = " AUTOINCREMENT" if self.serial else ""
            parts = [f"id INTEGER PRIMARY KEY{auto}"]
        for col in self.columns:
            text = f"{col.name} {col.type if dialect == 'pg' else TYPES[col.type]}"
            text += " NOT NULL" if col.not_null else ""
            text += " UNIQUE" if col.unique else ""
            text += f" CHECK ({col.name} > 0)" if col.check else ""
            parts.append(text)
        if self.parent:
            parts.append(f"pid int REFERENCES {self.parent} (id) ON DELETE CASCADE")
        return f"CREATE TABLE {self.name} ({', '.join(parts)})"


@st.composite
def tables(draw: st.DrawFn, name: str, parent: str | None) -> Table:
    table = Table(name, draw(st.booleans()), parent=parent)
    for i in range(draw(st.integers(1, 3))):
        kind = draw(st.sampled_from(sorted(TYPES)))
        table.columns.append(
            Column(
                f"c{i}",
                kind,
                not_null=draw(st.booleans()),
                unique=draw(st.integers(0, 3)) == 0,
                check=kind == "int" and draw(st.integers(0, 3)) == 0,
            )
        )
    return table


def _row(draw: st.DrawFn, table: Table, with_id: bool) -> str:
    values = [draw(st.sampled_from(VALUES[c.type])) for c in table.columns]
    if table.parent:
        values.append(draw(st.sampled_from(["1", "2", "3", "NULL"])))
    if with_id:
        values.insert(0, str(draw(st.integers(1, 6))))
    return "(" + ", ".join(values) + ")"


def _columns(table: Table, with_id: bool) -> str:
    names = [c.name for c in table.columns] + (["pid"] if table.parent else [])
    return ", ".join((["id"] if with_id else []) + names)


@st.composite
def statements(draw: st.DrawFn, schema: list[Table]) -> tuple[str, str]:
    """One statement as (Postgres text, SQLite text), sometimes with RETURNING."""
    pg, lite = draw(bare_statements(schema))
    if pg.startswith(("INSERT", "UPDATE", "DELETE")) and draw(st.booleans()):
        return pg + " RETURNING *", lite + " RETURNING *"
    return pg, lite


@st.composite
def bare_statements(draw: st.DrawFn, schema: list[Table]) -> tuple[str, str]:
    """One statement as (Postgres text, SQLite text); only ADD COLUMN is spelled differently."""
    table = draw(st.sampled_from(schema))
    col = draw(st.sampled_from(table.columns))
    kinds = ["insert"] * 4 + ["upsert", "update", "rekey", "delete", "copy", "ddl"]
    kind = draw(st.sampled_from(kinds))
    if kind == "ddl":
        return _ddl(draw, table, col)
    sql = _dml(draw, table, col, kind)
    return sql, sql


def _dml(draw: st.DrawFn, table: Table, col: Column, kind: str) -> str:
    """An INSERT (plain, upsert or copying rows), UPDATE or DELETE."""
    name = table.name
    if kind == "copy" and table.serial:
        names = _columns(table, with_id=False)
        return f"INSERT INTO {name} ({names}) SELECT {names} FROM {name} WHERE id < 3"
    if kind in ("insert", "upsert", "copy"):
        with_id = not table.serial or draw(st.booleans())
        rows = ", ".join(_row(draw, table, with_id) for _ in range(draw(st.integers(1, 3))))
        sql = f"INSERT INTO {name} ({_columns(table, with_id)}) VALUES {rows}"
        if kind == "upsert":
            target = next((c.name for c in table.columns if c.unique), "id")
            update = f"DO UPDATE SET {col.name} = excluded.{col.name}"
            sql += f" ON CONFLICT ({target}) {draw(st.sampled_from(['DO NOTHING', update]))}"
        return sql
    if kind == "update":
        other = draw(st.sampled_from(table.columns)).name
        value = draw(st.sampled_from(VALUES[col.type]))
        low = draw(st.integers(0, 4))
        return f"UPDATE {name} SET {col.name} = {value} WHERE {other} IS NOT NULL AND id > {low}"
    if kind == "rekey":
        return f"UPDATE {name} SET id = id + 10 WHERE id = {draw(st.integers(1, 6))}"
    return f"DELETE FROM {name} WHERE id % {draw(st.integers(2, 3))} = 0"


def _ddl(draw: st.DrawFn, table: Table, col: Column) -> tuple[str, str]:
    """CREATE INDEX, or ADD / DROP / RENAME of an extra column x0..x2."""
    name = f"x{draw(st.integers(0, 2))}"
    # Renaming a column to its own name: Postgres refuses, SQLite accepts; not drawn.
    new = draw(st.sampled_from([f"x{i}" for i in range(3) if f"x{i}" != name]))
    statements = {
        "index": f"CREATE INDEX {table.name}_{col.name}_i ON {table.name} ({col.name})",
        "drop": f"ALTER TABLE {table.name} DROP COLUMN {name}",
        "rename": f"ALTER TABLE {table.name} RENAME COLUMN {name} TO {new}",
    }
    action = draw(st.sampled_from(["index", "add", "add", "drop", "rename"]))
    if action in statements:
        return statements[action], statements[action]
    add = f"ALTER TABLE {table.name} ADD COLUMN {name}"
    return f"{add} int DEFAULT 7", f"{add} INTEGER DEFAULT 7"


@st.composite
def programs(draw: st.DrawFn) -> tuple[list[Table], list[tuple[str, str]]]:
    schema = [draw(tables("t0", None))]
    if draw(st.booleans()):
        schema.append(draw(tables("t1", "t0" if draw(st.booleans()) else None)))
    body = draw(st.lists(statements(schema), min_size=5, max_size=30))
    return schema, body


def _connect() -> sqlite3.Connection:
    """A connection set up as the store sets up its own (the reference C gets the same
    pragmas, so it enforces the same foreign keys)."""
    return connect(":memory:")


def _contents(conn: sqlite3.Connection, table: str) -> list[tuple[Any, ...]]:
    rows = conn.execute(f'SELECT rowid, * FROM "{table}" ORDER BY rowid').fetchall()
    return [tuple((type(v).__name__, v) for v in row) for row in rows]


def _run_reference(conn: sqlite3.Connection, sql: str) -> bool:
    try:
        conn.execute(sql)
    except sqlite3.Error:
        return False
    return True


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(programs())
def test_engine_replay_and_sqlite_agree(program: tuple[list[Table], list[tuple[str, str]]]) -> None:
    schema, body = program
    engine = SqlEngine()
    a, b, c = _connect(), _connect(), _connect()
    ensure_internal_schema(a)
    ensure_internal_schema(b)
    log: list[list[dict[str, Any]]] = []
    for pg, lite in [(t.ddl("pg"), t.ddl("sqlite")) for t in schema] + body:
        try:
            log.append(engine.execute(a, pg).changes)
            ok = True
        except SqlError:
            ok = False
        assert _run_reference(c, lite) == ok, pg
        _sync_counters(a, c)
    for changes in log:
        b.execute("BEGIN")
        apply_changes(b, changes)
        b.execute("COMMIT")
    for table in schema:
        rows_a = _contents(a, f"public.{table.name}")
        assert rows_a == _contents(b, f"public.{table.name}")
        assert rows_a == _contents(c, table.name)
    for query in ["SELECT * FROM _bkg_sql_catalog", "SELECT * FROM _bkg_sql_meta", *_sequence(a)]:
        ordered = query + " ORDER BY 1, 2"
        assert a.execute(ordered).fetchall() == b.execute(ordered).fetchall()


def _sequence(conn: sqlite3.Connection) -> list[str]:
    """Query of the AUTOINCREMENT counters, when any exist."""
    found = conn.execute("SELECT 1 FROM sqlite_master WHERE name = 'sqlite_sequence'").fetchone()
    return ["SELECT * FROM sqlite_sequence"] if found else []


def _sync_counters(engine_conn: sqlite3.Connection, reference: sqlite3.Connection) -> None:
    """Give the reference connection the engine's AUTOINCREMENT counters."""
    if not _sequence(engine_conn) or not _sequence(reference):
        return
    reference.execute("DELETE FROM sqlite_sequence")
    for name, seq in engine_conn.execute("SELECT name, seq FROM sqlite_sequence"):
        reference.execute(
            "INSERT INTO sqlite_sequence (name, seq) VALUES (?, ?)", (name.split(".", 1)[1], seq)
        )
