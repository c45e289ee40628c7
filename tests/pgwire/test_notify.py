"""LISTEN / NOTIFY between sessions: delivered at once or when a block commits, never after
a rollback, and only within the sender's namespace."""

from __future__ import annotations

import asyncio
import socket
import time
from typing import Any

import asyncpg
import httpx
import psycopg
import pytest

from tests.pgwire.conftest import Pg
from tests.pgwire.test_protocol import logged_in, message


def connect(pg: Pg, password: str, database: str = "shop") -> psycopg.Connection[Any]:
    return psycopg.connect(pg.dsn(password, database), autocommit=True, connect_timeout=5)


def heard(conn: psycopg.Connection[Any], timeout: float = 3.0) -> list[tuple[str, str]]:
    return [(n.channel, n.payload) for n in conn.notifies(timeout=timeout, stop_after=10)]


def test_notify_reaches_listeners_at_once_or_at_commit(pg: Pg) -> None:
    with connect(pg, pg.namespace_key) as listener, connect(pg, pg.namespace_key) as sender:
        listener.execute("LISTEN jobs")
        sender.execute("NOTIFY jobs, 'now'")
        sender.execute("BEGIN")
        sender.execute("NOTIFY jobs, 'rolled back'")
        sender.execute("ROLLBACK")
        sender.execute("BEGIN")
        sender.execute("NOTIFY jobs, 'it''s committed'")
        sender.execute("NOTIFY other, 'unheard'")
        sender.execute("COMMIT")
        assert heard(listener, 1.5) == [("jobs", "now"), ("jobs", "it's committed")]
        listener.execute("UNLISTEN *")
        sender.execute("NOTIFY jobs, 'after unlisten'")
        assert heard(listener, 0.5) == []


def test_channels_belong_to_a_namespace(pg: Pg) -> None:
    with connect(pg, pg.namespace_key) as listener, connect(pg, pg.admin_key, "public") as admin:
        listener.execute("LISTEN shared")
        admin.execute("NOTIFY shared, 'from public'")
        assert heard(listener, 0.5) == []


def test_asyncpg_listener(pg: Pg) -> None:
    async def main() -> list[tuple[str, str]]:
        conn = await asyncpg.connect(pg.dsn(pg.namespace_key), timeout=5)
        other = await asyncpg.connect(pg.dsn(pg.alice), timeout=5)
        got: asyncio.Queue[tuple[str, str]] = asyncio.Queue()
        try:
            await conn.add_listener("events", lambda *a: got.put_nowait((a[2], a[3])))
            await other.execute("NOTIFY events, 'from alice'")
            return [await asyncio.wait_for(got.get(), 5)]
        finally:
            await conn.close()
            await other.close()

    assert asyncio.run(main()) == [("events", "from alice")]


@pytest.mark.parametrize(
    ("sql", "state"),
    [("NOTIFY jobs, '" + "x" * 8000 + "'", "22023"), ("LISTEN", "42601"), ("NOTIFY a b", "42601")],
)
def test_bad_notify_statements(pg: Pg, sql: str, state: str) -> None:
    with connect(pg, pg.namespace_key) as conn, pytest.raises(psycopg.Error) as caught:
        conn.execute(sql)
    assert caught.value.sqlstate == state


def test_a_listener_that_never_reads_is_disconnected_not_buffered_for(pg: Pg) -> None:
    before = connections(pg)
    sock = logged_in(pg)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    sock.sendall(message(b"Q", b"LISTEN flood\0"))
    with connect(pg, pg.namespace_key) as sender:
        payload = "x" * 7900
        for _ in range(2000):  # ~16 MB: beyond the socket buffers and the 1 MiB backlog
            sender.execute(f"NOTIFY flood, '{payload}'")
        assert sender.execute("SELECT 1").fetchone() == (1,)
    deadline = time.monotonic() + 10
    while connections(pg) > before and time.monotonic() < deadline:
        time.sleep(0.1)
    assert connections(pg) == before  # the listener's session ended
    sock.close()


def connections(pg: Pg) -> int:
    metrics = httpx.get(f"{pg.served.url}/metrics", timeout=5).text
    gauge = [line for line in metrics.splitlines() if line.startswith("bkg_pgwire_connections ")]
    return int(float(gauge[0].split()[-1]))
