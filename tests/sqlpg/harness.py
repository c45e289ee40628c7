"""Differential harness: the corpus of everyday statements on bkg-db and on PostgreSQL 15.

Each corpus file ``corpus/<group>.sql`` holds cases introduced by ``-- case: <name>``; a
case is a list of statements, each ending with ``;`` at the end of a line (a ``;`` inside a
``$$``-quoted body does not end one). Every group runs on a fresh embedded bkg-db
``Database`` (admin, namespace ``public``) and on a fresh database of a temporary PostgreSQL
cluster, case after case in file order, so a group's cases use distinct object names.

Every statement's outcome is compared; a case is equal when all of them are. Outcomes are
normalised as written in docs/sql.md ("Differential corpus"):

- an error equals an error with the same SQLSTATE; an error never equals a success;
- ``INSERT``/``UPDATE``/``DELETE`` without ``RETURNING`` compare their row counts;
- statements returning rows compare column names (exactly), column types (by category:
  ``int`` for int2/4/8, ``number`` for numeric/float4/float8, ``text`` for text/varchar/
  char/name/uuid and enum types, ``json`` for json/jsonb, then ``bool``, ``timestamp``,
  ``timestamptz``, ``date``, ``time``, ``interval``, ``bytea``, ``array``, other types by
  name; a bkg-db
  column whose type the engine does not report takes the category of its values, and a
  column of NULLs only matches any type), and rows: numbers are compared to 12 significant
  digits, timestamps as UTC ``YYYY-MM-DD HH:MM:SS[.ffffff]``, intervals as Postgres's text
  output, uuids as text; rows are compared in order when the statement has a top-level
  ``ORDER BY`` and as multisets otherwise.
"""

from __future__ import annotations

import datetime
import decimal
import json
import re
import tempfile
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psycopg
import sqlglot
from psycopg.adapt import Loader
from sqlglot import exp

from api.database import Database
from api.datadir import DataDir
from api.initialise import initialise
from api.sql import SqlError
from api.sql.typemap import family_of

CORPUS = Path(__file__).parent / "corpus"
DIFFERENCES = Path(__file__).parent / "differences.json"
GROUPS = (
    "plain",
    "views",
    "series",
    "dates",
    "strings",
    "aggregates",
    "ddl",
    "enums",
    "arrays",
    "jsonb",
    "sequences",
    "functions",
    "fts",
)
_CASE = re.compile(r"^--\s*case:\s*(\S+)\s*$", re.MULTILINE)
_ROW_COUNTED = re.compile(r"^\s*(INSERT|UPDATE|DELETE)\b", re.IGNORECASE)
_CATEGORIES = {
    **dict.fromkeys(("int2", "int4", "int8", "integer"), "int"),
    **dict.fromkeys(("numeric", "float4", "float8", "real"), "number"),
    **dict.fromkeys(("text", "varchar", "bpchar", "name", "uuid", "unknown"), "text"),
    **dict.fromkeys(("json", "jsonb"), "json"),
    "bool": "bool",
    "boolean": "bool",
}


@dataclass(frozen=True)
class Case:
    """One script of the corpus."""

    group: str
    name: str
    statements: tuple[str, ...]

    @property
    def key(self) -> str:
        return f"{self.group}/{self.name}"


@dataclass
class Outcome:
    """A statement's normalised outcome on one side."""

    error: str | None = None
    message: str = ""
    columns: list[str] | None = None
    types: list[str | None] = field(default_factory=list)
    rows: list[tuple[Any, ...]] = field(default_factory=list)
    rowcount: int | None = None


@dataclass(frozen=True)
class CaseResult:
    """Whether a case gave PostgreSQL's answer, and the first difference if not."""

    case: Case
    difference: str | None

    @property
    def equal(self) -> bool:
        return self.difference is None


def load_corpus(groups: tuple[str, ...] = GROUPS) -> list[Case]:
    """Every case of the corpus, group by group in file order."""
    cases: list[Case] = []
    for group in groups:
        text = (CORPUS / f"{group}.sql").read_text()
        parts = _CASE.split(text)
        for name, body in zip(parts[1::2], parts[2::2], strict=True):
            cases.append(Case(group, name, tuple(split_statements(body))))
    return cases


def split_statements(body: str) -> list[str]:
    """Statements of a case: a line ending with ``;`` outside ``$$`` ends one."""
    statements: list[str] = []
    current: list[str] = []
    quoted = False
    for line in body.splitlines():
        if not current and (not line.strip() or line.lstrip().startswith("--")):
            continue
        current.append(line)
        quoted ^= line.count("$$") % 2 == 1
        if not quoted and line.rstrip().endswith(";"):
            statements.append("\n".join(current).rstrip().rstrip(";").strip())
            current = []
    if current and "\n".join(current).strip():
        statements.append("\n".join(current).strip())
    return statements


