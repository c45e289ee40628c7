"""Refused and failing statements: the right error code, a clear message, no change."""

from __future__ import annotations

import sqlite3

import pytest

from api.sql import SqlEngine, SqlError


def _code(engine: SqlEngine, conn: sqlite3.Connection, sql: str, params: object = None) -> str:
    with pytest.raises(SqlError) as info:
        engine.execute(conn, sql, params)  # type: ignore[arg-type]
    return info.value.code


@pytest.fixture
def people(engine: SqlEngine, conn: sqlite3.Connection) -> sqlite3.Connection:
    engine.execute(
        conn,
        "CREATE TABLE people (id int PRIMARY KEY, email text UNIQUE NOT NULL,"
        " age int CHECK (age >= 0), boss int REFERENCES people (id))",
    )
    engine.execute(conn, "INSERT INTO people VALUES (1, 'secret@example.com', 30, NULL)")
    return conn


@pytest.mark.parametrize(
    "sql",
    [
        "PRAGMA table_info(people)",
        "  pragma foreign_keys = off",
        "ATTACH DATABASE 'x.db' AS x",
        "DETACH DATABASE x",
        "VACUUM",
        "SELECT load_extension('evil')",
        "SELECT * FROM sqlite_master",
        "SELECT * FROM sqlite_schema",
        "SELECT name FROM sqlite_temp_master",
        "SELECT * FROM _bkg_sql_catalog",
        "SELECT * FROM public._bkg_sql_meta",
        "SELECT * FROM pragma_table_info('people')",
        "SELECT 1; SELECT 2",
        "INSERT INTO people VALUES (2, 'a', 1, NULL); DELETE FROM people",
        "CREATE TABLE sqlite_x (a int)",
    ],
)
def test_forbidden(engine: SqlEngine, people: sqlite3.Connection, sql: str) -> None:
    assert _code(engine, people, sql) == "FORBIDDEN"


@pytest.mark.parametrize(
    ("sql", "construct"),
    [
        ("CREATE TEMP VIEW v AS SELECT 1", "CREATE TEMP VIEW"),
        ("CREATE TRIGGER t AFTER INSERT ON people BEGIN SELECT 1; END", "CREATE TRIGGER"),
        ("CREATE TABLE arr (xs point)", "point"),
        ("CREATE TABLE g (p point)", "point"),
        ("BEGIN", "transaction"),
        ("COPY people FROM STDIN", "COPY"),
        ("INSERT OR REPLACE INTO people VALUES (1, 'x', 1, NULL)", "INSERT OR REPLACE"),
        ("SELECT soundex_pg(email) FROM people", "soundex_pg"),
        ("ALTER TABLE people ADD COLUMN k serial", "serial"),
        ("WITH d AS (DELETE FROM people RETURNING id) SELECT * FROM d", "WITH"),
        ("UPDATE people SET rowid = 7", "rowid"),
        ("ALTER TABLE people RENAME TO folk", "renaming"),
    ],
)
def test_not_supported_names_the_construct(
    engine: SqlEngine, people: sqlite3.Connection, sql: str, construct: str
) -> None:
    with pytest.raises(SqlError) as info:
        engine.execute(people, sql)
    assert info.value.code == "CAPABILITY_NOT_SUPPORTED"
    assert construct.lower() in info.value.message.lower()


def test_syntax_error_has_position(engine: SqlEngine, conn: sqlite3.Connection) -> None:
    with pytest.raises(SqlError) as info:
        engine.execute(conn, "SELECT FROM WHERE")
    assert info.value.code == "SYNTAX_ERROR"
    assert info.value.detail == {"line": 1, "col": 17}


