"""Regular expressions: Postgres' operators and functions on a matcher bounded in time,
pattern length and subject length."""

from __future__ import annotations

import re
import sqlite3
import time
from typing import Any

import pytest
import regex
from hypothesis import given, settings
from hypothesis import strategies as st

from api.auth.principal import user_principal
from api.rls.authorizer import make_authorizer
from api.sql import SqlEngine
from api.sql.errors import SqlError
from projections.regexfuncs import PATTERN_CHARACTERS, SUBJECT_CHARACTERS, translate


def _one(engine: SqlEngine, conn: sqlite3.Connection, sql: str, params: Any = None) -> Any:
    return engine.execute(conn, sql, params).rows[0]


def _error(engine: SqlEngine, conn: sqlite3.Connection, sql: str, params: Any = None) -> SqlError:
    with pytest.raises(SqlError) as caught:
        engine.execute(conn, sql, params)
    return caught.value


def test_operators(engine: SqlEngine, conn: sqlite3.Connection) -> None:
    row = _one(
        engine,
        conn,
        "SELECT 'abc123' ~ '^[a-z]+[0-9]+$', 'ABC' ~* 'abc', 'abc' !~ 'z', 'ABC' !~* 'abc',"
        " NULL ~ 'a', 'a' ~ $1",
        [None],
    )
    assert row == [True, True, True, False, None, None]


def test_postgres_syntax_is_translated(engine: SqlEngine, conn: sqlite3.Connection) -> None:
    row = _one(
        engine,
        conn,
        "SELECT 'the cat' ~ '\\mcat\\M', 'concat' ~ '\\mcat', 'cats' ~ 'cat\\y',"
        " 'a b' ~ '[[:<:]]b', $1 ~ 'x$', $1 ~ 'x.y', regexp_like($2, '^y', 'n')",
        ["x\n", "x\ny"],
    )
    # `$` is the very end (not before a final newline); `.` matches a newline unless the
    # match is newline-sensitive (flag n), where `^` also matches after one.
    assert row == [True, False, False, True, False, False, True]
    assert _one(engine, conn, "SELECT $1 ~ 'x.'", ["x\n"]) == [True]


def test_regexp_replace(engine: SqlEngine, conn: sqlite3.Connection) -> None:
    row = _one(
        engine,
        conn,
        "SELECT regexp_replace('a1b22c', '[0-9]+', '#', 'g'),"
        " regexp_replace('a1b22c', '[0-9]+', '#'), regexp_replace('Hello', 'L', '_', 'gi'),"
        " regexp_replace('abc', '(b)', '<\\1\\&\\\\>'),"
        " regexp_replace(NULL, 'a', 'b')",
    )
    assert row == ["a#b#c", "a#b22c", "He__o", "a<bb\\>c", None]


def test_match_functions_and_substring(engine: SqlEngine, conn: sqlite3.Connection) -> None:
    row = _one(
        engine,
        conn,
        "SELECT regexp_match('foo bar', '(o+) (b)'), regexp_match('abc', 'b'),"
        " regexp_match('abc', 'z'), regexp_count('banana', 'an'),"
        " substring('hello world' FROM 'w(or)'), substring('abc123' FROM '[0-9]+'),"
        " substring('hello' FROM 2 FOR 3)",
    )
    assert row == [["oo", "b"], ["b"], None, 2, "or", "123", "ell"]
    rows = engine.execute(conn, "SELECT regexp_matches('a1b22c333', '[0-9]+', 'g') AS m").rows
    assert rows == [[["1"]], [["22"]], [["333"]]]
    rows = engine.execute(conn, "SELECT m FROM regexp_matches('abab', '(a)(b)') AS m").rows
    assert rows == [[["a", "b"]]]
    assert engine.execute(conn, "SELECT regexp_matches('abc', 'z')").rows == []


def test_similar_to(engine: SqlEngine, conn: sqlite3.Connection) -> None:
    row = _one(
        engine,
        conn,
        "SELECT 'abc' SIMILAR TO '(a|b)%', 'abc' SIMILAR TO 'b%', 'a%' SIMILAR TO 'a#%' ESCAPE '#',"
        " 'a.c' SIMILAR TO 'a.c', 'abc' SIMILAR TO 'a.c', 'abc' NOT SIMILAR TO '_b_'",
    )
    assert row == [True, False, True, True, False, False]


