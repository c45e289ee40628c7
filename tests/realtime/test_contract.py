"""The SSE contract of DESIGN.md through a real server: ids, event names, typed data, the
`subscribed` event first, filters, heartbeats, the token as a parameter, refusals."""

from __future__ import annotations

import time

from tests.realtime.conftest import Server

HEARTBEAT = "0.3"


def test_changes_arrive_typed_with_ids_after_the_subscribed_event(server: Server) -> None:
    server.ok(
        "CREATE TABLE typed (id INTEGER PRIMARY KEY, done BOOLEAN, meta JSONB,"
        " at TIMESTAMPTZ, note TEXT)"
    )
    with server.subscribe(tables="typed", heartbeat=HEARTBEAT) as stream:
        subscribed = stream.next()
        assert subscribed.event == "subscribed"
        start = subscribed.data["lsn"]
        assert subscribed.id == str(start)
        inserted = server.ok(
            "INSERT INTO typed (id, done, meta, at, note) VALUES (1, true, $1,"
            " '2026-01-02 03:04:05', 'n'), (2, false, NULL, NULL, NULL)",
            params=[{"k": [1, 2]}],
        )["lsn"]
        updated = server.ok("UPDATE typed SET note = 'm' WHERE id = 1")["lsn"]
        deleted = server.ok("DELETE FROM typed WHERE id = 2")["lsn"]
        events = stream.take(4)
    assert inserted > start
    assert [(e.id, e.event) for e in events] == [
        (f"{inserted}.0", "insert"),
        (f"{inserted}.1", "insert"),
        (f"{updated}.0", "update"),
        (f"{deleted}.0", "delete"),
    ]
    first = events[0].data
    assert set(first) == {"lsn", "index", "ts", "table", "op", "new", "old", "actor"}
    assert first["lsn"] == inserted and first["index"] == 0 and first["table"] == "public.typed"
    assert first["new"] == {
        "id": 1,
        "done": True,
        "meta": {"k": [1, 2]},
        "at": "2026-01-02T03:04:05+00:00",
        "note": "n",
    }
    assert first["old"] is None and first["actor"].startswith("key:")
    assert first["ts"].endswith("Z")
    update = events[2].data
    assert update["old"]["note"] == "n" and update["new"]["note"] == "m"
    assert update["new"]["done"] is True
    delete = events[3].data
    assert delete["new"] is None
    assert delete["old"] == {"id": 2, "done": False, "meta": None, "at": None, "note": None}


def test_ddl_events_and_the_ops_filter(server: Server) -> None:
    with server.subscribe(ops="ddl,delete", heartbeat=HEARTBEAT) as stream:
        assert stream.next().event == "subscribed"
        created = server.ok("CREATE TABLE shaped (id INTEGER PRIMARY KEY, v TEXT)")["lsn"]
        server.ok("INSERT INTO shaped (id, v) VALUES (1, 'a')")
        deleted = server.ok("DELETE FROM shaped")["lsn"]
        ddl, delete = stream.take(2)
    assert (ddl.id, ddl.event, ddl.data["table"]) == (f"{created}.0", "ddl", "public.shaped")
    assert ddl.data["new"]["action"] == "create_table"
    assert "CREATE TABLE" in ddl.data["new"]["sql"]
    assert (delete.id, delete.data["old"]) == (f"{deleted}.0", {"id": 1, "v": "a"})


def test_the_tables_filter_takes_qualified_and_unqualified_names(server: Server) -> None:
    server.ok("CREATE SCHEMA filt")
    server.ok("CREATE TABLE filt.a (id INTEGER PRIMARY KEY)")
    server.ok("CREATE TABLE public.b (id INTEGER PRIMARY KEY)")
    server.ok("CREATE TABLE public.c (id INTEGER PRIMARY KEY)")
    with server.subscribe(tables="filt.a,b", heartbeat=HEARTBEAT) as stream:
        stream.next()
        server.ok("INSERT INTO public.c (id) VALUES (1)")
        to_a = server.ok("INSERT INTO filt.a (id) VALUES (1)")["lsn"]
        server.ok("INSERT INTO public.c (id) VALUES (2)")
        to_b = server.ok("INSERT INTO public.b (id) VALUES (1)")["lsn"]
        events = stream.take(2)
    assert [(e.id, e.data["table"]) for e in events] == [
        (f"{to_a}.0", "filt.a"),
        (f"{to_b}.0", "public.b"),
    ]


def test_idle_streams_heartbeat_and_the_token_may_be_a_parameter(server: Server) -> None:
    server.ok("CREATE TABLE quiet (id INTEGER PRIMARY KEY)")
    with server.subscribe(access_token=server.admin_key, tables="quiet", heartbeat="0.2") as s:
        assert s.next().event == "subscribed"
        deadline, heartbeats = time.monotonic() + 10, 0
        while heartbeats < 3:
            assert time.monotonic() < deadline, "no heartbeats"
            heartbeats += next(s.lines) == ": heartbeat"
        lsn = server.ok("INSERT INTO quiet (id) VALUES (1)")["lsn"]
        assert s.next().id == f"{lsn}.0"


def test_bad_requests_are_refused_before_streaming(server: Server) -> None:
    key = server.admin_key
    assert server.refused().status_code == 401
    assert server.refused(access_token="bkg_admin_" + "x" * 40).status_code == 401
    assert server.refused(key, tables="no_such_table").status_code == 404
    assert server.refused(key, ops="insert,truncate").status_code == 400
    assert server.refused(key, from_lsn="0").status_code == 400
    assert server.refused(key, heartbeat="0").status_code == 400
    response = server.client.get(
        f"{server.url}/realtime",
        headers={"Authorization": f"Bearer {key}", "Last-Event-ID": "12.x"},
    )
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "BAD_REQUEST"
    beyond = server.client.get(
        f"{server.url}/realtime",
        headers={"Authorization": f"Bearer {key}", "Last-Event-ID": "999999999.0"},
    )
    assert beyond.status_code == 400
    assert "beyond" in beyond.json()["error"]["message"]
