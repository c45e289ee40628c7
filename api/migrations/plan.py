"""What `migrate up` would do: the local files against the ledger, version by version.

Each version is in one state:

    applied        the file matches what was applied under its version
    edited         applied, but the file's SHA-256 (or name) differs now: refused
    pending        not applied, above the newest applied version: applied by `up`
    out_of_order   not applied, below the newest applied version: refused
    no_file        applied, and no local file of its version (informational)

`up` applies nothing while any version is edited or out of order, and names the files.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from api.migrations.files import Migration
from api.migrations.ledger import Applied

PROBLEMS = ("edited", "out_of_order")


@dataclass(frozen=True)
class Entry:
    """One version: its local file, its ledger row, and the state they put it in."""

    version: int
    state: str
    file: Migration | None
    row: Applied | None

    @property
    def filename(self) -> str:
        known = self.file or self.row
        assert known is not None
        return known.filename

    def to_json(self) -> dict[str, Any]:
        return {
            "version": self.version,
            "state": self.state,
            "filename": self.filename,
            "sha256": self.file.sha256 if self.file else None,
            "applied": self.row.to_json() if self.row else None,
        }


@dataclass(frozen=True)
class Plan:
    entries: list[Entry]

    @property
    def problems(self) -> list[Entry]:
        return [entry for entry in self.entries if entry.state in PROBLEMS]

    def pending(self, to: int | None = None) -> list[Migration]:
        """The files `up` applies, in order (up to version `to` when given)."""
        return [
            entry.file
            for entry in self.entries
            if entry.state == "pending" and entry.file and (to is None or entry.version <= to)
        ]

    def refusal(self) -> str | None:
        """Why `up` must not run (the files named), or None."""
        messages = [_problem(entry) for entry in self.problems]
        return "; ".join(messages) if messages else None


def plan(files: Sequence[Migration], applied: Sequence[Applied]) -> Plan:
    """The state of every version among `files` and `applied` (see the module docstring)."""
    by_file = {migration.version: migration for migration in files}
    by_row = {row.version: row for row in applied}
    newest = max(by_row, default=0)
    entries = []
    for version in sorted(by_file.keys() | by_row.keys()):
        file, row = by_file.get(version), by_row.get(version)
        entries.append(Entry(version, _state(file, row, newest), file, row))
    return Plan(entries)


def _state(file: Migration | None, row: Applied | None, newest: int) -> str:
    if file is None:
        return "no_file"
    if row is None:
        return "pending" if file.version > newest else "out_of_order"
    return "applied" if (row.sha256, row.name) == (file.sha256, file.name) else "edited"


def _problem(entry: Entry) -> str:
    if entry.state == "edited":
        assert entry.row is not None
        return (
            f"{entry.filename} was edited after it was applied (LSN {entry.row.lsn},"
            f" sha256 {entry.row.sha256[:12]}…); add a new migration instead"
        )
    return f"{entry.filename} is not applied but a newer version is; renumber it"
