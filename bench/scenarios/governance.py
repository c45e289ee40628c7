"""``governance``: one tenant's runaway queries must not slow the others down.

A user of the namespace ``hostile`` keeps 4 runaway recursive queries in flight, each sent
again as soon as the server answers it (the statement deadline cancels it, or admission
control refuses it). Meanwhile ``/healthz`` and a point SELECT of a user of another
namespace are timed from one keep-alive client, against the same requests with no runaway
load, in the same run on the same server. Goals: each p99 under load within 2x of idle
(``vs_idle_<probe>@1`` is the idle p99 divided by the loaded one, as a speed: at least
0.5); every runaway answered ``QUERY_CANCELED`` within the deadline + 1 s (the margin at
least 0); the server's RSS growing by less than 200 MB while it cancels them (the headroom
at least 0).
"""

from __future__ import annotations

import collections
import http.client
import threading
import time
from pathlib import Path
from types import TracebackType

from bench.errors import PeerFailedError
from bench.load import Throughput, measure
from bench.model import Figure, Outcome, Ratio, Scenario, figure_key, ratio_key
from bench.scenarios._http import HttpPeer, Server, healthz, point_select, running_server, send
from bench.sizing import scaled

TIMEOUT_S = 2.0
RUNAWAYS = 4
RUNAWAY = (
    "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c) SELECT x FROM c WHERE x < 0"
)
HOSTILE = {"sub": "h1", "ns": "hostile", "ttl_seconds": 3600}
FULL_REQUESTS = 2000
RSS_BUDGET_MB = 200.0
P99_GOAL = 0.5
CANCELLED, REFUSED = 408, 503


class Runaways:
    """Threads that each keep one runaway query in flight until the block ends, noting how
    each was answered and the slowest cancellation."""

    def __init__(self, server: Server, token: str) -> None:
        self._server = server
        self._token = token
        self._stop = threading.Event()
        self._threads = [threading.Thread(target=self._loop, daemon=True) for _ in range(RUNAWAYS)]
        self.answers: collections.Counter[int] = collections.Counter()
        self.slowest_cancel_s = 0.0
        self.failure: str | None = None

    def __enter__(self) -> Runaways:
        for thread in self._threads:
            thread.start()
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join()

    def _loop(self) -> None:
        conn = http.client.HTTPConnection("127.0.0.1", self._server.port, timeout=60)
        try:
            while not self._stop.is_set():
                began = time.perf_counter()
                status, body = send(conn, "POST", "/query", {"sql": RUNAWAY}, self._token)
                self._note(status, time.perf_counter() - began, body)
        except OSError as exc:
            self.failure = f"a runaway's connection failed: {exc!r}"
        finally:
            conn.close()

    def _note(self, status: int, seconds: float, body: bytes) -> None:
        self.answers[status] += 1
        if status == CANCELLED:
            self.slowest_cancel_s = max(self.slowest_cancel_s, seconds)
        elif status != REFUSED:
            self.failure = f"a runaway answered {status}: {body[:200]!r}"
            self._stop.set()


class RssSampler:
    """The server process's peak resident set while the block runs, sampled every 50 ms."""

    def __init__(self, pid: int) -> None:
        self._status = Path(f"/proc/{pid}/status")
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, daemon=True)
        self.baseline_mb = self.current_mb()
        self.peak_mb = self.baseline_mb

    def current_mb(self) -> float:
        """VmRSS of the process now, in MB."""
        for line in self._status.read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
        raise PeerFailedError("no VmRSS in /proc status")

    def __enter__(self) -> RssSampler:
        self._thread.start()
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self._stop.set()
        self._thread.join()

    def _loop(self) -> None:
        while not self._stop.wait(0.05):
            self.peak_mb = max(self.peak_mb, self.current_mb())


def _probes(server: Server) -> dict[str, HttpPeer]:
    return {
        "healthz": HttpPeer("healthz", server, healthz),
        "select": HttpPeer("select", server, point_select(server.user_token)),
    }


def run(quick: bool) -> Outcome:
    """The probes idle, then the same probes while the runaways are being cancelled."""
    requests = scaled(FULL_REQUESTS, quick=quick, minimum=50)
    with running_server("--statement-timeout", str(TIMEOUT_S)) as server:
        server.call("POST", "/query", {"sql": "CREATE SCHEMA hostile"})
        token = server.call("POST", "/auth/token", HOSTILE)["access_token"]
        probes = _probes(server)
        idle = {name: measure(peer, 1, requests) for name, peer in probes.items()}
        with RssSampler(server.process.pid) as rss, Runaways(server, token) as runaways:
            time.sleep(TIMEOUT_S / 4)  # every runaway is in flight before timing starts
            loaded = {name: measure(peer, 1, requests) for name, peer in probes.items()}
            time.sleep(max(0.0, TIMEOUT_S + 0.5 - _seconds(loaded)))  # at least one cancel each
    if runaways.failure is not None:
        raise PeerFailedError(runaways.failure)
    if runaways.answers[CANCELLED] == 0:
        raise PeerFailedError(f"no runaway was cancelled: {dict(runaways.answers)}")
    return _outcome(idle, loaded, runaways, rss)


def _seconds(measured: dict[str, Throughput]) -> float:
    return sum(t.seconds for t in measured.values())


def _outcome(
    idle: dict[str, Throughput],
    loaded: dict[str, Throughput],
    runaways: Runaways,
    rss: RssSampler,
) -> Outcome:
    figures: dict[str, Figure] = {}
    ratios: dict[str, Ratio] = {}
    for name, calm in idle.items():
        busy = loaded[name]
        figures[figure_key(f"{name}_idle_p99", 1)] = Figure(calm.p99_ms, "ms p99 latency")
        figures[figure_key(f"{name}_loaded_p99", 1)] = Figure(busy.p99_ms, "ms p99 latency")
        ratios[ratio_key(f"idle_{name}", 1)] = Ratio(calm.p99_ms / busy.p99_ms, P99_GOAL)
    growth = rss.peak_mb - rss.baseline_mb
    figures["runaway_requests"] = Figure(
        float(sum(runaways.answers.values())), "requests (408 or 503)"
    )
    figures["runaways_cancelled"] = Figure(float(runaways.answers[CANCELLED]), "statements")
    figures["slowest_cancel_s"] = Figure(runaways.slowest_cancel_s, "s")
    figures["cancel_margin_s"] = Figure(TIMEOUT_S + 1 - runaways.slowest_cancel_s, "s", 0.0)
    figures["rss_baseline_mb"] = Figure(rss.baseline_mb, "MB")
    figures["rss_peak_mb"] = Figure(rss.peak_mb, "MB")
    figures["rss_headroom_mb"] = Figure(RSS_BUDGET_MB - growth, "MB", 0.0)
    return Outcome(figures=figures, ratios=ratios)


SCENARIO = Scenario(
    name="governance",
    peers=("idle_healthz", "idle_select"),
    run=run,
    description=(
        "/healthz and another tenant's point SELECT p99 while 4 runaway queries of one user "
        "are being cancelled, against the same requests with no runaway load."
    ),
)
