"""Resuming: random disconnects while writes go on, each resumed with `Last-Event-ID`, deliver
exactly the change sequence (no loss, no duplicate, in order); `from_lsn` replays from the
log, also from before every checkpoint."""

from __future__ import annotations

import itertools
import threading
import time

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.realtime.conftest import EARLY_ROWS, Server

TABLES = itertools.count()
Write = tuple[str, int]
WRITES = st.lists(
    st.tuples(st.sampled_from(["insert", "insert", "update", "delete"]), st.integers(1, 6)),
    min_size=2,
    max_size=10,
)


def _sql(table: str, op: str, count: int, next_id: int) -> str:
    if op == "insert":
        values = ", ".join(f"({i}, 'v{i}')" for i in range(next_id, next_id + count))
        return f"INSERT INTO {table} (id, v) VALUES {values}"
    if op == "update":
        return f"UPDATE {table} SET v = v || '+' WHERE id >= {next_id - count}"
    return f"DELETE FROM {table} WHERE id IN (SELECT id FROM {table} ORDER BY id LIMIT {count})"


def _write_all(server: Server, table: str, writes: list[Write], expected: list[str]) -> None:
    """Run the writes, recording the ids their changes must have."""
    next_id = 1
    for op, count in writes:
        answer = server.ok(_sql(table, op, count, next_id))
        next_id += count if op == "insert" else 0
        expected.extend(f"{answer['lsn']}.{i}" for i in range(answer["rowcount"]))


@settings(
    max_examples=15,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(writes=WRITES, cuts=st.lists(st.integers(0, 7), min_size=1, max_size=5))
def test_random_disconnects_and_resumes_deliver_exactly_the_changes(
    server: Server, writes: list[Write], cuts: list[int]
) -> None:
    table = f"resumed_{next(TABLES)}"
    server.ok(f"CREATE TABLE {table} (id INTEGER PRIMARY KEY, v TEXT)")
    expected: list[str] = []
    received: list[str] = []
    writer = threading.Thread(target=_write_all, args=(server, table, writes, expected))
    last: str | None = None
    deadline = time.monotonic() + 30
    for cut in itertools.chain(cuts, [None]):
        with server.subscribe(tables=table, heartbeat="0.2", last_id=last) as stream:
            subscribed = stream.next()
            assert subscribed.event == "subscribed" and subscribed.id == (last or subscribed.id)
            last = subscribed.id
            if writer.ident is None:
                writer.start()
            left = cut
            while left is None or left > 0:
                if not writer.is_alive() and len(received) >= len(expected):
                    break
                assert time.monotonic() < deadline, f"got {received}, want {expected}"
                event = stream.poll(0.5)
                if event is not None:
                    received.append(str(event.id))
                    last = event.id
                    left = None if left is None else left - 1
    writer.join()
    assert received == expected


def test_from_lsn_replays_from_the_log_behind_every_checkpoint(server: Server) -> None:
    with server.subscribe(tables="early", from_lsn=1, heartbeat="0.2") as stream:
        subscribed = stream.next()
        assert (subscribed.event, subscribed.data["lsn"]) == ("subscribed", 0)
        ddl, *inserts = stream.take(1 + EARLY_ROWS)
        live = server.ok("INSERT INTO early (id, v) VALUES (100, 'live')")["lsn"]
        assert stream.next().id == f"{live}.0"
    assert ddl.event == "ddl"
    assert [e.data["new"] for e in inserts] == [{"id": i, "v": f"v{i}"} for i in range(EARLY_ROWS)]
    lsns = [e.data["lsn"] for e in inserts]
    assert lsns == sorted(lsns) and lsns[0] > ddl.data["lsn"]


def test_resuming_inside_a_record_skips_exactly_its_earlier_changes(server: Server) -> None:
    server.ok("CREATE TABLE halves (id INTEGER PRIMARY KEY)")
    lsn = server.ok("INSERT INTO halves (id) VALUES (1), (2), (3), (4)")["lsn"]
    with server.subscribe(tables="halves", last_id=f"{lsn}.1", heartbeat="0.2") as stream:
        assert stream.next().event == "subscribed"
        assert [e.id for e in stream.take(2)] == [f"{lsn}.2", f"{lsn}.3"]
