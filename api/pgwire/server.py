"""The PostgreSQL listener: an asyncio server on the same loop (and the same `Backend`) as
the HTTP API.

Per connection: a bounded startup phase (`handshake_timeout_s`), then a `Session`. Beyond
`max_connections` sessions a new client is told FATAL 53300 once it sends its startup
message. Connections still in their startup phase are bounded apart (`max_handshakes`):
when that many are starting, the oldest is told FATAL 53300 and closed to make room, so a
flood of idle sockets never locks out a client that completes its startup at once. A
connection that errs in any way is closed without disturbing the others. Each session gets
a BackendKeyData (process id, random secret) under which a CancelRequest on a new
connection finds it.
"""

from __future__ import annotations

import asyncio
import ipaddress
import logging
import os
import re
import secrets
import ssl
import time
from collections.abc import Callable

from api.auth.errors import RateLimitedError, UnauthorizedError
from api.auth.principal import Principal, key_principal
from api.http.backend import Backend
from api.pgwire import codec
from api.pgwire.errors import PgError
from api.pgwire.notify import Notifier
from api.pgwire.runner import Runner
from api.pgwire.scram import Verifier
from api.pgwire.session import Session
from api.pgwire.settings import REPORTED
from api.pgwire.startup import negotiate
from api.settings import PgSettings

log = logging.getLogger("bkgdb.pgwire")
CLOSE_WAIT_S = 2.0
KEY_NAME = re.compile(r"^(?:[0-9a-f]{16}|bkg_(?:admin|namespace)_[A-Za-z0-9]{8})$")
"""A user name that designates an API key: its id or its visible prefix."""
TOO_MANY = PgError("53300", "sorry, too many clients already", fatal=True)
SHUTDOWN = PgError("57P01", "terminating connection due to administrator command", fatal=True)


