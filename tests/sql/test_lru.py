"""The engine's LRU caches: eviction order and concurrent use."""

from __future__ import annotations

import sqlite3
import threading

from api.sql import SqlEngine
from api.sql.lru import LRU


def test_least_recently_used_entry_is_evicted() -> None:
    cache: LRU[str, int] = LRU(2)
    cache.put("a", 1)
    cache.put("b", 2)
    assert cache.get("a") == 1
    cache.put("c", 3)
    assert (cache.get("a"), cache.get("b"), cache.get("c")) == (1, None, 3)


def test_concurrent_use_of_a_tiny_cache() -> None:
    cache: LRU[int, int] = LRU(1)
    errors: list[BaseException] = []

    def hammer(offset: int) -> None:
        try:
            for i in range(2000):
                cache.put(i + offset, i)
                cache.get(i + offset - 1)
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=hammer, args=(n * 10_000,)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []


def test_engine_without_cache_parses_every_time(conn: sqlite3.Connection) -> None:
    engine = SqlEngine(cache_size=0)
    engine.execute(conn, "CREATE TABLE t (a int)")
    for value in range(3):
        engine.execute(conn, "INSERT INTO t VALUES ($1)", [value])
    assert engine.parse_count == 4
    assert engine.execute(conn, "SELECT sum(a) FROM t").rows == [[3]]
