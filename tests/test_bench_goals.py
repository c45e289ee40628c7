"""The goals of issue 18 as the scenarios state them, and the `commit` p99 ratio's direction
(PostgreSQL's p99 over ours: above 1 when ours is the shorter)."""

from __future__ import annotations

from bench.compare import throughput_outcome
from bench.load import Throughput
from bench.model import ratio_key
from bench.scenarios import commit, http_peer, point_read, rls


def test_commit_goals_and_p99_ratio() -> None:
    issue_18 = {
        ratio_key("sqlite_txn", 64): 3.0,
        ratio_key("postgres", 1): 1.0,
        ratio_key("postgres", 16): 1.5,
        ratio_key("postgres", 64): 1.5,
    }
    assert issue_18 == commit.GOALS
    p99s = {"bkgdb": 20.0, "postgres": 24.0, "sqlite_txn": 500.0}
    measured = {
        (name, c): Throughput(0, 1000, 1.0, 1.0, p99)
        for name, p99 in p99s.items()
        for c in (1, 16, 64)
    }
    outcome = throughput_outcome(measured, subject="bkgdb", unit="commits/s", goals=commit.GOALS)
    ratio = commit._with_p99_ratio(outcome, measured).ratios[ratio_key("postgres_p99", 64)]
    assert (ratio.value, ratio.goal, ratio.passed) == (1.2, 1.0, True)
    assert "postgres_p99" in commit.SCENARIO.peers


def test_read_and_rls_goals() -> None:
    assert point_read.GOAL == 0.7
    assert rls.GOAL == 0.9


def test_http_peer_goals_cover_both_doors() -> None:
    assert http_peer.GOALS == {"read": 0.8, "create": 1.0}
    assert set(http_peer.PEERS) == {
        "pocketbase_health",
        "pocketbase_read",
        "pocketbase_read_native",
        "pocketbase_create",
        "pocketbase_create_native",
    }
