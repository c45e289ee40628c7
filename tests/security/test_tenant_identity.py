"""Identity is (kind, namespace, id) everywhere something is kept per principal: user `u1` of
one namespace never gets the idempotent answer, the rate budget or the upload of user `u1` of
another namespace."""

from __future__ import annotations

import base64
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from api.auth.principal import Principal, identity_key, user_principal
from api.auth.ratelimit import RateLimiter
from tests.http.conftest import Api, bearer, make_data_dir, open_api

TODOS = "CREATE TABLE {ns}.todos (id INTEGER PRIMARY KEY, owner TEXT NOT NULL, title TEXT)"
OWN = {
    "actions": ["select", "insert", "update", "delete"],
    "using": "owner = auth.uid()",
    "check": "owner = auth.uid()",
}


@pytest.fixture
def twins(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Api]:
    """Namespaces `shop` and `other`, each with a `todos` table users own rows of."""
    monkeypatch.setenv("BKG_ARCHIVE", "off")
    for api in open_api(make_data_dir(tmp_path)):
        for ns in ("shop", "other"):
            api.ok(f"CREATE SCHEMA {ns}")
            api.ok(TODOS.format(ns=ns))
            api.add_policy({"name": "own", "table": f"{ns}.todos", **OWN})
        yield api


def test_an_idempotency_key_never_replays_another_namespaces_answer(twins: Api) -> None:
    api = twins
    sql = "INSERT INTO todos (id, owner, title) VALUES (1, 'u1', $1) RETURNING title"
    headers = {"Idempotency-Key": "same-key"}
    first = api.client.post(
        "/query",
        json={"sql": sql, "params": ["private"]},
        headers={**bearer(api.user_token("u1", "shop")), **headers},
    )
    assert first.status_code == 200, first.text
    assert first.json()["rows"] == [["private"]]
    twin = api.client.post(
        "/query",
        json={"sql": sql, "params": ["private"]},
        headers={**bearer(api.user_token("u1", "other")), **headers},
    )
    assert twin.status_code == 200, twin.text
    assert "idempotent-replayed" not in twin.headers
    assert twin.json()["lsn"] > first.json()["lsn"]
    assert api.rows("SELECT count(*) FROM other.todos") == [[1]]
    again = api.client.post(
        "/query",
        json={"sql": sql, "params": ["private"]},
        headers={**bearer(api.user_token("u1", "shop")), **headers},
    )
    assert again.headers["idempotent-replayed"] == "true"
    assert again.json() == first.json()


def test_rate_limit_buckets_are_per_namespace(tmp_path: Path) -> None:
    gen = open_api(make_data_dir(tmp_path), rate_limits={"user": 2, "admin": 1000})
    api = next(gen)
    for ns in ("shop", "other"):
        api.ok(f"CREATE SCHEMA {ns}")
    shop, other = api.user_token("u1", "shop"), api.user_token("u1", "other")
    assert [api.query("SELECT 1", shop).status_code for _ in range(3)] == [200, 200, 429]
    assert [api.query("SELECT 1", other).status_code for _ in range(3)] == [200, 200, 429]
    gen.close()


def _tus(api: Api, token: str, bucket: str, name: str, length: int) -> Any:
    meta = ",".join(
        f"{k} {base64.b64encode(v.encode()).decode()}"
        for k, v in {"bucket": bucket, "name": name}.items()
    )
    headers = {"Tus-Resumable": "1.0.0", "Upload-Length": str(length), "Upload-Metadata": meta}
    return api.client.post("/storage/uploads", headers={**bearer(token), **headers})


def test_an_upload_cannot_be_continued_by_the_same_sub_of_another_namespace(twins: Api) -> None:
    api = twins
    key = api.create_key("namespace", "shop")["key"]
    created = api.client.post("/storage/buckets", json={"name": "files"}, headers=bearer(key))
    assert created.status_code == 201, created.text
    api.add_policy(
        {"name": "own folder", "table": "storage.objects", **OWN, "using": "owner = auth.uid()"}
    )
    owner, twin = api.user_token("u1", "shop"), api.user_token("u1", "other")
    started = _tus(api, owner, "files", "u1/a.bin", 8)
    assert started.status_code == 201, started.text
    location = started.headers["location"]
    tus = {"Tus-Resumable": "1.0.0", "Content-Type": "application/offset+octet-stream"}
    head = api.head
    for response in (
        api.client.head(location, headers={**bearer(twin), **tus}),
        api.client.patch(
            location, content=b"12345678", headers={**bearer(twin), **tus, "Upload-Offset": "0"}
        ),
        api.client.delete(location, headers={**bearer(twin), **tus}),
    ):
        assert response.status_code == 403, response.text
    assert api.head == head
    done = api.client.patch(
        location, content=b"12345678", headers={**bearer(owner), **tus, "Upload-Offset": "0"}
    )
    assert done.status_code == 204, done.text
    got = api.client.get("/storage/objects/files/u1/a.bin", headers=bearer(owner))
    assert got.content == b"12345678"


def test_the_rate_limiter_keys_by_identity() -> None:
    limiter = RateLimiter(per_minute={"user": 1})
    a, b = user_principal("u1", "shop"), user_principal("u1", "other")
    assert limiter.try_acquire(a, now=0.0) == 0.0
    assert limiter.try_acquire(a, now=0.0) > 0
    assert limiter.try_acquire(b, now=0.0) == 0.0


KINDS = st.sampled_from(["admin", "namespace", "user"])
TRICKY = st.text(alphabet=st.sampled_from(list("u1:%*_ab-2F3A")), max_size=8)
NAMESPACES = st.none() | TRICKY


@given(
    st.tuples(KINDS, NAMESPACES, TRICKY),
    st.tuples(KINDS, NAMESPACES, TRICKY),
)
def test_distinct_identities_never_share_a_key(
    one: tuple[str, str | None, str], two: tuple[str, str | None, str]
) -> None:
    """Separator, escape and 'no namespace' characters in subjects and namespaces cannot
    make two identities collide."""
    if one != two:
        assert identity_key(*one) != identity_key(*two)


@given(TRICKY, TRICKY, TRICKY, TRICKY)
def test_user_principals_of_distinct_namespace_and_sub_have_distinct_keys(
    sub1: str, ns1: str, sub2: str, ns2: str
) -> None:
    p1 = Principal(kind="user", id=f"user:{sub1}", namespace=ns1, sub=sub1)
    p2 = Principal(kind="user", id=f"user:{sub2}", namespace=ns2, sub=sub2)
    assert (p1.key == p2.key) == ((sub1, ns1) == (sub2, ns2))
