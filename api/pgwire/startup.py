"""The startup phase: SSL/GSS negotiation, cancel requests, protocol version and password
authentication.

The password is a bearer credential (an API key or a JWT), resolved exactly as the HTTP
door resolves `Authorization: Bearer` (`Backend.principal`: the same verification, key
registry, revocation and rate budget). It travels in cleartext inside the protocol, so it
is only asked for over TLS (`--pg-tls-cert`/`--pg-tls-key`) or on a loopback connection.
When the user name designates an API key (its id or visible prefix) the key is proven by
SCRAM-SHA-256 instead, over any connection (`api.pgwire.scram`). A failed attempt is
answered after a short delay, as Postgres' `auth_delay` does, so guessing is slow even
before the rate limit applies.
"""

from __future__ import annotations

import asyncio
import ssl
import struct
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Protocol

from api.auth.errors import AuthError, RateLimitedError
from api.auth.principal import Principal
from api.pgwire import codec
from api.pgwire.errors import PgError
from api.pgwire.scram import MECHANISM, Exchange, Verifier

SSL_REQUEST = 80877103
GSSENC_REQUEST = 80877104
CANCEL_REQUEST = 80877102
PROTOCOL_3 = 3 << 16
FAILED_AUTH_DELAY_S = 0.5
_DEFAULT_DATABASES = frozenset({"", "postgres", "template1"})


class Gate(Protocol):
    """What the startup phase needs from the server."""

    async def authenticate(self, password: str) -> Principal:
        """The principal of a credential (raises the auth errors the HTTP door raises)."""
        ...

    def verifier(self, user: str) -> Verifier | None:
        """The SCRAM verifier of the key a user name designates (a mock one for a name
        shaped like a key's that designates none); None: the name designates no key."""
        ...

    async def key_principal(self, user: str) -> Principal:
        """The principal of the key a user name designates, once proven by SCRAM (raises
        the auth errors of a revoked or expired key, and a rate limit's)."""
        ...

    def cancel(self, pid: int, secret: int) -> None:
        """Cancel the running statement of the session with this key, if any."""
        ...


@dataclass(frozen=True)
class Startup:
    """An authenticated session's identity and its startup parameters."""

    principal: Principal
    user: str
    database: str
    options: dict[str, str]


async def negotiate(
    reader: asyncio.StreamReader,
    writer: asyncio.StreamWriter,
    gate: Gate,
    local: bool,
    admit: Callable[[], None],
    tls: ssl.SSLContext | None = None,
) -> Startup | None:
    """Run the startup phase; None when the connection was a cancel request. An
    SSLRequest is answered `S` and the connection upgraded when `tls` is given, else `N`. A
    `admit` (raising 53300 beyond the session limit) is called once the client has sent its
    startup message,
    where clients expect errors."""
    secure = False
    while True:
        body = codec.Payload(await codec.read_startup(reader))
        code = body.int32()
        if code == SSL_REQUEST and tls is not None and not secure:
            writer.write(b"S")
            await writer.drain()
            await writer.start_tls(tls)
            secure = True
            continue
        if code in (SSL_REQUEST, GSSENC_REQUEST):
            writer.write(b"N")
            await writer.drain()
            continue
        if code == CANCEL_REQUEST:
            gate.cancel(body.int32(), body.int32())
            return None
        if code >> 16 != 3:
            major, minor = code >> 16, code & 0xFFFF
            raise PgError("0A000", f"unsupported frontend protocol {major}.{minor}", fatal=True)
        options = _options(body)
        admit()
        if code != PROTOCOL_3:
            writer.write(_negotiate_version(options))
        return await _authenticate(reader, writer, gate, local or secure, options)


def _options(body: codec.Payload) -> dict[str, str]:
    options: dict[str, str] = {}
    while True:
        name = body.cstring()
        if not name:
            return options
        options[name] = body.cstring()


def _negotiate_version(options: dict[str, str]) -> bytes:
    """NegotiateProtocolVersion: we speak 3.0 and none of the `_pq_.` options."""
    unknown = [name for name in options if name.startswith("_pq_.")]
    body = struct.pack("!ii", 0, len(unknown)) + b"".join(codec.cstr(n) for n in unknown)
    return codec.message(b"v", body)


async def _authenticate(
    reader: asyncio.StreamReader,
    writer: asyncio.StreamWriter,
    gate: Gate,
    trusted: bool,
    options: dict[str, str],
) -> Startup:
    user = options.get("user", "")
    if not user:
        raise PgError("28000", "no user name in the startup packet", fatal=True)
    verifier = gate.verifier(user)
    if verifier is None and not trusted:
        raise PgError(
            "28000", "password authentication needs TLS or a loopback connection", fatal=True
        )
    try:
        if verifier is not None:
            await _scram(reader, writer, Exchange(verifier))
            principal = await gate.key_principal(user)
        else:
            principal = await gate.authenticate(await _cleartext(reader, writer))
    except RateLimitedError as exc:
        raise PgError("53400", str(exc), fatal=True) from exc
    except (AuthError, PgError) as exc:
        if isinstance(exc, PgError) and exc.sqlstate != "28P01":
            raise
        await asyncio.sleep(FAILED_AUTH_DELAY_S)
        raise PgError(
            "28P01", f'password authentication failed for user "{user}"', fatal=True
        ) from exc
    database = options.get("database", user)
    return Startup(_for_database(principal, database, user), user, database, options)


async def _cleartext(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> str:
    writer.write(codec.auth_request(3))  # AuthenticationCleartextPassword
    await writer.drain()
    kind, body = await codec.read_message(reader, codec.MAX_STARTUP_BYTES)
    if kind != b"p":
        raise codec.protocol_error("expected a password message")
    return codec.Payload(body).cstring()


async def _scram(
    reader: asyncio.StreamReader, writer: asyncio.StreamWriter, exchange: Exchange
) -> None:
    """AuthenticationSASL, SASLInitialResponse, SASLContinue, SASLResponse, SASLFinal;
    raises 28P01 for a wrong proof and 08P01 for anything malformed."""
    writer.write(codec.auth_request(10, codec.cstr(MECHANISM) + b"\0"))  # AuthenticationSASL
    await writer.drain()
    body = codec.Payload(await _password_message(reader))
    if body.cstring() != MECHANISM:
        raise codec.protocol_error("client selected an invalid SASL authentication mechanism")
    size = body.int32()
    writer.write(codec.auth_request(11, exchange.first(body.raw(size))))  # SASLContinue
    await writer.drain()
    final = exchange.final(await _password_message(reader))
    writer.write(codec.auth_request(12, final))  # AuthenticationSASLFinal


async def _password_message(reader: asyncio.StreamReader) -> bytes:
    kind, body = await codec.read_message(reader, codec.MAX_STARTUP_BYTES)
    if kind != b"p":
        raise codec.protocol_error("expected a SASL response")
    return body


def _for_database(principal: Principal, database: str, user: str) -> Principal:
    """The principal whose unqualified names resolve in the database named at startup.

    A namespace-bound principal may name its own namespace (or a client default: none,
    `postgres`, its user name); an admin may name any namespace."""
    if database in _DEFAULT_DATABASES or database == user:
        return principal
    if principal.namespace is None:
        return replace(principal, namespace=database)
    if database != principal.namespace:
        raise PgError("3D000", f'database "{database}" does not exist', fatal=True)
    return principal
