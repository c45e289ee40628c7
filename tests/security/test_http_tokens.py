"""Token attacks through HTTP: each forged, stale or misused credential gets 401 (or stays in
its own namespace), and nothing is appended to the log."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from api.auth.keyfiles import load_jwt_secret
from tests.http.conftest import Api, bearer, make_data_dir, open_api, serve_shop


@pytest.fixture
def shop(tmp_path: Path) -> Iterator[Api]:
    yield from serve_shop(tmp_path)


def _secret(api: Api) -> bytes:
    return load_jwt_secret(api.backend.db.data.keys)


def _claims(**extra: Any) -> dict[str, Any]:
    now = int(time.time())
    return {"sub": "alice", "role": "user", "ns": "shop", "iat": now, "exp": now + 600, **extra}


def _b64(data: dict[str, Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()


def _refused(api: Api, token: str) -> None:
    head = api.head
    for response in (
        api.query("SELECT id FROM shop.todos", token),
        api.query("DELETE FROM shop.todos", token),
        api.client.get("/schema", headers=bearer(token)),
    ):
        assert response.status_code == 401, response.text
        assert response.json()["error"]["code"] == "UNAUTHORIZED"
    assert api.head == head


def test_a_valid_user_token_works(shop: Api) -> None:
    token = jwt.encode(_claims(), _secret(shop), algorithm="HS256")
    assert len(shop.rows("SELECT id FROM todos", token)) == 2


def test_alg_none_is_refused(shop: Api) -> None:
    _refused(shop, f"{_b64({'alg': 'none', 'typ': 'JWT'})}.{_b64(_claims(role='admin'))}.")


def test_hs256_signed_with_the_published_public_key_is_refused(shop: Api) -> None:
    jwk = shop.client.get("/.well-known/jwks.json").json()["keys"][0]
    public = jwt.PyJWK(jwk).key
    raw = public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    pem = public.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    for secret in (raw, pem):
        header = {"alg": "HS256", "typ": "JWT", "kid": jwk["kid"]}
        signing_input = f"{_b64(header)}.{_b64(_claims(role='admin'))}"
        mac = hmac.new(secret, signing_input.encode(), hashlib.sha256).digest()
        signature = base64.urlsafe_b64encode(mac).rstrip(b"=").decode()
        _refused(shop, f"{signing_input}.{signature}")


def test_tokens_of_other_algorithms_and_keys_are_refused(shop: Api) -> None:
    stranger = Ed25519PrivateKey.generate()
    _refused(shop, jwt.encode(_claims(), stranger, algorithm="EdDSA", headers={"kid": "x"}))
    jwk = shop.client.get("/.well-known/jwks.json").json()["keys"][0]
    own_kid = {"kid": jwk["kid"]}
    _refused(shop, jwt.encode(_claims(), stranger, algorithm="EdDSA", headers=own_kid))
    _refused(shop, jwt.encode(_claims(), "x" * 48, algorithm="HS256"))
    _refused(shop, jwt.encode(_claims(), _secret(shop), algorithm="HS512"))


def test_tampered_payload_is_refused(shop: Api) -> None:
    token = jwt.encode(_claims(), _secret(shop), algorithm="HS256")
    header, _, signature = token.split(".")
    _refused(shop, f"{header}.{_b64(_claims(role='admin'))}.{signature}")
    _refused(shop, f"{header}.{_b64(_claims(sub='bob'))}.{signature}")


def test_expired_and_not_yet_valid_tokens_are_refused(shop: Api) -> None:
    now = int(time.time())
    secret = _secret(shop)
    _refused(shop, jwt.encode(_claims(exp=now - 5), secret, algorithm="HS256"))
    _refused(shop, jwt.encode(_claims(nbf=now + 600), secret, algorithm="HS256"))


def test_tokens_missing_claims_are_refused(shop: Api) -> None:
    secret = _secret(shop)
    for missing in ("sub", "role", "exp", "ns"):
        claims = _claims()
        del claims[missing]
        _refused(shop, jwt.encode(claims, secret, algorithm="HS256"))
    _refused(shop, jwt.encode(_claims(role="superuser"), secret, algorithm="HS256"))


def test_wrong_namespace_claim_stays_in_that_namespace(shop: Api) -> None:
    token = jwt.encode(_claims(ns="other"), _secret(shop), algorithm="HS256")
    head = shop.head
    response = shop.query("SELECT * FROM shop.todos", token)
    assert response.status_code in (403, 404)
    assert shop.rows("SELECT * FROM secrets", token) == []
    assert shop.query("DELETE FROM shop.todos", token).status_code in (403, 404)
    assert shop.head == head


def test_revoked_key_and_tokens_minted_after_revocation(shop: Api) -> None:
    key = shop.create_key("namespace", "shop")
    shop.client.delete(f"/auth/keys/{key['id']}", headers=bearer(shop.admin_key))
    _refused(shop, key["key"])
    response = shop.client.post("/auth/token", json={"api_key": key["key"], "sub": "alice"})
    assert response.status_code == 401


def test_rotated_key_after_its_grace_period_is_refused(shop: Api) -> None:
    key = shop.create_key("admin")
    body = {"grace_seconds": 0.2}
    url = f"/auth/keys/{key['id']}/rotate"
    new = shop.client.post(url, json=body, headers=bearer(shop.admin_key)).json()
    time.sleep(0.3)
    _refused(shop, key["key"])
    assert shop.query("SELECT 1", new["key"]).status_code == 200


def test_a_guessed_key_with_a_real_prefix_is_refused(shop: Api) -> None:
    real = shop.admin_key
    guess = real[:-4] + ("AAAA" if not real.endswith("AAAA") else "BBBB")
    _refused(shop, guess)


def test_issuer_and_audience_are_required_when_configured(tmp_path: Path) -> None:
    root = make_data_dir(tmp_path)
    for api in open_api(root, jwt_issuer="https://bkg.example", jwt_audience="shop-app"):
        api.ok("CREATE SCHEMA shop")
        minted = api.user_token("alice")
        claims = jwt.decode(minted, options={"verify_signature": False})
        assert (claims["iss"], claims["aud"]) == ("https://bkg.example", "shop-app")
        assert api.query("SELECT 1", minted).status_code == 200
        secret = _secret(api)
        for extra in (
            {},
            {"iss": "https://bkg.example"},
            {"iss": "https://evil.example", "aud": "shop-app"},
            {"iss": "https://bkg.example", "aud": "other-app"},
        ):
            _refused(api, jwt.encode(_claims(**extra), secret, algorithm="HS256"))
