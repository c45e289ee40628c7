"""Tokens minted from an API key die with it: revoked, expired or rotated out (after its
grace), the key takes every token derived from it along, on every door (HTTP bearer,
`/realtime`'s `access_token`, signed storage URLs, minting further tokens and keys). Admin
tokens live at most an hour; no derived token reaches beyond its key."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import jwt
import pytest

from api.auth.keyfiles import load_jwt_secret
from api.auth.tokens import KEY_CLAIM
from tests.http.conftest import Api, bearer, make_data_dir, open_api


@pytest.fixture
def api(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Api]:
    monkeypatch.setenv("BKG_ARCHIVE", "off")
    for served in open_api(make_data_dir(tmp_path)):
        served.ok("CREATE SCHEMA shop")
        yield served


def _token(api: Api, key: str, **body: Any) -> str:
    response = api.client.post("/auth/token", json=body, headers=bearer(key))
    assert response.status_code == 200, response.text
    token: str = response.json()["access_token"]
    return token


def _admin_token(api: Api, key: str, **body: Any) -> str:
    response = api.client.post("/auth/token", json={"api_key": key, **body})
    assert response.status_code == 200, response.text
    token: str = response.json()["access_token"]
    return token


def _revoke(api: Api, key_id: str) -> None:
    response = api.client.delete(f"/auth/keys/{key_id}", headers=bearer(api.admin_key))
    assert response.status_code == 200, response.text


def _realtime_status(api: Api, token: str) -> int:
    """`/realtime` with the token as `access_token`, as a bounded read (ends at once)."""
    head = api.head
    params = {"access_token": token, "from_lsn": head, "until_lsn": head}
    return api.client.get("/realtime", params=params).status_code


def test_an_admin_token_dies_with_its_key_on_every_door(api: Api) -> None:
    key = api.create_key("admin")
    token = _admin_token(api, key["key"])
    assert api.query("SELECT 1", token).status_code == 200
    assert _realtime_status(api, token) == 200
    user = _token(api, token, sub="u1", ns="shop")
    assert api.query("SELECT 1", user).status_code == 200
    _revoke(api, key["id"])
    head = api.head
    assert api.query("SELECT 1", token).status_code == 401
    assert api.query("SELECT 1", user).status_code == 401
    assert _realtime_status(api, token) == 401
    minted = api.client.post("/auth/keys", json={"scope": "admin"}, headers=bearer(token))
    assert minted.status_code == 401
    again = api.client.post("/auth/token", json={"sub": "u2"}, headers=bearer(token))
    assert again.status_code == 401
    assert api.head == head


def test_a_user_token_dies_with_the_namespace_key_that_minted_it(api: Api) -> None:
    key = api.create_key("namespace", "shop")
    token = _token(api, key["key"], sub="u1")
    assert api.query("SELECT 1", token).status_code == 200
    _revoke(api, key["id"])
    assert api.query("SELECT 1", token).status_code == 401
    assert _realtime_status(api, token) == 401


def test_tokens_signed_with_the_project_secret_are_not_tied_to_a_key(api: Api) -> None:
    now = int(time.time())
    claims = {"sub": "u1", "role": "user", "ns": "shop", "iat": now, "exp": now + 60}
    token = jwt.encode(claims, load_jwt_secret(api.backend.db.data.keys), algorithm="HS256")
    key = api.create_key("namespace", "shop")
    _revoke(api, key["id"])
    assert api.query("SELECT 1", token).status_code == 200


def test_rotation_grace_carries_over_to_derived_tokens(api: Api) -> None:
    kept, dropped = api.create_key("admin"), api.create_key("admin")
    kept_token, dropped_token = _admin_token(api, kept["key"]), _admin_token(api, dropped["key"])
    for key, grace in ((kept, 3600), (dropped, 0)):
        rotated = api.client.post(
            f"/auth/keys/{key['id']}/rotate",
            json={"grace_seconds": grace},
            headers=bearer(api.admin_key),
        )
        assert rotated.status_code == 201, rotated.text
    assert api.query("SELECT 1", kept_token).status_code == 200
    assert api.query("SELECT 1", dropped_token).status_code == 401


def test_a_token_dies_when_its_key_expires(api: Api) -> None:
    response = api.client.post(
        "/auth/keys",
        json={"scope": "namespace", "namespace": "shop", "ttl_seconds": 1},
        headers=bearer(api.admin_key),
    )
    assert response.status_code == 201, response.text
    token = _token(api, response.json()["key"], sub="u1", ttl_seconds=3600)
    assert api.query("SELECT 1", token).status_code == 200
    time.sleep(1.1)
    assert api.query("SELECT 1", token).status_code == 401


def test_a_signed_url_dies_with_the_key_it_was_signed_with(api: Api) -> None:
    key = api.create_key("namespace", "shop")
    made = api.client.post("/storage/buckets", json={"name": "files"}, headers=bearer(key["key"]))
    assert made.status_code == 201, made.text
    stored = api.client.put(
        "/storage/objects/files/a.txt", content=b"x", headers=bearer(key["key"])
    )
    assert stored.status_code == 200, stored.text
    signed = api.client.post(
        "/storage/sign/files/a.txt", json={"expires_in": 600}, headers=bearer(key["key"])
    )
    assert signed.status_code == 200, signed.text
    url = signed.json()["url"]
    assert api.client.get(url).content == b"x"
    assert api.client.get(url.replace("key=", "key=x")).status_code == 403
    _revoke(api, key["id"])
    refused = api.client.get(url)
    assert refused.status_code == 403, refused.text


def test_admin_token_lifetime_is_capped_at_an_hour(api: Api) -> None:
    too_long = api.client.post("/auth/token", json={"api_key": api.admin_key, "ttl_seconds": 3601})
    assert too_long.status_code == 422
    assert too_long.json()["error"]["code"] == "VALIDATION_ERROR"
    capped = api.client.post("/auth/token", json={"api_key": api.admin_key, "ttl_seconds": 3600})
    assert capped.status_code == 200 and capped.json()["expires_in"] == 3600
    user = api.client.post(
        "/auth/token",
        json={"sub": "u1", "ns": "shop", "ttl_seconds": 86400},
        headers=bearer(api.admin_key),
    )
    assert user.status_code == 200


def test_a_caller_cannot_name_a_key_in_its_claims(api: Api) -> None:
    key = api.create_key("admin")
    response = api.client.post(
        "/auth/token",
        json={"sub": "u1", "ns": "shop", "claims": {KEY_CLAIM: key["id"]}},
        headers=bearer(api.admin_key),
    )
    assert response.status_code == 422


def test_a_token_cannot_reach_beyond_the_key_it_names(api: Api) -> None:
    """Even signed with the project secret, a token naming a namespace key must be a user
    token of that namespace: it cannot borrow the key to claim admin or another namespace."""
    api.ok("CREATE SCHEMA other")
    key = api.create_key("namespace", "shop")
    secret = load_jwt_secret(api.backend.db.data.keys)
    now = int(time.time())
    base = {"sub": "u1", "iat": now, "exp": now + 60, KEY_CLAIM: key["id"]}
    for claims in ({"role": "admin"}, {"role": "user", "ns": "other"}):
        token = jwt.encode({**base, **claims}, secret, algorithm="HS256")
        assert api.query("SELECT 1", token).status_code == 401
    fine = jwt.encode({**base, "role": "user", "ns": "shop"}, secret, algorithm="HS256")
    assert api.query("SELECT 1", fine).status_code == 200


def test_a_namespace_key_mints_no_admin_token_nor_wider_key(api: Api) -> None:
    key = api.create_key("namespace", "shop")
    admin = api.client.post("/auth/token", json={"api_key": key["key"]})
    assert admin.status_code == 422
    token = _token(api, key["key"], sub="u1")
    for body in ({"scope": "admin"}, {"scope": "namespace", "namespace": "shop"}):
        response = api.client.post("/auth/keys", json=body, headers=bearer(token))
        assert response.status_code == 403, response.text
    wider = api.client.post("/auth/keys", json={"scope": "admin"}, headers=bearer(key["key"]))
    assert wider.status_code == 403
