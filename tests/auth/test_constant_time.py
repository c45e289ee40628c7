"""Secrets are compared with hmac.compare_digest, never with ==, wherever they are checked."""

import hmac
from collections.abc import Iterator

import pytest

from api.auth import webhook
from api.auth.apikeys import new_api_key
from api.auth.registry import KeyRegistry


@pytest.fixture
def comparisons(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[tuple[object, object]]]:
    seen: list[tuple[object, object]] = []
    real = hmac.compare_digest

    def spy(a: bytes, b: bytes) -> bool:
        seen.append((a, b))
        return real(a, b)

    monkeypatch.setattr(hmac, "compare_digest", spy)
    yield seen


def test_key_verification_compares_digests_in_constant_time(
    comparisons: list[tuple[object, object]],
) -> None:
    plaintext, record = new_api_key("admin", None, None, None, now_s=0.0)
    registry = KeyRegistry()
    registry.apply(record.to_event_payload())
    registry.verify(plaintext, now_s=1.0)
    assert len(comparisons) == 1
    assert all(isinstance(side, bytes) and len(side) == 32 for side in comparisons[0])


def test_webhook_signatures_compare_in_constant_time(
    comparisons: list[tuple[object, object]],
) -> None:
    header = webhook.sign(b"s", b"{}", 100)
    assert webhook.verify_signature(b"s", header, b"{}", now=100.0)
    assert len(comparisons) == 1
