"""Errors raised by the SQL layer; each carries the API error ``code`` it maps to.

Messages name tables, columns and constructs but never row values, so they are safe to
return to any client.
"""

from __future__ import annotations

from typing import Any


class SqlError(Exception):
    """Base of every SQL-layer error."""

    code = "BAD_REQUEST"

    def __init__(self, message: str, detail: dict[str, Any] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.detail = detail


class SqlSyntaxError(SqlError):
    """The statement does not parse; ``detail`` holds ``line`` and ``col``."""

    code = "SYNTAX_ERROR"


class BadRequestError(SqlError):
    """The request is malformed (e.g. missing or surplus parameters)."""

    code = "BAD_REQUEST"


class ForbiddenError(SqlError):
    """The statement reaches for something no principal may touch (PRAGMA, system tables)."""

    code = "FORBIDDEN"


class NotSupportedError(SqlError):
    """A valid Postgres construct that bkg-db does not implement; the message names it."""

    code = "CAPABILITY_NOT_SUPPORTED"


class NotFoundError(SqlError):
    """An unknown table, schema or index."""

    code = "NOT_FOUND"


class SqlValidationError(SqlError):
    """Unknown column, type mismatch, NOT NULL or CHECK violation."""

    code = "VALIDATION_ERROR"


class ConflictError(SqlError):
    """UNIQUE, PRIMARY KEY or FOREIGN KEY violation, or an object that already exists."""

    code = "CONFLICT"