class _IntervalText(Loader):
    """Intervals as Postgres's text output (a timedelta would lose months)."""

    def load(self, data: Any) -> str:
        return bytes(data).decode()


@contextmanager
def postgres_side() -> Iterator[Any]:
    """A temporary PostgreSQL 15 cluster; yields a factory of per-group connections."""
    from bench.peers.pgcluster import temporary_postgres

    with temporary_postgres() as cluster:

        def connect(group: str) -> psycopg.Connection[Any]:
            with psycopg.connect(cluster.conninfo, autocommit=True) as admin:
                admin.execute(f'DROP DATABASE IF EXISTS "{group}"')
                admin.execute(f'CREATE DATABASE "{group}"')
            conn = psycopg.connect(
                cluster.conninfo.replace("dbname=postgres", f"dbname={group}"),
                autocommit=True,
                options="-c TimeZone=UTC -c DateStyle=ISO,MDY -c IntervalStyle=postgres",
            )
            conn.adapters.register_loader("interval", _IntervalText)
            return conn

        yield connect


def run_postgres(conn: psycopg.Connection[Any], sql: str) -> Outcome:
    """One statement on PostgreSQL."""
    try:
        cursor = conn.execute(sql.encode())  # bytes: no client-side placeholder parsing
    except psycopg.Error as exc:
        return Outcome(error=exc.sqlstate or "?", message=str(exc).splitlines()[0])
    if cursor.description is None:
        return Outcome(rowcount=cursor.rowcount)
    types = [_pg_category(conn, column.type_code) for column in cursor.description]
    rows = [tuple(_value(v) for v in row) for row in cursor.fetchall()]
    return Outcome(columns=[c.name for c in cursor.description], types=list(types), rows=rows)


def _pg_category(conn: psycopg.Connection[Any], oid: int) -> str:
    """The normalised category of a PostgreSQL result type."""
    info = conn.adapters.types.get(oid)
    if info is None:
        row = conn.execute(b"SELECT typtype FROM pg_type WHERE oid = %s", [oid]).fetchone()
        return "text" if row is not None and row[0] == "e" else str(oid)
    name = info.name
    if oid == info.array_oid:  # the registry answers an array's oid with its element's info
        return "array"
    if name.startswith("_") or (info is not None and info.array_oid == 0 and name.endswith("]")):
        return "array"
    if info is not None and getattr(info, "element_oid", None) is not None:
        return "array"
    return _CATEGORIES.get(name, name)


def run_bkg(db: Database, sql: str) -> Outcome:
    """One statement on bkg-db's embedded engine."""
    try:
        result = db.execute(sql)
    except SqlError as exc:
        return Outcome(error=exc.sqlstate, message=exc.message)
    if not result.columns:
        return Outcome(rowcount=result.rowcount)
    declared = result.types or (None,) * len(result.columns)
    families = [family_of(t) or (t if t in _WITHOUT_FAMILY else None) for t in declared]
    types = [_bkg_category(f, [row[i] for row in result.rows]) for i, f in enumerate(families)]
    rows = [
        tuple(_value(_bkg_value(v, types[i])) for i, v in enumerate(row)) for row in result.rows
    ]
    return Outcome(columns=list(result.columns), types=types, rows=rows)


_WITHOUT_FAMILY = ("interval", "tsvector", "tsquery")
"""Types the engine reports for results though no column stores them (their own category)."""
_FAMILIES = {"integer": "int", "real": "number", "boolean": "bool", "uuid": "text"}


def _bkg_category(family: str | None, values: list[Any]) -> str | None:
    """The category of a bkg-db column: its family, else that of its values."""
    if family is not None:
        return _FAMILIES.get(family, family)
    for value in values:
        if value is None:
            continue
        if isinstance(value, bool):
            return "bool"
        if isinstance(value, int):
            return "int"
        if isinstance(value, float | decimal.Decimal):
            return "number"
        if isinstance(value, dict | list):
            return "json"
        if isinstance(value, bytes):
            return "bytea"
        return "text"
    return None


def _bkg_value(value: Any, category: str | None) -> Any:
    """Typed text of a bkg-db value whose category says it is a date or timestamp."""
    if not isinstance(value, str) or category not in ("timestamp", "timestamptz", "date"):
        return value
    try:
        parsed = datetime.datetime.fromisoformat(value)
    except ValueError:
        return value
    return parsed.date() if category == "date" else parsed


