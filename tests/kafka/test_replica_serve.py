"""`bkgdb replica --serve`: a replica process built from `bkg.log` answers `/query` over HTTP
like the primary at the same LSN, with the primary's keys, and refuses writes."""

from __future__ import annotations

from typing import Any

import httpx

from tests.http.conftest import Api, bearer
from tests.kafka.replicas import PRIMARY_URL, Replica

QUERIES = (
    "SELECT id, owner, title FROM shop.todos ORDER BY id",
    "SELECT owner, count(*) FROM shop.todos GROUP BY owner ORDER BY owner",
    "SELECT t.title, n.body FROM shop.todos t JOIN shop.notes n ON n.todo_id = t.id ORDER BY 1",
)


def same_answers(primary: Api, replica: Replica, token: str) -> None:
    for sql in QUERIES:
        mine = primary.ok(sql, token)
        theirs = replica.query(sql, token)
        assert theirs.status_code == 200, theirs.text
        assert theirs.json() == mine, sql


def test_replica_answers_like_the_primary_and_refuses_writes(
    primary: Api, replica: Replica
) -> None:
    replica.wait_for(primary.head)
    same_answers(primary, replica, primary.admin_key)
    shop_key = primary.create_key("namespace", "shop")["key"]
    alice = primary.user_token("alice")
    primary.ok("INSERT INTO shop.todos (id, owner, title) VALUES (4, 'alice', 'a3')")
    primary.ok("UPDATE shop.todos SET title = 'done' WHERE id = 1")
    primary.ok("DELETE FROM shop.notes WHERE id = 2")
    replica.wait_for(primary.head)
    for token in (primary.admin_key, shop_key, alice):
        same_answers(primary, replica, token)
    mine = [row[0] for row in primary.rows(QUERIES[0], alice)]
    assert mine == [1, 2, 4]
    secrets = replica.query("SELECT * FROM other.secrets", shop_key)
    assert secrets.status_code == primary.query("SELECT * FROM other.secrets", shop_key).status_code
    assert secrets.status_code in (403, 404)

    write = replica.query("INSERT INTO shop.todos (id, owner) VALUES (9, 'x')", primary.admin_key)
    assert write.status_code == 503
    error: dict[str, Any] = write.json()["error"]
    assert error["code"] == "UNAVAILABLE" and error["detail"] == {"primary": PRIMARY_URL}
    batch = httpx.post(
        f"{replica.url}/query",
        json={"statements": [{"sql": "SELECT 1"}, {"sql": "DELETE FROM shop.notes"}]},
        headers=bearer(primary.admin_key),
    )
    assert batch.status_code == 503
    assert replica.query(QUERIES[0], "bkg_nope").status_code == 401
    past = httpx.post(
        f"{replica.url}/query",
        json={"sql": QUERIES[0], "as_of_lsn": 2},
        headers=bearer(primary.admin_key),
    )
    assert past.status_code == 501, past.text
    schema = primary.client.get("/schema", headers=bearer(shop_key)).json()
    assert schema["tables"]
    assert httpx.get(f"{replica.url}/schema", headers=bearer(shop_key)).json() == schema
    assert replica.applied() == primary.head
    assert len(primary.rows("SELECT * FROM shop.notes")) == 1
