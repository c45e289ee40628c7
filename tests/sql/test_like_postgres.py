"""LIKE and ILIKE answer exactly what PostgreSQL 15 answers: case-sensitive LIKE, ILIKE
folding case, ``_`` and ``%`` wildcards, ``\\`` as the default escape character and ESCAPE
naming another one; and ``starts_with`` is an exact prefix test. Every case runs through
the SQL engine on a projection connected as the store connects, and on a real server."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import psycopg
import pytest
from hypothesis import given, reject, settings
from hypothesis import strategies as st

from api.sql import SqlEngine
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
