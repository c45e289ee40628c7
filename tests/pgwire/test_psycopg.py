"""psycopg 3 against a served bkg-db: every listed type in text and binary, transactions as
one log record, SQLSTATEs, row-level security as a user, and a write seen over HTTP, in the
audit trail and on /realtime."""

from __future__ import annotations

import datetime
import decimal
import json
import uuid
from typing import Any

import httpx
import psycopg
import pytest
from psycopg.types.json import Json, Jsonb

from tests.pgwire.conftest import Pg

TYPES_TABLE = (
    "CREATE TABLE shop.typed (id bigint PRIMARY KEY, i2 smallint, i4 integer, f4 real,"
    " f8 double precision, n numeric, b boolean, s text, v varchar(10), by bytea, d date,"
    " ts timestamp, tz timestamptz, u uuid, j json, jb jsonb)"
)
ROW: tuple[Any, ...] = (
    1,
    -2,
    2_000_000_000,
    1.5,
    -2.25,
    decimal.Decimal("3.5"),
    True,
    "tëxt",
    "var",
    b"\x00\xff",
    datetime.date(2024, 2, 29),
    datetime.datetime(2024, 1, 2, 3, 4, 5, 600_000),
    datetime.datetime(2024, 1, 2, 3, 4, 5, tzinfo=datetime.UTC),
    uuid.UUID("12345678-1234-5678-1234-567812345678"),
    {"a": [1, "x"]},
    [1, {"b": None}],
)


def connect(pg: Pg, password: str, **kwargs: Any) -> psycopg.Connection[Any]:
    return psycopg.connect(pg.dsn(password), autocommit=True, connect_timeout=5, **kwargs)


def sqlstate(pg: Pg, password: str, sql: str, params: Any = None) -> str | None:
    with connect(pg, password) as conn, pytest.raises(psycopg.Error) as caught:
        conn.execute(sql, params)
    return caught.value.sqlstate


@pytest.fixture(scope="module")
def typed(pg: Pg) -> Pg:
    with connect(pg, pg.admin_key) as conn:
        conn.execute(TYPES_TABLE)
        placeholders = ", ".join(["%s"] * len(ROW))
        conn.execute(
            f"INSERT INTO typed VALUES ({placeholders})", (*ROW[:14], Json(ROW[14]), Jsonb(ROW[15]))
        )
    return pg


@pytest.mark.parametrize("binary", [False, True])
def test_every_listed_type_round_trips(typed: Pg, binary: bool) -> None:
    with connect(typed, typed.admin_key) as conn:
        row = conn.execute("SELECT * FROM typed WHERE id = %s", (1,), binary=binary).fetchone()
    assert row is not None
    expected = list(ROW)
    expected[5] = float(ROW[5])  # numeric is stored as a double (docs/pgwire.md)
    assert list(row) == expected


def test_parameters_of_every_type_select_the_row(typed: Pg) -> None:
    with connect(typed, typed.admin_key) as conn:
        for column, value in [
            ("i2", -2),
            ("d", ROW[10]),
            ("u", ROW[13]),
            ("b", True),
            ("s", "tëxt"),
        ]:
            found = conn.execute(f"SELECT id FROM typed WHERE {column} = %s", (value,)).fetchall()
            assert found == [(1,)], column


def test_namespace_key_sees_its_namespace_by_unqualified_names(pg: Pg) -> None:
    with connect(pg, pg.namespace_key) as conn:
        rows = conn.execute("SELECT id, owner FROM todos ORDER BY id").fetchall()
        assert rows[:3] == [(1, "alice"), (2, "alice"), (3, "bob")]
        state = sqlstate(pg, pg.namespace_key, "SELECT * FROM other.secrets")
    assert state == "42501"


def test_user_token_sees_only_its_rows_and_cannot_write_for_others(pg: Pg) -> None:
    with connect(pg, pg.bob) as conn:
        assert conn.execute("SELECT id FROM todos").fetchall() == [(3,)]
        assert conn.execute("UPDATE todos SET title = 'x' WHERE id = 1").rowcount == 0
    assert (
        sqlstate(pg, pg.bob, "INSERT INTO todos (id, owner) VALUES (%s, %s)", (90, "alice"))
        == "42501"
    )
    assert pg.http("SELECT count(*) FROM shop.todos WHERE id = 90")["rows"] == [[0]]


