"""pg8000 (pure-Python driver, its own type OIDs in Parse): parameters of the listed types,
a DB-API transaction rolled back, SQLSTATEs."""

from __future__ import annotations

import datetime
import decimal
import uuid

import pg8000.dbapi
import pg8000.native
import pytest

from tests.pgwire.conftest import Pg


def connect(pg: Pg) -> pg8000.native.Connection:
    return pg8000.native.Connection(
        "tester", host="127.0.0.1", port=pg.port, database="shop", password=pg.namespace_key
    )


def test_parameters_round_trip(pg: Pg) -> None:
    row = [
        1,
        "x",
        datetime.date(2024, 1, 2),
        datetime.datetime(2024, 1, 2, 3, 4, 5, tzinfo=datetime.UTC),
        decimal.Decimal("1.5"),
        True,
        uuid.UUID(int=5),
        b"\x01\x00",
    ]
    conn = connect(pg)
    try:
        conn.run(
            "CREATE TABLE p8 (id int PRIMARY KEY, s text, d date, tz timestamptz,"
            " n numeric, b bool, u uuid, by bytea)"
        )
        conn.run(
            "INSERT INTO p8 VALUES (:id, :s, :d, :tz, :n, :b, :u, :by)",
            **dict(zip(["id", "s", "d", "tz", "n", "b", "u", "by"], row, strict=True)),
        )
        assert conn.run("SELECT * FROM p8 WHERE id = :id", id=1) == [row]
        with pytest.raises(pg8000.native.DatabaseError) as caught:
            conn.run("SELECT * FROM nope")
        assert caught.value.args[0]["C"] == "42P01"
    finally:
        conn.close()


def test_dbapi_rollback_leaves_no_trace(pg: Pg) -> None:
    before = pg.head()
    conn = pg8000.dbapi.connect(
        "tester", host="127.0.0.1", port=pg.port, database="shop", password=pg.namespace_key
    )
    try:
        cursor = conn.cursor()
        cursor.execute("INSERT INTO todos (id, owner) VALUES (%s, %s)", (900, "p"))
        cursor.execute("SELECT count(*) FROM todos WHERE id = 900")
        assert cursor.fetchall() == ([1],)
        conn.rollback()
        cursor.execute("SELECT count(*) FROM todos WHERE id = 900")
        assert cursor.fetchall() == ([0],)
    finally:
        conn.close()
    assert pg.head() == before
