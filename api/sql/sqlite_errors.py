"""Map sqlite3 exceptions to SQL-layer errors with the API's error codes.

SQLite's messages name tables, columns and constraints, not row values, so they are kept
(physical table names are the logical ``ns.t`` names).
"""

from __future__ import annotations

import re
import sqlite3

from api.sql.errors import (
    BadRequestError,
    ConflictError,
    LimitExceededError,
    NotFoundError,
    NotSupportedError,
    QueryCanceledError,
    SqlError,
    SqlValidationError,
    StoreCorruptError,
    with_sqlstate,
)
from projections.bounds import LIMITS as BOUNDS
from projections.bounds import Refusal, take_refusal
from projections.deadline import TIMEOUT_MESSAGE
from projections.limits import LIMITS
from projections.meta import DIVISOR_ERROR

# What sqlite3 reports when a registered aggregate (`projections.aggfuncs`) raises.
AGGREGATE_ERROR_PREFIX = "user-defined aggregate's"

# SQLITE_CORRUPT and SQLITE_NOTADB: the file itself is damaged.
_CORRUPTION_CODES = frozenset({11, 26})

# SQLite's messages for a statement beyond one of `projections.limits.LIMITS`, by limit.
_LIMIT_MESSAGES: tuple[tuple[str, str], ...] = (
    ("string or blob too big", "length"),
    ("query string is too large", "sql_length"),
    ("statement too long", "sql_length"),
    ("Expression tree is too large", "expr_depth"),
    ("too many terms in compound SELECT", "compound_select"),
    ("too many SQL variables", "variable_number"),
    ("too many arguments on function", "function_arg"),
    ("LIKE or GLOB pattern too complex", "like_pattern_length"),
    ("too many attached databases", "attached"),
    ("too many levels of trigger recursion", "trigger_depth"),
)

_RULES: tuple[tuple[str, type[SqlError]], ...] = (
    ("UNIQUE constraint failed", ConflictError),
    ("FOREIGN KEY constraint failed", ConflictError),
    ("NOT NULL constraint failed", SqlValidationError),
    ("CHECK constraint failed", SqlValidationError),
    ("cannot store", SqlValidationError),
    ("datatype mismatch", SqlValidationError),
    ("no such table", NotFoundError),
    ("no such index", NotFoundError),
    ("no such column", SqlValidationError),
    ("no such function", NotSupportedError),
    ("wrong number of arguments", SqlValidationError),
    ("values were supplied", SqlValidationError),
    ("values for", SqlValidationError),
    ("ambiguous column", SqlValidationError),
    ("misuse of", SqlValidationError),
    ("malformed JSON", SqlValidationError),
    ("Cannot add", SqlValidationError),
    ("cannot drop", SqlValidationError),
    ("already exists", ConflictError),
    ("syntax error", NotSupportedError),
    ("not supported", NotSupportedError),
    ("integer overflow", SqlValidationError),
)
_CHECK_EXPR = re.compile(r"(CHECK constraint failed):.*", re.DOTALL)
# Postgres SQLSTATEs of failures one error class covers with a more general one.
_SQLSTATES = {
    "FOREIGN KEY constraint failed": "23503",
    "NOT NULL constraint failed": "23502",
    "CHECK constraint failed": "23514",
    "no such column": "42703",
    "no such index": "42704",
    "already exists": "42P07",
    "ambiguous column": "42702",
    "cannot store": "22P02",
    "datatype mismatch": "42804",
    "integer overflow": "22003",
}


def translate_error(exc: sqlite3.Error) -> SqlError:
    """The SqlError for a sqlite3 exception raised while running a statement."""
    message = str(exc)
    if is_corruption(exc):
        return StoreCorruptError(f"the projection file is damaged ({message})")
    if message == "interrupted":
        return QueryCanceledError(TIMEOUT_MESSAGE)
    limit = next((name for needle, name in _LIMIT_MESSAGES if needle in message), None)
    if limit is not None:
        return limit_error(limit)
    if isinstance(exc, sqlite3.ProgrammingError):
        return BadRequestError(message)
    if message == DIVISOR_ERROR or message.startswith(AGGREGATE_ERROR_PREFIX):
        return _refusal_error(take_refusal())
    for needle, error in _RULES:
        if needle in message:
            if error is NotSupportedError and needle == "syntax error":
                return error(f"statement cannot be run on this backend ({message})")
            if needle == "no such function":
                name = message.split(":", 1)[-1].strip()
                unknown = error(f"function {name.lower()} does not exist or is not supported")
                return with_sqlstate(unknown, "42883")
            found = error(_CHECK_EXPR.sub(r"\1", message))
            return with_sqlstate(found, _SQLSTATES.get(needle, found.sqlstate))
    return SqlValidationError(message)


def _refusal_error(refusal: Refusal | None) -> SqlError:
    """The error of a registered function's refusal: an argument beyond its bound, or (what
    the divisor function refuses) division by zero."""
    if refusal is not None and refusal.message is not None:
        return with_sqlstate(SqlValidationError(refusal.message), refusal.sqlstate or "22000")
    if refusal is None or refusal.limit is None:
        return with_sqlstate(SqlValidationError("division by zero"), "22012")
    return bound_error(refusal.limit)


def bound_error(name: str) -> LimitExceededError:
    """The error of a function argument beyond bound `name` (of `projections.bounds`)."""
    value = BOUNDS[name]
    return LimitExceededError(
        f"a function argument exceeds the {name} limit ({value})", {"limit": name, "value": value}
    )


def is_corruption(exc: BaseException) -> bool:
    """Whether `exc` says the database file is damaged (not that the statement is wrong)."""
    if isinstance(exc, StoreCorruptError):
        return True
    code = getattr(exc, "sqlite_errorcode", None)
    return (
        isinstance(exc, sqlite3.DatabaseError)
        and code is not None
        and code & 0xFF in _CORRUPTION_CODES
    )


def limit_error(name: str) -> LimitExceededError:
    """The error of a statement beyond SQLite limit `name` (of `LIMITS`)."""
    value = LIMITS[name][1]
    return LimitExceededError(
        f"the statement exceeds the {name} limit ({value})", {"limit": name, "value": value}
    )
