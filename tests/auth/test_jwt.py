"""JWT verification against the usual token attacks."""

import base64
import hashlib
import hmac
import json
import time
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from api.auth.errors import KeyFileError, KeySpecError, UnauthorizedError
from api.auth.tokens import TokenConfig, TokenService


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _forge(header: dict[str, Any], payload: dict[str, Any], key: bytes | None) -> str:
    """A token assembled by hand, as an attacker would: HMAC-signed with ``key`` or unsigned."""
    signing_input = f"{_b64(json.dumps(header).encode())}.{_b64(json.dumps(payload).encode())}"
    if key is None:
        return signing_input + "."
    sig = hmac.new(key, signing_input.encode("ascii"), hashlib.sha256).digest()
    return f"{signing_input}.{_b64(sig)}"


def _claims(**extra: Any) -> dict[str, Any]:
    now = int(time.time())
    return {"sub": "alice", "role": "user", "ns": "shop", "iat": now, "exp": now + 60, **extra}


def test_minted_token_verifies_with_its_claims(tokens: TokenService) -> None:
    token = tokens.mint("alice", "user", "shop", ttl=60, claims={"team": "red"})
    claims = tokens.verify(token)
    assert (claims["sub"], claims["role"], claims["ns"], claims["team"]) == (
        "alice",
        "user",
        "shop",
        "red",
    )


@pytest.mark.parametrize("alg", ["none", "None", "NONE"])
def test_alg_none_is_rejected(tokens: TokenService, alg: str) -> None:
    with pytest.raises(UnauthorizedError):
        tokens.verify(_forge({"alg": alg, "typ": "JWT"}, _claims(), None))


def test_hs256_signed_with_the_published_public_key_is_rejected(
    tokens: TokenService, ed_key: Ed25519PrivateKey
) -> None:
    public_pem = ed_key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    kid = tokens.jwks()["keys"][0]["kid"]
    forged = _forge({"alg": "HS256", "kid": kid}, _claims(role="admin"), public_pem)
    with pytest.raises(UnauthorizedError):
        tokens.verify(forged)


def test_rs256_and_es256_tokens_are_rejected(tokens: TokenService) -> None:
    rsa_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    ec_key = ec.generate_private_key(ec.SECP256R1())
    for alg, key in (("RS256", rsa_key), ("ES256", ec_key)):
        with pytest.raises(UnauthorizedError, match="not accepted"):
            tokens.verify(jwt.encode(_claims(), key, algorithm=alg))


def test_tampered_payload_is_rejected(tokens: TokenService) -> None:
    token = tokens.mint("alice", "user", "shop", ttl=60)
    header, _, signature = token.split(".")
    evil = _b64(json.dumps(_claims(role="admin")).encode())
    with pytest.raises(UnauthorizedError):
        tokens.verify(f"{header}.{evil}.{signature}")


def test_wrong_secret_is_rejected(tokens: TokenService) -> None:
    with pytest.raises(UnauthorizedError):
        tokens.verify(jwt.encode(_claims(), b"x" * 48, algorithm="HS256"))


def test_expired_and_not_yet_valid_tokens_are_rejected(
    jwt_secret: bytes, tokens: TokenService
) -> None:
    now = int(time.time())
    expired = jwt.encode(_claims(iat=now - 120, exp=now - 60), jwt_secret, algorithm="HS256")
    early = jwt.encode(_claims(nbf=now + 600, exp=now + 900), jwt_secret, algorithm="HS256")
    for token in (expired, early):
        with pytest.raises(UnauthorizedError):
            tokens.verify(token)


def test_explicit_clock_checks_expiry_and_nbf(jwt_secret: bytes, tokens: TokenService) -> None:
    token = tokens.mint("alice", "user", "shop", ttl=60, now_s=1000.0)
    assert tokens.verify(token, now_s=1030.0)["sub"] == "alice"
    with pytest.raises(UnauthorizedError, match="expired"):
        tokens.verify(token, now_s=1060.0)
    early = jwt.encode(_claims(nbf=2000, exp=3000), jwt_secret, algorithm="HS256")
    with pytest.raises(UnauthorizedError, match="not yet valid"):
        tokens.verify(early, now_s=1500.0)


