"""Who sees what: users only the rows their policies let them SELECT (inserts and updates by
the new row, deletes by the old one; an update's old row only if they could see it, else its
primary key), namespace keys only their namespace, admins all."""

from __future__ import annotations

from tests.realtime.conftest import Server

HEARTBEAT = "0.2"


def _setup(server: Server) -> tuple[str, str, str]:
    """Namespace `rls` with a policy `owner = auth.uid()`; its key and alice's and bob's tokens."""
    server.ok("CREATE SCHEMA rls")
    server.ok("CREATE TABLE rls.todos (id INTEGER PRIMARY KEY, owner TEXT NOT NULL, title TEXT)")
    server.post(
        "/policy",
        {
            "name": "own todos",
            "table": "rls.todos",
            "actions": ["select", "insert", "update", "delete"],
            "using": "owner = auth.uid()",
            "check": "owner = auth.uid()",
        },
    )
    key = server.namespace_key("rls")
    return key, server.user_token(key, "alice"), server.user_token(key, "bob")


def test_users_see_only_their_rows_and_keys_only_their_namespace(server: Server) -> None:
    key, alice, bob = _setup(server)
    server.ok("CREATE TABLE public.elsewhere (id INTEGER PRIMARY KEY)")
    with (
        server.subscribe(alice, tables="todos", heartbeat=HEARTBEAT) as mine,
        server.subscribe(key, heartbeat=HEARTBEAT) as namespace,
    ):
        assert mine.next().event == "subscribed"
        assert namespace.next().event == "subscribed"
        server.ok("INSERT INTO public.elsewhere (id) VALUES (1)")
        own = server.ok("INSERT INTO todos (id, owner, title) VALUES (1, 'alice', 'a')", alice)
        other = server.ok("INSERT INTO todos (id, owner, title) VALUES (2, 'bob', 'b')", bob)
        both = server.ok(
            "INSERT INTO rls.todos (id, owner, title) VALUES (3, 'bob', 'c'), (4, 'alice', 'd')"
        )
        given_away = server.ok("UPDATE rls.todos SET owner = 'bob' WHERE id = 1")
        taken = server.ok("UPDATE rls.todos SET owner = 'alice' WHERE id = 2")
        gone = server.ok("DELETE FROM rls.todos WHERE id IN (3, 4)")
        seen = mine.take(4)
        by_key = namespace.take(7)
    assert [(e.id, e.event) for e in seen] == [
        (f"{own['lsn']}.0", "insert"),
        (f"{both['lsn']}.1", "insert"),
        (f"{taken['lsn']}.0", "update"),
        (f"{gone['lsn']}.1", "delete"),
    ]
    assert seen[2].data["new"] == {"id": 2, "owner": "alice", "title": "b"}
    assert seen[2].data["old"] == {"id": 2}
    assert seen[3].data["old"] == {"id": 4, "owner": "alice", "title": "d"}
    assert {e.data["table"] for e in by_key} == {"rls.todos"}
    assert [e.id for e in by_key] == [
        f"{own['lsn']}.0",
        f"{other['lsn']}.0",
        f"{both['lsn']}.0",
        f"{both['lsn']}.1",
        f"{given_away['lsn']}.0",
        f"{taken['lsn']}.0",
        f"{gone['lsn']}.0",
    ]


def test_resumed_streams_are_filtered_the_same_way(server: Server) -> None:
    server.ok("CREATE SCHEMA rls2")
    server.ok("CREATE TABLE rls2.notes (id INTEGER PRIMARY KEY, owner TEXT NOT NULL)")
    server.post(
        "/policy",
        {
            "name": "own notes",
            "table": "rls2.notes",
            "actions": ["select"],
            "using": "owner = auth.uid()",
        },
    )
    key = server.namespace_key("rls2")
    carol = server.user_token(key, "carol")
    first = server.ok("INSERT INTO rls2.notes (id, owner) VALUES (1, 'dave'), (2, 'carol')")
    with server.subscribe(carol, from_lsn=first["lsn"], heartbeat=HEARTBEAT) as stream:
        assert stream.next().event == "subscribed"
        event = stream.next()
    assert (event.id, event.data["new"]) == (f"{first['lsn']}.1", {"id": 2, "owner": "carol"})


def test_other_namespaces_are_forbidden_and_users_never_see_them(server: Server) -> None:
    server.ok("CREATE SCHEMA walled")
    server.ok("CREATE TABLE walled.t (id INTEGER PRIMARY KEY)")
    server.ok("CREATE SCHEMA outside")
    server.ok("CREATE TABLE outside.t (id INTEGER PRIMARY KEY)")
    key = server.namespace_key("walled")
    assert server.refused(key, tables="outside.t").status_code == 403
    with server.subscribe(key, heartbeat=HEARTBEAT) as stream:
        assert stream.next().event == "subscribed"
        server.ok("INSERT INTO outside.t (id) VALUES (1)")
        inside = server.ok("INSERT INTO walled.t (id) VALUES (1)")["lsn"]
        assert stream.next().id == f"{inside}.0"


def test_a_revoked_key_ends_its_stream(server: Server) -> None:
    server.ok("CREATE SCHEMA revoked")
    created = server.post("/auth/keys", {"scope": "namespace", "namespace": "revoked"})
    with server.subscribe(created["key"], heartbeat=HEARTBEAT) as stream:
        subscribed = stream.next()
        metrics = server.client.get(f"{server.url}/metrics").text
        assert "bkg_realtime_subscribers" in metrics
        response = server.client.delete(
            f"{server.url}/auth/keys/{created['id']}",
            headers={"Authorization": f"Bearer {server.admin_key}"},
        )
        assert response.status_code in (200, 204), response.text
        ended = stream.next()
    assert (ended.event, ended.data) == ("unauthorized", {"resume_from": subscribed.id})


def test_a_token_minted_from_a_revoked_key_ends_its_stream(server: Server) -> None:
    """A token derived from a key dies with it, also on `/realtime` with `access_token`:
    refused at connect, and an open stream ends with ``unauthorized``."""
    server.ok("CREATE SCHEMA derived")
    created = server.post("/auth/keys", {"scope": "namespace", "namespace": "derived"})
    token = server.user_token(created["key"], "u1")
    with server.subscribe(access_token=token, heartbeat=HEARTBEAT) as stream:
        subscribed = stream.next()
        response = server.client.delete(
            f"{server.url}/auth/keys/{created['id']}",
            headers={"Authorization": f"Bearer {server.admin_key}"},
        )
        assert response.status_code == 200, response.text
        ended = stream.next()
    assert (ended.event, ended.data) == ("unauthorized", {"resume_from": subscribed.id})
    assert server.refused(access_token=token).status_code == 401


def test_a_revoked_key_delivers_nothing_more_before_the_next_heartbeat(server: Server) -> None:
    """The key check runs before every delivery, not only once per heartbeat: the first
    change after the revocation ends the stream instead of reaching the subscriber."""
    server.ok("CREATE SCHEMA prompt")
    created = server.post("/auth/keys", {"scope": "namespace", "namespace": "prompt"})
    token = server.user_token(created["key"], "u1")
    with server.subscribe(access_token=token, heartbeat=60) as stream:
        subscribed = stream.next()
        response = server.client.delete(
            f"{server.url}/auth/keys/{created['id']}",
            headers={"Authorization": f"Bearer {server.admin_key}"},
        )
        assert response.status_code == 200, response.text
        server.ok("CREATE TABLE prompt.t (id INTEGER PRIMARY KEY)")
        ended = stream.next(timeout=10)
    assert (ended.event, ended.data) == ("unauthorized", {"resume_from": subscribed.id})
