"""``http``: point SELECT and single-row INSERT over HTTP against the same server's /healthz.

One real ``bkgdb serve`` process (granian, one event loop) with 1000 rows; 1, 16 and 64
client threads, each with a keep-alive connection, issue requests back to back. /healthz is
the framework's ceiling on this machine (routing, JSON, no database); the point SELECT adds
authentication, parsing, a snapshot read and typed rows; the INSERT adds a durable log
record. Each figure is the best of three interleaved rounds. Goal: point SELECT at least
0.5x /healthz throughput at every concurrency.
"""

from __future__ import annotations

from bench.load import Throughput
from bench.model import Outcome, Ratio, Scenario, ratio_key
from bench.scenarios._http import (
    HttpPeer,
    Server,
    healthz,
    insert,
    measure_best,
    point_select,
    running_server,
    throughput_figures,
)
from bench.sizing import scaled

CONCURRENCY = (1, 16, 64)
FULL_REQUESTS = 3000
GOAL = 0.5


def run(quick: bool) -> Outcome:
    """Every kind of request at every concurrency point, kinds interleaved within a point;
    the best of a few rounds is kept for each."""
    requests = scaled(FULL_REQUESTS, quick=quick, minimum=max(CONCURRENCY))
    with running_server() as server:
        measured = measure_best(_peers(server), CONCURRENCY, requests, quick)
    return Outcome(figures=throughput_figures(measured), ratios=_ratios(measured))


def _peers(server: Server) -> dict[str, HttpPeer]:
    return {
        "healthz": HttpPeer("healthz", server, healthz),
        "point_select": HttpPeer("point_select", server, point_select(server.admin_key)),
        "insert": HttpPeer("insert", server, insert(server.admin_key)),
    }


def _ratios(measured: dict[tuple[str, int], Throughput]) -> dict[str, Ratio]:
    """Point SELECT throughput divided by /healthz throughput at each point."""
    return {
        ratio_key("healthz", c): Ratio(
            measured["point_select", c].per_second / measured["healthz", c].per_second, GOAL
        )
        for c in CONCURRENCY
    }


SCENARIO = Scenario(
    name="http",
    peers=("healthz",),
    run=run,
    description=(
        "Point SELECT and single-row INSERT over HTTP from 1, 16 and 64 keep-alive clients "
        "against one bkgdb serve process, with the same server's /healthz as the ceiling."
    ),
)