def test_write_is_one_record_seen_over_http_and_in_the_audit_trail(pg: Pg) -> None:
    with connect(pg, pg.alice) as conn:
        cursor = conn.execute(
            "INSERT INTO todos (id, owner, title) VALUES (%s, %s, %s) RETURNING id",
            (10, "alice", "w"),
        )
        assert cursor.fetchall() == [(10,)]
    head = pg.head()
    assert pg.http("SELECT title FROM shop.todos WHERE id = 10")["rows"] == [["w"]]
    line = pg.audit(head)
    assert line["actor"] == "user:alice" and line["tables"] == ["shop.todos"]


def test_transaction_commits_as_one_record(pg: Pg) -> None:
    before = pg.head()
    with connect(pg, pg.namespace_key) as conn, conn.transaction():
        conn.execute("INSERT INTO todos (id, owner) VALUES (20, 'carol')")
        assert conn.execute("SELECT count(*) FROM todos WHERE id = 20").fetchone() == (1,)
        conn.execute("UPDATE todos SET title = 'in tx' WHERE id = 20")
        assert pg.http("SELECT count(*) FROM shop.todos WHERE id = 20")["rows"] == [[0]]
    assert pg.head() == before + 1
    assert pg.http("SELECT title FROM shop.todos WHERE id = 20")["rows"] == [["in tx"]]


def test_rollback_leaves_no_trace(pg: Pg) -> None:
    before = pg.head()
    with connect(pg, pg.namespace_key) as conn:
        with pytest.raises(psycopg.errors.UniqueViolation), conn.transaction():
            conn.execute("INSERT INTO todos (id, owner) VALUES (21, 'carol')")
            conn.execute("INSERT INTO todos (id, owner) VALUES (21, 'carol')")
        conn.execute("BEGIN")
        conn.execute("DELETE FROM todos")
        conn.execute("ROLLBACK")
    assert pg.head() == before
    assert pg.http("SELECT count(*) FROM shop.todos WHERE id = 21")["rows"] == [[0]]


def test_error_in_a_block_aborts_it_until_rollback(pg: Pg) -> None:
    with connect(pg, pg.namespace_key) as conn:
        conn.execute("BEGIN")
        with pytest.raises(psycopg.errors.UndefinedTable):
            conn.execute("SELECT * FROM missing")
        with pytest.raises(psycopg.errors.InFailedSqlTransaction):
            conn.execute("SELECT 1")
        conn.execute("ROLLBACK")
        assert conn.execute("SELECT 1").fetchone() == (1,)


def test_a_statement_run_before_is_still_refused_in_an_aborted_block(pg: Pg) -> None:
    """A session remembers which texts are plain engine statements; that must not let one
    through an aborted block, nor turn a control statement of the same session into one."""
    with connect(pg, pg.namespace_key) as conn:
        for _ in range(3):
            assert conn.execute("SELECT count(*) FROM todos WHERE id = %s", (1,)).fetchone()
        conn.execute("BEGIN")
        with pytest.raises(psycopg.errors.UndefinedTable):
            conn.execute("SELECT * FROM missing")
        for _ in range(2):
            with pytest.raises(psycopg.errors.InFailedSqlTransaction):
                conn.execute("SELECT count(*) FROM todos WHERE id = %s", (1,))
        conn.execute("ROLLBACK")
        assert conn.execute("SELECT count(*) FROM todos WHERE id = %s", (1,)).fetchone()
        assert conn.execute("SHOW server_version").fetchone() == ("15.0",)


def test_savepoints_undo_part_of_a_block(pg: Pg) -> None:
    with connect(pg, pg.namespace_key) as conn, conn.transaction():
        conn.execute("INSERT INTO todos (id, owner) VALUES (30, 'carol')")
        with pytest.raises(psycopg.errors.UniqueViolation), conn.transaction():
            conn.execute("INSERT INTO todos (id, owner) VALUES (31, 'carol')")
            conn.execute("INSERT INTO todos (id, owner) VALUES (30, 'carol')")
    rows = pg.http("SELECT id FROM shop.todos WHERE id IN (30, 31) ORDER BY id")["rows"]
    assert rows == [[30]]


