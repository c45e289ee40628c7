"""``fanout``: commit-to-delivery latency of `/realtime` with 1, 100 and 1,000 subscribers.

One real ``bkgdb serve`` process. N subscribers (raw sockets, read by one selector thread,
so the client's own cost per delivery stays a few microseconds) follow one table while a
writer inserts one row every ``INTERVAL_S`` (a steady rate, not a flood). Each delivery's
latency is its arrival time minus the event's ``ts``, the commit timestamp the log gave the
record; every subscriber must receive every write. A fifth as many untimed writes first
let the server and the streams leave their start-up transient. Goal (issue 18): p99 with
1,000 subscribers at most 5x the p99 with one, written as the ratio ``vs_one_subscriber@1000``
= p99(1) / p99(1000), which must reach 0.2 (higher is better, like every ratio of the
harness).
"""

from __future__ import annotations

import datetime
import http.client
import selectors
import socket
import statistics
import threading
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path

from bench.errors import PeerFailedError
from bench.model import Figure, Outcome, Ratio, Scenario, figure_key, ratio_key
from bench.scenarios._http import NAMESPACE, Server, running_server
from bench.sizing import scaled, smoke

SUBSCRIBERS = (1, 100, 1000)
FULL_WRITES = 300
INTERVAL_S = 0.05
GOAL = 0.2
TABLE = f"{NAMESPACE}.fan"
TS_MARK = b'"ts":"'
TS_LENGTH = len("2026-11-22T03:40:01.123456Z")


class Subscribers:
    """N open `/realtime` streams and a thread noting when each event's ``ts`` arrives."""

    mark = TS_MARK
    """What precedes an event's commit time in the stream."""

    def __init__(self, server: Server, count: int) -> None:
        self._selector = selectors.DefaultSelector()
        self._buffers: dict[socket.socket, bytes] = {}
        self._stamps: dict[bytes, float] = {}
        self.latencies: list[float] = []
        self.delivered = 0
        self._stop = threading.Event()
        for _ in range(count):
            self._open(server)
        self._thread = threading.Thread(target=self._read, daemon=True)
        self._thread.start()

    def _open(self, server: Server) -> None:
        sock = socket.create_connection(("127.0.0.1", server.port), timeout=30)
        path = f"/realtime?tables={TABLE}&ops=insert&heartbeat=300&buffer=10000"
        request = f"GET {path} HTTP/1.1\r\nHost: bench\r\nAuthorization: Bearer {server.admin_key}"
        sock.sendall(request.encode() + b"\r\n\r\n")
        seen = b""
        while b"event: subscribed" not in seen:
            chunk = sock.recv(65536)
            if not chunk:
                raise PeerFailedError(f"/realtime closed before subscribing: {seen[:200]!r}")
            seen += chunk
        sock.setblocking(False)
        self._buffers[sock] = b""
        self._selector.register(sock, selectors.EVENT_READ)

    def _read(self) -> None:
        while not self._stop.is_set():
            self.tick()
            for key, _ in self._selector.select(timeout=0.1):
                sock = key.fileobj
                assert isinstance(sock, socket.socket)
                data = sock.recv(1 << 16)
                arrived = time.time()
                pending = self._buffers[sock]
                self._buffers[sock] = self._note(pending + data if pending else data, arrived)

    def _note(self, buffer: bytes, arrived: float) -> bytes:
        """Record the latency of every complete ``ts`` in `buffer`; keep what is incomplete.
        A stamp is parsed once and remembered (every subscriber receives the same ones), so
        that the reading thread's cost per delivery, which delays the sockets it reads
        after this one, stays a dictionary look-up."""
        mark, stamps = self.mark, self._stamps
        while (at := buffer.find(mark)) >= 0:
            start = at + len(mark)
            end = start + TS_LENGTH
            if len(buffer) < end:
                return buffer[at:]
            stamp = buffer[start:end]
            committed = stamps.get(stamp)
            if committed is None:
                text = stamp.decode()
                committed = stamps[stamp] = datetime.datetime.fromisoformat(text).timestamp()
            self.latencies.append(arrived - committed)
            self.delivered += 1
            buffer = buffer[end:]
        return buffer[-len(mark) :]

    def tick(self) -> None:
        """Called by the reading thread between reads (a protocol's keep-alive)."""

    def restart(self) -> None:
        """Forget what was measured so far (after the untimed warm-up writes)."""
        self.latencies = []
        self.delivered = 0

    def wait_for(self, deliveries: int, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while self.delivered < deliveries:
            if time.monotonic() > deadline:
                raise PeerFailedError(f"{self.delivered} of {deliveries} deliveries arrived")
            time.sleep(0.05)

    def close(self) -> None:
        self._stop.set()
        self._thread.join()
        for sock in self._buffers:
            self._selector.unregister(sock)
            sock.close()
        self._selector.close()


@contextmanager
def subscribed(server: Server, count: int) -> Iterator[Subscribers]:
    subscribers = Subscribers(server, count)
    try:
        yield subscribers
    finally:
        subscribers.close()


def _write_steadily(server: Server, writes: int, first_id: int) -> None:
    """One single-row INSERT every INTERVAL_S on one keep-alive connection."""
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=60)
    headers = {"Authorization": f"Bearer {server.admin_key}", "Content-Type": "application/json"}
    try:
        began = time.perf_counter()
        for n in range(writes):
            pause = began + n * INTERVAL_S - time.perf_counter()
            if pause > 0:
                time.sleep(pause)
            body = f'{{"sql": "INSERT INTO {TABLE} (id) VALUES ({first_id + n})"}}'
            conn.request("POST", "/query", body=body, headers=headers)
            response = conn.getresponse()
            if response.status != 200:
                raise PeerFailedError(f"insert answered {response.status}: {response.read()!r}")
            response.read()
    finally:
        conn.close()


