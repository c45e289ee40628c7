"""Column type families per table, so that pushed rows are typed as `/query` returns them.

Row images in the log are SQLite storage values (booleans 0/1, JSON and timestamps as text);
clients get the values the SQL engine's ``to_client`` makes of them for each column's declared
type. Families come from the catalogue in the projection, overridden by the definitions that
DDL changes carry as they stream by: a table created a moment ago is typed before the
projection has applied it, and a resumed stream follows the definitions it replays.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Mapping
from contextlib import AbstractContextManager
from typing import Any

from api.sql import Catalog, TableDef
from api.sql.typemap import family_of, to_client

Families = dict[str, str | None]
ConnectionSource = Callable[[], AbstractContextManager[sqlite3.Connection]]


class ColumnTypes:
    """Families of each table's columns, learnt from the catalogue and from DDL changes."""

    def __init__(self, connection: ConnectionSource) -> None:
        self._connection = connection
        self._families: dict[str, Families] = {}

    def learn(self, change: Mapping[str, Any]) -> None:
        """Follow a DDL change: its table's definition after the change (or none)."""
        definition = change.get("definition")
        table = str(change.get("table", ""))
        if isinstance(definition, dict):
            self._families[table] = _families(TableDef.from_dict(definition))
        elif change.get("action") == "drop_table":
            self._families[table] = {}

    def families(self, table: str) -> Families:
        """The families of `table`'s columns (empty for an unknown table)."""
        families = self._families.get(table)
        if families is None:
            families = self._families[table] = self._from_catalog(table)
        return families

    def typed(self, table: str, image: Mapping[str, Any] | None) -> dict[str, Any] | None:
        """A row image with values as clients see them (unknown columns stay as stored)."""
        if image is None:
            return None
        families = self.families(table)
        return {name: to_client(value, families.get(name)) for name, value in image.items()}

    def _from_catalog(self, table: str) -> Families:
        with self._connection() as conn:
            found = Catalog.load(conn).tables.get(table)
        return _families(found) if found is not None else {}


def _families(definition: TableDef) -> Families:
    return {column.name: family_of(column.type) for column in definition.columns}
