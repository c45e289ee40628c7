"""What the keyless-signing tests share: a genuine bundle, identities that are absent or
stale. Real signing needs an OIDC identity and Fulcio and Rekor on the network, which the
test machines do not have; everything up to that point runs for real."""

from __future__ import annotations

import time
from pathlib import Path

import jwt
import pytest

GENUINE_BUNDLE = Path(__file__).parent / "data" / "sigstore" / "rfc8785-0.1.2.whl.sigstore.json"
GENUINE_IDENTITY = (
    "https://github.com/trailofbits/rfc8785.py/.github/workflows/release.yml@refs/tags/v0.1.2"
)
GENUINE_ISSUER = "https://token.actions.githubusercontent.com"

IDENTITY_VARIABLES = (
    "BKG_SIGSTORE_ID_TOKEN",
    "GITHUB_ACTIONS",
    "ACTIONS_ID_TOKEN_REQUEST_URL",
    "ACTIONS_ID_TOKEN_REQUEST_TOKEN",
    "GOOGLE_SERVICE_ACCOUNT_NAME",
    "BUILDKITE",
    "GITLAB_CI",
    "CIRCLECI",
)


def clear_identity(monkeypatch: pytest.MonkeyPatch) -> None:
    """No OIDC identity in the environment (this process and the ones it starts)."""
    for variable in IDENTITY_VARIABLES:
        monkeypatch.delenv(variable, raising=False)


def block_trust_root(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Sigstore's cache directory cannot exist (it would lie under a file), so no trust
    root can be loaded, as on a machine where it cannot be kept."""
    blocker = tmp_path / "not-a-directory"
    blocker.write_text("sigstore cannot keep its trust root under a file")
    monkeypatch.setenv("XDG_CACHE_HOME", str(blocker / "cache"))


def stale_token() -> str:
    """A well-formed OIDC token whose validity ended an hour ago (as a CI job's may)."""
    now = int(time.time())
    claims = {
        "iss": GENUINE_ISSUER,
        "sub": "repo:example/app:ref:refs/heads/main",
        "aud": "sigstore",
        "iat": now - 7200,
        "nbf": now - 7200,
        "exp": now - 3600,
        "email": "ci@example.com",
    }
    return jwt.encode(claims, "not-checked-here-but-long-enough-for-hs256", algorithm="HS256")
