"""Errors as Postgres reports them: severity, SQLSTATE, message.

Every error the engine raises already carries a `sqlstate` (`api.sql.errors`,
`api.rls.errors`); several of our classes are coarser than Postgres' codes (one class for
NOT NULL, CHECK and unknown columns), so `refine` narrows them by what the message names,
which is what a client branching on SQLSTATE needs.
"""

from __future__ import annotations

from api.auth.errors import AuthError, RateLimitedError
from api.auth.errors import ForbiddenError as AuthForbiddenError

# (class sqlstate, words in the message) -> the precise Postgres code.
_REFINE: tuple[tuple[str, str, str], ...] = (
    ("22000", "NOT NULL constraint", "23502"),
    ("22000", "CHECK constraint", "23514"),
    ("22000", "no such column", "42703"),
    ("22000", "does not exist", "42703"),
    ("22000", "ambiguous column", "42702"),
    ("22000", "cannot store", "22P02"),
    ("22000", "datatype mismatch", "42804"),
    ("22000", "integer overflow", "22003"),
    ("22000", "too big", "54000"),
    ("23505", "FOREIGN KEY constraint", "23503"),
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
