"""Webhook delivery against a real HTTP server on a free loopback port."""

import asyncio
import socket
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from api.auth.apikeys import new_api_key
from api.auth.registry import KeyRegistry
from api.auth.webhook import (
    SIGNATURE_HEADER,
    WebhookConfig,
    WebhookSender,
    rotation_payload,
    verify_signature,
)

SECRET = b"webhook-secret"


class Receiver(ThreadingHTTPServer):
    """Answers with the queued statuses (then 200) and records what it received."""

    def __init__(self, statuses: list[int]) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.statuses = statuses
        self.received: list[tuple[dict[str, str], bytes]] = []

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}/hook"


class _Handler(BaseHTTPRequestHandler):
    server: Receiver

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        self.server.received.append((dict(self.headers.items()), body))
        status = self.server.statuses.pop(0) if self.server.statuses else 200
        self.send_response(status)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args: object) -> None:
        return


def _serve(statuses: list[int]) -> Iterator[Receiver]:
    server = Receiver(statuses)
    thread = threading.Thread(target=server.serve_forever, args=(0.02,), daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()
    thread.join()


@pytest.fixture
def flaky() -> Iterator[Receiver]:
    yield from _serve([503, 500, 429])


@pytest.fixture
def refusing() -> Iterator[Receiver]:
    yield from _serve([400])


def _sender(url: str, attempts: int = 5) -> tuple[WebhookSender, list[float]]:
    delays: list[float] = []
    config = WebhookConfig(url=url, secret=SECRET, max_attempts=attempts, base_delay_s=0.01)
    return WebhookSender(config, sleep=delays.append), delays


def _rotation() -> dict[str, Any]:
    _, record = new_api_key("namespace", "shop", "ci", None, now_s=0.0)
    registry = KeyRegistry([])
    registry.apply(record.to_event_payload())
    return registry.rotate_event(record.id, 60, None, now_s=1.0)[1]


def test_retries_with_backoff_until_delivered_and_signs(flaky: Receiver) -> None:
    sender, delays = _sender(flaky.url)
    rotated = _rotation()
    delivery = sender.send("key.rotated", rotation_payload(rotated))
    assert (delivery.delivered, delivery.attempts, delivery.status) == (True, 4, 200)
    assert delays == [0.01, 0.02, 0.04]
    assert len(flaky.received) == 4
    headers, body = flaky.received[-1]
    assert verify_signature(SECRET, headers[SIGNATURE_HEADER], body)
    assert not verify_signature(b"other", headers[SIGNATURE_HEADER], body)
    assert not verify_signature(SECRET, headers[SIGNATURE_HEADER], body + b" ")
    assert not verify_signature(SECRET, headers[SIGNATURE_HEADER], body, now=1e10)
    assert b"hash" not in body and rotated["new"]["hash"].encode() not in body


def test_client_errors_are_not_retried(refusing: Receiver) -> None:
    sender, delays = _sender(refusing.url)
    delivery = sender.send("key.rotated", {"old_id": "x"})
    assert (delivery.delivered, delivery.attempts, delivery.status) == (False, 1, 400)
    assert delays == []


def test_unreachable_receiver_is_retried_then_given_up() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    sender, delays = _sender(f"http://127.0.0.1:{port}/hook", attempts=3)
    delivery = sender.send("key.rotated", {"old_id": "x"})
    assert (delivery.delivered, delivery.attempts, delivery.status) == (False, 3, None)
    assert delivery.error and delays == [0.01, 0.02]


def test_async_delivery_retries_too(flaky: Receiver) -> None:
    config = WebhookConfig(url=flaky.url, secret=SECRET, base_delay_s=0.001)
    delivery = asyncio.run(WebhookSender(config).send_async("key.rotated", {"old_id": "x"}))
    assert (delivery.delivered, delivery.attempts) == (True, 4)
    assert len(flaky.received) == 4
