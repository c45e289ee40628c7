"""Load: a subscriber that stops reading is cut off with the id to resume from, and resumes
exactly; a thousand concurrent subscribers all get a change, at a small memory cost each."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable

import httpx

from tests.realtime.conftest import Server

ROWS_PER_RECORD = 500
RECORDS = 24
FAT = "x" * 2000
SUBSCRIBERS = 1000
MAX_KIB_PER_SUBSCRIBER = 64


def test_a_subscriber_that_falls_behind_is_cut_off_and_resumes_exactly(server: Server) -> None:
    server.ok("CREATE TABLE flood (id INTEGER PRIMARY KEY, v TEXT)")
    expected: list[str] = []
    with server.subscribe(tables="flood", buffer="1", heartbeat="0.2") as stream:
        subscribed = stream.next()
        for r in range(RECORDS):
            first = r * ROWS_PER_RECORD + 1
            answer = server.ok(
                "INSERT INTO flood (id, v) SELECT g.g, $1 FROM"
                f" generate_series({first}, {first + ROWS_PER_RECORD - 1}) AS g(g)",
                params=[FAT],
            )
            expected.extend(f"{answer['lsn']}.{i}" for i in range(ROWS_PER_RECORD))
        received: list[str] = []
        while (event := stream.next(30)).event != "overflow":
            received.append(str(event.id))
    assert 0 < len(received) < len(expected), "the subscriber was never cut off"
    assert received == expected[: len(received)]
    assert event.data == {"resume_from": received[-1]}
    assert subscribed.event == "subscribed"
    with server.subscribe(tables="flood", last_id=received[-1], heartbeat="0.2") as resumed:
        assert resumed.next().event == "subscribed"
        rest = [str(e.id) for e in resumed.take(len(expected) - len(received), timeout=60)]
    assert received + rest == expected


async def _open(
    client: httpx.AsyncClient, stack: contextlib.AsyncExitStack, server: Server, table: str
) -> Callable[[], Awaitable[str]]:
    """Open one stream, read up to its `subscribed` event; return a reader of the next event."""
    request = client.build_request(
        "GET",
        f"{server.url}/realtime",
        params={"tables": table, "access_token": server.admin_key, "heartbeat": "30"},
    )
    response = await stack.enter_async_context(_streamed(client, request))
    assert response.status_code == 200
    lines = response.aiter_lines()
    while not (await anext(lines)).startswith("event: subscribed"):
        pass

    async def next_id() -> str:
        while not (line := await anext(lines)).startswith("id: "):
            pass
        return line.removeprefix("id: ")

    return next_id


@contextlib.asynccontextmanager
async def _streamed(
    client: httpx.AsyncClient, request: httpx.Request
) -> AsyncIterator[httpx.Response]:
    response = await client.send(request, stream=True)
    try:
        yield response
    finally:
        await response.aclose()


async def _thousand(server: Server, table: str) -> tuple[int, list[str], str]:
    limits = httpx.Limits(max_connections=SUBSCRIBERS + 10, max_keepalive_connections=0)
    async with (
        httpx.AsyncClient(limits=limits, timeout=httpx.Timeout(60.0)) as client,
        contextlib.AsyncExitStack() as stack,
    ):
        await _open(client, stack, server, table)
        before = server.rss_kib()
        readers = []
        for start in range(0, SUBSCRIBERS - 1, 100):
            batch = min(100, SUBSCRIBERS - 1 - start)
            readers += await asyncio.gather(
                *(_open(client, stack, server, table) for _ in range(batch))
            )
        grown = server.rss_kib() - before
        answer = await asyncio.to_thread(server.ok, f"INSERT INTO {table} (id) VALUES (1)")
        ids = await asyncio.wait_for(asyncio.gather(*(r() for r in readers)), 60)
        return grown, list(map(str, ids)), f"{answer['lsn']}.0"


def test_a_thousand_subscribers_all_get_the_change(
    server: Server, record_property: Callable[[str, object], None]
) -> None:
    server.ok("CREATE TABLE crowd (id INTEGER PRIMARY KEY)")
    grown_kib, ids, expected = asyncio.run(_thousand(server, "crowd"))
    per_subscriber = grown_kib / (SUBSCRIBERS - 1)
    record_property("server_kib_per_subscriber", round(per_subscriber, 2))
    print(f"server memory per idle subscriber: {per_subscriber:.1f} KiB")
    assert ids == [expected] * (SUBSCRIBERS - 1)
    assert per_subscriber < MAX_KIB_PER_SUBSCRIBER