@pytest.mark.parametrize(
    ("sql", "expected"),
    [
        ("SELECT * FROM nope", "42P01"),
        ("SELECT nope FROM todos", "42703"),
        ("SELEC 1", "42601"),
        ("INSERT INTO todos (id, owner) VALUES (1, 'x')", "23505"),
        ("INSERT INTO todos (id) VALUES (99)", "23502"),
        ("CREATE TABLE todos (id int)", "42P07"),
    ],
)
def test_errors_carry_postgres_sqlstates(pg: Pg, sql: str, expected: str) -> None:
    assert sqlstate(pg, pg.namespace_key, sql) == expected


def test_bad_password_is_28p01(pg: Pg) -> None:
    with pytest.raises(psycopg.OperationalError, match="password authentication failed"):
        connect(pg, "bkg_not_a_key")


def test_session_settings(pg: Pg) -> None:
    with connect(pg, pg.namespace_key) as conn:
        assert conn.info.parameter_status("server_version") == "15.0"
        assert conn.info.server_version >= 150000
        conn.execute("SET statement_timeout = '2s'")
        assert conn.execute("SHOW statement_timeout").fetchone() == ("2000ms",)
        row = conn.execute("SELECT current_database()").fetchone()
        assert row == ("shop",)


def test_a_write_is_delivered_on_realtime(pg: Pg) -> None:
    with connect(pg, pg.namespace_key) as conn:
        conn.execute("INSERT INTO todos (id, owner, title) VALUES (%s, %s, %s)", (40, "rt", "live"))
    head = pg.head()
    response = httpx.get(
        f"{pg.served.url}/realtime",
        params={"tables": "shop.todos", "from_lsn": head, "until_lsn": head},
        headers={"Authorization": f"Bearer {pg.admin_key}"},
        timeout=10,
    )
    assert response.status_code == 200, response.text
    inserts = [
        json.loads(line.removeprefix("data: "))
        for line in response.text.splitlines()
        if line.startswith("data: ") and '"op":"insert"' in line
    ]
    assert [(e["new"]["id"], e["new"]["title"]) for e in inserts] == [(40, "live")]
    assert inserts[0]["lsn"] == head and inserts[0]["actor"].startswith("key:")


@pytest.mark.parametrize(
    ("sql", "state"),
    [
        ("CREATE SCHEMA shop", "42P06"),
        ("CREATE TABLE nowhere.t (id int)", "3F000"),
        ("CREATE INDEX todos_owner_dup ON todos (nosuch)", "42703"),
        ("DROP INDEX shop.nosuch_index", "42704"),
        ("ALTER TABLE todos ADD COLUMN owner text", "42701"),
        ("ALTER TABLE todos DROP COLUMN nosuch", "42703"),
        ("ALTER TABLE todos RENAME TO notes", "42P07"),
        ("CREATE TABLE shop.pkless (id int, PRIMARY KEY (nosuch))", "42703"),
    ],
)
def test_ddl_failures_carry_their_own_sqlstate(pg: Pg, sql: str, state: str) -> None:
    assert sqlstate(pg, pg.admin_key, sql) == state


@pytest.mark.parametrize("binary", [False, True])
def test_array_results_decode_as_lists(pg: Pg, binary: bool) -> None:
    """Array columns, literals and aggregates carry array OIDs, so drivers build lists."""
    with connect(pg, pg.admin_key) as conn:
        conn.execute("CREATE TABLE IF NOT EXISTS shop.tagged (id int PRIMARY KEY, tags text[])")
        conn.execute("INSERT INTO tagged VALUES (1, '{a,\"b c\",NULL}') ON CONFLICT DO NOTHING")
        cursor = conn.cursor(binary=binary)
        row = cursor.execute(
            "SELECT tags, ARRAY[1, 2] AS a, array_agg(id ORDER BY id) AS ids,"
            " string_to_array('x,y', ',') AS s, regexp_match('foo', '(o+)') AS m,"
            " tags[2] AS second FROM tagged GROUP BY tags"
        ).fetchone()
    assert row == (["a", "b c", None], [1, 2], [1], ["x", "y"], ["oo"], "b c")


def test_list_parameters_fill_array_columns(pg: Pg) -> None:
    with connect(pg, pg.admin_key) as conn:
        conn.execute("CREATE TABLE IF NOT EXISTS shop.counted (id int PRIMARY KEY, n int[])")
        conn.execute("INSERT INTO counted VALUES (%s, %s) ON CONFLICT DO NOTHING", (1, [3, 1]))
        row = conn.execute("SELECT n, n[1] + 1 AS first FROM counted WHERE id = 1").fetchone()
    assert row == ([3, 1], 4)
