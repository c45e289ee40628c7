"""`bench.wrk` against a real keep-alive HTTP server that records what it is sent: every
create carries an id no other request used (across wrk's threads and runs), reads stay within
the rows, and any unexpected answer fails the measurement instead of being counted."""

from __future__ import annotations

import json
import shutil
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from bench import wrk
from bench.errors import PeerFailedError

pytestmark = pytest.mark.skipif(
    shutil.which(wrk.NAME) is None, reason="wrk is not installed (scripts/ensure-package.sh)"
)
ROWS = 50


class Recorder(ThreadingHTTPServer):
    """Answers `POST /items` with 201 (recording the id of its JSON body), `GET /items/N`
    with 200 (recording N) and anything else with 404."""

    daemon_threads = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), Handler)
        self.lock = threading.Lock()
        self.created: list[int] = []
        self.read: list[int] = []


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: Recorder

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        if self.path != "/items":
            return self._answer(404)
        with self.server.lock:
            self.server.created.append(json.loads(body)["id"])
        return self._answer(201)

    def do_GET(self) -> None:
        prefix, _, n = self.path.rpartition("/")
        if prefix != "/items":
            return self._answer(404)
        with self.server.lock:
            self.server.read.append(int(n))
        return self._answer(200)

    def _answer(self, status: int) -> None:
        self.send_response(status)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, format: str, *args: object) -> None:
        return None


@pytest.fixture
def recorder() -> Iterator[Recorder]:
    server = Recorder()
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()


CREATE = wrk.Load(
    "POST", "/items", 201, (("Content-Type", "application/json"),), '{"id": {n}}', unique=True
)


def test_creates_carry_ids_no_other_request_used(recorder: Recorder) -> None:
    port = recorder.server_address[1]
    first = wrk.run(port, CREATE, connections=4, seconds=1, base=10**10)
    second = wrk.run(port, CREATE, connections=4, seconds=1, base=2 * 10**10)
    ids = recorder.created
    assert first.requests > 0 and second.requests > 0
    assert len(ids) >= first.requests + second.requests  # wrk counts only what was answered
    assert len(set(ids)) == len(ids), "an id was sent twice"
    assert {n // 10**10 for n in ids} == {1, 2}  # each run within its own block
    assert {n % 10**10 // wrk.THREAD_BLOCK for n in ids} == set(range(wrk.THREADS))
    assert 0 < first.p50_ms <= first.p99_ms


def test_reads_stay_within_the_rows(recorder: Recorder) -> None:
    read = wrk.Load("GET", "/items/{n}", 200)
    result = wrk.run(recorder.server_address[1], read, connections=2, seconds=1, rows=ROWS)
    assert result.requests > ROWS
    assert set(recorder.read) == set(range(1, ROWS + 1))


def test_a_padded_id_format_is_applied(recorder: Recorder) -> None:
    read = wrk.Load("GET", "/items/{n}", 200, id_format="%015d")
    assert "%015d" in wrk.lua_script(read, rows=ROWS, base=0)
    wrk.run(recorder.server_address[1], read, connections=1, seconds=1, rows=ROWS)
    assert recorder.read and all(1 <= n <= ROWS for n in recorder.read)


def test_an_unexpected_success_status_fails_the_run(recorder: Recorder) -> None:
    expects_200 = wrk.Load(CREATE.method, CREATE.path, 200, CREATE.headers, CREATE.body, True)
    with pytest.raises(PeerFailedError, match=r"'unexpected': [1-9].*first bad answer '201"):
        wrk.run(recorder.server_address[1], expects_200, connections=2, seconds=1)


def test_an_error_status_fails_the_run(recorder: Recorder) -> None:
    missing = wrk.Load("GET", "/nowhere/{n}", 404)  # expected, yet wrk counts it as non-2xx
    with pytest.raises(PeerFailedError, match=r"'non_2xx_3xx': [1-9]"):
        wrk.run(recorder.server_address[1], missing, connections=2, seconds=1)


def test_a_run_without_a_result_line_fails() -> None:
    with pytest.raises(PeerFailedError, match="gave no result: 'unable to connect'"):
        wrk.parse("", "unable to connect", "GET /")
