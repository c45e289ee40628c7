"""Statement deadlines and CancelRequest: a runaway recursive query is stopped (57014) by
the session's statement_timeout or by the client's cancel, changes nothing, and never
stalls other clients."""

from __future__ import annotations

import asyncio
import signal
import threading
import time
from pathlib import Path

import asyncpg
import httpx
import psycopg
import pytest

from tests.http.conftest import free_port, serving
from tests.pgwire.conftest import Pg

RUNAWAY = (
    "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c) SELECT x FROM c WHERE x < 0"
)


def test_statement_timeout_stops_a_runaway_query(pg: Pg) -> None:
    with psycopg.connect(pg.dsn(pg.alice), autocommit=True) as conn:
        conn.execute("SET statement_timeout = 300")
        began = time.monotonic()
        with pytest.raises(psycopg.errors.QueryCanceled):
            conn.execute(RUNAWAY)
        assert time.monotonic() - began < 5
        assert conn.execute("SELECT 1").fetchone() == (1,)


def test_cancel_request_stops_a_runaway_query_while_others_are_served(pg: Pg) -> None:
    with psycopg.connect(pg.dsn(pg.alice), autocommit=True) as conn:
        outcome: list[BaseException] = []

        def run() -> None:
            try:
                conn.execute(RUNAWAY)
            except psycopg.Error as exc:
                outcome.append(exc)

        worker = threading.Thread(target=run)
        worker.start()
        time.sleep(0.5)
        assert httpx.get(f"{pg.served.url}/healthz", timeout=2).status_code == 200
        with psycopg.connect(pg.dsn(pg.namespace_key), autocommit=True) as other:
            assert other.execute("SELECT count(*) FROM todos").fetchone() is not None
        conn.cancel()
        worker.join(timeout=10)
        assert not worker.is_alive()
        assert isinstance(outcome[0], psycopg.errors.QueryCanceled)
        assert conn.execute("SELECT 2").fetchone() == (2,)


def test_asyncpg_timeout_cancels_through_a_cancel_request(pg: Pg) -> None:
    async def main() -> int:
        conn = await asyncpg.connect(pg.dsn(pg.namespace_key), timeout=5)
        try:
            with pytest.raises(asyncio.TimeoutError):
                await conn.fetch(RUNAWAY, timeout=0.5)
            value: int = await conn.fetchval("SELECT 3")
            return value
        finally:
            await conn.close()

    assert asyncio.run(main()) == 3


def test_a_cancelled_write_in_a_block_changes_nothing(pg: Pg) -> None:
    before = pg.head()
    with psycopg.connect(pg.dsn(pg.namespace_key), autocommit=True) as conn:
        conn.execute("SET statement_timeout = '300ms'")
        conn.execute("BEGIN")
        conn.execute("INSERT INTO todos (id, owner) VALUES (800, 'z')")
        with pytest.raises(psycopg.errors.QueryCanceled):
            conn.execute(f"INSERT INTO todos (id, owner) SELECT x, 'z' FROM ({RUNAWAY}) AS r")
        conn.execute("COMMIT")
    assert pg.head() == before


def test_a_stopping_server_ends_sessions_with_57p01(tmp_path: Path) -> None:
    port = free_port()
    with serving(tmp_path / "data", args=["--pg-port", str(port)]) as served:
        dsn = f"postgresql://t:{served.admin_key}@127.0.0.1:{port}/postgres"
        with psycopg.connect(dsn, autocommit=True) as conn:
            outcome: list[BaseException] = []

            def run() -> None:
                try:
                    conn.execute(RUNAWAY)
                except psycopg.Error as exc:
                    outcome.append(exc)

            worker = threading.Thread(target=run)
            worker.start()
            time.sleep(0.5)
            began = time.monotonic()
            served.process.send_signal(signal.SIGTERM)
            _, stderr = served.process.communicate(timeout=15)
            worker.join(10)
        assert time.monotonic() - began < 10
        assert served.process.returncode == 0, stderr
        assert "Traceback" not in stderr
        assert isinstance(outcome[0], psycopg.errors.AdminShutdown | psycopg.errors.QueryCanceled)
