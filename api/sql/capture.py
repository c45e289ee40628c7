"""Capture the row images a DML statement produces, in execution order.

Each user table gets TEMP ``AFTER INSERT/UPDATE/DELETE`` triggers (per connection, never in
the database file) that note ``(seq, table, op, rowid)`` in the journal ``_bkg_cap`` and copy
the full OLD/NEW rows into that table's own image table ``_bkg_capimg_<n>``: one column per
table column, the row's rowid ``2 * seq`` for the old image and ``2 * seq + 1`` for the new
one.  An image table is exactly as wide as its table, so no table, however wide, limits the
capture of another (one shared image table would have to be as wide as the widest table
twice over, and one 1000-column table would push it past SQLite's column limit and stop
every tenant's writes).  Triggers see exactly what SQLite did: an ``ON CONFLICT DO UPDATE``
fires the update trigger, not the insert trigger; foreign-key actions (ON DELETE CASCADE,
SET NULL) fire the triggers of the tables they touch; values are the stored values after
type coercion, and the image columns have no type so storage classes are kept.

Installed triggers are valid for one catalogue token, recorded in ``_bkg_cap_state``; all of
it lives in the temp schema, so a rolled-back transaction rolls it back together.

A single-row ``INSERT ... VALUES`` needs none of it: its only effect is the row it inserts
(no conflict clause, no sequence step, and an insert fires no foreign-key action), so the
statement itself returns that row (``images_statement``: ``RETURNING rowid`` and every
column) and ``inserted`` turns it into the same change the triggers would have captured.
"""

from __future__ import annotations

import sqlite3
from typing import Any

from sqlglot import exp

from api.sql.catalog import Catalog, TableDef
from projections.apply import CAPTURE_STATE as _STATE
from projections.apply import CAPTURE_TABLE as _CAP
from projections.apply import CAPTURE_TRIGGER_PREFIX as _TRIGGER_PREFIX
from projections.apply import drop_capture, quote_ident
from projections.sequences import NEXTVAL_FUNCTION, SETVAL_FUNCTION

_IMAGES = "_bkg_capimg_"
_RETURNING_COLUMNS = 100
"""Widest table whose inserts return their row image (wider ones use the triggers, whose
statements SQLite's limits were checked against when they were installed)."""
_KEEP_ROWS = 1024
"""Journal rows left in place between statements (each statement reads only the rows after
its starting position) before the next statement empties the capture tables first."""


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
        position = int(row[1] or 0)
        if position < _KEEP_ROWS:
            return position
        _clear(conn)
        return 0
    _install(conn, catalog)
    return 0


def _install(conn: sqlite3.Connection, catalog: Catalog) -> None:
    """(Re)create the journal, one image table per table, its triggers, and the state."""
    drop_capture(conn)
    stale = conn.execute(
        "SELECT name FROM temp.sqlite_master WHERE type = 'table' AND substr(name, 1, ?) = ?",
        (len(_IMAGES), _IMAGES),
    ).fetchall()
    for (name,) in stale:
        conn.execute(f"DROP TABLE temp.{quote_ident(name)}")
    conn.execute(f"DROP TABLE IF EXISTS temp.{_CAP}")
    conn.execute(f"CREATE TEMP TABLE {_CAP} (seq INTEGER PRIMARY KEY, tbl, op, rid)")
    for number, table in enumerate(catalog.tables.values()):
        _install_table(conn, number, table)
    conn.execute(f"CREATE TEMP TABLE IF NOT EXISTS {_STATE} (token TEXT)")
    conn.execute(f"DELETE FROM temp.{_STATE}")
    conn.execute(f"INSERT INTO temp.{_STATE} (token) VALUES (?)", (catalog.token,))


def _install_table(conn: sqlite3.Connection, number: int, table: TableDef) -> None:
    """One table's image table and triggers. If SQLite refuses them (a limit on columns or
    statement length set on this connection), writes to that table alone are refused
    instead: no table can stop the capture of another, and none is written uncaptured."""
    values = ", ".join(f"v{i}" for i in range(len(table.columns)))
    try:
        conn.execute(f"CREATE TEMP TABLE {_IMAGES}{number} ({values})")
        for op in ("insert", "update", "delete"):
            conn.execute(_trigger_sql(number, table, op))
    except sqlite3.Error:
        text = f"table {table.name} cannot be written: its row images cannot be captured"
        message = text.replace("'", "''")
        for op in ("insert", "update", "delete"):
            conn.execute(f"DROP TRIGGER IF EXISTS temp.{quote_ident(_trigger_name(number, op))}")
            conn.execute(
                f"CREATE TEMP TRIGGER {quote_ident(_trigger_name(number, op))} BEFORE "
                f"{op.upper()} ON main.{quote_ident(table.name)} BEGIN SELECT "
                f"RAISE(ABORT, '{message}'); END"
            )


def _trigger_name(number: int, op: str) -> str:
    """Name of the capture trigger of table ``number`` for ``op``."""
    return f"{_TRIGGER_PREFIX}{number}_{op}"


