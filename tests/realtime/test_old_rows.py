"""An update's old row reaches a user subscriber only if its select policy lets the user see
that old row; otherwise ``old`` is the primary key alone (as Supabase sends it). Live, on
resume with ``Last-Event-ID`` and in a bounded replay alike.

Namespace ``moves``: ``items`` rows are visible to their ``owner`` only, and a namespace key
moves them between users.
"""

from __future__ import annotations

import itertools
from typing import Any

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from tests.realtime.conftest import Event, Server, Stream

HEARTBEAT = "0.2"
OWNERS = ["u1", "u2", "u3"]
_BLOCKS = itertools.count(1)
Step = tuple[str, int, str, int]
View = tuple[str | None, str, Any, Any]


@pytest.fixture(scope="module")
def moves(server: Server) -> tuple[str, str]:
    """The namespace key and u1's token."""
    server.ok("CREATE SCHEMA moves")
    server.ok("CREATE TABLE moves.items (id INTEGER PRIMARY KEY, owner TEXT NOT NULL, note TEXT)")
    server.post(
        "/policy",
        {
            "name": "own items",
            "table": "moves.items",
            "actions": ["select"],
            "using": "owner = auth.uid()",
        },
    )
    key = server.namespace_key("moves")
    return key, server.user_token(key, "u1")


def _until(stream: Stream, last_id: str) -> list[Event]:
    """Events up to and including ``last_id``."""
    events = [stream.next()]
    while events[-1].id != last_id:
        events.append(stream.next())
    return events


def _replay(server: Server, token: str, after: str, until_lsn: int) -> list[Event]:
    """A resumed stream's events after ``after`` through ``until_lsn`` (catch-up path)."""
    with server.subscribe(token, last_id=after, until_lsn=until_lsn, heartbeat=HEARTBEAT) as s:
        assert s.next().event == "subscribed"
        events = []
        while (received := s.next()).event != "end":
            events.append(received)
    return events


def _view(events: list[Event]) -> list[View]:
    return [(e.id, e.event, e.data["new"], e.data["old"]) for e in events]


def test_a_row_moved_to_a_user_arrives_with_its_key_as_old(
    server: Server, moves: tuple[str, str]
) -> None:
    key, u1 = moves
    server.ok("INSERT INTO items (id, owner, note) VALUES (1, 'u2', 'u2 private')", key)
    with server.subscribe(u1, tables="items", heartbeat=HEARTBEAT) as stream:
        subscribed = stream.next()
        moved = server.ok("UPDATE items SET owner = 'u1', note = 'yours' WHERE id = 1", key)
        edited = server.ok("UPDATE items SET note = 'still yours' WHERE id = 1", key)
        server.ok("UPDATE items SET owner = 'u2', note = 'gone' WHERE id = 1", key)
        sentinel = server.ok("INSERT INTO items (id, owner, note) VALUES (2, 'u1', 'end')", key)
        live = _until(stream, f"{sentinel['lsn']}.0")
    assert _view(live) == [
        (f"{moved['lsn']}.0", "update", {"id": 1, "owner": "u1", "note": "yours"}, {"id": 1}),
        (
            f"{edited['lsn']}.0",
            "update",
            {"id": 1, "owner": "u1", "note": "still yours"},
            {"id": 1, "owner": "u1", "note": "yours"},
        ),
        (f"{sentinel['lsn']}.0", "insert", {"id": 2, "owner": "u1", "note": "end"}, None),
    ]
    assert "u2 private" not in str([e.data for e in live])
    assert _view(_replay(server, u1, str(subscribed.id), sentinel["lsn"])) == _view(live)


def _statement(op: str, row: int, owner: str, note: int) -> str:
    if op == "insert":
        return f"INSERT INTO items (id, owner, note) VALUES ({row}, '{owner}', 'n{note}')"
    if op == "move":
        return f"UPDATE items SET owner = '{owner}', note = 'n{note}' WHERE id = {row}"
    if op == "edit":
        return f"UPDATE items SET note = 'n{note}' WHERE id = {row}"
    return f"DELETE FROM items WHERE id = {row}"


steps = st.tuples(
    st.sampled_from(["insert", "move", "move", "edit", "delete"]),
    st.integers(0, 3),
    st.sampled_from(OWNERS),
    st.integers(0, 99),
)
plans = st.tuples(
    st.lists(st.sampled_from(OWNERS), min_size=4, max_size=4),
    st.lists(st.lists(steps, min_size=1, max_size=3), min_size=1, max_size=5),
)


def _expected_for_u1(admin_events: list[Event]) -> list[View]:
    """What u1 must get of the changes an admin sees whole: inserts and updates whose new
    row is u1's, deletes of u1's rows; an update's old row whole if it was u1's, else its key."""
    expected = []
    for e in admin_events:
        new, old = e.data["new"], e.data["old"]
        if e.event == "delete":
            if old["owner"] == "u1":
                expected.append((e.id, e.event, None, old))
        elif new["owner"] == "u1":
            if e.event == "update" and old["owner"] != "u1":
                old = {"id": old["id"]}
            expected.append((e.id, e.event, new, old))
    return expected


def _write(server: Server, key: str, base: int, plan: tuple[list[str], list[list[Step]]]) -> int:
    """Insert the four rows, run the batches (a batch may conflict and change nothing), and
    end with a row of u1's whose insert closes u1's stream; its LSN."""
    owners, batches = plan
    rows = ", ".join(f"({base + i}, '{owner}', 'first')" for i, owner in enumerate(owners))
    server.ok(f"INSERT INTO items (id, owner, note) VALUES {rows}", key)
    for batch in batches:
        statements = [{"sql": _statement(op, base + i, o, n)} for op, i, o, n in batch]
        response = server.client.post(
            f"{server.url}/query",
            json={"statements": statements},
            headers={"Authorization": f"Bearer {key}"},
        )
        assert response.status_code in (200, 409), response.text
    lsn: int = server.ok(f"INSERT INTO items (id, owner) VALUES ({base + 9}, 'u1')", key)["lsn"]
    return lsn


@settings(
    max_examples=30,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(plan=plans)
def test_user_events_carry_only_rows_the_user_may_see(
    server: Server, moves: tuple[str, str], plan: tuple[list[str], list[list[Step]]]
) -> None:
    key, u1 = moves
    base = next(_BLOCKS) * 10
    with server.subscribe(u1, tables="items", heartbeat=HEARTBEAT) as stream:
        subscribed = stream.next()
        last = _write(server, key, base, plan)
        live = _until(stream, f"{last}.0")
    for change in live:
        new, old = change.data["new"], change.data["old"]
        assert new is None or new["owner"] == "u1", change
        assert old is None or old.get("owner") == "u1" or old == {"id": old["id"]}, change
    keyed = [c for c in live if c.data["old"] is not None and "owner" not in c.data["old"]]
    event(f"keyed events: {min(len(keyed), 3)}")
    everything = _replay(server, server.admin_key, str(subscribed.id), last)
    mine = [e for e in everything if e.data["table"] == "moves.items"]
    assert _view(live) == _expected_for_u1(mine)
    assert _view(_replay(server, u1, str(subscribed.id), last)) == _view(live)
