"""Extended-protocol batches as Postgres runs them: everything executed between two Syncs
outside an explicit block is one implicit transaction (one log record); an error skips to
Sync and nothing of the batch commits."""

from __future__ import annotations

import asyncio
from typing import Any

import asyncpg
import psycopg
import pytest

from tests.pgwire.conftest import Pg

TABLE = "CREATE TABLE shop.batched (id integer PRIMARY KEY, note text)"


@pytest.fixture(scope="module")
def batched(pg: Pg) -> Pg:
    pg.http(TABLE)
    return pg


def count(pg: Pg, where: str) -> int:
    rows = pg.http(f"SELECT count(*) FROM shop.batched WHERE {where}")["rows"]
    return int(rows[0][0])


def test_psycopg_pipeline_is_one_record(batched: Pg) -> None:
    before = batched.head()
    with psycopg.connect(batched.dsn(batched.namespace_key), autocommit=True) as conn:
        with conn.pipeline():
            for key in range(1, 4):
                conn.execute("INSERT INTO batched VALUES (%s, 'pipelined')", (key,))
            returned = conn.execute("INSERT INTO batched VALUES (4, 'x') RETURNING id")
        assert returned.fetchall() == [(4,)]
    assert batched.head() == before + 1
    assert count(batched, "id BETWEEN 1 AND 4") == 4


def test_psycopg_pipeline_error_commits_nothing_of_its_batch(batched: Pg) -> None:
    before = batched.head()
    with psycopg.connect(batched.dsn(batched.namespace_key), autocommit=True) as conn:
        with pytest.raises(psycopg.errors.UniqueViolation), conn.pipeline():
            conn.execute("INSERT INTO batched VALUES (10, 'first')")
            conn.execute("INSERT INTO batched VALUES (1, 'duplicate')")
            conn.execute("INSERT INTO batched VALUES (11, 'after')")
        assert conn.execute("SELECT count(*) FROM batched WHERE id >= 10").fetchone() == (0,)
    assert batched.head() == before
    assert count(batched, "id >= 10") == 0


def test_single_statements_still_commit_each(batched: Pg) -> None:
    before = batched.head()
    with psycopg.connect(batched.dsn(batched.namespace_key), autocommit=True) as conn:
        conn.execute("INSERT INTO batched VALUES (20, 'a')")
        with pytest.raises(psycopg.errors.UniqueViolation):
            conn.execute("INSERT INTO batched VALUES (20, 'b')")
        assert conn.execute("UPDATE batched SET note = 'c' WHERE id = 20").rowcount == 1
    assert batched.head() == before + 2


def run(pg: Pg, body: Any) -> Any:
    async def main() -> Any:
        conn = await asyncpg.connect(pg.dsn(pg.namespace_key), timeout=5)
        try:
            return await body(conn)
        finally:
            await conn.close()

    return asyncio.run(main())


def test_asyncpg_executemany_is_atomic(batched: Pg) -> None:
    before = batched.head()

    async def good(conn: asyncpg.Connection) -> None:
        await conn.executemany(
            "INSERT INTO batched VALUES ($1, $2)", [(30, "a"), (31, "b"), (32, "c")]
        )

    run(batched, good)
    assert batched.head() == before + 1
    assert count(batched, "id BETWEEN 30 AND 32") == 3

    async def bad(conn: asyncpg.Connection) -> None:
        with pytest.raises(asyncpg.UniqueViolationError):
            await conn.executemany(
                "INSERT INTO batched VALUES ($1, $2)", [(40, "a"), (30, "dup"), (41, "c")]
            )
        assert await conn.fetchval("SELECT count(*) FROM batched WHERE id >= 40") == 0

    run(batched, bad)
    assert batched.head() == before + 1
    assert count(batched, "id >= 40") == 0


def test_an_explicit_block_inside_a_pipeline_still_commits_at_commit(batched: Pg) -> None:
    with psycopg.connect(batched.dsn(batched.namespace_key)) as conn:
        with conn.pipeline():
            conn.execute("INSERT INTO batched VALUES (50, 'tx')")
            conn.execute("INSERT INTO batched VALUES (51, 'tx')")
        assert count(batched, "id IN (50, 51)") == 0
        conn.commit()
    assert count(batched, "id IN (50, 51)") == 2
