"""`until_lsn`: a bounded read of the past over `/realtime` that ends with `end`."""

from __future__ import annotations

import httpx

from tests.realtime.conftest import Server


def test_history_up_to_an_lsn_then_end(server: Server) -> None:
    server.ok("CREATE TABLE history_rows (id INTEGER PRIMARY KEY, v TEXT)")
    first = server.ok("INSERT INTO history_rows (id, v) VALUES (1, 'a'), (2, 'b')")["lsn"]
    middle = server.ok("UPDATE history_rows SET v = 'c' WHERE id = 1")["lsn"]
    server.ok("DELETE FROM history_rows WHERE id = 2")
    with server.subscribe(tables="history_rows", from_lsn=first, until_lsn=middle) as stream:
        assert stream.next().event == "subscribed"
        events = [stream.next() for _ in range(4)]
        assert [(e.id, e.event) for e in events] == [
            (f"{first}.0", "insert"),
            (f"{first}.1", "insert"),
            (f"{middle}.0", "update"),
            (None, "end"),
        ]
        assert events[-1].data == {"lsn": middle, "resume_from": f"{middle}.0"}
        assert not list(stream.lines)  # the response is over


def test_history_with_nothing_to_deliver_still_ends(server: Server) -> None:
    server.ok("CREATE TABLE history_quiet (id INTEGER PRIMARY KEY)")
    head = server.ok("CREATE TABLE history_other (id INTEGER PRIMARY KEY)")["lsn"]
    with server.subscribe(tables="history_quiet", from_lsn=head, until_lsn=head) as stream:
        assert [stream.next().event, stream.next().event] == ["subscribed", "end"]


def test_until_lsn_outside_the_log_is_refused(server: Server) -> None:
    head = server.ok("CREATE TABLE history_far (id INTEGER PRIMARY KEY)")["lsn"]
    for until in (head + 100, 0):
        refused = server.refused(token=server.admin_key, from_lsn=head, until_lsn=until)
        assert refused.status_code == httpx.codes.BAD_REQUEST
        assert refused.json()["error"]["code"] == "BAD_REQUEST"
