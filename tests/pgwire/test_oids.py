"""RowDescription carries the declared type of each column (int4, int2, numeric, float4,
varchar, json...), so clients hand back the Python types a PostgreSQL server would give."""

from __future__ import annotations

import asyncio
import datetime
import decimal
import uuid
from typing import Any

import asyncpg
import psycopg
import pytest

from tests.pgwire.conftest import Pg

TABLE = (
    "CREATE TABLE shop.oids (id integer PRIMARY KEY, big bigint, small smallint, n numeric,"
    " r real, d double precision, v varchar(10), c char(3), s text, b boolean, dt date,"
    " ts timestamp, tz timestamptz, u uuid, j json, jb jsonb, by bytea)"
)
INSERT = (
    "INSERT INTO shop.oids VALUES (1, 9000000000, 7, 2.5, 1.5, 0.25, 'v', 'abc', 's', true,"
    " '2024-01-02', '2024-01-02 03:04:05', '2024-01-02 03:04:05', "
    "'12345678-1234-5678-1234-567812345678', '{\"a\": 1}', '[1]', '\\x0102')"
)
EXPECTED_OIDS = {
    "id": 23, "big": 20, "small": 21, "n": 1700, "r": 700, "d": 701, "v": 1043, "c": 1042,
    "s": 25, "b": 16, "dt": 1082, "ts": 1114, "tz": 1184, "u": 2950, "j": 114, "jb": 3802,
    "by": 17,
}  # fmt: skip


@pytest.fixture(scope="module")
def oids(pg: Pg) -> Pg:
    pg.http(TABLE)
    pg.http(INSERT.replace("'\\x0102'", "x'0102'"))
    return pg


@pytest.mark.parametrize("binary", [False, True])
def test_psycopg_sees_declared_types(oids: Pg, binary: bool) -> None:
    with psycopg.connect(oids.dsn(oids.namespace_key), autocommit=True) as conn:
        cursor = conn.execute("SELECT * FROM oids WHERE id = %s", (1,), binary=binary)
        assert cursor.description is not None
        assert {c.name: c.type_code for c in cursor.description} == EXPECTED_OIDS
        row = cursor.fetchone()
    assert row is not None
    values = dict(zip(EXPECTED_OIDS, row, strict=True))
    assert values["id"] == 1 and values["small"] == 7 and values["big"] == 9_000_000_000
    assert values["n"] == decimal.Decimal("2.5") and isinstance(values["n"], decimal.Decimal)
    assert values["r"] == 1.5 and isinstance(values["d"], float)
    assert values["j"] == {"a": 1} and values["jb"] == [1]
    assert values["u"] == uuid.UUID("12345678-1234-5678-1234-567812345678")
    assert values["tz"] == datetime.datetime(2024, 1, 2, 3, 4, 5, tzinfo=datetime.UTC)


def test_computed_columns_keep_an_inference(oids: Pg) -> None:
    with psycopg.connect(oids.dsn(oids.namespace_key), autocommit=True) as conn:
        cursor = conn.execute(
            "SELECT count(*), id + 1, n::int, 'x' || s, id::bigint, max(small) FROM oids"
            " GROUP BY id, n, s"
        )
        assert cursor.description is not None
        assert [c.type_code for c in cursor.description] == [20, 20, 23, 25, 20, 21]


def test_asyncpg_sees_declared_types(oids: Pg) -> None:
    async def main() -> Any:
        conn = await asyncpg.connect(oids.dsn(oids.namespace_key), timeout=5)
        try:
            return await conn.fetchrow("SELECT id, small, n, r, v, c FROM oids WHERE id = $1", 1)
        finally:
            await conn.close()

    row = asyncio.run(main())
    assert row["id"] == 1 and row["small"] == 7
    assert row["n"] == decimal.Decimal("2.5") and isinstance(row["n"], decimal.Decimal)
    assert row["r"] == 1.5 and row["v"] == "v" and row["c"] == "abc"
