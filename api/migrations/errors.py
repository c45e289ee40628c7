"""The errors of migrations (see the tree in `api.migrations`)."""

from __future__ import annotations

from typing import Any

from api.sql.errors import SqlError


class MigrationError(SqlError):
    """A migration the ledger refuses: its version was applied with another SHA-256 (the
    file was edited since), or it is older than the newest applied one. It changed nothing;
    the message names the file. Postgres' nearest class: 55000 (object not in prerequisite
    state)."""

    code = "CONFLICT"
    sqlstate = "55000"

    def __init__(self, message: str, detail: dict[str, Any] | None = None) -> None:
        super().__init__(message, detail)


class MigrationFileError(ValueError):
    """A migrations directory or request that does not follow the `NNNN_name.sql` rules."""