def _value(value: Any) -> Any:
    """A comparable form of a value from either side."""
    if isinstance(value, bool) or value is None or isinstance(value, str | int):
        return value
    if isinstance(value, float | decimal.Decimal):
        return float(f"{float(value):.12g}")
    if isinstance(value, datetime.datetime):
        if value.tzinfo is not None:
            value = value.astimezone(datetime.UTC).replace(tzinfo=None)
        return value.isoformat(sep=" ")
    if isinstance(value, datetime.date | datetime.time):
        return value.isoformat()
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, bytes | memoryview):
        return bytes(value).hex()
    if isinstance(value, dict | list):
        return json.dumps(_json(value), sort_keys=True)
    return repr(value)


def _json(value: Any) -> Any:
    """JSON with numbers normalised like scalars."""
    if isinstance(value, dict):
        return {k: _json(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_json(v) for v in value]
    if isinstance(value, float | decimal.Decimal) and not isinstance(value, bool):
        number = float(f"{float(value):.12g}")
        return int(number) if number.is_integer() else number
    return value


def ordered(sql: str) -> bool:
    """Whether row order is defined: a top-level ORDER BY."""
    try:
        tree = sqlglot.parse_one(sql, read="postgres")
    except Exception:
        return bool(re.search(r"order\s+by", sql, re.IGNORECASE))
    return isinstance(tree, exp.Query) and tree.args.get("order") is not None


def compare(sql: str, ours: Outcome, theirs: Outcome) -> str | None:
    """None when the outcomes agree, else a short description of the first difference."""
    if ours.error or theirs.error:
        if ours.error == theirs.error:
            return None
        mine = f"error {ours.error} ({ours.message})" if ours.error else "success"
        pg = f"error {theirs.error} ({theirs.message})" if theirs.error else "success"
        return f"bkg-db {mine}, PostgreSQL {pg}"
    if theirs.columns is None or ours.columns is None:
        if theirs.columns is not None or ours.columns is not None:
            return "one side returned rows, the other did not"
        if _ROW_COUNTED.match(sql) and ours.rowcount != theirs.rowcount:
            return f"row count {ours.rowcount} != {theirs.rowcount}"
        return None
    if ours.columns != theirs.columns:
        return f"columns {ours.columns} != {theirs.columns}"
    for name, mine, pg in zip(theirs.columns, ours.types, theirs.types, strict=True):
        if mine is not None and mine != pg:
            return f"type of {name}: {mine} != {pg}"
    left, right = ours.rows, theirs.rows
    if not ordered(sql):
        left, right = sorted(left, key=repr), sorted(right, key=repr)
    if left != right:
        return f"rows {_short(left)} != {_short(right)}"
    return None


def _short(rows: list[tuple[Any, ...]]) -> str:
    text = repr([list(r) for r in rows])
    return text if len(text) <= 120 else text[:117] + "..."


def run_group(
    group: str, cases: list[Case], pg: psycopg.Connection[Any], root: Path
) -> list[CaseResult]:
    """Run a group's cases on a fresh bkg-db database and the given PostgreSQL database."""
    initialise(DataDir(root / group), 1 << 22)
    results: list[CaseResult] = []
    with Database.open(root / group) as db:
        for case in cases:
            difference = None
            for number, sql in enumerate(case.statements, 1):
                found = compare(sql, run_bkg(db, sql), run_postgres(pg, sql))
                if found is not None and difference is None:
                    difference = f"statement {number} `{_first_line(sql)}`: {found}"
            results.append(CaseResult(case, difference))
    return results


def _first_line(sql: str) -> str:
    line = " ".join(sql.split())
    return line if len(line) <= 60 else line[:57] + "..."


def run_corpus(groups: tuple[str, ...] = GROUPS) -> list[CaseResult]:
    """The whole corpus (or some groups) on both engines."""
    cases = load_corpus(groups)
    results: list[CaseResult] = []
    with postgres_side() as connect, tempfile.TemporaryDirectory() as scratch:
        for group in groups:
            with connect(group) as pg:
                mine = [c for c in cases if c.group == group]
                results.extend(run_group(group, mine, pg, Path(scratch)))
    return results


def expected_differences() -> dict[str, str]:
    """Cases known to differ today, with the reason (``differences.json``)."""
    if not DIFFERENCES.exists():
        return {}
    data: dict[str, str] = json.loads(DIFFERENCES.read_text())
    return data
