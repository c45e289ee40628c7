"""The hub chooses a record's frames once per group of subscribers (same principal, filters
and wire shape): every subscriber must still get exactly what it would get alone, and two
principals with different visibility never each other's rows.

In process, on a real SQLite table under real policies: the reference is each subscriber
on its own (`view_for` and `frame_for` per event, no verdict shared with anyone, as
catch-up reads), against `fan_out` over all of them at once, in any order.
"""

from __future__ import annotations

import json
import random
import sqlite3
from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from api.auth.principal import Principal, user_principal
from api.realtime.access import Access, Filters
from api.realtime.events import ChangeEvent, KeyedFrame, RecordEvents, frame
from api.realtime.phoenix.bindings import parse_bindings
from api.realtime.phoenix.changes import ChannelSubscriber
from api.realtime.position import Position
from api.realtime.subscriber import LazyConnection, Subscriber, fan_out, view_for
from api.rls.policy import PolicySet, created_event, parse_policy
from projections.meta import connect

TABLE = "shop.todos"
OWNERS = ("alice", "bob", "carol")
LSN = 7
POLICIES = [
    {"name": "own", "table": TABLE, "actions": ["select"], "using": "owner = auth.uid()"},
]
PRINCIPALS = [
    user_principal("alice", "shop"),
    user_principal("alice", "shop", {"team": "red"}),
    user_principal("bob", "shop"),
    user_principal("carol", "shop"),
    Principal(kind="namespace", id="key:shop", namespace="shop"),
    Principal(kind="namespace", id="key:other", namespace="other"),
    Principal(kind="admin", id="admin"),
]
FILTERS = [
    Filters(None, frozenset({"insert", "update", "delete", "ddl"})),
    Filters(frozenset({TABLE}), frozenset({"insert", "update"})),
    Filters(frozenset({TABLE}), frozenset({"delete"})),
    Filters(frozenset({"shop.other"}), frozenset({"insert"})),
]
BINDINGS = [
    [{"event": "*", "schema": "shop", "table": "todos"}],
    [{"event": "INSERT", "schema": "shop", "table": "todos", "filter": "owner=eq.bob"}],
    [{"event": "UPDATE", "schema": "shop"}, {"event": "DELETE", "schema": "shop"}],
]


@pytest.fixture(scope="module")
def database() -> Iterator[tuple[sqlite3.Connection, PolicySet]]:
    conn = connect(":memory:")
    conn.execute(f'CREATE TABLE "{TABLE}" (id INTEGER PRIMARY KEY, owner TEXT, title TEXT)')
    policies = PolicySet()
    for document in POLICIES:
        policies.apply(created_event(parse_policy(document)))
    yield conn, policies
    conn.close()


def _row(id_: int, owner: str) -> dict[str, Any]:
    return {"id": id_, "owner": owner, "title": f"{owner}-{id_}"}


def _event(index: int, op: str, id_: int, new_owner: str, old_owner: str) -> ChangeEvent:
    """One change as `api.realtime.events.record_events` builds it."""
    new = _row(id_, new_owner) if op != "delete" else None
    old = _row(id_, old_owner) if op != "insert" else None
    data = {"lsn": LSN, "index": index, "ts": "t", "table": TABLE, "op": op, "new": new,
            "old": old, "actor": "a"}  # fmt: skip
    id_text = f"{LSN}.{index}"
    image = old if op == "delete" else new
    assert image is not None
    keyed = None
    if op == "update":
        keyed = KeyedFrame(id_text, {**data, "old": {"id": id_}})
    return ChangeEvent(
        LSN, index, TABLE, op, image, frame(id_text, op, data), "shop",
        old if op == "update" else None, keyed, data=data, families={},
    )  # fmt: skip


changes = st.lists(
    st.tuples(
        st.sampled_from(("insert", "update", "delete")),
        st.integers(1, 5),
        st.sampled_from(OWNERS),
        st.sampled_from(OWNERS),
    ),
    min_size=1,
    max_size=6,
)
subscriber_specs = st.lists(
    st.tuples(
        st.sampled_from(range(len(PRINCIPALS))),
        st.sampled_from(range(len(FILTERS))),
        st.one_of(st.none(), st.integers(0, 5)),
        st.one_of(st.none(), st.sampled_from(range(len(BINDINGS)))),
        st.sampled_from(("realtime:a", "realtime:b")),
        st.sampled_from(("1.0.0", "2.0.0")),
    ),
    min_size=1,
    max_size=24,
)


class Spec:
    """One subscriber of an example, made twice (grouped and alone) with the same inputs."""

    def __init__(self, spec: tuple[int, int, int | None, int | None, str, str]) -> None:
        principal, filters, index, bindings, topic, vsn = spec
        self.principal = PRINCIPALS[principal]
        self.filters = FILTERS[filters]
        self.after = Position(LSN - 1) if index is None else Position(LSN, index)
        self.bindings = None if bindings is None else parse_bindings(BINDINGS[bindings])
        self.topic, self.vsn = topic, vsn
        self.sent: list[bytes] = []

    def make(self) -> Subscriber:
        access = Access(self.principal, self.filters)
        if self.bindings is None:
            return Subscriber(access, self.after, limit=100, heartbeat_s=3600.0)
        self.sent = []
        sent = self.sent

        def send(frame: bytes) -> bool:
            sent.append(frame)
            return True

        return ChannelSubscriber(
            access, self.after, self.bindings, self.topic, self.vsn, send, lambda: None
        )

    def received(self, subscriber: Subscriber) -> list[bytes]:
        if self.bindings is not None:
            return list(self.sent)
        chunk, _ = subscriber.take()
        return [chunk] if chunk else []


