"""Migration files: `NNNN_name.sql`, one format function, one parse function, one pattern.

The version is the number (four digits at least, so names sort in the order they apply);
the name is lower-case letters, digits and underscores. The SHA-256 is taken over the
file's bytes as UTF-8 text, so the same file gives the same digest on every machine.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from pathlib import Path

from api.migrations.errors import MigrationFileError
from api.pgwire.statements import split

FILE_PATTERN = re.compile(r"^(\d{4,9})_([a-z0-9_]{1,100})\.sql$")
NAME_PATTERN = re.compile(r"^[a-z0-9_]{1,100}$")
MAX_FILE_BYTES = 1 << 20
"""The largest migration (the server's default request body is 1 MiB too)."""


@dataclass(frozen=True)
class Migration:
    """One migration file's content and identity."""

    version: int
    name: str
    sql: str
    sha256: str

    @property
    def filename(self) -> str:
        return format_name(self.version, self.name)

    @classmethod
    def of(cls, version: int, name: str, sql: str) -> Migration:
        """The migration of `sql` (its digest computed here)."""
        check_identity(version, name)
        return cls(version, name, sql, sha256_of(sql))


def format_name(version: int, name: str) -> str:
    """`0007_add_orders.sql`."""
    return f"{version:04d}_{name}.sql"


def parse_name(filename: str) -> tuple[int, str] | None:
    """(version, name) of a migration file name, or None for any other name."""
    match = FILE_PATTERN.match(filename)
    return (int(match.group(1)), match.group(2)) if match else None


def check_identity(version: int, name: str) -> None:
    """Refuse a version or name no file could carry (what a request names is checked too)."""
    if not 1 <= version <= 999_999_999:
        raise MigrationFileError(f"a migration version is 1 to 999999999, not {version}")
    if not NAME_PATTERN.match(name):
        raise MigrationFileError(
            f"a migration name is lower-case letters, digits and underscores, not {name!r}"
        )


def sha256_of(sql: str) -> str:
    return hashlib.sha256(sql.encode()).hexdigest()


def slug(text: str) -> str:
    """`Add orders!` -> `add_orders`: the name part of a new file."""
    name = re.sub(r"[^a-z0-9]+", "_", text.lower()).strip("_")[:100]
    if not name:
        raise MigrationFileError(f"{text!r} has no letters or digits to name a migration by")
    return name


def read_migration(path: Path) -> Migration:
    """The migration in `path` (a file named `NNNN_name.sql`)."""
    parsed = parse_name(path.name)
    if parsed is None:
        raise MigrationFileError(f"{path.name} is not named NNNN_name.sql")
    data = path.read_bytes()
    if len(data) > MAX_FILE_BYTES:
        raise MigrationFileError(f"{path.name} is larger than {MAX_FILE_BYTES} bytes")
    try:
        sql = data.decode()
    except UnicodeDecodeError as exc:
        raise MigrationFileError(f"{path.name} is not UTF-8 text") from exc
    return Migration(parsed[0], parsed[1], sql, sha256_of(sql))


def discover(directory: Path) -> list[Migration]:
    """The migrations in `directory`, by version; other files (a README) are ignored, but a
    `.sql` file with another name and two files of one version are errors."""
    if not directory.is_dir():
        raise MigrationFileError(f"{directory} is not a directory of migrations")
    found: dict[int, Migration] = {}
    for path in sorted(directory.iterdir()):
        if path.suffix != ".sql":
            continue
        migration = read_migration(path)
        other = found.get(migration.version)
        if other is not None:
            raise MigrationFileError(
                f"{other.filename} and {migration.filename} have the same version"
            )
        found[migration.version] = migration
    return [found[version] for version in sorted(found)]


def create(directory: Path, text: str) -> Path:
    """A new empty migration after the newest in `directory` (created if missing)."""
    name = slug(text)
    directory.mkdir(parents=True, exist_ok=True)
    existing = discover(directory)
    version = existing[-1].version + 1 if existing else 1
    path = directory / format_name(version, name)
    with path.open("x", encoding="utf-8") as out:
        out.write(f"-- {format_name(version, name)}: applied once, as one transaction\n")
    return path


def statements_of(migration: Migration) -> list[str]:
    """The statements of a migration's file, in order (comments and empty ones dropped),
    split as the PostgreSQL protocol splits a simple query."""
    return split(migration.sql)
