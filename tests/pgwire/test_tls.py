"""TLS: with --pg-tls-cert/--pg-tls-key an SSLRequest is upgraded, and a client on another
host may then authenticate; without TLS such a client is refused before sending its
password."""

from __future__ import annotations

import socket
import subprocess
from collections.abc import Iterator
from pathlib import Path

import httpx
import psycopg
import pytest

from tests.http.conftest import ServedProcess, bearer, free_port, serving


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


def test_scram_needs_no_tls_and_refuses_channel_binding(
    tls_server: tuple[ServedProcess, int],
) -> None:
    """A key named in the user name is proven by SCRAM, so another host may use it without
    TLS; channel binding is not offered, so a client that requires it is refused."""
    served, port = tls_server
    created = httpx.post(
        f"{served.url}/auth/keys",
        json={"scope": "namespace", "namespace": "public"},
        headers=bearer(served.admin_key),
        timeout=10,
    ).json()
    user = created["id"]
    host = outside_address() or "127.0.0.1"
    plain = f"postgresql://{user}:{created['key']}@{host}:{port}/public?sslmode=disable"
    with psycopg.connect(plain) as conn:
        assert conn.execute("SELECT 3").fetchone() == (3,)
    secure = plain.replace("sslmode=disable", "sslmode=require&channel_binding=prefer")
    with psycopg.connect(secure) as conn:
        assert conn.pgconn.ssl_in_use
    with pytest.raises(psycopg.OperationalError, match="channel binding"):
        psycopg.connect(secure.replace("channel_binding=prefer", "channel_binding=require"))