def _trigger_sql(number: int, table: TableDef, op: str) -> str:
    """CREATE TEMP TRIGGER statement journaling one operation and copying its row images.

    Inside a trigger ``last_insert_rowid()`` is the row the trigger inserted last: the
    journal entry (seq) for the first image, which gets rowid 2 * seq, so the second image
    (an update's NEW row) gets that plus one."""
    cols = [quote_ident(c) for c in table.column_names()]
    targets = ", ".join(["rowid", *(f"v{i}" for i in range(len(cols)))])
    sides = {
        "insert": [("NEW", "2 * last_insert_rowid() + 1")],
        "delete": [("OLD", "2 * last_insert_rowid()")],
        "update": [("OLD", "2 * last_insert_rowid()"), ("NEW", "last_insert_rowid() + 1")],
    }
    images = "".join(
        f"INSERT INTO {_IMAGES}{number} ({targets}) VALUES "
        f"({key}, {', '.join(f'{row}.{c}' for c in cols)}); "
        for row, key in sides[op]
    )
    rid = "OLD.rowid" if op == "delete" else "NEW.rowid"
    return (
        f"CREATE TEMP TRIGGER {quote_ident(_trigger_name(number, op))} AFTER "
        f"{op.upper()} ON main.{quote_ident(table.name)} BEGIN INSERT INTO {_CAP} "
        f"(tbl, op, rid) VALUES ({number}, '{op}', {rid}); {images}END"
    )


def collect(conn: sqlite3.Connection, catalog: Catalog, after: int) -> list[dict[str, Any]]:
    """The images captured after position ``after`` as change dicts (payload contract), in
    execution order. They stay in the capture tables (a later statement starts after them)
    until ``ensure_capture`` empties the tables."""
    journal = conn.execute(
        f"SELECT seq, tbl, op, rid FROM temp.{_CAP} WHERE seq > ? ORDER BY seq", (after,)
    ).fetchall()
    tables = list(catalog.tables.values())
    images: dict[int, tuple[Any, ...]] = {}
    for number in {row[1] for row in journal}:
        found = conn.execute(
            f"SELECT rowid, * FROM temp.{_IMAGES}{number} WHERE rowid >= ?", (2 * after + 2,)
        )
        images.update((row[0], row[1:]) for row in found.fetchall())
    return [_change(row, tables[row[1]], images) for row in journal]


def _clear(conn: sqlite3.Connection) -> None:
    """Empty the journal and every image table it names."""
    used = conn.execute(f"SELECT DISTINCT tbl FROM temp.{_CAP}").fetchall()
    for (number,) in used:
        conn.execute(f"DELETE FROM temp.{_IMAGES}{int(number)}")
    conn.execute(f"DELETE FROM temp.{_CAP}")


def _change(
    row: tuple[Any, ...], table: TableDef, images: dict[int, tuple[Any, ...]]
) -> dict[str, Any]:
    """One change dict from one journal row and its images."""
    seq, _, op, rowid = row
    names = table.column_names()
    old = dict(zip(names, images[2 * seq], strict=True)) if op != "insert" else None
    new = dict(zip(names, images[2 * seq + 1], strict=True)) if op != "delete" else None
    return _image_change(table, op, rowid, old, new)


def _image_change(
    table: TableDef,
    op: str,
    rowid: int,
    old: dict[str, Any] | None,
    new: dict[str, Any] | None,
) -> dict[str, Any]:
    """The change dict of one row (payload contract), keyed by its primary key."""
    image = new if new is not None else old
    assert image is not None
    pk_cols = table.primary_key()
    pk = {c: image[c] for c in pk_cols} if pk_cols else {"rowid": rowid}
    return {"op": op, "table": table.name, "rowid": rowid, "pk": pk, "old": old, "new": new}


def images_statement(sql: str, statement: exp.Expr, table: TableDef | None) -> str | None:
    """``sql`` returning its row image, if ``statement`` is a single-row ``INSERT ...
    VALUES`` whose only effect is that row (see the module docstring); else None."""
    if table is None or not isinstance(statement, exp.Insert):
        return None
    values = statement.expression
    if not isinstance(values, exp.Values) or len(values.expressions) != 1:
        return None
    if any(statement.args.get(k) for k in ("conflict", "alternative", "returning", "with")):
        return None
    lowered = sql.lower()  # the generator writes function names in capitals
    if NEXTVAL_FUNCTION in lowered or SETVAL_FUNCTION in lowered:
        return None  # a sequence step is an update of the sequence's row: triggers see it
    if len(table.columns) > _RETURNING_COLUMNS:
        return None
    columns = ", ".join(["rowid", *(quote_ident(c) for c in table.column_names())])
    return f"{sql} RETURNING {columns}"


def inserted(table: TableDef, row: tuple[Any, ...]) -> dict[str, Any]:
    """The change of an inserted row from ``images_statement``'s result row. A REAL column
    stores an integral value as an integer and reads it back as a float, which is what the
    capture triggers see; RETURNING shows the integer, so it is made the float here."""
    new = dict(zip(table.column_names(), row[1:], strict=True))
    for column in table.columns:
        if column.affinity == "REAL" and type(new[column.name]) is int:
            new[column.name] = float(new[column.name])
    return _image_change(table, "insert", row[0], None, new)


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
