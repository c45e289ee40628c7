"""Row capture per table: each statement gets exactly its own images, across many
statements of one transaction (the capture tables are emptied now and then), tables of any
width up to the column limit, and values keep their storage classes."""

from __future__ import annotations

import sqlite3

from api.sql import SqlEngine
from api.sql.capture import _KEEP_ROWS


def test_each_statement_gets_its_own_images_across_many_statements(
    conn: sqlite3.Connection, engine: SqlEngine
) -> None:
    engine.execute(conn, "CREATE TABLE a (id int PRIMARY KEY, v text)")
    engine.execute(conn, "CREATE TABLE b (id int PRIMARY KEY, x bytea, y float8)")
    conn.execute("BEGIN")
    for i in range(2 * _KEEP_ROWS + 10):
        changes = engine.execute(conn, "INSERT INTO a VALUES ($1, 'v')", [i]).changes
        assert [(c["op"], c["new"]) for c in changes] == [("insert", {"id": i, "v": "v"})]
        journal = conn.execute("SELECT count(*) FROM temp._bkg_cap").fetchone()[0]
        assert journal <= _KEEP_ROWS + 1
    changes = engine.execute(conn, "INSERT INTO b VALUES (1, $1, 2)", [b"\x00\xff"]).changes
    assert changes[0]["new"] == {"id": 1, "x": b"\x00\xff", "y": 2.0}
    assert isinstance(changes[0]["new"]["y"], float)
    changes = engine.execute(conn, "UPDATE a SET v = 'w' WHERE id < 3").changes
    assert [(c["old"]["v"], c["new"]["v"]) for c in changes] == [("v", "w")] * 3
    conn.execute("ROLLBACK")
