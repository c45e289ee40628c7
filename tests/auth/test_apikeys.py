"""API key minting and hashing."""

import sqlite3
from dataclasses import dataclass
from typing import Any

import pytest

from api.auth.apikeys import ApiKeyRecord, key_prefix, new_api_key
from api.auth.errors import KeySpecError, UnauthorizedError
from api.auth.store import fold_auth, load_key_registry


def test_new_key_stores_only_a_hash_that_matches_the_plaintext() -> None:
    plaintext, record = new_api_key("admin", None, "root", None, now_s=1000.0)
    assert plaintext.startswith("bkg_admin_")
    assert plaintext not in repr(record)
    assert plaintext[len("bkg_admin_") :] not in record.hash
    assert record.matches(plaintext)
    assert not record.matches(plaintext[:-1] + ("A" if plaintext[-1] != "A" else "B"))
    assert record.prefix == key_prefix(plaintext)
    assert record.expires_at is None


def test_two_keys_never_share_a_hash_or_id() -> None:
    _, first = new_api_key("namespace", "shop", None, 60, now_s=0.0)
    _, second = new_api_key("namespace", "shop", None, 60, now_s=0.0)
    assert first.hash != second.hash
    assert first.id != second.id
    assert first.expires_at == 60.0


def test_event_payload_round_trips() -> None:
    _, record = new_api_key("namespace", "shop", "ci", 3600, now_s=5.5)
    payload = record.to_event_payload()
    assert payload["type"] == "key.created"
    assert ApiKeyRecord.from_event_payload(payload) == record


@pytest.mark.parametrize(
    ("scope", "namespace", "ttl"),
    [
        ("root", None, None),
        ("namespace", None, None),
        ("namespace", "Bad-Name", None),
        ("admin", "shop", None),
        ("admin", None, 0),
    ],
)
def test_bad_specs_are_rejected(scope: str, namespace: str | None, ttl: int | None) -> None:
    with pytest.raises(KeySpecError):
        new_api_key(scope, namespace, None, ttl, now_s=0.0)


@pytest.mark.parametrize("bearer", ["bkg_admin_short", "bkg_user_" + "a" * 40, "x" * 50])
def test_malformed_keys_have_no_prefix(bearer: str) -> None:
    with pytest.raises(UnauthorizedError):
        key_prefix(bearer)


def test_a_key_carries_a_scram_verifier_that_folds_through_an_old_projection() -> None:
    """Keys minted now carry a SCRAM verifier; a projection folded before verifiers were
    kept (no `scram` column) still loads its keys and gains the column at the next fold."""
    plaintext, record = new_api_key("namespace", "shop", None, None, now_s=1.0)
    assert record.scram is not None and record.scram.startswith("SCRAM-SHA-256$4096:")
    assert plaintext not in record.scram
    assert ApiKeyRecord.from_event_payload(record.to_event_payload()) == record
    conn = sqlite3.connect(":memory:")
    conn.execute(
        "CREATE TABLE _bkg_api_keys (id TEXT PRIMARY KEY, prefix TEXT NOT NULL,"
        " hash TEXT NOT NULL, scope TEXT NOT NULL, namespace TEXT, name TEXT,"
        " created_at REAL NOT NULL, expires_at REAL, revoked_at REAL, rotated_to TEXT,"
        " grace_until REAL)"
    )
    conn.execute(
        "INSERT INTO _bkg_api_keys VALUES ('old', 'bkg_admin_x', 'h', 'admin', NULL, NULL,"
        " 0, NULL, NULL, NULL, NULL)"
    )
    old = load_key_registry(conn).get("old")
    assert old is not None and old.record.scram is None
    fold_auth(conn, _AuthEvent(record.to_event_payload()))
    state = load_key_registry(conn).get(record.id)
    assert state is not None and state.record.scram == record.scram


@dataclass
class _AuthEvent:
    payload: dict[str, Any]
    lsn: int = 1
    ts_us: int = 0
    kind: str = "auth"
    actor: str = "admin"
    namespace: str | None = None
