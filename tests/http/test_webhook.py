"""Key rotation POSTs a signed `key.rotated` webhook to the configured URL."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from api.auth.webhook import SIGNATURE_HEADER, verify_signature
from tests.http.conftest import bearer, make_data_dir, open_api

SECRET = b"webhook-secret"


class _Receiver(BaseHTTPRequestHandler):
    received: list[tuple[dict[str, str], bytes]] = []

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        type(self).received.append((dict(self.headers), body))
        self.send_response(204)
        self.end_headers()

    def log_message(self, *args: object) -> None:
        return


@pytest.fixture
def receiver() -> Iterator[tuple[str, list[tuple[dict[str, str], bytes]]]]:
    _Receiver.received = []
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Receiver)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/hook", _Receiver.received
    server.shutdown()
    server.server_close()


def test_rotation_sends_a_signed_webhook(
    tmp_path: Path, receiver: tuple[str, list[tuple[dict[str, str], bytes]]]
) -> None:
    url, received = receiver
    gen = open_api(make_data_dir(tmp_path), webhook_url=url, webhook_secret=SECRET)
    api = next(gen)
    old = api.create_key("admin")
    response = api.client.post(
        f"/auth/keys/{old['id']}/rotate", json={"grace_seconds": 60}, headers=bearer(api.admin_key)
    )
    assert response.status_code == 201
    deadline = time.monotonic() + 5
    while not received and time.monotonic() < deadline:
        time.sleep(0.02)
    gen.close()
    assert len(received) == 1
    headers, body = received[0]
    assert verify_signature(SECRET, headers[SIGNATURE_HEADER], body)
    assert not verify_signature(b"other", headers[SIGNATURE_HEADER], body)
    text = body.decode()
    assert '"key.rotated"' in text and old["id"] in text and response.json()["id"] in text
    assert old["key"] not in text and response.json()["key"] not in text
