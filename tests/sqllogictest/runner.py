"""Run sqllogictest scripts through bkg-db's SQL path (``SqlEngine``).

Each script gets a fresh projection database.  Statements run through the engine; their
change records are also replayed on a second, empty projection with ``apply_changes``, and
at the end of the script both projections must hold the same rows, so every script checks
replay as well.  Records the engine refuses as CAPABILITY_NOT_SUPPORTED (triggers, views,
REPLACE, ...) are reported as skipped with the reason, as are later records that use an
object such a skipped statement would have created; they never count as passed.
"""

from __future__ import annotations

import hashlib
import json
import re
import sqlite3
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

from sqlglot.dialects.postgres import Postgres
from sqlglot.tokenizer_core import TokenType

from api.sql import NotSupportedError, Outcome, SqlEngine, SqlError
from projections.apply import apply_changes, ensure_internal_schema
from projections.meta import connect
from tests.sqllogictest.slt_format import HASH_LINE, Record, read_records

ENGINE_NAME = "sqlite"
_CREATES_OR_WRITES = re.compile(
    r"^\s*(?:CREATE\s+(?:TEMP\w*\s+)?(?:VIEW|TRIGGER|TABLE)\s+(?:IF\s+NOT\s+EXISTS\s+)?"
    r"|(?:INSERT|REPLACE)(?:\s+OR\s+\w+)?\s+INTO\s+|UPDATE(?:\s+OR\s+\w+)?\s+|DELETE\s+FROM\s+)"
    r"(\w+)",
    re.IGNORECASE,
)


@dataclass
class FileResult:
    """Counts for one script, with the first failures for diagnosis."""

    path: str
    files: int = 0
    passed: int = 0
    failed: int = 0
    skipped: int = 0
    failures: list[str] = field(default_factory=list)
    skip_reasons: dict[str, int] = field(default_factory=dict)

    def fail(self, record: Record, reason: str) -> None:
        """Count a failure and keep a short description of the first ones."""
        self.failed += 1
        if len(self.failures) < 20:
            first = record.sql.splitlines()[0][:100] if record.sql else ""
            self.failures.append(f"line {record.line}: {reason} [{first}]")

    def skip(self, reason: str) -> None:
        """Count a skipped record under its reason."""
        self.skipped += 1
        self.skip_reasons[reason] = self.skip_reasons.get(reason, 0) + 1


class ScriptRunner:
    """Runs one script's records on a fresh projection."""

    def __init__(self, engine: SqlEngine) -> None:
        self.engine = engine
        self.conn = _projection()
        self.replica = _projection()
        self.labels: dict[str, str] = {}
        self.unavailable: set[str] = set()

    def run(self, path: Path) -> FileResult:
        """Run every record of ``path`` and compare the replayed replica at the end."""
        result = FileResult(str(path))
        for record in read_records(path):
            if not record.applies_to(ENGINE_NAME):
                if record.kind in ("statement", "query"):
                    result.skip(f"not for {ENGINE_NAME}")
                continue
            if record.kind == "halt":
                break
            if record.kind == "hash-threshold":
                continue  # each expected result shows itself whether it is hashed
            self._run_record(record, result)
        if not self._replica_matches():
            result.failed += 1
            result.failures.append("replayed projection differs from the live one")
        return result

    def _run_record(self, record: Record, result: FileResult) -> None:
        """Run one statement or query record and count its outcome."""
        missing = self._uses_unavailable(record.sql)
        if missing:
            result.skip(f"uses {missing}, created by a skipped statement")
            return
        try:
            outcome = self._execute(record.sql)
        except NotSupportedError as exc:
            touched = _CREATES_OR_WRITES.match(record.sql)
            if touched:
                self.unavailable.add(touched.group(1).lower())
            result.skip(f"not supported: {exc.message.split('(')[0].strip()[:60]}")
            return
        except SqlError as exc:
            if record.kind == "statement" and not record.expect_ok:
                result.passed += 1
            else:
                result.fail(record, f"{exc.code}: {exc.message[:120]}")
            return
        if record.kind == "statement":
            if record.expect_ok:
                result.passed += 1
            else:
                result.fail(record, "statement succeeded, expected an error")
            return
        reason = self._check_query(record, outcome.rows)
        if reason is None:
            result.passed += 1
        else:
            result.fail(record, reason)

    def _execute(self, sql: str) -> Outcome:
        """Run a record's SQL (a script may hold several statements: run them as a batch)
        and replay the changes on the replica."""
        outcomes = [self.engine.execute(self.conn, part) for part in split_statements(sql)]
        for outcome in outcomes:
            apply_changes(self.replica, outcome.changes)
        return outcomes[-1]

    def _uses_unavailable(self, sql: str) -> str | None:
        """Name of a skipped object the SQL refers to, if any."""
        if not self.unavailable:
            return None
        words = set(re.findall(r"\w+", sql.lower()))
        return next((name for name in sorted(self.unavailable) if name in words), None)

    def _check_query(self, record: Record, rows: list[list[Any]]) -> str | None:
        """None when the rows match the record's expectation, else why not."""
        if rows and record.types and len(rows[0]) != len(record.types):
            return f"{len(rows[0])} columns, expected {len(record.types)}"
        values = sort_values(format_rows(rows, record.types), record.sort, len(record.types))
        digest = md5_of(values)
        if record.label is not None:
            seen = self.labels.setdefault(record.label, digest)
            if seen != digest:
                return f"result differs from earlier query labelled {record.label}"
        if not record.expected and record.label is not None:
            return None
        match = HASH_LINE.match(record.expected[0]) if len(record.expected) == 1 else None
        if match:
            ok = int(match.group(1)) == len(values) and match.group(2) == digest
            return None if ok else "hash mismatch"
        if record.expected == values or record.expected == _row_lines(rows, record):
            return None
        return f"got {values[:6]}... expected {record.expected[:6]}..."

    def _replica_matches(self) -> bool:
        """True when the replayed replica holds exactly the live rows of every user table."""
        names = [
            r[0]
            for r in self.conn.execute(
                "SELECT name FROM sqlite_master WHERE type = 'table' AND name LIKE '%.%'"
            )
        ]
        for name in names:
            query = f'SELECT rowid, * FROM "{name}" ORDER BY rowid'
            if self.conn.execute(query).fetchall() != self.replica.execute(query).fetchall():
                return False
        return True


