"""Errors as Postgres reports them: severity, SQLSTATE, message.

Every error the engine raises carries its precise `sqlstate` from where it is raised
(`api.sql.errors`, `api.rls.errors`; failures SQLite reports get theirs where they are
translated, `api.sql.sqlite_errors`), so this door only frames them.
"""

from __future__ import annotations

from api.auth.errors import AuthError, RateLimitedError
from api.auth.errors import ForbiddenError as AuthForbiddenError


class PgError(Exception):
    """An error to send as an ErrorResponse; `fatal` ones end the connection."""

    def __init__(
        self,
        sqlstate: str,
        message: str,
        *,
        fatal: bool = False,
        detail: str | None = None,
        hint: str | None = None,
        position: int | None = None,
    ) -> None:
        super().__init__(message)
        self.sqlstate = sqlstate
        self.message = message
        self.fatal = fatal
        self.detail = detail
        self.hint = hint
        self.position = position


def to_pg_error(exc: BaseException) -> PgError:
    """What a client is told about an exception raised while serving it."""
    if isinstance(exc, PgError):
        return exc
    if isinstance(exc, RateLimitedError):
        return PgError("53400", "rate limit exceeded", detail=f"retry after {exc.retry_after:.3f}s")
    if isinstance(exc, AuthForbiddenError):
        return PgError("42501", str(exc))
    if isinstance(exc, AuthError):
        return PgError("28000", str(exc))
    sqlstate = getattr(exc, "sqlstate", None)
    if isinstance(sqlstate, str):
        message = str(getattr(exc, "message", None) or exc)
        return PgError(sqlstate, message)
    return PgError("XX000", "internal error")
