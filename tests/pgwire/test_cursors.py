"""SQL cursors: psycopg's server-side cursors, psql's FETCH_COUNT, and their errors."""

from __future__ import annotations

from typing import Any

import psycopg
import pytest

from tests.pgwire.conftest import Pg

COUNTED = "SELECT id FROM todos WHERE id <= 3 ORDER BY id"


def connect(pg: Pg, **kwargs: Any) -> psycopg.Connection[Any]:
    return psycopg.connect(pg.dsn(pg.namespace_key), connect_timeout=5, **kwargs)


def test_psycopg_server_side_cursor_fetches_in_pieces(pg: Pg) -> None:
    with connect(pg) as conn:
        with conn.cursor("pieces") as cursor:
            cursor.execute(COUNTED)
            assert cursor.fetchone() == (1,)
            assert cursor.fetchmany(1) == [(2,)]
            assert cursor.fetchall() == [(3,)]
            assert cursor.fetchall() == []
        with conn.cursor("iterated") as cursor:
            cursor.itersize = 2
            cursor.execute("SELECT id FROM todos WHERE id <= %s ORDER BY id", (3,))
            assert [row[0] for row in cursor] == [1, 2, 3]
        conn.commit()


def test_psql_fetch_count_uses_a_cursor(pg: Pg) -> None:
    done = pg.psql(pg.namespace_key, "-v", "FETCH_COUNT=2", "-At", "-c", COUNTED)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["1", "2", "3"]


def test_cursor_statements_by_hand(pg: Pg) -> None:
    with connect(pg, autocommit=True) as conn:
        conn.execute(f"DECLARE held CURSOR WITH HOLD FOR {COUNTED}")
        assert conn.execute("FETCH 2 FROM held").fetchall() == [(1,), (2,)]
        assert conn.execute("FETCH ALL IN held").fetchall() == [(3,)]
        assert conn.execute("CLOSE held").statusmessage == "CLOSE CURSOR"


@pytest.mark.parametrize(
    ("sql", "state"),
    [
        (f"DECLARE c CURSOR FOR {COUNTED}", "25P01"),
        ("FETCH 1 FROM nowhere", "34000"),
        ("CLOSE nowhere", "34000"),
        (f"DECLARE c BINARY CURSOR WITH HOLD FOR {COUNTED}", "0A000"),
        (f"DECLARE c SCROLL CURSOR WITH HOLD FOR {COUNTED}", "0A000"),
        ("FETCH BACKWARD 1 FROM c", "0A000"),
        ("DECLARE c CURSOR WITH HOLD FOR INSERT INTO todos (id, owner) VALUES (99, 'x')", "42601"),
    ],
)
def test_cursor_errors(pg: Pg, sql: str, state: str) -> None:
    with connect(pg, autocommit=True) as conn, pytest.raises(psycopg.Error) as caught:
        conn.execute(sql)
    assert caught.value.sqlstate == state
    assert pg.http("SELECT count(*) FROM shop.todos WHERE id = 99")["rows"] == [[0]]


def test_a_block_closes_its_cursors(pg: Pg) -> None:
    with connect(pg) as conn:
        conn.execute(f"DECLARE inner_c CURSOR FOR {COUNTED}")
        conn.commit()
        with pytest.raises(psycopg.errors.InvalidCursorName):
            conn.execute("FETCH 1 FROM inner_c")
