"""Object storage on `/realtime`: creations, replacements and deletions of objects are events
on `storage.objects`, seen by whoever could download the object (users through the object
policies, namespace keys in their own buckets), live and on resume."""

from __future__ import annotations

from typing import Any

from tests.realtime.conftest import Server
from tests.storage.test_http import OWN_FOLDER

HEARTBEAT = "0.2"


def _put(server: Server, token: str, path: str, body: bytes) -> dict[str, Any]:
    response = server.client.put(
        f"{server.url}/storage/objects/{path}",
        content=body,
        headers={"Authorization": f"Bearer {token}", "Content-Type": "text/plain"},
    )
    assert response.status_code == 200, response.text
    stored: dict[str, Any] = response.json()
    return stored


def _delete(server: Server, token: str, path: str) -> int:
    response = server.client.delete(
        f"{server.url}/storage/objects/{path}", headers={"Authorization": f"Bearer {token}"}
    )
    assert response.status_code == 200, response.text
    lsn: int = response.json()["lsn"]
    return lsn


def test_object_changes_reach_those_who_may_read_them(server: Server) -> None:
    server.ok("CREATE SCHEMA media")
    server.ok("CREATE SCHEMA elsewhere")
    key, other_key = server.namespace_key("media"), server.namespace_key("elsewhere")
    server.post("/storage/buckets", {"name": "photos"}, key)
    server.post("/storage/buckets", {"name": "theirs"}, other_key)
    server.post("/policy", OWN_FOLDER)
    alice = server.user_token(key, "alice")
    with (
        server.subscribe(alice, tables="storage.objects", heartbeat=HEARTBEAT) as mine,
        server.subscribe(key, tables="storage.objects", heartbeat=HEARTBEAT) as namespace,
    ):
        assert mine.next().event == "subscribed"
        assert namespace.next().event == "subscribed"
        created = _put(server, alice, "photos/alice/cat.txt", b"meow")
        _put(server, key, "photos/bob/dog.txt", b"woof")
        _put(server, other_key, "theirs/alice/not-here.txt", b"other namespace")
        replaced = _put(server, alice, "photos/alice/cat.txt", b"purr")
        deleted = _delete(server, alice, "photos/alice/cat.txt")
        seen = mine.take(3)
        by_key = namespace.take(4)
    assert [(e.id, e.event) for e in seen] == [
        (f"{created['lsn']}.0", "insert"),
        (f"{replaced['lsn']}.0", "update"),
        (f"{deleted}.0", "delete"),
    ]
    assert {e.data["table"] for e in seen} == {"storage.objects"}
    assert seen[0].data["new"] == {
        "bucket": "photos", "name": "alice/cat.txt", "size": 4, "sha256": created["sha256"],
        "content_type": "text/plain", "owner": "alice", "metadata": {},
    }  # fmt: skip
    assert seen[0].data["old"] is None and seen[0].data["actor"].startswith("user:")
    assert seen[2].data["new"] is None
    assert seen[2].data["old"]["sha256"] == replaced["sha256"]
    assert [e.data["new"]["name"] for e in by_key[:3]] == [
        "alice/cat.txt", "bob/dog.txt", "alice/cat.txt",
    ]  # fmt: skip
    with server.subscribe(alice, last_id=f"{created['lsn']}.0", heartbeat=HEARTBEAT) as again:
        assert again.next().event == "subscribed"
        resumed = again.take(2)
    assert [e.id for e in resumed] == [e.id for e in seen[1:]]
