"""SCRAM-SHA-256: the exchange against RFC 7677's test vector, the real clients proving an
API key named by its id or prefix, and hostile exchanges over raw sockets."""

from __future__ import annotations

import asyncio
import base64
import struct
from typing import Any

import asyncpg
import httpx
import psycopg
import pytest

from api.auth.apikeys import scram_verifier
from api.pgwire.errors import PgError
from api.pgwire.scram import Exchange, Verifier
from tests.http.conftest import bearer
from tests.pgwire.conftest import Pg
from tests.pgwire.test_protocol import (
    closed,
    error_code,
    message,
    raw,
    read_message,
    startup_packet,
)

RFC_SALT = base64.b64decode("W22ZaJ0SNY7soEsUEjb6gQ==")
RFC_FIRST = b"n,,n=user,r=rOprNGfwEbeRWgbNEkqO"
RFC_SERVER_NONCE = "%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0"
RFC_FINAL = (
    b"c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,"
    b"p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ="
)


def rfc_exchange() -> Exchange:
    return Exchange(Verifier.parse(scram_verifier("pencil", RFC_SALT, 4096)), RFC_SERVER_NONCE)


def test_rfc7677_vector() -> None:
    exchange = rfc_exchange()
    assert exchange.first(RFC_FIRST) == (
        b"r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096"
    )
    assert exchange.final(RFC_FINAL) == b"v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4="


@pytest.mark.parametrize(
    ("first", "final", "sqlstate"),
    [
        (RFC_FIRST, RFC_FINAL.replace(b"p=dHzb", b"p=dHzc"), "28P01"),
        (RFC_FIRST, RFC_FINAL.replace(b"c=biws", b"c=eSws"), "08P01"),
        (RFC_FIRST, RFC_FINAL.replace(b"hNlF$k0", b"hNlF$k1"), "08P01"),
        (RFC_FIRST, RFC_FINAL.replace(b",p=", b",q="), "08P01"),
        (RFC_FIRST, RFC_FINAL[:-10], "08P01"),
        (RFC_FIRST, b"\xff\xfe", "08P01"),
        (b"p=tls-server-end-point,,n=,r=abc", b"", "08P01"),
        (b"n,a=admin,n=,r=abc", b"", "08P01"),
        (b"x,,n=,r=abc", b"", "08P01"),
        (b"n=,r=abc", b"", "08P01"),
        (b"n,,m=ext,n=,r=abc", b"", "08P01"),
        (b"n,,n=,r=a,b", b"", "08P01"),
        (b"n,,n=,r=", b"", "08P01"),
        (b"n,," + b"x" * 2000, b"", "08P01"),
    ],
)
def test_hostile_exchanges(first: bytes, final: bytes, sqlstate: str) -> None:
    exchange = rfc_exchange()
    with pytest.raises(PgError) as caught:
        exchange.first(first)
        exchange.final(final)
    assert caught.value.sqlstate == sqlstate
    assert caught.value.fatal


def test_channel_binding_capable_client_is_accepted() -> None:
    """`y`: the client could bind but the server offered no -PLUS mechanism."""
    exchange = rfc_exchange()
    exchange.first(b"y" + RFC_FIRST[1:])
    with pytest.raises(PgError) as caught:  # the RFC's proof was made over `n,,`
        exchange.final(RFC_FINAL)
    assert caught.value.sqlstate == "08P01"


@pytest.fixture(scope="module")
def key(pg: Pg) -> dict[str, Any]:
    response = httpx.post(
        f"{pg.served.url}/auth/keys",
        json={"scope": "namespace", "namespace": "shop"},
        headers=bearer(pg.admin_key),
        timeout=10,
    )
    assert response.status_code == 201, response.text
    created: dict[str, Any] = response.json()
    return created


def sasl_offered(pg: Pg, user: str) -> bool:
    with raw(pg) as sock:
        sock.sendall(startup_packet(user=user))
        kind, body = read_message(sock)
        return kind == b"R" and struct.unpack("!i", body[:4])[0] == 10


def test_key_names_get_scram_others_cleartext(pg: Pg, key: dict[str, Any]) -> None:
    assert sasl_offered(pg, key["id"])
    assert sasl_offered(pg, key["prefix"])
    assert sasl_offered(pg, "0123456789abcdef")  # no such key: a mock exchange
    assert not sasl_offered(pg, "tester")


@pytest.mark.parametrize("name", ["id", "prefix"])
def test_psycopg_proves_a_key(pg: Pg, key: dict[str, Any], name: str) -> None:
    with psycopg.connect(pg.dsn(key["key"], user=key[name]), connect_timeout=5) as conn:
        assert conn.execute("SELECT count(*) FROM todos").fetchone() is not None
        assert conn.execute("SELECT current_user").fetchone() == (key[name],)


def test_psql_proves_a_key(pg: Pg, key: dict[str, Any]) -> None:
    done = pg.psql(key["key"], "-U", key["id"], "-tAc", "SELECT 1")
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "1"


def test_asyncpg_proves_a_key(pg: Pg, key: dict[str, Any]) -> None:
    async def run() -> Any:
        conn = await asyncpg.connect(pg.dsn(key["key"], user=key["id"]), timeout=5)
        try:
            return await conn.fetchval("SELECT 41 + 1")
        finally:
            await conn.close()

    assert asyncio.run(run()) == 42


@pytest.mark.parametrize("user", ["id", "unknown"])
def test_wrong_key_fails_28p01(pg: Pg, key: dict[str, Any], user: str) -> None:
    name = key["id"] if user == "id" else "fedcba9876543210"
    with pytest.raises(psycopg.OperationalError) as caught:
        psycopg.connect(pg.dsn(pg.namespace_key, user=name), connect_timeout=5)
    assert "password authentication failed" in str(caught.value)


def test_revoked_key_fails(pg: Pg) -> None:
    client = httpx.Client(base_url=pg.served.url, headers=bearer(pg.admin_key), timeout=10)
    created = client.post("/auth/keys", json={"scope": "namespace", "namespace": "shop"}).json()
    assert client.delete(f"/auth/keys/{created['id']}").status_code in (200, 204)
    with pytest.raises(psycopg.OperationalError) as caught:
        psycopg.connect(pg.dsn(created["key"], user=created["id"]), connect_timeout=5)
    assert "password authentication failed" in str(caught.value)


@pytest.mark.parametrize(
    "initial",
    [
        b"SCRAM-SHA-1\0" + struct.pack("!i", 5) + b"n,,n=",  # a mechanism not offered
        b"SCRAM-SHA-256\0" + struct.pack("!i", 40) + b"short",  # length beyond the message
        b"SCRAM-SHA-256\0" + struct.pack("!i", 30) + b"p=tls-server-end-point,,n=,r=x",
    ],
)
def test_malformed_sasl_messages_close_cleanly(pg: Pg, key: dict[str, Any], initial: bytes) -> None:
    with raw(pg) as sock:
        sock.sendall(startup_packet(user=key["id"]))
        assert read_message(sock)[0] == b"R"
        sock.sendall(message(b"p", initial))
        kind, body = read_message(sock)
        assert kind == b"E" and error_code(body) == "08P01"
        assert closed(sock)
    with psycopg.connect(pg.dsn(pg.namespace_key), connect_timeout=5) as conn:
        assert conn.execute("SELECT 1").fetchone() == (1,)
