"""One `/auth/v1` request's context: the namespace (from the `apikey`), the client address,
reads of the account tables, the record it appends, the signed-in user it acts for.

The namespace is that of the API key presented (`apikey` header, else an API key as the
bearer): an anon or a namespace key. Reads run on the reader pool in the namespace's share;
hashing passwords, slow on purpose, too. Writes that depend on what was read (is the email
taken? was this refresh token used?) run under one lock, so two requests cannot both pass
the same check: the server is the log's only writer.
"""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from litestar import Request

from api.auth.apikeys import looks_like_api_key
from api.auth.errors import RateLimitedError, UnauthorizedError
from api.auth.principal import Principal
from api.auth.tokens import SESSION_AUDIENCE
from api.gotrue import state
from api.gotrue.errors import GoTrueError, bad_jwt, no_session, rate_limited
from api.gotrue.records import KIND
from api.gotrue.settings import AccountSettings
from api.gotrue.state import Row
from api.http.backend import Backend
from api.rest.headers import token_of

T = TypeVar("T")


@dataclass(frozen=True)
class SignedIn:
    """The user a valid access token stands for, with its live session."""

    principal: Principal
    user: Row
    session: Row


class Door:
    """What every `/auth/v1` handler works with."""

    def __init__(self, request: Request[Any, Any, Any], backend: Backend) -> None:
        self.request, self.backend = request, backend
        self.caller = _key_principal(request, backend)
        self.namespace = str(self.caller.namespace)
        self.settings: AccountSettings = backend.config.accounts
        self.aud = backend.config.jwt_audience or SESSION_AUDIENCE
        client = request.client
        self.address = client.host if client is not None else "unknown"

    @property
    def lock(self) -> asyncio.Lock:
        """The lock of this server's account writes (one per backend)."""
        return self.backend.accounts_lock

    async def read(self, work: Callable[[sqlite3.Connection], T]) -> T:
        """`work` on a projection snapshot, on the reader pool."""

        def run() -> T:
            with self.backend.db.store.snapshot() as snap:
                return work(snap.conn)

        return await self.backend.off_loop(self.caller, run)

    async def compute(self, work: Callable[[], T]) -> T:
        """CPU-heavy `work` (password hashing) on the reader pool."""
        return await self.backend.off_loop(self.caller, work)

    async def commit(self, payload: dict[str, object]) -> None:
        """Append one "accounts" record as the API key's principal."""
        await self.backend.append(KIND, payload, self.caller)

    def limit(self, email: str | None = None) -> None:
        """Take one attempt from the client address's budget and, given one, the email's."""
        limiter = self.backend.limiter
        buckets = [("sign_in_address", self.address)]
        if email is not None:
            buckets.append(("sign_in_email", f"{self.namespace}/{email}"))
        for budget, key in buckets:
            wait = limiter.try_acquire_key(budget, key)
            if wait > 0:
                raise rate_limited(wait)

    async def signed_in(self) -> SignedIn:
        """The user of the access token in `Authorization`, in this namespace, whose session
        is still open (a token outlives neither its user nor, here, its session)."""
        header = self.request.headers.get("authorization") or ""
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or not token.strip() or looks_like_api_key(token.strip()):
            raise GoTrueError(
                401, "no_authorization", "This endpoint requires a valid Bearer token"
            )
        try:
            principal = self.backend.principal(token.strip())
        except RateLimitedError as exc:
            raise rate_limited(exc.retry_after) from exc
        except UnauthorizedError as exc:
            raise bad_jwt(f"invalid JWT: {exc}") from exc
        session_id = principal.claims.get("session_id")
        if principal.kind != "user" or principal.namespace != self.namespace or not session_id:
            raise bad_jwt("invalid JWT: not a session of this project's namespace")
        sub = str(principal.sub)

        def lookup(conn: sqlite3.Connection) -> tuple[Row | None, Row | None]:
            return state.user_by_id(conn, self.namespace, sub), state.session(
                conn, self.namespace, str(session_id)
            )

        user, session = await self.read(lookup)
        if user is None:
            raise GoTrueError(403, "user_not_found", "User from sub claim in JWT does not exist")
        if session is None or session["user_id"] != sub:
            raise no_session()
        return SignedIn(principal, user, session)


def _key_principal(request: Request[Any, Any, Any], backend: Backend) -> Principal:
    """The anon or namespace key presented (`apikey`, else an API key as the bearer).

    An anon key is shared by every end user of an application, so its own request budget
    would cap the sign-ins of all of them together: `/auth/v1` does not draw on it, and
    counts attempts per client address and per email instead (`Door.limit`). A namespace
    key (the service role) draws on its budget as everywhere."""
    headers = request.headers
    presented = headers.get("apikey")
    if not presented:
        bearer = token_of(headers.get("authorization"), None)
        presented = bearer if bearer and looks_like_api_key(bearer) else None
    if not presented or not looks_like_api_key(presented):
        raise GoTrueError(401, "no_api_key", "No API key found in request")
    try:
        principal = backend.bearers.resolve(presented)
        if principal.kind == "namespace":
            principal = backend.principal(presented)  # the service role: its own budget
    except RateLimitedError as exc:
        raise rate_limited(exc.retry_after) from exc
    except UnauthorizedError as exc:
        raise GoTrueError(401, "invalid_api_key", "Invalid API key") from exc
    if principal.kind not in ("anon", "namespace"):
        raise GoTrueError(
            401, "invalid_api_key", "An anon or namespace key names the users' namespace"
        )
    backend.key_usage.record(principal)
    return principal
