"""Idempotency keys: replay, conflicts, expiry, restarts."""

from pathlib import Path

import pytest

from api.auth.errors import IdempotencyConflictError, KeySpecError
from api.auth.idempotency import IdempotencyStore, StoredResponse, request_hash

BODY = b'{"sql": "INSERT INTO t (a) VALUES (1)"}'


def test_retry_replays_the_answer_even_after_a_restart(tmp_path: Path) -> None:
    path = tmp_path / "idem.db"
    h = request_hash("POST", "/query", BODY)
    store = IdempotencyStore(path)
    assert store.begin("user:alice", "k1", h, now=0.0) is None
    store.complete("user:alice", "k1", 200, {"rowcount": 1, "lsn": 7})
    store.close()
    reopened = IdempotencyStore(path)
    assert reopened.begin("user:alice", "k1", h, now=10.0) == StoredResponse(
        200, {"rowcount": 1, "lsn": 7}
    )
    assert reopened.begin("user:bob", "k1", h, now=10.0) is None
    reopened.close()


def test_key_reused_for_another_body_or_while_running_conflicts(tmp_path: Path) -> None:
    store = IdempotencyStore(tmp_path / "idem.db", pending_timeout_s=30.0)
    h = request_hash("POST", "/query", BODY)
    other = request_hash("POST", "/query", BODY + b" ")
    assert store.begin("p", "k", h, now=0.0) is None
    with pytest.raises(IdempotencyConflictError, match="running"):
        store.begin("p", "k", h, now=1.0)
    with pytest.raises(IdempotencyConflictError, match="another request"):
        store.begin("p", "k", other, now=1.0)
    assert store.begin("p", "k", h, now=31.0) is None
    store.close()


def test_abandoned_keys_and_expired_answers_run_again(tmp_path: Path) -> None:
    store = IdempotencyStore(tmp_path / "idem.db", window_s=100.0)
    h = request_hash("POST", "/query", BODY)
    assert store.begin("p", "k", h, now=0.0) is None
    store.abandon("p", "k")
    assert store.begin("p", "k", h, now=1.0) is None
    store.complete("p", "k", 200, {"ok": True})
    assert store.begin("p", "k", h, now=50.0) == StoredResponse(200, {"ok": True})
    assert store.begin("p", "k", h, now=102.0) is None
    store.close()


def test_bad_keys_are_refused(tmp_path: Path) -> None:
    store = IdempotencyStore(tmp_path / "idem.db")
    for key in ("", "x" * 256):
        with pytest.raises(KeySpecError):
            store.begin("p", key, "h")
    store.close()


def test_request_hash_separates_fields() -> None:
    assert request_hash("POST", "/a", b"bc") != request_hash("POST", "/ab", b"c")
    assert request_hash("post", "/a", b"") == request_hash("POST", "/a", b"")
