"""The ledger of applied migrations, `_bkg_migrations`, folded from the log.

A migration's record is an ordinary "ddl"/"dml" record whose payload also carries
`migration: {version, name, sha256}`. `fold_sql_and_migration` is the fold of those kinds
(`api.folds`): the row images first, then, for a migration, its ledger row, carrying the
record's LSN and commit time. The live write path writes the same row in the same
transaction (`Database.apply_migration`), so the ledger a rebuild folds equals the live one.
"""

from __future__ import annotations

import sqlite3
from dataclasses import asdict, astuple, dataclass
from typing import Any

from api.migrations.errors import MigrationError
from api.migrations.files import Migration, format_name
from projections.folds import Event, fold_sql

LEDGER_TABLE = "_bkg_migrations"
_COLUMNS = ("version", "name", "sha256", "lsn", "applied_at_us", "actor")


@dataclass(frozen=True)
class Applied:
    """One applied migration, as the ledger holds it."""

    version: int
    name: str
    sha256: str
    lsn: int
    applied_at_us: int
    actor: str

    @property
    def filename(self) -> str:
        return format_name(self.version, self.name)

    def to_json(self) -> dict[str, Any]:
        return {**asdict(self), "filename": self.filename}


@dataclass(frozen=True)
class MigrationOutcome:
    """What applying a migration did: `applied` False when it had been applied before
    (with the same digest) and nothing was done; `row` is its ledger row either way."""

    row: Applied
    applied: bool


def stamp(migration: Migration) -> dict[str, Any]:
    """What a migration's record carries in `payload["migration"]`."""
    return {"version": migration.version, "name": migration.name, "sha256": migration.sha256}


def ensure_table(conn: sqlite3.Connection) -> None:
    conn.execute(
        f"CREATE TABLE IF NOT EXISTS {LEDGER_TABLE} (version INTEGER PRIMARY KEY,"
        " name TEXT NOT NULL, sha256 TEXT NOT NULL, lsn INTEGER NOT NULL,"
        " applied_at_us INTEGER NOT NULL, actor TEXT NOT NULL)"
    )


def record(conn: sqlite3.Connection, event: Event) -> Applied:
    """Write the ledger row of a migration's record (`event.payload["migration"]`)."""
    ensure_table(conn)
    mark = event.payload["migration"]
    row = Applied(
        mark["version"], mark["name"], mark["sha256"], event.lsn, event.ts_us, event.actor
    )
    conn.execute(
        f"INSERT INTO {LEDGER_TABLE} ({', '.join(_COLUMNS)}) VALUES (?, ?, ?, ?, ?, ?)",
        astuple(row),
    )
    return row


def fold_sql_and_migration(conn: sqlite3.Connection, event: Event) -> None:
    """The fold of "ddl"/"dml" records: row images, then a migration's ledger row."""
    fold_sql(conn, event)
    if "migration" in event.payload:
        record(conn, event)


def applied(conn: sqlite3.Connection) -> list[Applied]:
    """Every applied migration by version (none before the first). Read to the end: a
    half-read cursor would hold the snapshot open."""
    try:
        rows = conn.execute(
            f"SELECT {', '.join(_COLUMNS)} FROM {LEDGER_TABLE} ORDER BY version"
        ).fetchall()
    except sqlite3.OperationalError:  # no migration applied yet: no table
        return []
    return [Applied(*row) for row in rows]


def check_new(conn: sqlite3.Connection, migration: Migration) -> Applied | None:
    """Whether `migration` may be applied now, on the writer's connection (so the answer
    holds until its record is written): None when it may, its ledger row when it already
    was with the same digest; `MigrationError` when that version was applied with another
    digest or a newer version is already applied."""
    ensure_table(conn)
    row = conn.execute(
        f"SELECT {', '.join(_COLUMNS)} FROM {LEDGER_TABLE} WHERE version = ?",
        (migration.version,),
    ).fetchone()
    if row is not None:
        done = Applied(*row)
        if done.sha256 != migration.sha256 or done.name != migration.name:
            raise edited(migration.filename, done)
        return done
    newest = conn.execute(f"SELECT max(version) FROM {LEDGER_TABLE}").fetchone()[0]
    if newest is not None and newest > migration.version:
        raise MigrationError(
            f"{migration.filename} is older than the newest applied migration ({newest});"
            " give it a version above that",
            {"file": migration.filename, "newest_applied": newest},
        )
    return None


def edited(filename: str, done: Applied) -> MigrationError:
    """The refusal of a file that differs from what was applied under its version."""
    return MigrationError(
        f"{filename} differs from the migration applied as version {done.version}"
        f" ({done.filename}, sha256 {done.sha256[:12]}…, LSN {done.lsn}); an applied"
        " migration is never edited: add a new one",
        {"file": filename, "applied": done.filename, "applied_sha256": done.sha256},
    )
