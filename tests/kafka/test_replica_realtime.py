"""`GET /realtime` on a read replica (`bkgdb replica --serve`, real broker, real HTTP client):
the primary's writes arrive as the primary itself would send them, filtered and under RLS;
`Last-Event-ID` resumes exactly, also after the replica was killed and restarted; a replica
seeded from a checkpoint refuses resumes from before it."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import httpx

from bench.peers.kafka import TansuBroker
from tests.http.conftest import Api, bearer
from tests.kafka.replicas import Replica, jwt_secret, running_replica
from tests.realtime.conftest import Event, Server, Stream

HEARTBEAT = "0.2"
QUIET_S = 0.5


def until_end(stream: Stream) -> list[Event]:
    """Every event of a bounded (`until_lsn`) stream before its `end`."""
    events = []
    while (event := stream.next()).event != "end":
        events.append(event)
    return events


def primary_history(primary: Api, token: str, **params: Any) -> list[Event]:
    """What the primary sends for a bounded read up to its head (in-process client)."""
    params["until_lsn"] = primary.head
    response = primary.client.get("/realtime", params=params, headers=bearer(token))
    assert response.status_code == 200, response.text
    return until_end(Stream(response, response.iter_lines()))


def replica_history(sse: Server, head: int, token: str | None = None, **params: Any) -> list[Event]:
    with sse.subscribe(token, until_lsn=head, **params) as stream:
        return until_end(stream)


def test_replica_streams_changes_as_the_primary_does_and_resumes(
    primary: Api, replica: Replica
) -> None:
    shop_key = primary.create_key("namespace", "shop")["key"]
    alice = primary.user_token("alice")
    replica.wait_for(primary.head)
    start = primary.head
    with (
        replica.sse(primary.admin_key) as sse,
        sse.subscribe(tables="shop.todos", heartbeat=HEARTBEAT) as todos,
        sse.subscribe(alice, heartbeat=HEARTBEAT) as mine,
        sse.subscribe(shop_key, ops="delete", heartbeat=HEARTBEAT) as deletes,
    ):
        for stream in (todos, mine, deletes):
            subscribed = stream.next()
            assert (subscribed.event, subscribed.data["lsn"]) == ("subscribed", start)
        both = primary.ok("INSERT INTO shop.todos (id, owner, title) VALUES (4, 'alice', 'a3'),"
                          " (5, 'bob', 'b2')")["lsn"]  # fmt: skip
        given_away = primary.ok("UPDATE shop.todos SET owner = 'bob' WHERE id = 1")["lsn"]
        taken = primary.ok("UPDATE shop.todos SET owner = 'alice' WHERE id = 3")["lsn"]
        note = primary.ok("DELETE FROM shop.notes WHERE id = 2")["lsn"]
        gone = primary.ok("DELETE FROM shop.todos WHERE id = 2")["lsn"]
        seen_todos, seen_mine, seen_deletes = todos.take(5), mine.take(3), deletes.take(2)
        assert todos.poll(QUIET_S) is None and mine.poll(QUIET_S) is None
        metrics = httpx.get(f"{replica.url}/metrics", timeout=10)
        assert metrics.status_code == 200, metrics.text
        assert "\nbkg_realtime_subscribers 3\n" in metrics.text
    # The kept records hold every namespace's rows: SQL cannot reach them.
    assert replica.query("SELECT count(*) FROM _bkg_history", shop_key).status_code == 403
    assert [e.id for e in seen_todos] == [
        f"{both}.0", f"{both}.1", f"{given_away}.0", f"{taken}.0", f"{gone}.0"
    ]  # fmt: skip
    assert [e.id for e in seen_mine] == [f"{both}.0", f"{taken}.0", f"{gone}.0"]
    assert [e.id for e in seen_deletes] == [f"{note}.0", f"{gone}.0"]
    assert seen_deletes[1].data["old"] == {"id": 2, "owner": "alice", "title": "a2"}
    assert seen_mine[1].data["old"] == {"id": 3}  # bob's row moved to alice: its key only
    # Exactly the events (ids, names, data) the primary sends for the same subscriptions.
    after = {"from_lsn": start + 1}
    admin = primary.admin_key
    assert seen_todos == primary_history(primary, admin, tables="shop.todos", **after)[1:]
    assert seen_mine == primary_history(primary, alice, **after)[1:]
    assert seen_deletes == primary_history(primary, shop_key, ops="delete", **after)[1:]

    # A client that got only up to `given_away` resumes after writes it missed.
    more = primary.ok("INSERT INTO shop.todos (id, owner, title) VALUES (6, 'bob', 'b3')")["lsn"]
    pair = primary.ok("DELETE FROM shop.todos WHERE id IN (4, 5)")["lsn"]
    replica.wait_for(pair)
    expected = [f"{taken}.0", f"{gone}.0", f"{more}.0", f"{pair}.0", f"{pair}.1"]
    with (
        replica.sse(primary.admin_key) as sse,
        sse.subscribe(
            last_id=f"{given_away}.0", tables="shop.todos", heartbeat=HEARTBEAT
        ) as resumed,
    ):
        assert resumed.next().id == f"{given_away}.0"
        assert [e.id for e in resumed.take(len(expected))] == expected
        live = primary.ok("INSERT INTO shop.todos (id, owner, title) VALUES (7, 'x', 'y')")["lsn"]
        assert resumed.next().id == f"{live}.0"
        assert resumed.poll(QUIET_S) is None
        # The whole history from LSN 1, for an admin and under RLS, as the primary has it.
        replica.wait_for(primary.head)
        for token in (primary.admin_key, alice):
            mirrored = replica_history(sse, primary.head, token, from_lsn=1)
            assert mirrored == primary_history(primary, token, from_lsn=1)


def test_history_survives_a_killed_replica(
    tmp_path: Path, broker: TansuBroker, primary: Api
) -> None:
    root, log = tmp_path / "replica", tmp_path / "replica.log"
    secret = jwt_secret(tmp_path)
    with running_replica(root, broker.bootstrap, secret, log) as first:
        first.wait_for(primary.head)
        with (
            first.sse(primary.admin_key) as sse,
            sse.subscribe(tables="shop.todos", heartbeat=HEARTBEAT) as stream,
        ):
            assert stream.next().event == "subscribed"
            seen = primary.ok("INSERT INTO shop.todos (id, owner, title) VALUES (10, 'a', 'b')")
            last = stream.next().id
            assert last == f"{seen['lsn']}.0"
        writer = threading.Thread(target=_inserts, args=(primary, range(11, 31)))
        writer.start()
        first.process.kill()  # while the writes are being mirrored and applied
        first.process.wait()
        writer.join()
    missed = [f"{lsn}.0" for lsn in range(seen["lsn"] + 1, primary.head + 1)]
    with running_replica(root, broker.bootstrap, secret, log) as second:
        second.wait_for(primary.head)
        with second.sse(primary.admin_key) as sse:
            with sse.subscribe(last_id=last, tables="shop.todos", heartbeat=HEARTBEAT) as stream:
                assert stream.next().id == last
                assert [e.id for e in stream.take(len(missed))] == missed
                assert stream.poll(QUIET_S) is None
            mirrored = replica_history(sse, primary.head, from_lsn=1)
    assert mirrored == primary_history(primary, primary.admin_key, from_lsn=1)


def _inserts(primary: Api, ids: range) -> None:
    for i in ids:
        primary.ok("INSERT INTO shop.todos (id, owner, title) VALUES ($1, 'w', 't')", params=[i])


def test_a_seeded_replica_refuses_resumes_from_before_its_checkpoint(
    tmp_path: Path, broker: TansuBroker, primary: Api
) -> None:
    checkpoint = primary.backend.db.checkpoint()
    primary.ok("INSERT INTO shop.todos (id, owner, title) VALUES (4, 'alice', 'after')")
    args = ["--from-checkpoint", str(checkpoint.path)]
    root, log = tmp_path / "seeded", tmp_path / "seeded.log"
    with running_replica(root, broker.bootstrap, jwt_secret(tmp_path), log, *args) as seeded:
        seeded.wait_for(primary.head)
        with seeded.sse(primary.admin_key) as sse:
            for too_old in (1, checkpoint.lsn):
                refused = sse.refused(primary.admin_key, from_lsn=too_old)
                assert refused.status_code == 400
                error = refused.json()["error"]
                assert error["code"] == "BAD_REQUEST"
                assert "older than the history" in error["message"], error
                assert f"after LSN {checkpoint.lsn}" in error["message"], error
            resumed = replica_history(
                sse, primary.head, last_id=str(checkpoint.lsn), access_token=primary.admin_key
            )
            after = {"from_lsn": checkpoint.lsn + 1}
            assert resumed == primary_history(primary, primary.admin_key, **after)
            assert resumed[-1].data["new"]["title"] == "after"
