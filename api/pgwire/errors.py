"""Errors as Postgres reports them: severity, SQLSTATE, message.

Every error the engine raises already carries a `sqlstate` (`api.sql.errors`,
`api.rls.errors`; failures SQLite reports get their precise code where they are translated,
`api.sql.sqlite_errors`); a few raised by our own DDL planning still carry their class's
coarser code, so `refine` narrows those by what the message names, which is what a client
branching on SQLSTATE needs.
"""

from __future__ import annotations

from api.auth.errors import AuthError, RateLimitedError
from api.auth.errors import ForbiddenError as AuthForbiddenError

# (class sqlstate, words in the message) -> the precise Postgres code.
_REFINE: tuple[tuple[str, str, str], ...] = (
    ("22000", "does not exist", "42703"),
    ("23505", "is referenced by", "2BP01"),
    ("23505", "schema", "42P06"),
    ("23505", "already exists", "42P07"),
    ("42P01", "schema", "3F000"),
    ("42P01", "index", "42704"),
)


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


def refine(sqlstate: str, message: str) -> str:
    """The precise SQLSTATE for a coarse class and its message."""
    for coarse, words, precise in _REFINE:
        if sqlstate == coarse and words in message:
            return precise
    return sqlstate


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
        return PgError(refine(sqlstate, message), message)
    return PgError("XX000", "internal error")