def split_statements(sql: str) -> list[str]:
    """The statements of a script record, split at top-level semicolons."""
    tokens = Postgres.Tokenizer().tokenize(sql)
    cuts = [t.start for t in tokens if t.token_type == TokenType.SEMICOLON]
    parts, start = [], 0
    for cut in cuts:
        parts.append(sql[start:cut])
        start = cut + 1
    parts.append(sql[start:])
    return [p for p in parts if p.strip()] or [sql]


def _projection() -> sqlite3.Connection:
    """A fresh in-memory projection database, connected as the store connects."""
    conn = connect(":memory:")
    ensure_internal_schema(conn)
    return conn


def _row_lines(rows: list[list[Any]], record: Record) -> list[str]:
    """Rows one per line, values separated by spaces (another layout scripts use)."""
    formatted = format_rows(rows, record.types)
    if record.sort == "rowsort":
        formatted = sorted(formatted)
    return [" ".join(row) for row in formatted]


def format_value(value: Any, kind: str) -> str:
    """A value as sqllogictest prints it for column type I, R or T."""
    if value is None:
        return "NULL"
    if isinstance(value, bool):
        value = int(value)
    if kind == "I":
        return str(_as_int(value))
    if kind == "R":
        number = _as_float(value)
        if abs(number) >= 1e15:
            return f"{Decimal(format(number, '.16g')):.3f}"
        return f"{number:.3f}"
    text = value if isinstance(value, str) else _as_text(value)
    if text == "":
        return "(empty)"
    return "".join(c if " " <= c <= "~" else "@" for c in text)


def _as_int(value: Any) -> int:
    """SQLite's sqlite3_column_int of a value."""
    if isinstance(value, int | float):
        return int(value)
    match = re.match(r"\s*[-+]?\d+", str(value))
    return int(match.group(0)) if match else 0


def _as_float(value: Any) -> float:
    """SQLite's sqlite3_column_double of a value."""
    if isinstance(value, int | float):
        return float(value)
    match = re.match(r"\s*[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?", str(value))
    return float(match.group(0)) if match else 0.0


def _as_text(value: Any) -> str:
    """SQLite's text rendering of a non-text value."""
    if isinstance(value, float):
        return repr(value) if value != int(value) or abs(value) >= 1e15 else f"{value:.1f}"
    if isinstance(value, bytes):
        return value.decode("utf-8", errors="replace")
    if isinstance(value, dict | list):
        return json.dumps(value, separators=(",", ":"))
    return str(value)


def format_rows(rows: list[list[Any]], types: str) -> list[list[str]]:
    """Rows as sqllogictest strings, column types cycling over ``types``."""
    kinds = types or "T"
    return [[format_value(v, kinds[i % len(kinds)]) for i, v in enumerate(row)] for row in rows]


def sort_values(rows: list[list[str]], mode: str, width: int) -> list[str]:
    """Values in the order a record's sort mode asks for, flattened."""
    if mode == "rowsort":
        rows = sorted(rows)
    values = [v for row in rows for v in row]
    return sorted(values) if mode == "valuesort" else values


def md5_of(values: list[str]) -> str:
    """The sqllogictest hash: MD5 of every value followed by a newline."""
    return hashlib.md5("".join(v + "\n" for v in values).encode()).hexdigest()


def run_file(path: Path, engine: SqlEngine | None = None) -> FileResult:
    """Run one script on a fresh projection."""
    return ScriptRunner(engine or SqlEngine()).run(path)
