"""Capture the row images a DML statement produces, in execution order.

Each user table gets TEMP ``AFTER INSERT/UPDATE/DELETE`` triggers (per connection, never in
the database file) that copy ``rowid`` and the full OLD/NEW rows into the temp table
``_bkg_cap``.  Triggers see exactly what SQLite did: an ``ON CONFLICT DO UPDATE`` fires the
update trigger, not the insert trigger; foreign-key cascades fire the triggers of the tables
they touch; values are the stored values after type coercion, and ``_bkg_cap``'s columns
have no type so storage classes are kept.

Installed triggers are valid for one catalogue token, recorded in ``_bkg_cap_state``; both
live in the temp schema, so a rolled-back transaction rolls them back together.
"""

from __future__ import annotations

import sqlite3
from typing import Any

from api.sql.catalog import Catalog, TableDef
from projections.apply import CAPTURE_STATE as _STATE
from projections.apply import CAPTURE_TABLE as _CAP
from projections.apply import CAPTURE_TRIGGER_PREFIX as _TRIGGER_PREFIX
from projections.apply import drop_capture, quote_ident


def ensure_capture(conn: sqlite3.Connection, catalog: Catalog) -> int:
    """Install capture triggers for ``catalog`` unless they are already in place.

    Returns the capture position before the statement: rows captured earlier on this
    connection (e.g. while ``apply_changes`` replayed onto it) are not the statement's.
    """
    try:
        row = conn.execute(
            f"SELECT token, (SELECT max(seq) FROM temp.{_CAP}) FROM temp.{_STATE}"
        ).fetchone()
    except sqlite3.OperationalError:
        row = None
    if row is not None and row[0] == catalog.token:
        return int(row[1] or 0)
    _install(conn, catalog)
    return 0


def _install(conn: sqlite3.Connection, catalog: Catalog) -> None:
    """(Re)create the capture table, one trigger per table and operation, and the state."""
    drop_capture(conn)
    width = max([8, *(2 * len(t.columns) for t in catalog.tables.values())])
    values = ", ".join(f"v{i}" for i in range(width))
    conn.execute(f"DROP TABLE IF EXISTS temp.{_CAP}")
    conn.execute(f"CREATE TEMP TABLE {_CAP} (seq INTEGER PRIMARY KEY, tbl, op, rid, {values})")
    for number, table in enumerate(catalog.tables.values()):
        for op in ("insert", "update", "delete"):
            conn.execute(_trigger_sql(f"{_TRIGGER_PREFIX}{number}_{op}", table, op))
    conn.execute(f"CREATE TEMP TABLE IF NOT EXISTS {_STATE} (token TEXT)")
    conn.execute(f"DELETE FROM temp.{_STATE}")
    conn.execute(f"INSERT INTO temp.{_STATE} (token) VALUES (?)", (catalog.token,))


def _trigger_sql(name: str, table: TableDef, op: str) -> str:
    """CREATE TEMP TRIGGER statement copying one operation's row images into ``_bkg_cap``."""
    cols = [quote_ident(c) for c in table.column_names()]
    if op == "insert":
        images, rid = [f"NEW.{c}" for c in cols], "NEW.rowid"
    elif op == "delete":
        images, rid = [f"OLD.{c}" for c in cols], "OLD.rowid"
    else:
        images, rid = [f"OLD.{c}" for c in cols] + [f"NEW.{c}" for c in cols], "NEW.rowid"
    targets = ", ".join(["tbl", "op", "rid", *(f"v{i}" for i in range(len(images)))])
    literal = "'" + table.name.replace("'", "''") + "'"
    values = ", ".join([literal, f"'{op}'", rid, *images])
    return (
        f"CREATE TEMP TRIGGER {quote_ident(name)} AFTER {op.upper()} ON "
        f"main.{quote_ident(table.name)} BEGIN INSERT INTO {_CAP} ({targets}) "
        f"VALUES ({values}); END"
    )


def collect(conn: sqlite3.Connection, catalog: Catalog, after: int) -> list[dict[str, Any]]:
    """Drain the images captured after position ``after`` into change dicts (payload
    contract), in execution order; older rows are discarded."""
    rows = conn.execute(f"SELECT * FROM temp.{_CAP} WHERE seq > ? ORDER BY seq", (after,))
    changes = [_change(row, catalog) for row in rows.fetchall()]
    if changes or after:
        conn.execute(f"DELETE FROM temp.{_CAP}")
    return changes


def _change(row: tuple[Any, ...], catalog: Catalog) -> dict[str, Any]:
    """One change dict from one ``_bkg_cap`` row."""
    _, table_name, op, rowid = row[:4]
    table = catalog.table(table_name)
    names = table.column_names()
    width = len(names)
    first = dict(zip(names, row[4 : 4 + width], strict=True))
    old = new = None
    if op == "insert":
        new = first
    elif op == "delete":
        old = first
    else:
        old, new = first, dict(zip(names, row[4 + width : 4 + 2 * width], strict=True))
    image = new if new is not None else old
    assert image is not None
    pk_cols = table.primary_key()
    pk = {c: image[c] for c in pk_cols} if pk_cols else {"rowid": rowid}
    return {"op": op, "table": table_name, "rowid": rowid, "pk": pk, "old": old, "new": new}


def sequence_value(conn: sqlite3.Connection, table: TableDef) -> int | None:
    """The AUTOINCREMENT counter of a serial-keyed table (None: no counter yet)."""
    if not table.autoincrement:
        return None
    try:
        row = conn.execute("SELECT seq FROM sqlite_sequence WHERE name = ?", (table.name,))
        found = row.fetchone()
    except sqlite3.OperationalError:
        return None
    return int(found[0]) if found else None


def pin_sequence(
    conn: sqlite3.Connection, table: TableDef, before: int | None, changes: list[dict[str, Any]]
) -> None:
    """Make the AUTOINCREMENT counter what replaying ``changes`` would leave behind.

    SQLite advances the counter for rows it never inserts (ON CONFLICT DO NOTHING) and
    creates a zero counter for an INSERT ... SELECT of no rows; replay only sees the rows
    inserted, so the counter is pinned to max(previous, largest inserted rowid).
    """
    if not table.autoincrement:
        return
    inserted = [c["rowid"] for c in changes if c["op"] == "insert" and c["table"] == table.name]
    if before is None and not inserted:
        conn.execute("DELETE FROM sqlite_sequence WHERE name = ?", (table.name,))
        return
    expected = max([before or 0, *inserted])
    conn.execute("UPDATE sqlite_sequence SET seq = ? WHERE name = ?", (expected, table.name))
