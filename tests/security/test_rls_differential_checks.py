"""Differential property for write checks, with Postgres' semantics as the oracle: a user's
write behaves exactly as the same statement run by a namespace key on a copy holding only the
user's visible rows, unless a row it writes fails the policy check; then it is refused with
403 FORBIDDEN (Postgres: SQLSTATE 42501) and changes nothing.

Served app, two namespaces: ``full`` holds every row and alice writes through RLS (policy
``owner = auth.uid()`` for every action); ``mine`` holds alice's rows only and its namespace
key writes without RLS. Both are reset before each example.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from tests.http.conftest import Api, bearer, make_data_dir, open_api

FULL_ROWS = "(1, 'alice', 'a1'), (2, 'alice', 'a2'), (3, 'bob', 'b1'), (4, 'carol', 'c1')"
MINE_ROWS = "(1, 'alice', 'a1'), (2, 'alice', 'a2')"
TODOS = "SELECT id, owner, title FROM {}.todos ORDER BY id"


@pytest.fixture
def pair(tmp_path: Path) -> Iterator[tuple[Api, str, str]]:
    """The app, alice's token (namespace ``full``) and the key of namespace ``mine``."""
    for api in open_api(make_data_dir(tmp_path)):
        for namespace in ("full", "mine"):
            api.ok(f"CREATE SCHEMA {namespace}")
            api.ok(
                f"CREATE TABLE {namespace}.todos (id SERIAL PRIMARY KEY, owner TEXT, title TEXT)"
            )
        api.add_policy(
            {
                "name": "own",
                "table": "full.todos",
                "actions": ["select", "insert", "update", "delete"],
                "using": "owner = auth.uid()",
            }
        )
        key = api.create_key("namespace", "mine")["key"]
        yield api, api.user_token("alice", "full"), key


owners = st.sampled_from(
    [
        "'alice'",
        "'bob'",
        "owner",
        "upper(owner)",
        "lower(upper(owner))",
        "coalesce(NULL, owner)",
        "CASE WHEN id > 1 THEN 'bob' ELSE owner END",
        "title",
        "NULL",
    ]
)
conditions = st.sampled_from(["true", "id > 1", "id > 5", "owner = 'alice'", "title <> 'a1'"])
returning = st.sampled_from(["", " RETURNING owner, title"])
statements = st.one_of(
    st.builds(
        lambda e, c, r: f"UPDATE todos SET owner = {e} WHERE {c}{r}", owners, conditions, returning
    ),
    st.builds(
        lambda c, r: f"UPDATE todos SET title = title || '!' WHERE {c}{r}", conditions, returning
    ),
    st.builds(
        lambda e, c, r: (
            f"INSERT INTO todos (owner, title) SELECT {e}, title || '+' FROM todos WHERE {c}{r}"
        ),
        owners,
        conditions,
        returning,
    ),
    st.builds(
        lambda e, r: f"INSERT INTO todos (owner, title) VALUES ({e}, 'new'){r}",
        st.sampled_from(["'alice'", "'bob'", "NULL", "upper('alice')", "'ali' || 'ce'"]),
        returning,
    ),
    st.builds(lambda c: f"DELETE FROM todos WHERE {c} RETURNING owner, title", conditions),
)


def _reset(api: Api) -> None:
    for namespace, rows in (("full", FULL_ROWS), ("mine", MINE_ROWS)):
        api.ok(f"DELETE FROM {namespace}.todos")
        api.ok(f"INSERT INTO {namespace}.todos (id, owner, title) VALUES {rows}")


def _written(api: Api, head: int) -> list[dict[str, Any]]:
    """New row images of the records appended after ``head``."""
    return [
        change["new"]
        for record in api.backend.db.log.read(head + 1, api.head)
        for change in record.payload.get("changes") or ()
        if change["new"] is not None
    ]


def _without_ids(rows: list[list[Any]]) -> list[tuple[Any, ...]]:
    return sorted(tuple(row[1:]) for row in rows)


@settings(
    max_examples=120,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(sql=statements)
def test_user_writes_match_the_visible_copy_or_are_refused(
    pair: tuple[Api, str, str], sql: str
) -> None:
    api, alice, key = pair
    _reset(api)
    head = api.head
    on_copy = api.client.post("/query", json={"sql": sql}, headers=bearer(key))
    assert on_copy.status_code == 200, on_copy.text
    violates = any(row["owner"] != "alice" for row in _written(api, head))
    full_before, head = api.rows(TODOS.format("full")), api.head
    through_rls = api.query(sql, alice)
    full_after = api.rows(TODOS.format("full"))
    event("refused" if violates else "written")
    if violates:
        assert through_rls.status_code == 403, (sql, through_rls.text)
        assert through_rls.json()["error"]["code"] == "FORBIDDEN"
        assert api.head == head and full_after == full_before, sql
        return
    assert through_rls.status_code == 200, (sql, through_rls.text)
    assert Counter(map(tuple, through_rls.json()["rows"])) == Counter(
        map(tuple, on_copy.json()["rows"])
    ), sql
    others = [row for row in full_before if row[1] != "alice"]
    assert [row for row in full_after if row[1] != "alice"] == others, sql
    mine = [row for row in full_after if row[1] == "alice"]
    assert _without_ids(mine) == _without_ids(api.rows(TODOS.format("mine"))), sql
