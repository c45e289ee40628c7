"""Time travel: the state after record N, from checkpoint or cache plus replay, LRU-bounded."""

from __future__ import annotations

import pytest

from projections.errors import LsnOutOfRangeError
from projections.timetravel import TimeTravel
from tests.projections.projkit import Env, create_table, insert, rows, sql_entry


def _history(env: Env, count: int) -> dict[int, list[tuple[int, str]]]:
    """Append a table and `count` inserts; return the rows expected after each LSN."""
    states: dict[int, list[tuple[int, str]]] = {0: [], 1: []}
    states[env.log.append(sql_entry(create_table()))] = []
    for i in range(1, count + 1):
        lsn = env.log.append(sql_entry(insert(i, f"r{i}")))
        states[lsn] = [(j, f"r{j}") for j in range(1, i + 1)]
    return states


def test_states_at_every_lsn_match_history(env: Env) -> None:
    states = _history(env, 12)
    store = env.open_store()
    env.checkpoints.take(store.path, env.log, env.key)
    store.close()
    travel = TimeTravel(env.log, env.checkpoints, env.ring, env.registry)
    try:
        for lsn in [7, 3, 14, 0, 1, 10, 7]:
            with travel.state_at(lsn) as conn:
                got = rows(conn) if lsn >= 2 else []
                assert got == states[lsn], lsn
                if lsn >= 2:
                    applied = conn.execute("SELECT lsn FROM _bkg_applied").fetchone()[0]
                    assert applied == lsn
        with pytest.raises(LsnOutOfRangeError), travel.state_at(15):
            pass
        with pytest.raises(LsnOutOfRangeError), travel.state_at(-1):
            pass
    finally:
        travel.clear()


def test_cache_is_bounded_by_bytes_and_reuses_nearby_states(env: Env) -> None:
    _history(env, 6)
    travel = TimeTravel(env.log, env.checkpoints, env.ring, env.registry, cache_bytes=100_000)
    try:
        for lsn in (3, 4, 5, 6):
            with travel.state_at(lsn):
                pass
        cached = travel.cached_lsns()
        assert 1 <= len(cached) < 4 and cached[-1] == 6
        with travel.state_at(cached[0]) as conn:
            assert conn.execute('SELECT count(*) FROM "public.items"').fetchone()[0] > 0
        assert travel.cached_lsns()[-1] == cached[0]
    finally:
        travel.clear()
    assert travel.cached_lsns() == []

    tiny = TimeTravel(env.log, env.checkpoints, env.ring, env.registry, cache_bytes=10)
    with tiny.state_at(5) as conn:
        assert len(rows(conn)) == 3
    assert tiny.cached_lsns() == []
