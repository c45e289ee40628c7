"""Test kit of the projection tests: hand-made SQL change records and a data directory."""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from api.folds import all_folds
from eventlog import Entry, EventLog, KeyRing, SigningKey
from projections.checkpoints import CheckpointStore
from projections.folds import FoldRegistry
from projections.repair import open_store
from projections.store import ProjectionStore

TABLE = "public.items"


def create_table(name: str = TABLE) -> dict[str, Any]:
    """A create_table change for (id INTEGER PRIMARY KEY, label TEXT)."""
    return {
        "op": "ddl",
        "table": name,
        "action": "create_table",
        "sql": f"CREATE TABLE {name} (id INTEGER PRIMARY KEY, label TEXT)",
        "sqlite": [f'CREATE TABLE "{name}" (id INTEGER PRIMARY KEY, label TEXT)'],
        "definition": {
            "name": name,
            "columns": [
                {"name": "id", "type": "integer", "affinity": "INTEGER", "primary_key": True},
                {"name": "label", "type": "text", "affinity": "TEXT", "primary_key": False},
            ],
        },
    }


def insert(row_id: int, label: str, table: str = TABLE) -> dict[str, Any]:
    return {
        "op": "insert",
        "table": table,
        "rowid": row_id,
        "pk": {"id": row_id},
        "old": None,
        "new": {"id": row_id, "label": label},
    }


def sql_entry(*changes: dict[str, Any]) -> Entry:
    kind = "ddl" if any(c["op"] == "ddl" for c in changes) else "dml"
    return Entry(kind, {"statements": [], "changes": list(changes)})


def rows(conn: Any, table: str = TABLE) -> list[tuple[Any, ...]]:
    return [tuple(r) for r in conn.execute(f'SELECT id, label FROM "{table}" ORDER BY id')]


@dataclass
class Env:
    """A data directory with a live log; `open_store` opens (or repairs) its projection."""

    root: Path
    key: SigningKey
    log: EventLog
    registry: FoldRegistry = field(default_factory=all_folds)

    @property
    def ring(self) -> KeyRing:
        return KeyRing({self.key.key_id: self.key.public_bytes})

    @property
    def checkpoints(self) -> CheckpointStore:
        return CheckpointStore(self.root / "checkpoints")

    def open_store(self, **kwargs: Any) -> ProjectionStore:
        store, _ = open_store(
            self.root / "projections",
            self.log,
            self.checkpoints,
            self.ring,
            self.registry,
            **kwargs,
        )
        return store


def dump(conn: sqlite3.Connection) -> dict[str, Any]:
    """Everything in the main database: schema entries and every table's rows with rowids."""
    schema = conn.execute(
        "SELECT type, name, tbl_name, sql FROM sqlite_master ORDER BY type, name"
    ).fetchall()
    tables = [name for kind, name, _, _ in schema if kind == "table"]
    contents = {
        name: conn.execute(f'SELECT rowid, * FROM "{name}" ORDER BY rowid').fetchall()
        for name in tables
    }
    return {"schema": schema, "rows": contents}
