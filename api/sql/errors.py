"""Errors raised by the SQL layer; each carries the API error ``code`` it maps to.

Each class also carries the Postgres SQLSTATE of its kind (``sqlstate``), so every door
(HTTP, the wire protocol) reports the same failure the same way.

Messages name tables, columns and constructs but never row values, so they are safe to
return to any client.
"""

from __future__ import annotations

from typing import Any, TypeVar


class SqlError(Exception):
    """Base of every SQL-layer error."""

    code = "BAD_REQUEST"
    sqlstate = "22023"

    def __init__(self, message: str, detail: dict[str, Any] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.detail = detail


class SqlSyntaxError(SqlError):
    """The statement does not parse; ``detail`` holds ``line`` and ``col``."""

    code = "SYNTAX_ERROR"
    sqlstate = "42601"


class BadRequestError(SqlError):
    """The request is malformed (e.g. missing or surplus parameters)."""

    code = "BAD_REQUEST"


class ForbiddenError(SqlError):
    """The statement reaches for something no principal may touch (PRAGMA, system tables)."""

    code = "FORBIDDEN"
    sqlstate = "42501"


class NotSupportedError(SqlError):
    """A valid Postgres construct that bkg-db does not implement; the message names it."""

    code = "CAPABILITY_NOT_SUPPORTED"
    sqlstate = "0A000"


class NotFoundError(SqlError):
    """An unknown table, schema or index."""

    code = "NOT_FOUND"
    sqlstate = "42P01"


class SqlValidationError(SqlError):
    """Unknown column, type mismatch, NOT NULL or CHECK violation."""

    code = "VALIDATION_ERROR"
    sqlstate = "22000"


class UnacceptableNameError(SqlValidationError):
    """A schema name that is malformed or reserved (``storage``, ``pg_*``, ...); Postgres
    refuses reserved ones with SQLSTATE 42939 (``unacceptable schema name``)."""

    sqlstate = "42939"


class OutOfRangeError(SqlValidationError):
    """A value outside its type's range, e.g. an integer parameter beyond 64 bits."""

    sqlstate = "22003"


class ConflictError(SqlError):
    """UNIQUE, PRIMARY KEY or FOREIGN KEY violation, or an object that already exists."""

    code = "CONFLICT"
    sqlstate = "23505"


class QueryCanceledError(SqlError):
    """The statement ran past its deadline or was cancelled (server stop, client gone); it
    changed nothing. Postgres reports the same as SQLSTATE 57014."""

    code = "QUERY_CANCELED"
    sqlstate = "57014"


class LimitExceededError(SqlError):
    """The request or its answer is larger than a configured limit; ``detail`` names the
    limit and its value. Postgres' nearest class is 54000 (program_limit_exceeded)."""

    code = "LIMIT_EXCEEDED"
    sqlstate = "54000"


E = TypeVar("E", bound=SqlError)


def with_sqlstate(error: E, sqlstate: str) -> E:
    """``error`` reporting ``sqlstate``, a more precise state than its class's general one
    (e.g. 23503 foreign_key_violation for a ConflictError, 22012 division_by_zero)."""
    error.sqlstate = sqlstate
    return error


class StoreCorruptError(SqlError):
    """SQLite found the projection file malformed while running the statement: the store
    must be rebuilt from the log; until then nothing read from it can be trusted. Not the
    client's fault, so the API answers 503 (Postgres: XX001, data_corrupted)."""

    code = "UNAVAILABLE"
    sqlstate = "XX001"


class ReadOnlyError(SqlError):
    """A write sent to a read replica; ``detail`` names the primary when one is configured.
    The API answers 503 (write to the primary); Postgres: 25006, read_only_sql_transaction."""

    code = "UNAVAILABLE"
    sqlstate = "25006"
