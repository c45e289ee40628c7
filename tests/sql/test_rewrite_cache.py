"""Translations of rewritten statements are cached per the rewrite's ``cache_key``."""

from __future__ import annotations

import sqlite3

from sqlglot import exp

from api.sql import SqlEngine, StatementInfo


class CountingRewrite:
    """Adds ``WHERE id > 1`` to every SELECT and counts how often it ran."""

    def __init__(self, cache_key: tuple[str, ...] | None) -> None:
        self.cache_key = cache_key
        self.calls = 0

    def __call__(self, expression: exp.Expression, info: StatementInfo) -> exp.Expression:
        self.calls += 1
        assert isinstance(expression, exp.Select)
        return expression.where("id > 1")


def _setup(engine: SqlEngine, conn: sqlite3.Connection) -> None:
    engine.execute(conn, "CREATE TABLE t (id INTEGER PRIMARY KEY)")
    engine.execute(conn, "INSERT INTO t (id) VALUES (1), (2), (3)")


def test_keyed_rewrite_runs_once_per_key(engine: SqlEngine, conn: sqlite3.Connection) -> None:
    _setup(engine, conn)
    alice, bob = CountingRewrite(("user", "alice")), CountingRewrite(("user", "bob"))
    for _ in range(3):
        rows = engine.execute(conn, "SELECT id FROM t ORDER BY id", rewrite=alice).rows
        assert [list(r) for r in rows] == [[2], [3]]
    engine.execute(conn, "SELECT id FROM t ORDER BY id", rewrite=bob)
    assert (alice.calls, bob.calls) == (1, 1)
    assert len(engine.execute(conn, "SELECT id FROM t").rows) == 3


def test_unkeyed_rewrite_runs_every_time(engine: SqlEngine, conn: sqlite3.Connection) -> None:
    _setup(engine, conn)
    rewrite = CountingRewrite(None)
    for _ in range(2):
        assert len(engine.execute(conn, "SELECT id FROM t", rewrite=rewrite).rows) == 2
    assert rewrite.calls == 2
