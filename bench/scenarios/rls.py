"""``rls``: the cost of row-level security on a point SELECT over HTTP.

The same primary-key SELECT on the same server, once as admin (no rewrite) and once as a
user under the policy ``owner = auth.uid()`` (every row belongs to that user, so both return
the same row; the difference is the token check, the rewrite and the predicate). 1, 16 and
64 keep-alive clients, best of three interleaved rounds. Goal (issue 18): the user's
throughput at least 0.9x the admin's at every concurrency.
"""

from __future__ import annotations

from bench.model import Figure, Outcome, Ratio, Scenario, figure_key, ratio_key
from bench.scenarios._http import HttpPeer, measure_best, point_select, running_server
from bench.sizing import scaled

CONCURRENCY = (1, 16, 64)
FULL_REQUESTS = 3000
GOAL = 0.9


def run(quick: bool) -> Outcome:
    """User and admin point SELECTs at every concurrency point, interleaved; the best of a
    few rounds is kept for each."""
    requests = scaled(FULL_REQUESTS, quick=quick, minimum=max(CONCURRENCY))
    with running_server() as server:
        peers = {
            "user": HttpPeer("user", server, point_select(server.user_token)),
            "admin": HttpPeer("admin", server, point_select(server.admin_key)),
        }
        measured = measure_best(peers, CONCURRENCY, requests, quick)
    figures: dict[str, Figure] = {}
    for (name, c), t in measured.items():
        figures[figure_key(name, c)] = Figure(t.per_second, "requests/s")
        figures[figure_key(f"{name}_p99", c)] = Figure(t.p99_ms, "ms p99 latency")
    ratios = {
        ratio_key("admin", c): Ratio(
            measured["user", c].per_second / measured["admin", c].per_second, GOAL
        )
        for c in CONCURRENCY
    }
    return Outcome(figures=figures, ratios=ratios)


SCENARIO = Scenario(
    name="rls",
    peers=("admin",),
    run=run,
    description=(
        "A point SELECT over HTTP as a user under a row-level security policy against the "
        "same SELECT as admin, from 1, 16 and 64 keep-alive clients."
    ),
)
