"""Where `bkgdb migrate` applies: a data directory opened in-process, or a running server.

Both answer the same two questions (which migrations are applied; apply this one) under
the same rules, because the server's `POST /migrate/apply` runs the same
`Database.apply_migration` as the embedded target.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Protocol

import httpx

from api.database import Database
from api.migrations import ledger
from api.migrations.errors import MigrationError
from api.migrations.files import Migration, statements_of
from api.migrations.ledger import Applied, MigrationOutcome

TIMEOUT_S = 120.0


class TargetError(Exception):
    """The target refused or failed (its message is the server's or the database's)."""


class Target(Protocol):
    def applied(self) -> list[Applied]:
        """The ledger, by version."""
        ...

    def apply(self, migration: Migration) -> MigrationOutcome:
        """Apply one migration (raises `MigrationError` or `TargetError` when refused)."""
        ...

    def close(self) -> None: ...


class EmbeddedTarget:
    """The database of a data directory, opened by this process (it holds the writer)."""

    def __init__(self, root: Path) -> None:
        self.db = Database.open(root, create=False)

    def applied(self) -> list[Applied]:
        with self.db.store.snapshot() as snap:
            return ledger.applied(snap.conn)

    def apply(self, migration: Migration) -> MigrationOutcome:
        return self.db.apply_migration(migration, statements_of(migration))

    def close(self) -> None:
        self.db.close()


class RemoteTarget:
    """A running server, through `GET /migrate/status` and `POST /migrate/apply`."""

    def __init__(self, url: str, api_key: str) -> None:
        self.client = httpx.Client(
            base_url=url.rstrip("/"),
            headers={"Authorization": f"Bearer {api_key}"},
            timeout=TIMEOUT_S,
        )

    def applied(self) -> list[Applied]:
        body = self._call("GET", "/migrate/status")
        return [_applied(row) for row in body["applied"]]

    def apply(self, migration: Migration) -> MigrationOutcome:
        request = {
            "version": migration.version,
            "name": migration.name,
            "sql": migration.sql,
            "sha256": migration.sha256,
        }
        body = self._call("POST", "/migrate/apply", request)
        return MigrationOutcome(_applied(body), applied=bool(body["applied"]))

    def close(self) -> None:
        self.client.close()

    def _call(self, method: str, path: str, body: Any = None) -> dict[str, Any]:
        try:
            response = self.client.request(method, path, json=body)
        except httpx.HTTPError as exc:
            raise TargetError(f"{self.client.base_url}: {exc}") from exc
        try:
            answer: dict[str, Any] = response.json()
        except ValueError:
            answer = {}
        if response.is_success:
            return answer
        error = answer.get("error") or {}
        message = error.get("message") or f"HTTP {response.status_code}"
        if error.get("code") == "CONFLICT" and isinstance(error.get("detail"), dict):
            raise MigrationError(message, error["detail"])
        raise TargetError(f"{error.get('code', response.status_code)}: {message}")


def _applied(row: dict[str, Any]) -> Applied:
    return Applied(
        int(row["version"]), str(row["name"]), str(row["sha256"]), int(row["lsn"]),
        int(row["applied_at_us"]), str(row["actor"]),
    )  # fmt: skip
