"""Differential property for writes: an UPDATE, DELETE or INSERT ... SELECT run by a user on
the full database changes exactly what it changes on the database of the user's visible rows,
returns the same rows, and leaves every other row alone."""

import sqlite3
from collections import Counter
from collections.abc import Callable
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from api.auth.principal import Principal, user_principal

Runner = Callable[..., list[tuple[Any, ...]]]
Pair = Callable[[], tuple[sqlite3.Connection, Runner, sqlite3.Connection, Runner]]
ALICE = user_principal("alice", "shop", {"team": "red"})
SHOP_KEY = Principal(kind="namespace", id="key:k", namespace="shop")
TODOS = 'SELECT id, owner, title, team FROM "shop.todos"'

tables = st.sampled_from(["todos", "notes", "audit"])
bound = st.integers(min_value=0, max_value=5)
conditions = st.one_of(
    st.builds(lambda k: f"id > {k}", bound),
    st.builds(lambda t, k: f"id IN (SELECT id + {k - 2} FROM {t})", tables, bound),
    st.builds(lambda t: f"EXISTS (SELECT 1 FROM {t} AS x WHERE x.id = todos.id)", tables),
    st.builds(lambda t: f"title <> coalesce((SELECT max(title) FROM {t}), '')", tables),
)
titles = st.one_of(
    st.just("title || '!'"),
    st.builds(lambda t: f"(SELECT count(*) FROM {t}) || ''", tables),
    st.builds(lambda t: f"coalesce((SELECT min(title) FROM {t}), 'none')", tables),
)
statements = st.one_of(
    st.builds(
        lambda v, c: f"UPDATE todos SET title = {v} WHERE {c} RETURNING id, title",
        titles,
        conditions,
    ),
    st.builds(lambda c: f"DELETE FROM todos WHERE {c} RETURNING id, owner", conditions),
    st.builds(
        lambda t, c: (
            f"INSERT INTO todos (owner, title) SELECT 'alice', 'copy' FROM {t} WHERE {c}"
            " RETURNING owner, title"
        ),
        tables,
        st.sampled_from(["true", "id > 1", "id IN (SELECT id FROM todos)"]),
    ),
)


def _outcome(run: Runner, sql: str, principal: Principal) -> object:
    """Returned rows as a multiset, or the error SQLite raised (both sides must agree)."""
    try:
        return Counter(run(sql, principal))
    except sqlite3.Error as exc:
        return str(exc)


def _alice_rows(conn: sqlite3.Connection) -> list[tuple[Any, ...]]:
    """Alice's todos without their ids (ids of inserted rows depend on hidden rows)."""
    return sorted(row[1:] for row in conn.execute(TODOS) if row[1] == "alice")


@settings(
    max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(sql=statements)
def test_user_writes_act_on_the_visible_rows_only(fresh_visible_pair: Pair, sql: str) -> None:
    full, through_rls, mine, restricted = fresh_visible_pair()
    others_before = [row for row in full.execute(TODOS) if row[1] != "alice"]
    assert _outcome(through_rls, sql, ALICE) == _outcome(restricted, sql, SHOP_KEY), sql
    assert [row for row in full.execute(TODOS) if row[1] != "alice"] == others_before, sql
    assert _alice_rows(full) == _alice_rows(mine), sql
