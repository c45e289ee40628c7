"""Shared fixtures for the auth tests."""

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from api.auth.tokens import TokenConfig, TokenService

SECRET = b"s" * 16 + b"e" * 16 + b"c" * 16


@pytest.fixture(scope="session")
def ed_key() -> Ed25519PrivateKey:
    return Ed25519PrivateKey.generate()


@pytest.fixture
def jwt_secret() -> bytes:
    return SECRET


@pytest.fixture
def tokens(ed_key: Ed25519PrivateKey) -> TokenService:
    return TokenService(TokenConfig(secret=SECRET, signing_key=ed_key))
