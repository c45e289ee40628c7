"""asyncpg (binary formats, statements prepared with inferred parameter types)."""

from __future__ import annotations

import asyncio
import datetime
import decimal
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

import asyncpg
import pytest

from tests.pgwire.conftest import Pg


def run(pg: Pg, password: str, body: Callable[[asyncpg.Connection], Awaitable[Any]]) -> Any:
    async def main() -> Any:
        conn = await asyncpg.connect(pg.dsn(password), timeout=5)
        try:
            return await body(conn)
        finally:
            await conn.close()

    return asyncio.run(main())


def test_parameters_of_every_type_in_binary(pg: Pg) -> None:
    values = (
        7,
        3,
        123_456_789_012,
        2.5,
        decimal.Decimal("12.25"),
        False,
        "ünïcode",
        b"\x01\x02",
        datetime.date(1999, 12, 31),
        datetime.datetime(2030, 5, 6, 7, 8, 9, 10),
        datetime.datetime(2030, 5, 6, 7, 8, 9, tzinfo=datetime.UTC),
        uuid.UUID(int=42),
        '{"k": 1}',
    )

    async def body(conn: asyncpg.Connection) -> Any:
        await conn.execute(
            "CREATE TABLE apg (id int PRIMARY KEY, i2 smallint, i8 bigint, f8 float8, n numeric,"
            " b bool, s text, by bytea, d date, ts timestamp, tz timestamptz, u uuid, j jsonb)"
        )
        await conn.execute(
            "INSERT INTO apg VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)",
            *values,
        )
        return await conn.fetchrow("SELECT * FROM apg WHERE id = $1 AND u = $2", 7, values[11])

    row = run(pg, pg.namespace_key, body)
    expected = list(values)
    expected[4] = float(values[4])
    assert list(row) == expected


def test_transaction_and_errors(pg: Pg) -> None:
    async def body(conn: asyncpg.Connection) -> Any:
        before = await conn.fetchval("SELECT count(*) FROM todos")
        with pytest.raises(asyncpg.UniqueViolationError):
            async with conn.transaction():
                await conn.execute("INSERT INTO todos (id, owner) VALUES (600, 'x')")
                await conn.execute("INSERT INTO todos (id, owner) VALUES (600, 'x')")
        async with conn.transaction():
            await conn.execute("INSERT INTO todos (id, owner) VALUES ($1, $2)", 601, "y")
        with pytest.raises(asyncpg.UndefinedColumnError):
            await conn.fetch("SELECT missing FROM todos")
        return before, await conn.fetchval("SELECT count(*) FROM todos")

    before, after = run(pg, pg.namespace_key, body)
    assert after == before + 1


def test_user_jwt_rls(pg: Pg) -> None:
    async def body(conn: asyncpg.Connection) -> Any:
        own = await conn.fetch("SELECT id FROM todos WHERE owner = $1", "alice")
        with pytest.raises(asyncpg.InsufficientPrivilegeError):
            await conn.execute("INSERT INTO todos (id, owner) VALUES ($1, $2)", 602, "bob")
        return [r["id"] for r in await conn.fetch("SELECT id FROM todos")], [r["id"] for r in own]

    every, own = run(pg, pg.alice, body)
    assert every == own and 1 in own and 3 not in every


def test_catalogue_arrays_arrive_as_lists_in_binary(pg: Pg) -> None:
    async def body(conn: asyncpg.Connection) -> Any:
        return await conn.fetchval(
            "SELECT array_agg(relname ORDER BY relname DESC) FROM pg_catalog.pg_class"
            " WHERE relname IN ('todos', 'notes')"
        )

    assert run(pg, pg.namespace_key, body) == ["todos", "notes"]
