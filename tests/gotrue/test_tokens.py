"""The access tokens of `/auth/v1` as the token service sees them: role `authenticated` is a
user role that needs a namespace, and `aud: authenticated` is accepted without a configured
audience while any other audience still is not."""

from __future__ import annotations

import time

import jwt
import pytest

from api.auth.errors import UnauthorizedError
from api.auth.principal import resolve_principal
from api.auth.registry import KeyRegistry
from api.auth.tokens import TokenConfig, TokenService

SECRET = b"s" * 32


def test_an_authenticated_token_resolves_to_a_user_of_its_namespace() -> None:
    tokens = TokenService(TokenConfig(secret=SECRET))
    token = tokens.mint("u-1", "authenticated", "shop", 60, {"session_id": "s-1"})
    claims = tokens.verify(token)
    assert (claims["aud"], claims["role"]) == ("authenticated", "authenticated")
    principal = resolve_principal(token, KeyRegistry(), tokens)
    assert (principal.kind, principal.namespace, principal.sub) == ("user", "shop", "u-1")
    assert principal.claims["role"] == "authenticated"


def test_audiences_other_than_authenticated_and_namespaceless_users_are_refused() -> None:
    tokens = TokenService(TokenConfig(secret=SECRET))
    now = int(time.time())
    base = {"sub": "u", "role": "authenticated", "ns": "shop", "iat": now, "exp": now + 60}
    for claims in ({**base, "aud": "other"}, {k: v for k, v in base.items() if k != "ns"}):
        with pytest.raises(UnauthorizedError):
            tokens.verify(jwt.encode(claims, SECRET, algorithm="HS256"))


def test_a_configured_audience_is_stamped_and_required() -> None:
    tokens = TokenService(TokenConfig(secret=SECRET, audience="shop-app"))
    assert tokens.verify(tokens.mint("u", "authenticated", "shop", 60))["aud"] == "shop-app"
    now = int(time.time())
    claims = {"sub": "u", "role": "authenticated", "ns": "shop", "aud": "authenticated"}
    foreign = jwt.encode({**claims, "iat": now, "exp": now + 60}, SECRET, algorithm="HS256")
    with pytest.raises(UnauthorizedError):
        tokens.verify(foreign)
