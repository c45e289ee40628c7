"""PostgREST's errors: `{"code", "message", "details", "hint"}` with PostgREST's statuses.

Tree (every one a `RestError`, rendered by `api.rest.routes` with its `status`):

    RestError               any PostgREST-shaped failure; `code` is a PGRST code or a SQLSTATE
    └── GrammarError        PGRST100: the query string does not parse (400)

Lower-layer errors (`api.sql.errors`, `api.rls.errors`, `api.auth.errors`) are translated
into `RestError` in `api.rest.translate`, at the boundary of this package.
"""

from __future__ import annotations

from typing import Any


class RestError(Exception):
    """A failure answered in PostgREST's shape."""

    def __init__(
        self,
        status: int,
        code: str,
        message: str,
        details: str | None = None,
        hint: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.details = details
        self.hint = hint
        self.headers = headers or {}

    def body(self) -> dict[str, Any]:
        """The JSON body PostgREST sends."""
        return {
            "code": self.code,
            "details": self.details,
            "hint": self.hint,
            "message": self.message,
        }


class GrammarError(RestError):
    """PGRST100: a query parameter that does not parse (`what` names which one)."""

    def __init__(self, what: str, text: str, details: str) -> None:
        shown = text if len(text) <= 200 else text[:200] + "..."
        super().__init__(400, "PGRST100", f'"failed to parse {what} parameter ({shown})"', details)


def not_found_table(schema: str, table: str) -> RestError:
    """PGRST205 (42P01 before PostgREST 12.2): a table that is not in the schema cache."""
    return RestError(
        404,
        "PGRST205",
        f"Could not find the table '{schema}.{table}' in the schema cache",
    )


def unknown_column(table: str, column: str) -> RestError:
    """42703 as PostgREST gives it for an unknown column in `select=` or a filter."""
    return RestError(400, "42703", f"column {table}.{column} does not exist")


def no_relationship(parent: str, child: str, schema: str) -> RestError:
    """PGRST200: an embed with no foreign key between the two tables."""
    return RestError(
        400,
        "PGRST200",
        f"Could not find a relationship between '{parent}' and '{child}' in the schema cache",
        f"Searched for a foreign key relationship between '{parent}' and '{child}' in the"
        f" schema '{schema}', but no matches were found.",
    )