class PgServer:
    """Accepts connections and runs their sessions; `start` binds, `close` stops."""

    def __init__(self, backend: Backend, settings: PgSettings) -> None:
        self.backend = backend
        self.settings = settings
        self.runner = Runner(backend)
        self.notifier = Notifier()
        self.sessions: dict[tuple[int, int], Session] = {}
        self.connections = 0
        self.admitted = 0
        self.refused = 0
        self.handshakes: dict[asyncio.StreamWriter, None] = {}
        """Connections in their startup phase, oldest first."""
        self._server: asyncio.Server | None = None
        self._mock_seed = secrets.token_bytes(32)
        self._tasks: set[asyncio.Task[None]] = set()
        backend.metrics.gauge(
            "bkg_pgwire_connections", "PostgreSQL protocol connections open now.", self._open
        )
        backend.metrics.counter(
            "bkg_pgwire_refused_total",
            "PostgreSQL protocol connections refused beyond --pg-max-connections.",
            lambda: self.refused,
        )

    async def start(self) -> None:
        self._server = await asyncio.start_server(
            self._connection, self.settings.host, self.settings.port, backlog=1024
        )

    async def close(self) -> None:
        """Stop listening and end every session with FATAL 57P01, as a stopping Postgres
        does (their running statements were cancelled with the rest), waiting a moment for
        their handlers to finish."""
        if self._server is None:
            return
        self._server.close()
        for session in list(self.sessions.values()):
            session.writer.write(codec.error_response(SHUTDOWN))
            session.writer.close()
        if self._tasks:
            await asyncio.wait(self._tasks, timeout=CLOSE_WAIT_S)
        await self._server.wait_closed()

    async def authenticate(self, password: str) -> Principal:
        """A password is a bearer credential, resolved as the HTTP door resolves one."""
        return await asyncio.to_thread(self.backend.principal, password)

    def verifier(self, user: str) -> Verifier | None:
        """A key's SCRAM verifier when the user name designates one (a key minted before
        verifiers were kept is proven in cleartext); a mock one for a name shaped like a
        key's that designates no key."""
        if not KEY_NAME.match(user):
            return None
        state = self.backend.bearers.keys.named(user)
        if state is None:
            return Verifier.mock(self._mock_seed, user)
        if state.record.scram is None:
            return None
        return Verifier.parse(state.record.scram)

    async def key_principal(self, user: str) -> Principal:
        """The proven key's principal, charged to its rate budget as `Backend.principal`
        charges a bearer's."""
        state = self.backend.bearers.keys.named(user)
        if state is None or not state.valid_at(time.time()):
            raise UnauthorizedError("invalid API key")
        principal = key_principal(state.record)
        self.backend.key_usage.record(principal)
        wait = self.backend.limiter.try_acquire(principal)
        if wait > 0:
            raise RateLimitedError(wait)
        return principal

    def _open(self) -> float:
        return float(self.connections)

    def cancel(self, pid: int, secret: int) -> None:
        session = self.sessions.get((pid, secret))
        if session is not None:
            session.cancel()

    async def _connection(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        task = asyncio.current_task()
        if task is not None:
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)
        if len(self.handshakes) >= self.settings.max_handshakes:
            self._evict_oldest_handshake()
        self.handshakes[writer] = None
        admitted = False

        def admit() -> None:
            nonlocal admitted
            if self.admitted >= self.settings.max_connections:
                self.refused += 1
                raise TOO_MANY
            self.admitted += 1
            admitted = True

        try:
            await self._serve(reader, writer, admit)
        except PgError as exc:
            if not writer.transport.is_closing():
                writer.write(codec.error_response(exc))
        except (asyncio.IncompleteReadError, ConnectionError, TimeoutError):
            pass
        except Exception:  # one connection's failure must not touch others
            log.exception("pgwire connection failed")
        finally:
            self.connections -= 1
            self.admitted -= int(admitted)
            self.handshakes.pop(writer, None)
            await _close(writer)

    def _evict_oldest_handshake(self) -> None:
        """Make room for a new connection: the longest-starting one is told 53300 and
        closed (its handler then ends on the closed stream)."""
        oldest = next(iter(self.handshakes))
        del self.handshakes[oldest]
        self.refused += 1
        if not oldest.transport.is_closing():
            oldest.write(codec.error_response(TOO_MANY))
        oldest.close()

    async def _serve(
        self,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
        admit: Callable[[], None],
    ) -> None:
        local = _is_loopback(writer)
        async with asyncio.timeout(self.settings.handshake_timeout_s):
            startup = await negotiate(reader, writer, self, local, admit, self.settings.tls)
        self.handshakes.pop(writer, None)
        if startup is None:
            return
        peer = writer.get_extra_info("peername")
        log.info(
            "pgwire session: user %r as %s, database %r, from %s",
            startup.user,
            startup.principal.id,
            startup.database,
            peer[0] if peer else "unix socket",
            extra={
                "event": "pgwire_session",
                "principal": startup.principal.id,
                "namespace": startup.principal.namespace,
            },
        )
        key = (os.getpid() & 0x7FFFFFFF, secrets.randbits(31))
        session = Session(
            reader,
            writer,
            self.runner,
            startup,
            self.settings.max_message_bytes,
            self.backend.limiter.check,
            self.notifier,
            key[0],
        )
        session.send(codec.AUTH_OK)
        for name in REPORTED:
            session.send(codec.parameter_status(name, session.settings.values[name.lower()]))
        session.send(codec.parameter_status("session_authorization", startup.user))
        session.send(codec.backend_key_data(*key))
        self.sessions[key] = session
        try:
            await session.serve()
        finally:
            del self.sessions[key]


def tls_context(cert: str, key: str) -> ssl.SSLContext:
    """The server's TLS context from a PEM certificate (chain) and its key."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    context.load_cert_chain(cert, key)
    return context


def _is_loopback(writer: asyncio.StreamWriter) -> bool:
    peer = writer.get_extra_info("peername")
    if not peer:
        return True  # a Unix socket
    try:
        return ipaddress.ip_address(peer[0]).is_loopback
    except ValueError:
        return False


async def _close(writer: asyncio.StreamWriter) -> None:
    try:
        await writer.drain()
        writer.close()
        await writer.wait_closed()
    except (ConnectionError, OSError):
        pass