@pytest.mark.parametrize(
    "drop_or_set",
    [
        {"sub": None},
        {"role": None},
        {"exp": None},
        {"ns": None},
        {"role": "namespace"},
        {"ns": "../other"},
        {"sub": ""},
    ],
)
def test_missing_or_bad_claims_are_rejected(
    jwt_secret: bytes, tokens: TokenService, drop_or_set: dict[str, Any]
) -> None:
    claims = {k: v for k, v in _claims(**drop_or_set).items() if v is not None}
    with pytest.raises(UnauthorizedError):
        tokens.verify(jwt.encode(claims, jwt_secret, algorithm="HS256"))


def test_issuer_and_audience_are_enforced_when_configured(jwt_secret: bytes) -> None:
    strict = TokenService(TokenConfig(secret=jwt_secret, issuer="bkg", audience="shop-app"))
    assert strict.verify(strict.mint("alice", "user", "shop"))["aud"] == "shop-app"
    for extra in ({}, {"iss": "bkg", "aud": "other"}, {"iss": "evil", "aud": "shop-app"}):
        with pytest.raises(UnauthorizedError):
            strict.verify(jwt.encode(_claims(**extra), jwt_secret, algorithm="HS256"))


def test_eddsa_token_verifies_here_and_with_the_published_jwks(tokens: TokenService) -> None:
    token = tokens.mint("svc", "admin", None, ttl=60, algorithm="EdDSA")
    assert tokens.verify(token)["role"] == "admin"
    jwk = tokens.jwks()["keys"][0]
    assert set(jwk) >= {"kty", "crv", "x", "kid", "alg"} and "d" not in jwk
    public = jwt.PyJWK(jwk).key
    assert jwt.decode(token, public, algorithms=["EdDSA"])["sub"] == "svc"


def test_eddsa_token_from_an_unknown_key_is_rejected(tokens: TokenService) -> None:
    stranger = Ed25519PrivateKey.generate()
    kid = tokens.jwks()["keys"][0]["kid"]
    forged = jwt.encode(_claims(), stranger, algorithm="EdDSA", headers={"kid": kid})
    with pytest.raises(UnauthorizedError):
        tokens.verify(forged)
    with pytest.raises(UnauthorizedError, match="unknown key"):
        tokens.verify(jwt.encode(_claims(), stranger, algorithm="EdDSA"))


def test_reserved_claims_cannot_be_overridden_when_minting(tokens: TokenService) -> None:
    with pytest.raises(KeySpecError, match="reserved"):
        tokens.mint("alice", "user", "shop", claims={"role": "admin"})
    for sub, role, ns in (("", "user", "shop"), ("a", "user", None), ("a", "owner", None)):
        with pytest.raises(KeySpecError):
            tokens.mint(sub, role, ns)


def test_short_secret_is_refused() -> None:
    with pytest.raises(KeyFileError, match="32 bytes"):
        TokenService(TokenConfig(secret=b"short"))


@pytest.mark.parametrize("garbage", ["", "abc", "a.b.c", "bkg.not.jwt"])
def test_garbage_is_rejected(tokens: TokenService, garbage: str) -> None:
    with pytest.raises(UnauthorizedError):
        tokens.verify(garbage)


def test_retired_signing_keys_still_verify_and_are_published(jwt_secret: bytes) -> None:
    old = Ed25519PrivateKey.generate()
    before = TokenService(TokenConfig(secret=jwt_secret, signing_key=old))
    token = before.mint("svc", "user", "shop", ttl=60, algorithm="EdDSA")
    old_kid = before.jwks()["keys"][0]["kid"]
    after = TokenService(
        TokenConfig(
            secret=jwt_secret,
            signing_key=Ed25519PrivateKey.generate(),
            extra_public_keys={old_kid: old.public_key()},
        )
    )
    assert after.verify(token)["sub"] == "svc"
    assert old_kid in {key["kid"] for key in after.jwks()["keys"]}
    assert len(after.jwks()["keys"]) == 2
