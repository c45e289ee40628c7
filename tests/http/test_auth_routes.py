"""/auth/token, /auth/keys (create, list, revoke, rotate with grace) and the JWKS document."""

from __future__ import annotations

import time
from pathlib import Path

import jwt

from tests.http.conftest import Api, bearer, make_data_dir, open_api


def test_created_key_works_and_is_listed_without_secrets(api: Api) -> None:
    created = api.create_key("admin")
    assert created["key"].startswith("bkg_admin_")
    assert created["prefix"] == created["key"][: len(created["prefix"])]
    assert api.ok("SELECT 1", created["key"])["rows"] == [[1]]
    listed = api.client.get("/auth/keys", headers=bearer(api.admin_key)).json()["keys"]
    ids = {k["id"] for k in listed}
    assert created["id"] in ids and len(ids) == 2
    text = str(listed)
    assert created["key"] not in text and "hash" not in text
    record = api.last_record()
    assert record.kind == "auth" and created["key"] not in str(record.payload)


def test_revoked_key_stops_working_at_once(api: Api) -> None:
    created = api.create_key("namespace", "shop")
    api.ok("CREATE SCHEMA shop")
    assert api.query("SELECT 1", created["key"]).status_code == 200
    response = api.client.delete(f"/auth/keys/{created['id']}", headers=bearer(api.admin_key))
    assert response.status_code == 200
    assert response.json()["active"] is False
    assert api.query("SELECT 1", created["key"]).status_code == 401
    again = api.client.delete(f"/auth/keys/{created['id']}", headers=bearer(api.admin_key))
    assert again.status_code == 409


def test_rotation_keeps_the_old_key_for_the_grace_period(api: Api) -> None:
    old = api.create_key("admin")
    body = {"grace_seconds": 0.5}
    response = api.client.post(
        f"/auth/keys/{old['id']}/rotate", json=body, headers=bearer(api.admin_key)
    )
    assert response.status_code == 201, response.text
    new = response.json()
    assert new["rotated_from"] == old["id"] and new["key"] != old["key"]
    assert api.query("SELECT 1", new["key"]).status_code == 200
    assert api.query("SELECT 1", old["key"]).status_code == 200
    time.sleep(0.6)
    assert api.query("SELECT 1", old["key"]).status_code == 401
    assert api.query("SELECT 1", new["key"]).status_code == 200


def test_key_specs_are_validated(api: Api) -> None:
    before = api.head
    for body in (
        {"scope": "root"},
        {"scope": "namespace"},
        {"scope": "namespace", "namespace": "Bad-Name"},
        {"scope": "admin", "namespace": "shop"},
        {"scope": "admin", "ttl_seconds": -5},
    ):
        response = api.client.post("/auth/keys", json=body, headers=bearer(api.admin_key))
        assert response.status_code == 422, (body, response.text)
        assert response.json()["error"]["code"] == "VALIDATION_ERROR"
    assert api.head == before


def test_admin_key_exchanges_for_an_admin_token(api: Api) -> None:
    response = api.client.post("/auth/token", json={"api_key": api.admin_key})
    assert response.status_code == 200, response.text
    answer = response.json()
    assert answer["token_type"] == "bearer" and answer["expires_in"] > 0
    assert api.ok("SELECT 1", answer["access_token"])["rows"] == [[1]]
    claims = jwt.decode(answer["access_token"], options={"verify_signature": False})
    assert claims["role"] == "admin"


def test_namespace_key_mints_user_tokens_for_its_namespace_only(shop: Api) -> None:
    key = shop.create_key("namespace", "shop")["key"]
    response = shop.client.post("/auth/token", json={"sub": "alice"}, headers=bearer(key))
    assert response.status_code == 200, response.text
    token = response.json()["access_token"]
    assert jwt.decode(token, options={"verify_signature": False})["ns"] == "shop"
    assert shop.rows("SELECT id FROM todos ORDER BY id", token) == [[1], [2]]
    body = {"sub": "alice", "ns": "other"}
    assert shop.client.post("/auth/token", json=body, headers=bearer(key)).status_code == 403
    via_body = shop.client.post("/auth/token", json={"api_key": key, "sub": "bob"})
    assert via_body.status_code == 200
    assert shop.client.post("/auth/token", json={"api_key": key}).status_code == 422


def test_token_requests_are_checked(shop: Api) -> None:
    user = shop.user_token("alice")
    admin = bearer(shop.admin_key)
    assert (
        shop.client.post("/auth/token", json={"sub": "x"}, headers=bearer(user)).status_code == 403
    )
    assert shop.client.post("/auth/token", json={"sub": "x"}).status_code == 401
    bad = [
        {"sub": "x", "ttl_seconds": 0},
        {"sub": "x", "ttl_seconds": 10**9},
        {"sub": "x", "claims": {"role": "admin"}},
        {"sub": "x", "ns": "No Such"},
        {"sub": ""},
    ]
    for body in bad:
        response = shop.client.post("/auth/token", json=body, headers=admin)
        assert response.status_code == 422, (body, response.text)
    response = shop.client.post("/auth/token", json={"api_key": "not-a-key"})
    assert response.status_code == 401


def test_jwks_publishes_the_eddsa_key_that_verifies_tokens(api: Api) -> None:
    response = api.client.get("/.well-known/jwks.json")
    assert response.status_code == 200
    keys = response.json()["keys"]
    assert len(keys) == 1 and keys[0]["alg"] == "EdDSA" and keys[0]["kty"] == "OKP"
    assert "d" not in keys[0]
    token = api.backend.tokens.mint("svc", "admin", None, 60, algorithm="EdDSA")
    public = jwt.PyJWK(keys[0]).key
    assert jwt.decode(token, public, algorithms=["EdDSA"])["sub"] == "svc"
    assert api.ok("SELECT 1", token)["rows"] == [[1]]


def test_keys_report_their_last_use_across_a_clean_restart(tmp_path: Path) -> None:
    root = make_data_dir(tmp_path)
    for api in open_api(root):
        used, idle = api.create_key("admin"), api.create_key("admin")
        before = time.time()
        api.ok("SELECT 1", used["key"])
        listed = {
            k["id"]: k
            for k in api.client.get("/auth/keys", headers=bearer(used["key"])).json()["keys"]
        }
        assert before <= listed[used["id"]]["last_used_at"] <= time.time()
        assert listed[idle["id"]]["last_used_at"] is None
        first_use = listed[used["id"]]["last_used_at"]
    for api in open_api(root):
        listed = {
            k["id"]: k
            for k in api.client.get("/auth/keys", headers=bearer(api.admin_key)).json()["keys"]
        }
        assert listed[used["id"]]["last_used_at"] >= first_use
        assert listed[idle["id"]]["last_used_at"] is None
