"""The PocketBase peer of the ``rest`` scenario: it starts, holds the rows it was given, and
its record view and create answer as the scenario's requests expect."""

from __future__ import annotations

import http.client

from bench.peers import pocketbase


def test_pocketbase_serves_its_rows_and_creates_more() -> None:
    with pocketbase.running_pocketbase(3) as server:
        listed = server.call("GET", "/api/collections/items/records?perPage=50")
        assert sorted(r["id"] for r in listed["items"]) == [
            pocketbase.record_id(n) for n in (1, 2, 3)
        ]
        conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=30)
        try:
            path = f"/api/collections/items/records/{pocketbase.record_id(2)}"
            status, _ = pocketbase.send(conn, "GET", path, None, server.token)
            assert status == 200
            body = {"id": pocketbase.record_id(99), "owner": "u1", "v": "x"}
            status, _ = pocketbase.send(
                conn, "POST", "/api/collections/items/records", body, server.token
            )
            assert status == 200
            status, _ = pocketbase.send(
                conn, "GET", "/api/collections/items/records/none", None, server.token
            )
            assert status == 404
        finally:
            conn.close()
