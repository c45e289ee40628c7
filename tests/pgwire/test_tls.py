"""TLS: with --pg-tls-cert/--pg-tls-key an SSLRequest is upgraded, and a client on another
host may then authenticate; without TLS such a client is refused before sending its
password."""

from __future__ import annotations

import socket
import subprocess
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

from tests.http.conftest import ServedProcess, free_port, serving


def outside_address() -> str | None:
    """An address of this host that is not loopback (None if there is none)."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        try:
            sock.connect(("10.255.255.255", 1))  # no packet is sent
        except OSError:
            return None
        address: str = sock.getsockname()[0]
    return None if address.startswith(("127.", "0.")) else address


@pytest.fixture(scope="module")
def tls_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[ServedProcess, int]]:
    base: Path = tmp_path_factory.mktemp("pgtls")
    cert, key = base / "cert.pem", base / "key.pem"
    request = ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1"]
    subprocess.run(
        [*request, "-keyout", str(key), "-out", str(cert), "-subj", "/CN=bkg-db test"],
        check=True,
        capture_output=True,
    )
    port = free_port()
    args = ["--pg-port", str(port), "--pg-host", "0.0.0.0"]
    args += ["--pg-tls-cert", str(cert), "--pg-tls-key", str(key)]
    with serving(base / "data", args=args) as served:
        yield served, port


def dsn(password: str, host: str, port: int, sslmode: str) -> str:
    return f"postgresql://t:{password}@{host}:{port}/postgres?sslmode={sslmode}"


def test_tls_is_negotiated(tls_server: tuple[ServedProcess, int]) -> None:
    served, port = tls_server
    with psycopg.connect(dsn(served.admin_key, "127.0.0.1", port, "require")) as conn:
        assert conn.pgconn.ssl_in_use
        assert conn.execute("SELECT 1").fetchone() == (1,)


def test_another_host_needs_tls(tls_server: tuple[ServedProcess, int]) -> None:
    served, port = tls_server
    host = outside_address()
    if host is None:
        pytest.skip("this host has no non-loopback address")
    with pytest.raises(psycopg.OperationalError, match="needs TLS or a loopback"):
        psycopg.connect(dsn(served.admin_key, host, port, "disable"))
    with psycopg.connect(dsn(served.admin_key, host, port, "require")) as conn:
        assert conn.execute("SELECT 2").fetchone() == (2,)
