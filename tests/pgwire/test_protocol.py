"""Bad input at the protocol level, over raw sockets: each a clean error or close, and the
server keeps serving everyone else."""

from __future__ import annotations

import contextlib
import socket
import struct
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import httpx
import psycopg
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.pgwire.conftest import Pg


@contextmanager
def raw(pg: Pg) -> Iterator[socket.socket]:
    with socket.create_connection(("127.0.0.1", pg.port), timeout=5) as sock:
        yield sock


def startup_packet(user: str = "t", database: str = "shop", version: int = 3 << 16) -> bytes:
    body = struct.pack("!i", version) + f"user\0{user}\0database\0{database}\0\0".encode()
    return struct.pack("!i", len(body) + 4) + body


def message(kind: bytes, body: bytes) -> bytes:
    return kind + struct.pack("!i", len(body) + 4) + body


def read_message(sock: socket.socket) -> tuple[bytes, bytes]:
    header = _exactly(sock, 5)
    length = struct.unpack("!i", header[1:])[0]
    return header[:1], _exactly(sock, length - 4)


def _exactly(sock: socket.socket, size: int) -> bytes:
    data = b""
    while len(data) < size:
        chunk = sock.recv(size - len(data))
        if not chunk:
            raise ConnectionError("closed")
        data += chunk
    return data


def error_code(body: bytes) -> str:
    fields = dict((f[:1], f[1:].decode()) for f in body.split(b"\0") if f)
    return fields[b"C"]


def until_ready(sock: socket.socket) -> list[tuple[bytes, bytes]]:
    seen = []
    while True:
        kind, body = read_message(sock)
        seen.append((kind, body))
        if kind in (b"Z", b"E") and (kind == b"Z" or b"SFATAL" in body):
            return seen


def logged_in(pg: Pg) -> socket.socket:
    sock = socket.create_connection(("127.0.0.1", pg.port), timeout=5)
    sock.sendall(startup_packet())
    assert read_message(sock) == (b"R", struct.pack("!i", 3))
    sock.sendall(message(b"p", pg.namespace_key.encode() + b"\0"))
    assert until_ready(sock)[-1] == (b"Z", b"I")
    return sock


def closed(sock: socket.socket) -> bool:
    try:
        return sock.recv(1) == b""
    except ConnectionResetError:
        return True


def still_serving(pg: Pg) -> None:
    with psycopg.connect(pg.dsn(pg.namespace_key), connect_timeout=5) as conn:
        assert conn.execute("SELECT 1").fetchone() == (1,)


def test_ssl_and_gss_requests_are_answered_n(pg: Pg) -> None:
    with raw(pg) as sock:
        sock.sendall(struct.pack("!ii", 8, 80877103))
        assert sock.recv(1) == b"N"
        sock.sendall(struct.pack("!ii", 8, 80877104))
        assert sock.recv(1) == b"N"
        sock.sendall(startup_packet())
        assert read_message(sock)[0] == b"R"


def test_protocol_2_is_refused_cleanly(pg: Pg) -> None:
    with raw(pg) as sock:
        sock.sendall(startup_packet(version=2 << 16))
        kind, body = read_message(sock)
        assert kind == b"E" and error_code(body) == "0A000"
        assert closed(sock)
    still_serving(pg)


@pytest.mark.parametrize(
    "payload",
    [
        struct.pack("!ii", 100_000, 3 << 16),  # startup packet beyond the limit
        struct.pack("!i", 2),  # length below the minimum
        startup_packet()[:-3] + b"\xff\xff\xff",  # options without terminators
    ],
)
def test_bad_startup_packets_are_refused(pg: Pg, payload: bytes) -> None:
    with raw(pg) as sock:
        sock.sendall(payload)
        kind, body = read_message(sock)
        assert kind == b"E" and error_code(body) in ("08P01", "22021")
        assert closed(sock)
    still_serving(pg)


@pytest.mark.parametrize(
    ("frame", "code"),
    [
        (message(b"Y", b""), "08P01"),  # unknown message type
        (b"Q" + struct.pack("!i", 1 << 30), "54000"),  # oversized
        (b"Q" + struct.pack("!i", 2), "08P01"),  # length below the minimum
        (message(b"P", b"\0SELECT 1\0\0\0") + message(b"B", b"\0\0\0\x05"), "08P01"),
        (message(b"Q", b"SELECT 1"), "08P01"),  # unterminated string
    ],
)
def test_bad_frames_end_the_connection_cleanly(pg: Pg, frame: bytes, code: str) -> None:
    sock = logged_in(pg)
    with sock:
        sock.sendall(frame)
        seen = until_ready(sock)
        assert seen[-1][0] == b"E" and error_code(seen[-1][1]) == code, seen
        assert closed(sock)
    still_serving(pg)