@pytest.mark.parametrize(
    ("sql", "code"),
    [
        ("SELECT * FROM nosuch", "NOT_FOUND"),
        ("INSERT INTO other.people VALUES (1)", "NOT_FOUND"),
        ("DROP TABLE nosuch", "NOT_FOUND"),
        ("DROP INDEX nosuch", "NOT_FOUND"),
        ("CREATE TABLE nosuch.t (a int)", "NOT_FOUND"),
        ("SELECT nosuch FROM people", "VALIDATION_ERROR"),
        ("UPDATE people SET nosuch = 1", "VALIDATION_ERROR"),
        ("INSERT INTO people VALUES (2, 'b@x', 'old', NULL)", "VALIDATION_ERROR"),
        ("INSERT INTO people VALUES (2, NULL, 1, NULL)", "VALIDATION_ERROR"),
        ("INSERT INTO people VALUES (2, 'b@x', -1, NULL)", "VALIDATION_ERROR"),
        ("INSERT INTO people VALUES (2, 'b@x', 1, NULL, 5)", "VALIDATION_ERROR"),
        ("INSERT INTO people VALUES (1, 'b@x', 1, NULL)", "CONFLICT"),
        ("INSERT INTO people VALUES (2, 'secret@example.com', 1, NULL)", "CONFLICT"),
        ("INSERT INTO people VALUES (2, 'b@x', 1, 99)", "CONFLICT"),
        ("DELETE FROM people WHERE id = 1 AND false", None),
        ("CREATE TABLE people (a int)", "CONFLICT"),
        ("SELECT $1", "BAD_REQUEST"),
        ("head_lsn", "SYNTAX_ERROR"),
        ("1 + 1", "SYNTAX_ERROR"),
        ('CREATE TABLE "a.b" (x int)', "BAD_REQUEST"),
        ('CREATE SCHEMA "public.a"', "BAD_REQUEST"),
    ],
)
def test_error_codes(
    engine: SqlEngine, people: sqlite3.Connection, sql: str, code: str | None
) -> None:
    if code is None:
        engine.execute(people, sql)
        return
    assert _code(engine, people, sql) == code


def test_messages_do_not_leak_row_values(engine: SqlEngine, people: sqlite3.Connection) -> None:
    for sql in (
        "INSERT INTO people VALUES (2, 'secret@example.com', 1, NULL)",
        "UPDATE people SET age = -5 WHERE email = 'secret@example.com'",
        "INSERT INTO people VALUES (3, 'secret@example.com', 'x', NULL)",
    ):
        with pytest.raises(SqlError) as info:
            engine.execute(people, sql)
        assert "secret" not in info.value.message
        assert "-5" not in info.value.message


def test_failing_statement_changes_nothing(engine: SqlEngine, people: sqlite3.Connection) -> None:
    before = people.execute('SELECT * FROM "public.people"').fetchall()
    with pytest.raises(SqlError):
        engine.execute(
            people, "INSERT INTO people VALUES (5, 'a@x', 1, NULL), (6, 'b@x', -1, NULL)"
        )
    with pytest.raises(SqlError):
        engine.execute(people, "UPDATE people SET age = age - 40")
    assert people.execute('SELECT * FROM "public.people"').fetchall() == before
    assert not people.in_transaction


def test_failing_statement_inside_caller_transaction_keeps_earlier_work(
    engine: SqlEngine, people: sqlite3.Connection
) -> None:
    people.execute("BEGIN")
    engine.execute(people, "INSERT INTO people VALUES (2, 'b@x', 1, NULL)")
    with pytest.raises(SqlError):
        engine.execute(people, "INSERT INTO people VALUES (3, 'b@x', 1, NULL)")
    assert people.in_transaction
    people.execute("ROLLBACK")
    rows = engine.execute(people, "SELECT id FROM people ORDER BY id").rows
    assert rows == [[1]]


def test_failed_ddl_changes_nothing(engine: SqlEngine, people: sqlite3.Connection) -> None:
    engine.execute(people, "INSERT INTO people VALUES (2, 'b@x', 30, NULL)")
    catalog = people.execute("SELECT * FROM _bkg_sql_catalog ORDER BY 1, 2").fetchall()
    assert _code(engine, people, "CREATE UNIQUE INDEX ages ON people (age)") == "CONFLICT"
    assert people.execute("SELECT * FROM _bkg_sql_catalog ORDER BY 1, 2").fetchall() == catalog
    names = people.execute("SELECT name FROM sqlite_master WHERE type = 'index'").fetchall()
    assert ("public.ages",) not in names
