"""LIKE, ILIKE and division answer exactly what PostgreSQL 15 answers: case-sensitive LIKE,
ILIKE folding case, ``_`` and ``%`` wildcards, ``\\`` as the default escape character and
ESCAPE naming another one, ``starts_with`` as an exact prefix test; integer and float
division, and ``division by zero`` (22012) for a non-NULL dividend over zero. Every case runs
through the SQL engine on a projection connected as the store connects, and on a real
server."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from typing import Any

import psycopg
import pytest
from hypothesis import given, reject, settings
from hypothesis import strategies as st

from api.sql import SqlEngine, SqlError, SqlValidationError
from bench.errors import PeerUnavailableError
from bench.peers.pgcluster import find_bindir, temporary_postgres
from projections.apply import ensure_internal_schema
from projections.meta import connect

FORMS = [
    "{s} LIKE {p}",
    "{s} NOT LIKE {p}",
    "{s} ILIKE {p}",
    "{s} NOT ILIKE {p}",
    "{s} LIKE {p} ESCAPE '!'",
    "{s} NOT ILIKE {p} ESCAPE '!'",
    "starts_with({s}, {p})",
]
CASES = [
    ("abc", "ABC"),
    ("ABC", "abc"),
    ("abc", "a_c"),
    ("aXc", "a_c"),
    ("a_c", "a\\_c"),
    ("abc", "a\\_c"),
    ("a%c", "a\\%c"),
    ("abc", "a\\%c"),
    ("a\\c", "a\\\\c"),
    ("u1/file", "U1/%"),
    ("u1/file", "_1/%"),
    ("u1/file", "u1/%"),
    ("U1/file", "u1/%"),
    ("a!_c", "a!!!_c"),
    ("a_c", "a!_c"),
    ("", "%"),
    ("", ""),
    ("abc", ""),
]


def _available() -> bool:
    try:
        find_bindir()
    except PeerUnavailableError:
        return False
    return True


pytestmark = pytest.mark.skipif(not _available(), reason="no PostgreSQL binaries")


@pytest.fixture(scope="module")
def postgres() -> Iterator[psycopg.Connection[Any]]:
    with (
        temporary_postgres() as cluster,
        psycopg.connect(cluster.conninfo, autocommit=True) as conn,
    ):
        yield conn


@pytest.fixture(scope="module")
def ours() -> Iterator[Any]:
    conn = connect(":memory:")
    ensure_internal_schema(conn)
    engine = SqlEngine()

    def answer(form: str, subject: str | None, pattern: str | None) -> Any:
        sql = "SELECT " + form.format(s="$1", p="$2")
        return engine.execute(conn, sql, [subject, pattern]).rows[0][0]

    yield answer
    conn.close()


def _postgres(
    conn: psycopg.Connection[Any], form: str, subject: str | None, pattern: str | None
) -> Any:
    sql = "SELECT " + form.format(s="%s::text", p="%s::text")
    return conn.execute(sql, (subject, pattern)).fetchone()[0]  # type: ignore[index]


@pytest.mark.parametrize("form", FORMS)
@pytest.mark.parametrize(("subject", "pattern"), [*CASES, (None, "a"), ("a", None)])
def test_chosen_cases_agree_with_postgres(
    postgres: psycopg.Connection[Any],
    ours: Any,
    form: str,
    subject: str | None,
    pattern: str | None,
) -> None:
    assert ours(form, subject, pattern) == _postgres(postgres, form, subject, pattern)


@settings(max_examples=300, deadline=None)
@given(
    form=st.sampled_from(FORMS),
    subject=st.text(alphabet="aAbB_%\\!/", max_size=6),
    pattern=st.text(alphabet="aAbB_%\\!/", max_size=6),
)
def test_generated_cases_agree_with_postgres(
    postgres: psycopg.Connection[Any], ours: Any, form: str, subject: str, pattern: str
) -> None:
    try:
        expected = _postgres(postgres, form, subject, pattern)
    except psycopg.errors.InvalidEscapeSequence:
        reject()  # a pattern ending in its escape character: Postgres refuses it
    assert ours(form, subject, pattern) == expected


DIVISIONS = [
    "7 / 2",
    "-7 / 2",
    "7 % -3",
    "-7 % 3",
    "7.0 / 2",
    "1 / 0",
    "5 % 0",
    "1.5 / 0",
    "10 / 5 / 0",
    "0 / 5 / 2",
    "(10 / 5) / (2 - 2)",
    "CAST(NULL AS int) / 0",
    "CAST(NULL AS int) % 0",
    "1 / CAST(NULL AS int)",
    "mod(9, 0)",
]


@pytest.mark.parametrize("expression", DIVISIONS)
def test_division_agrees_with_postgres(postgres: psycopg.Connection[Any], expression: str) -> None:
    conn = connect(":memory:")
    ensure_internal_schema(conn)
    try:
        expected: Any = postgres.execute(f"SELECT {expression}").fetchone()[0]  # type: ignore[index]
    except psycopg.errors.DivisionByZero:
        expected = "division by zero"
    try:
        got: Any = SqlEngine().execute(conn, f"SELECT {expression}").rows[0][0]
    except SqlValidationError as exc:
        assert exc.sqlstate == "22012"
        got = exc.message
    finally:
        conn.close()
    if isinstance(expected, str) or expected is None:
        assert got == expected
    else:
        assert float(got) == float(expected)


@pytest.mark.parametrize(
    ("sql", "columns", "rows"),
    [
        ("SELECT x FROM generate_series(10, 1, -3) AS x", ["x"], [[10], [7], [4], [1]]),
        ("SELECT count(*) FROM generate_series(5, 1)", ["count"], [[0]]),
        ("SELECT generate_series(1, 2)", ["generate_series"], [[1], [2]]),
        (
            "SELECT * FROM generate_series('2024-01-30'::date, '2024-02-01'::date,"
            " interval '1 day')",
            ["generate_series"],
            [["2024-01-30T00:00:00"], ["2024-01-31T00:00:00"], ["2024-02-01T00:00:00"]],
        ),
        ("SELECT * FROM unnest(ARRAY[3, 1])", ["unnest"], [[3], [1]]),
        ("SELECT u FROM unnest($1::int[]) AS u", ["u"], [[5], [6]]),
        (
            """SELECT value FROM jsonb_array_elements('[1, "a", {"b": true}]')""",
            ["value"],
            [[1], ["a"], [{"b": True}]],
        ),
        (
            """SELECT * FROM jsonb_each_text('{"k": 2, "t": true}')""",
            ["key", "value"],
            [["k", "2"], ["t", "true"]],
        ),
    ],
)
def test_set_returning_functions(
    engine: SqlEngine, conn: sqlite3.Connection, sql: str, columns: list[str], rows: list[list[Any]]
) -> None:
    params = [[5, 6]] if "$1" in sql else None
    out = engine.execute(conn, sql, params)
    assert (out.columns, out.rows) == (columns, rows)


def test_a_zero_interval_step_is_refused(engine: SqlEngine, conn: sqlite3.Connection) -> None:
    with pytest.raises(SqlError) as info:
        engine.execute(conn, "SELECT * FROM generate_series(now(), now(), interval '0 days')")
    assert info.value.sqlstate == "22023"


def test_string_functions(engine: SqlEngine, conn: sqlite3.Connection) -> None:
    out = engine.execute(
        conn,
        "SELECT lpad('7', 3, '0'), rpad('ab', 5, '-+'), lpad('abcdef', 3),"
        " split_part('a,b,c', ',', -1),"
        " initcap('hello wORLD'), repeat('ab', 2), reverse('abc'), translate('hello', 'el', 'i'),"
        " md5('abc'), concat_ws('-', 'a', NULL, 'b')",
    )
    assert out.rows == [
        ["007", "ab-+-", "abc", "c", "Hello World", "abab", "cba", "hio",
         "900150983cd24fb0d6963f7d28e17f72", "a-b"]
    ]  # fmt: skip
    assert out.columns[:3] == ["lpad", "rpad", "lpad"]
    with pytest.raises(SqlError) as info:
        engine.execute(conn, "SELECT repeat('x', 1000000000000)")
    assert info.value.sqlstate == "54000"


def test_jsonb_key_and_containment_operators(engine: SqlEngine, conn: sqlite3.Connection) -> None:
    engine.execute(conn, "CREATE TABLE docs (id int PRIMARY KEY, body jsonb)")
    engine.execute(
        conn,
        """INSERT INTO docs VALUES"""
        """ (1, '{"a": 1, "t": true, "tags": ["x", "y"], "o": {"k": "v"}}'),"""
        """ (2, '{"a": 2, "t": false}'), (3, '["a", "b"]'), (4, '{"a": 1.0}')""",
    )
    cases = {
        "body ? 'a'": [1, 2, 3, 4],
        "body ?| array['o', 'zz']": [1],
        "body ?& array['a', 't']": [1, 2],
        "body ?& array['a', 'b']": [3],
        """body @> '{"a": 1}'""": [1, 4],
        """body @> '{"t": true, "tags": ["y"]}'""": [1],
        """body @> '{"o": {"k": "v"}}'::jsonb""": [1],
        """body @> '["b"]'""": [3],
        """body @> '{"a": "1"}'""": [],
    }
    for condition, ids in cases.items():
        out = engine.execute(conn, f"SELECT id FROM docs WHERE {condition} ORDER BY id")
        assert [r[0] for r in out.rows] == ids, condition


def test_constant_integer_overflow_is_an_error(engine: SqlEngine, conn: sqlite3.Connection) -> None:
    for sql in (
        "SELECT 9223372036854775807 + 1",
        "SELECT -9223372036854775807 - 2",
        "SELECT 2 * 4611686018427387904",
    ):
        with pytest.raises(SqlError) as info:
            engine.execute(conn, sql)
        assert info.value.sqlstate == "22003"
    assert engine.execute(conn, "SELECT 9223372036854775806 + 1").rows == [[9223372036854775807]]


def test_numeric_precision_and_scale(engine: SqlEngine, conn: sqlite3.Connection) -> None:
    engine.execute(
        conn, "CREATE TABLE money (id int PRIMARY KEY, amount numeric(5, 2), n numeric(3))"
    )
    out = engine.execute(
        conn,
        "INSERT INTO money VALUES (1, 1.005, 2.5), (2, $1, -2.5) RETURNING amount, n",
        ["-3.14159"],
    )
    assert out.rows == [[1.01, 3], [-3.14, -3]]
    assert out.changes[0]["new"]["amount"] == 1.01
    engine.execute(conn, "UPDATE money SET amount = amount * 10 WHERE id = 1")
    assert engine.execute(conn, "SELECT amount FROM money WHERE id = 1").rows == [[10.1]]
    for sql in ("INSERT INTO money VALUES (3, 1000, 1)", "UPDATE money SET n = 999.5"):
        with pytest.raises(SqlError) as info:
            engine.execute(conn, sql)
        assert info.value.sqlstate == "22003"


def test_jsonb_functions_and_operators(engine: SqlEngine, conn: sqlite3.Connection) -> None:
    out = engine.execute(
        conn,
        """SELECT jsonb_set('{"a": {"b": 1}}', '{a,b}', '[2]'),"""
        """ jsonb_strip_nulls('{"a": null, "b": {"c": null, "d": 1}}'),"""
        """ '{"a": 1, "b": 1}'::jsonb || '{"b": 2}', '[1]'::jsonb || '[2, 3]'::jsonb,"""
        """ '{"a": 1, "b": 2}'::jsonb - 'a', '["x", "y"]'::jsonb - 0""",
    )
    assert out.rows == [
        [{"a": {"b": [2]}}, {"b": {"d": 1}}, {"a": 1, "b": 2}, [1, 2, 3], {"b": 2}, ["y"]]
    ]
    engine.execute(conn, "CREATE TABLE docs (id int PRIMARY KEY, body jsonb)")
    engine.execute(conn, """INSERT INTO docs VALUES (1, '{"a": 1}')""")
    changes = engine.execute(conn, """UPDATE docs SET body = body || '{"z": 0}'""").changes
    assert changes[0]["new"]["body"] == '{"a":1,"z":0}'
    out = engine.execute(conn, "SELECT jsonb_object_agg(id, body -> 'z') FROM docs")
    assert out.rows == [[{"1": 0}]]


def test_timestamp_differences_and_age_are_intervals(
    engine: SqlEngine, conn: sqlite3.Connection
) -> None:
    engine.execute(conn, "CREATE TABLE ev (id int PRIMARY KEY, at timestamptz)")
    engine.execute(conn, "INSERT INTO ev VALUES (1, '2024-01-02 12:00:00+00')")
    out = engine.execute(
        conn,
        "SELECT at - '2024-01-01'::timestamptz AS gap, age(at, '2023-11-30'::timestamptz) FROM ev",
    )
    assert (out.columns, out.rows) == (
        ["gap", "age"],
        [["1 day 12:00:00", "1 mon 2 days 12:00:00"]],
    )
    assert out.types == ("interval", "interval")
