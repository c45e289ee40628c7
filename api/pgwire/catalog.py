"""Answers to what clients ask Postgres about itself: `version()`, `current_schema()`,
`current_database()` and the like, derived from our catalogue and filtered by principal."""

from __future__ import annotations

import re
from typing import Any

from api.pgwire.answers import Answer
from api.pgwire.runner import Runner
from api.pgwire.settings import SERVER_VERSION
from api.pgwire.startup import Startup

VERSION = f"PostgreSQL {SERVER_VERSION} (bkg-db)"
_FUNCTION_SELECT = re.compile(
    r"^\s*select\s+((?:pg_catalog\.)?[a-z_]+)\s*\(\s*\)\s*(?:as\s+(\w+))?\s*;?\s*$", re.I
)


class Emulator:
    """Answers the catalogue questions of one session (None: not one of them)."""

    def __init__(self, runner: Runner, startup: Startup) -> None:
        self.runner = runner
        self.startup = startup
        namespace = startup.principal.default_namespace
        self._functions = {
            "version": VERSION,
            "current_schema": namespace,
            "current_database": startup.principal.namespace or startup.database or "postgres",
            "current_user": startup.user,
            "session_user": startup.user,
        }

    async def answer(self, sql: str, params: list[Any] | None) -> Answer | None:
        match = _FUNCTION_SELECT.match(sql)
        if match is None:
            return None
        name = match.group(1).lower().removeprefix("pg_catalog.")
        value = self._functions.get(name)
        if value is None:
            return None
        return Answer.text("SELECT 1", [match.group(2) or name], [[value]])
