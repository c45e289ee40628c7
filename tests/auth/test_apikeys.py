"""API key minting and hashing."""

import pytest

from api.auth.apikeys import ApiKeyRecord, key_prefix, new_api_key
from api.auth.errors import KeySpecError, UnauthorizedError


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