def test_columns_and_typed_results(engine: SqlEngine, conn: sqlite3.Connection) -> None:
    engine.execute(conn, "CREATE TABLE rx (id int PRIMARY KEY, s text)")
    engine.execute(conn, "INSERT INTO rx VALUES (1, 'apple'), (2, 'Banana'), (3, NULL)")
    out = engine.execute(conn, "SELECT id, s ~* '^b' AS b FROM rx ORDER BY id")
    assert out.rows == [[1, False], [2, True], [3, None]]
    assert out.types is None or out.types[1] == "boolean"


def test_catastrophic_backtracking_is_cancelled(
    engine: SqlEngine, conn: sqlite3.Connection
) -> None:
    started = time.monotonic()
    error = _error(engine, conn, "SELECT $1 ~ '(a|aa)+c'", ["a" * 80 + "b"])
    assert error.sqlstate == "57014"
    assert time.monotonic() - started < 10


def test_bounds_and_bad_patterns(engine: SqlEngine, conn: sqlite3.Connection) -> None:
    assert _error(engine, conn, "SELECT 'a' ~ $1", ["a" * (PATTERN_CHARACTERS + 1)]).sqlstate == (
        "54000"
    )
    long_subject = "a" * (SUBJECT_CHARACTERS + 1)
    assert _error(engine, conn, "SELECT $1 ~ 'a'", [long_subject]).sqlstate == "54000"
    assert _error(engine, conn, "SELECT 'a' ~ '('").sqlstate == "2201B"
    assert _error(engine, conn, "SELECT 'a' ~ '[a'").sqlstate == "2201B"
    assert _error(engine, conn, "SELECT regexp_replace('a', 'a', 'b', 'z')").sqlstate == "22023"
    assert _error(engine, conn, "SELECT regexp_match('a', 'a', 'g')").sqlstate == "22023"


def test_counted_repetitions_are_bounded(engine: SqlEngine, conn: sqlite3.Connection) -> None:
    """The matcher unrolls {m,n} when it compiles, outside the timeout: a count above
    Postgres' 255 and a pattern that unrolls beyond the bound are refused before that."""
    for pattern in ("a{256}", "((a{1000}){1000}){1000}", "(a{255}){255}", "x{2,300}"):
        started = time.monotonic()
        assert _error(engine, conn, "SELECT 'a' ~ $1", [pattern]).sqlstate == "2201B", pattern
        assert time.monotonic() - started < 1
    assert _one(engine, conn, "SELECT $1 ~ '^(ab){3}x{2,4}$'", ["abababxxx"]) == [True]
    big = "(a{255}){255}"
    error = _error(engine, conn, "SELECT 'a' SIMILAR TO $1", [big])
    assert error.sqlstate == "2201B"


def test_a_user_may_call_them_under_the_authorizer(
    engine: SqlEngine, conn: sqlite3.Connection
) -> None:
    conn.set_authorizer(make_authorizer(user_principal("alice", "public")))
    try:
        row = _one(
            engine,
            conn,
            "SELECT 'a' ~ 'a', regexp_replace('a', 'a', 'b'), 'a' SIMILAR TO 'a',"
            " substring('ab' FROM 'b'), regexp_match('a', 'a'), regexp_count('a', 'a')",
        )
        assert row == [True, "b", True, "b", ["a"], 1]
    finally:
        conn.set_authorizer(None)


_SIMPLE = st.text(alphabet="ab.*+?|()^", max_size=8)


@settings(max_examples=200, deadline=None)
@given(pattern=_SIMPLE, subject=st.text(alphabet="ab", max_size=8))
def test_plain_patterns_match_as_python_does(pattern: str, subject: str) -> None:
    """Patterns without ARE-only syntax mean what they mean to Python (``$`` aside)."""
    try:
        expected = re.search(pattern, subject, re.DOTALL) is not None
    except re.error:
        return
    translated = regex.compile(translate(pattern, False, False), regex.DOTALL | regex.VERSION0)
    assert (translated.search(subject) is not None) == expected
