"""Key verification, revocation and rotation with a grace period, folded from events."""

import os
import stat
from pathlib import Path

import pytest

from api.auth.apikeys import ApiKeyRecord, new_api_key
from api.auth.errors import KeyFileError, KeySpecError, UnauthorizedError
from api.auth.keyfiles import (
    ensure_token_signing_key,
    load_jwt_secret,
    load_token_signing_key,
)
from api.auth.principal import resolve_principal
from api.auth.registry import KeyRegistry, revoke_event
from api.auth.tokens import TokenService


def _registry_with_key(
    scope: str = "namespace", ns: str | None = "shop", ttl: int | None = None
) -> tuple[KeyRegistry, str, ApiKeyRecord]:
    plaintext, record = new_api_key(scope, ns, "ci", ttl, now_s=100.0)
    registry = KeyRegistry()
    registry.apply(record.to_event_payload())
    return registry, plaintext, record


def test_created_key_verifies_and_a_near_miss_does_not() -> None:
    registry, plaintext, record = _registry_with_key()
    assert registry.verify(plaintext, now_s=101.0) == record
    other, _ = new_api_key("namespace", "shop", None, None, now_s=0.0)
    with pytest.raises(UnauthorizedError):
        registry.verify(other, now_s=101.0)
    same_prefix = plaintext[:-4] + ("zzzz" if not plaintext.endswith("zzzz") else "yyyy")
    with pytest.raises(UnauthorizedError):
        registry.verify(same_prefix, now_s=101.0)


def test_expired_key_is_rejected() -> None:
    registry, plaintext, _ = _registry_with_key(ttl=10)
    assert registry.verify(plaintext, now_s=109.9)
    with pytest.raises(UnauthorizedError):
        registry.verify(plaintext, now_s=110.0)


def test_revoked_key_is_rejected_from_the_revocation_on() -> None:
    registry, plaintext, record = _registry_with_key()
    registry.apply(revoke_event(record.id, now_s=200.0))
    assert registry.verify(plaintext, now_s=150.0)
    with pytest.raises(UnauthorizedError):
        registry.verify(plaintext, now_s=200.0)


def test_rotation_keeps_the_old_key_for_the_grace_period_only() -> None:
    registry, old_plain, old = _registry_with_key()
    new_plain, event = registry.rotate_event(
        old.id, grace_seconds=30, ttl_seconds=None, now_s=200.0
    )
    assert registry.verify(old_plain, now_s=500.0)  # not folded yet: nothing changed
    registry.apply(event)
    assert registry.verify(new_plain, now_s=201.0).id == event["new"]["id"]
    assert registry.verify(old_plain, now_s=229.0).id == old.id
    with pytest.raises(UnauthorizedError):
        registry.verify(old_plain, now_s=230.0)
    assert registry.verify(new_plain, now_s=10_000.0).scope == "namespace"
    state = registry.get(old.id)
    assert state is not None and state.rotated_to == event["new"]["id"]


def test_rotating_a_revoked_or_unknown_key_is_refused() -> None:
    registry, _, record = _registry_with_key()
    registry.apply(revoke_event(record.id, now_s=150.0))
    for key_id in (record.id, "nope"):
        with pytest.raises(KeySpecError):
            registry.rotate_event(key_id, grace_seconds=10, ttl_seconds=None, now_s=200.0)


def test_registry_rebuilt_from_the_same_events_is_equal() -> None:
    registry, _, record = _registry_with_key()
    events = [record.to_event_payload()]
    _, rotated = registry.rotate_event(record.id, grace_seconds=5, ttl_seconds=60, now_s=120.0)
    events += [rotated, revoke_event(rotated["new"]["id"], now_s=130.0)]
    first, second = KeyRegistry(), KeyRegistry()
    for event in events:
        first.apply(event)
        second.apply(event)
    assert first.states() == second.states()
    assert len(first.states()) == 2


def test_principals_from_keys_and_tokens(tokens: TokenService) -> None:
    registry, ns_key, ns_record = _registry_with_key()
    admin_key, admin_record = new_api_key("admin", None, None, None, now_s=0.0)
    registry.apply(admin_record.to_event_payload())
    ns_principal = resolve_principal(ns_key, registry, tokens, now_s=101.0)
    assert (ns_principal.kind, ns_principal.namespace, ns_principal.id) == (
        "namespace",
        "shop",
        f"key:{ns_record.id}",
    )
    assert resolve_principal(admin_key, registry, tokens, now_s=101.0).kind == "admin"
    user = resolve_principal(
        tokens.mint("alice", "user", "shop", claims={"team": "red"}), registry, tokens
    )
    assert (user.kind, user.sub, user.namespace, user.claims["team"]) == (
        "user",
        "alice",
        "shop",
        "red",
    )
    assert not user.bypasses_rls and ns_principal.bypasses_rls
    for bad in (None, "", "bkg_admin_" + "x" * 40, "not-a-token"):
        with pytest.raises(UnauthorizedError):
            resolve_principal(bad, registry, tokens, now_s=101.0)


def test_key_files_are_private_and_env_overrides(tmp_path: Path) -> None:
    secret_path = tmp_path / "jwt_secret"
    secret_path.write_text("k" * 64 + "\n")
    os.chmod(secret_path, 0o600)
    assert load_jwt_secret(tmp_path, environ={}) == b"k" * 64
    assert load_jwt_secret(tmp_path, environ={"BKG_JWT_SECRET": "from-env"}) == b"from-env"
    assert load_token_signing_key(tmp_path) is None
    key_path = ensure_token_signing_key(tmp_path)
    assert stat.S_IMODE(key_path.stat().st_mode) == 0o600
    assert load_token_signing_key(tmp_path) is not None
    os.chmod(secret_path, 0o644)
    with pytest.raises(KeyFileError, match="chmod 600"):
        load_jwt_secret(tmp_path, environ={})
    with pytest.raises(KeyFileError):
        load_jwt_secret(tmp_path / "missing", environ={})
