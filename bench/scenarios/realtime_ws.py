"""``realtime_ws``: commit-to-delivery latency of `/realtime/v1/websocket` with 1, 100 and
1,000 subscribers, beside `/realtime` (server-sent events) in the same run.

One real ``bkgdb serve`` process. For each count N, N websocket subscribers (a minimal
client: raw sockets, the handshake and one ``phx_join`` with a postgres_changes binding,
then read by one selector thread that only scans for ``commit_timestamp``) and N SSE
subscribers (`fanout`'s), one door at a time, follow one table while a writer inserts one row every
``INTERVAL_S``. Each delivery's latency is its arrival time minus the commit timestamp;
every subscriber must receive every write. Goals (the issue's): p99 with 1,000 websocket
subscribers within 5x of one (``vs_one_subscriber@1000`` = p99(1) / p99(1000) >= 0.2), and
within 1.5x of SSE at 1,000 (``vs_sse@1000`` = p99_sse / p99_ws >= 1 / 1.5).
"""

from __future__ import annotations

import base64
import json
import os
import socket
import time
from collections.abc import Iterator
from contextlib import contextmanager

from bench.errors import PeerFailedError
from bench.model import Figure, Outcome, Ratio, Scenario, figure_key, ratio_key
from bench.scenarios._http import Server, running_server
from bench.scenarios.fanout import (
    FULL_WRITES,
    SUBSCRIBERS,
    TABLE,
    Subscribers,
    _percentile_ms,
    _write_steadily,
)
from bench.sizing import scaled, smoke

SMOKE_SUBSCRIBERS = (1, 10, 50)
"""Subscriber counts of a smoke run (the test suite's): every code path, a fraction of the
sockets (a thousand websockets and streams take half a minute to open and close)."""
GOAL_VS_ONE = 0.2
GOAL_VS_SSE = 1 / 1.5
HEARTBEAT_S = 20.0
SCHEMA, _, NAME = TABLE.partition(".")


def text_frame(text: str) -> bytes:
    """A masked client text frame."""
    payload = text.encode()
    mask = os.urandom(4)
    size = len(payload)
    if size < 126:
        head = bytes([0x81, 0x80 | size])
    else:
        head = bytes([0x81, 0x80 | 126]) + size.to_bytes(2, "big")
    return head + mask + bytes(b ^ mask[i % 4] for i, b in enumerate(payload))


JOIN = text_frame(
    json.dumps({
        "topic": "realtime:bench", "event": "phx_join", "ref": "1", "join_ref": "1",
        "payload": {"config": {"postgres_changes": [
            {"event": "INSERT", "schema": SCHEMA, "table": NAME},
        ]}},
    })
)  # fmt: skip
HEARTBEAT = text_frame('{"topic":"phoenix","event":"heartbeat","payload":{},"ref":"h"}')


class WsSubscribers(Subscribers):
    """N joined websocket channels (the same reading thread as the SSE subscribers)."""

    mark = b'"commit_timestamp":"'

    def _open(self, server: Server) -> None:
        sock = socket.create_connection(("127.0.0.1", server.port), timeout=30)
        key = base64.b64encode(os.urandom(16)).decode()
        path = f"/realtime/v1/websocket?apikey={server.admin_key}&vsn=1.0.0"
        request = (
            f"GET {path} HTTP/1.1\r\nHost: bench\r\nUpgrade: websocket\r\n"
            f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n"
        )
        sock.sendall(request.encode())
        seen = self._until(sock, b"\r\n\r\n", b"")
        if not seen.startswith(b"HTTP/1.1 101"):
            raise PeerFailedError(f"the websocket handshake failed: {seen[:200]!r}")
        sock.sendall(JOIN)
        self._until(sock, b"Subscribed to PostgreSQL", seen.partition(b"\r\n\r\n")[2])
        sock.setblocking(False)
        self._buffers[sock] = b""
        self._selector.register(sock, 1)  # selectors.EVENT_READ
        self._beat = time.monotonic()

    @staticmethod
    def _until(sock: socket.socket, marker: bytes, seen: bytes) -> bytes:
        while marker not in seen:
            chunk = sock.recv(65536)
            if not chunk:
                raise PeerFailedError(f"the websocket closed before {marker!r}: {seen[:200]!r}")
            seen += chunk
        return seen

    def tick(self) -> None:
        """A heartbeat on every socket every HEARTBEAT_S (the server drops silent ones)."""
        if time.monotonic() - self._beat < HEARTBEAT_S:
            return
        self._beat = time.monotonic()
        for sock in self._buffers:
            sock.send(HEARTBEAT)


@contextmanager
def subscribed(server: Server, door: str, count: int) -> Iterator[Subscribers]:
    subscribers = WsSubscribers(server, count) if door == "ws" else Subscribers(server, count)
    try:
        yield subscribers
    finally:
        subscribers.close()


def run(quick: bool) -> Outcome:
    """Each subscriber count in turn on one server, the websocket door then SSE (one at a
    time, so that each is measured under the same load): subscribe, write steadily."""
    writes = scaled(FULL_WRITES, quick=quick, minimum=5)
    warmup = 0 if smoke() else writes // 5
    figures: dict[str, Figure] = {}
    p99: dict[tuple[str, int], float] = {}
    counts = SMOKE_SUBSCRIBERS if smoke() else SUBSCRIBERS
    with running_server() as server:
        server.call("POST", "/query", {"sql": f"CREATE TABLE {TABLE} (id bigint PRIMARY KEY)"})
        next_id = 1
        for count in counts:
            for door in ("ws", "sse"):
                with subscribed(server, door, count) as subscribers:
                    for batch in (warmup, writes):
                        subscribers.restart()
                        _write_steadily(server, batch, next_id)
                        subscribers.wait_for(batch * count, timeout=120)
                        next_id += batch
                    latencies = subscribers.latencies
                p99[door, count] = _percentile_ms(latencies, 99)
                figures[figure_key(f"{door}_p50", count)] = Figure(
                    _percentile_ms(latencies, 50), "ms p50"
                )
                figures[figure_key(f"{door}_p99", count)] = Figure(p99[door, count], "ms p99")
    ratios = {
        ratio_key("one_subscriber", count): Ratio(p99["ws", 1] / p99["ws", count], GOAL_VS_ONE)
        for count in counts[1:]
    }
    for count in counts:
        ratios[ratio_key("sse", count)] = Ratio(
            p99["sse", count] / p99["ws", count], GOAL_VS_SSE if count == 1000 else None
        )
    return Outcome(figures=figures, ratios=ratios)


SCENARIO = Scenario(
    name="realtime_ws",
    peers=("one_subscriber", "sse"),
    run=run,
    description=(
        "Commit-to-delivery latency of /realtime/v1/websocket (Phoenix channels) with 1, 100 "
        "and 1,000 subscribers at a steady write rate (one insert every 50 ms), beside "
        "/realtime server-sent events with as many subscribers in the same run."
    ),
)