def _rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise PeerFailedError("the server's VmRSS is unreadable")


def _percentile_ms(values: list[float], q: int) -> float:
    return statistics.quantiles(values, n=100, method="inclusive")[q - 1] * 1000


def run(quick: bool) -> Outcome:
    """Each subscriber count in turn on one server: subscribe, write steadily, measure."""
    writes = scaled(FULL_WRITES, quick=quick, minimum=5)
    warmup = 0 if smoke() else writes // 5
    figures: dict[str, Figure] = {}
    p99: dict[int, float] = {}
    with running_server() as server:
        server.call("POST", "/query", {"sql": f"CREATE TABLE {TABLE} (id bigint PRIMARY KEY)"})
        next_id = 1
        for count in SUBSCRIBERS:
            with ExitStack() as stack:
                before = _rss_kib(server.process.pid)
                subscribers = stack.enter_context(subscribed(server, count))
                grown = _rss_kib(server.process.pid) - before
                for batch in (warmup, writes):
                    subscribers.restart()
                    _write_steadily(server, batch, next_id)
                    subscribers.wait_for(batch * count, timeout=120)
                    next_id += batch
                latencies = subscribers.latencies
            p99[count] = _percentile_ms(latencies, 99)
            figures[figure_key("p50", count)] = Figure(_percentile_ms(latencies, 50), "ms p50")
            figures[figure_key("p99", count)] = Figure(p99[count], "ms p99")
            figures[figure_key("kib_per_subscriber", count)] = Figure(
                max(grown, 1) / count, "KiB server RSS per subscriber"
            )
    ratios = {
        ratio_key("one_subscriber", count): Ratio(p99[1] / p99[count], GOAL)
        for count in SUBSCRIBERS[1:]
    }
    return Outcome(figures=figures, ratios=ratios)


SCENARIO = Scenario(
    name="fanout",
    peers=("one_subscriber",),
    run=run,
    description=(
        "Commit-to-delivery latency of /realtime server-sent events with 1, 100 and 1,000 "
        "subscribers at a steady write rate (one insert every 50 ms), against one subscriber."
    ),
)