def test_a_frame_cut_short_and_an_idle_handshake_stall_nobody(pg: Pg) -> None:
    idle = socket.create_connection(("127.0.0.1", pg.port), timeout=5)
    cut = logged_in(pg)
    cut.sendall(message(b"Q", b"SELECT 1\0")[:7])
    still_serving(pg)
    cut.close()
    idle.close()
    still_serving(pg)


def test_cancel_request_for_an_unknown_key_just_closes(pg: Pg) -> None:
    with raw(pg) as sock:
        sock.sendall(struct.pack("!iiii", 16, 80877102, 1, 2))
        assert closed(sock)


def open_connections(pg: Pg) -> int:
    """The `bkg_pgwire_connections` gauge once evicted handshakes have closed."""
    for _ in range(50):
        metrics = httpx.get(f"{pg.served.url}/metrics", timeout=5).text
        gauge = [line for line in metrics.splitlines() if line.startswith("bkg_pgwire_conn")]
        value = int(float(gauge[0].split()[-1]))
        if value <= 256:
            return value
        time.sleep(0.05)
    return value


def test_sessions_beyond_the_limit_are_refused_with_53300(pg: Pg) -> None:
    """The served process allows 20 sessions (--pg-max-connections 20)."""
    held: list[psycopg.Connection[Any]] = []
    try:
        with pytest.raises(psycopg.OperationalError, match="too many clients"):
            for _ in range(21):
                held.append(psycopg.connect(pg.dsn(pg.namespace_key), connect_timeout=5))
        assert len(held) <= 20
        metrics = httpx.get(f"{pg.served.url}/metrics", timeout=5).text
    finally:
        for conn in held:
            conn.close()
    still_serving(pg)
    refused = [line for line in metrics.splitlines() if line.startswith("bkg_pgwire_refused_total")]
    assert float(refused[0].split()[-1]) >= 1


def test_a_flood_of_idle_sockets_does_not_lock_out_a_client(pg: Pg) -> None:
    """10,000 sockets, far more than sessions allowed (20) and handshakes kept (256),
    connect and send nothing: the oldest are told 53300 and closed to make room, and a client that
    completes its startup gets in at once."""
    idle = [socket.create_connection(("127.0.0.1", pg.port), timeout=5) for _ in range(10_000)]
    try:
        started = time.monotonic()
        with psycopg.connect(pg.dsn(pg.namespace_key), connect_timeout=5) as conn:
            assert conn.execute("SELECT 1").fetchone() == (1,)
        assert time.monotonic() - started < 2
        kind, body = read_message(idle[0])
        assert kind == b"E" and error_code(body) == "53300"
        assert closed(idle[0])
        assert open_connections(pg) <= 257  # the kept handshakes (and perhaps one closing)
    finally:
        for sock in idle:
            sock.close()
    still_serving(pg)


def test_extended_protocol_error_skips_to_sync(pg: Pg) -> None:
    """The statement is checked when it runs (Parse and Bind succeed), then everything up
    to Sync is skipped and the session goes on."""
    sock = logged_in(pg)
    with sock:
        sock.sendall(
            message(b"P", b"\0SELECT * FROM nope\0\0\0")
            + message(b"B", b"\0\0\0\0\0\0\0\0")
            + message(b"E", b"\0\0\0\0\0")
            + message(b"E", b"\0\0\0\0\0")
            + message(b"S", b"")
            + message(b"Q", b"SELECT 2\0")
        )
        first = until_ready(sock)
        assert [kind for kind, _ in first] == [b"1", b"2", b"E", b"Z"]
        assert error_code(first[2][1]) == "42P01"
        second = until_ready(sock)
        assert [kind for kind, _ in second] == [b"T", b"D", b"C", b"Z"]


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    kind=st.sampled_from([b"P", b"B", b"D", b"E", b"C", b"Q", b"H", b"d", b"f", b"p"]),
    body=st.binary(max_size=64),
)
def test_random_frames_get_an_answer_or_a_close_never_a_stall(
    pg: Pg, kind: bytes, body: bytes
) -> None:
    sock = logged_in(pg)
    with sock:
        sock.sendall(message(kind, body) + message(b"S", b""))
        with contextlib.suppress(ConnectionError):  # a fatal error closed the connection
            until_ready(sock)
    still_serving(pg)