@settings(max_examples=300, deadline=None)
@given(changes, subscriber_specs, st.randoms(use_true_random=False))
@example(
    [("insert", 1, "alice", "alice"), ("update", 1, "bob", "alice"), ("delete", 2, "bob", "bob")],
    [
        (0, 0, None, None, "realtime:a", "1.0.0"),
        (2, 0, None, None, "realtime:a", "1.0.0"),
        (1, 0, 0, None, "realtime:a", "1.0.0"),
        (0, 0, None, 0, "realtime:a", "2.0.0"),
        (2, 0, None, 0, "realtime:a", "2.0.0"),
        (6, 0, None, 0, "realtime:a", "2.0.0"),
        (6, 0, None, 0, "realtime:b", "2.0.0"),
        (6, 0, 1, 0, "realtime:b", "2.0.0"),
        (6, 0, None, 0, "realtime:b", "1.0.0"),
    ],
    random.Random(0),
)
def test_grouped_fan_out_gives_each_subscriber_what_it_would_get_alone(
    database: tuple[sqlite3.Connection, PolicySet],
    record: list[tuple[str, int, str, str]],
    specs: list[tuple[int, int, int | None, int | None, str, str]],
    shuffler: Any,
) -> None:
    conn, policies = database
    events = [_event(i, *change) for i, change in enumerate(record)]
    batch = RecordEvents(LSN, events)
    expected = []
    for spec in map(Spec, specs):
        alone = spec.make()
        frames = []
        for event in events:
            view = view_for(alone, event, LazyConnection(lambda: conn), policies, {})
            chosen = alone.frame_for(event, view)
            if chosen is not None:
                frames.append(chosen)
        expected.append((spec, b"".join(frames)))
    shuffler.shuffle(expected)
    grouped = [(spec, spec.make()) for spec, _ in expected]
    behind = fan_out([s for _, s in grouped], batch, LazyConnection(lambda: conn), policies)
    assert behind == []
    for (spec, subscriber), (_, want) in zip(grouped, expected, strict=True):
        got = spec.received(subscriber)
        assert b"".join(got) == want, (spec.principal.id, spec.filters, spec.after)
        for message in got:
            _assert_own_rows_only(spec.principal, message)


def _assert_own_rows_only(principal: Principal, frames: bytes) -> None:
    """A user sees rows it owns only: the new row of an insert or update, the old row of a
    delete, and an update's old row in full only when it owned that too. `frames` is an SSE
    chunk or one Phoenix frame."""
    if principal.kind != "user":
        return
    lines = frames.split(b"\n") if frames.startswith(b"id: ") else [frames]
    for line in lines:
        if not line.startswith((b"data: ", b"{", b"[")):
            continue
        text = line.removeprefix(b"data: ")
        for row in _rows(json.loads(text)):
            assert row.get("owner", principal.sub) == principal.sub, (principal.sub, text)


def _rows(message: Any) -> Iterator[dict[str, Any]]:
    """The rows of an SSE event's data or of a Phoenix frame (either version)."""
    if isinstance(message, list):
        message = {"payload": message[4]}
    if "payload" in message:
        message = message["payload"].get("data", {})
        for key in ("record", "old_record"):
            if isinstance(message.get(key), dict):
                yield message[key]
        return
    for key in ("new", "old"):
        if isinstance(message.get(key), dict):
            yield message[key]


def test_two_users_in_one_fan_out_never_get_each_others_rows(
    database: tuple[sqlite3.Connection, PolicySet],
) -> None:
    """Explicitly: alice and bob, on the same table with the same filters, interleaved."""
    conn, policies = database
    events = [
        _event(0, "insert", 1, "alice", "alice"),
        _event(1, "insert", 2, "bob", "bob"),
        _event(2, "update", 2, "alice", "bob"),
        _event(3, "delete", 1, "alice", "alice"),
    ]
    everything = FILTERS[0]
    people = [user_principal(name, "shop") for name in ("alice", "bob")] * 3
    subscribers = [
        Subscriber(Access(p, everything), Position(LSN - 1), 100, 3600.0) for p in people
    ]
    fan_out(subscribers, RecordEvents(LSN, events), LazyConnection(lambda: conn), policies)
    for principal, subscriber in zip(people, subscribers, strict=True):
        chunk, last = subscriber.take()
        ids = [line for line in chunk.split(b"\n") if line.startswith(b"id: ")]
        if principal.sub == "alice":
            assert ids == [b"id: 7.0", b"id: 7.2", b"id: 7.3"] and last == "7.3"
            assert b'"old":{"id":2}' in chunk and b"bob-2" not in chunk
        else:
            assert ids == [b"id: 7.1"] and last == "7.1"
            assert b"alice" not in chunk
        _assert_own_rows_only(principal, chunk)
