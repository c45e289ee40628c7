"""``SqlEngine``: run one Postgres-dialect statement on a projection connection.

The caller owns the transaction.  Every write runs inside a SAVEPOINT, so a failing
statement changes nothing, and returns its effects as change records (payload contract)
ready to be logged; replaying them with ``projections.apply.apply_changes`` reproduces the
state exactly.
"""

from __future__ import annotations

import contextlib
import functools
import sqlite3
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any, cast

from sqlglot import exp

from api.sql import binding
from api.sql.binding import bind
from api.sql.bounded import UNLIMITED, ResultLimits, fetch_bounded
from api.sql.capture import (
    collect,
    ensure_capture,
    inserted,
    pin_sequence,
    sequence_value,
)
from api.sql.catalog import Catalog, TableDef
from api.sql.ddl import plan_ddl
from api.sql.ddl_ctas import SAMPLE_ROWS, check_options, plan_create_table_as
from api.sql.ddl_function import plan_create_function
from api.sql.ddl_view import plan_create_view
from api.sql.errors import ConflictError, with_sqlstate
from api.sql.functions import FunctionDef
from api.sql.inline import inline
from api.sql.lru import LRU
from api.sql.parse import Parsed, Parser, StatementInfo
from api.sql.plan import ReadPlan
from api.sql.results import typed_rows
from api.sql.sqlite_errors import translate_error
from api.sql.translate import Translated, translate
from projections.apply import DEFAULT_NAMESPACE, apply_ddl
from projections.tracing import span

Rewrite = Callable[[exp.Expression, StatementInfo], exp.Expression]
Params = binding.Params
"""A statement's parameters: a list for ``$1``.., a mapping for ``:name`` (see ``binding``)."""
_SAVEPOINT = "bkg_stmt"


@dataclass
class Outcome:
    """Result of one statement: typed rows for the client, changes for the log."""

    columns: list[str]
    rows: list[list[Any]]
    rowcount: int
    changes: list[dict[str, Any]] = field(default_factory=list)
    statement: dict[str, Any] = field(default_factory=dict)
    is_write: bool = False
    is_ddl: bool = False
    tables: list[str] = field(default_factory=list)
    target: str | None = None
    """The table a DML statement writes (its own changes are those on this table; others
    come from foreign-key actions)."""
    types: tuple[str | None, ...] | None = None
    """Declared type of each result column where known (the wire protocol's column types;
    its family is `typemap.family_of`)."""


class SqlEngine:
    """Parses (with an LRU cache), translates and runs statements; one per process is enough."""

    def __init__(self, cache_size: int = 1024) -> None:
        self._parser = Parser(cache_size)
        self._translations: LRU[tuple[object, ...], Translated] = LRU(cache_size)

    @property
    def parse_count(self) -> int:
        """How many statements were actually parsed (cache misses)."""
        return self._parser.parses

    def analyse(self, sql: str, namespace: str = DEFAULT_NAMESPACE) -> StatementInfo:
        """Classify a statement without running it; raises SqlError for refused ones."""
        return self._parser.parse(sql, namespace).info

    def check_read_only(self, sql: str, namespace: str = DEFAULT_NAMESPACE) -> bool:
        """True when the statement only reads, so it may run on a snapshot connection."""
        return not self.analyse(sql, namespace).is_write

    def is_write(self, sql: str, namespace: str = DEFAULT_NAMESPACE) -> bool:
        """True when the statement must go through the serialised writer (DML or DDL)."""
        return self.analyse(sql, namespace).is_write

    def functions(self, conn: sqlite3.Connection, namespace: str) -> list[FunctionDef]:
        """The SQL functions of ``namespace`` by name: arguments, return type, volatility;
        ``FunctionDef.call_sql()`` is a statement calling one with named parameters."""
        found = Catalog.load(conn).functions.values()
        return sorted((f for f in found if f.schema == namespace), key=lambda f: f.name)

    def execute(
        self,
        conn: sqlite3.Connection,
        sql: str,
        params: Params = None,
        namespace: str = DEFAULT_NAMESPACE,
        rewrite: Rewrite | None = None,
        limits: ResultLimits = UNLIMITED,
        catalog: Catalog | None = None,
    ) -> Outcome:
        """Run one statement on ``conn``; raises SqlError subclasses, changing nothing.
        A result larger than ``limits`` raises ``LimitExceededError`` while it is fetched.
        ``catalog``, when given, is the one ``conn`` sees (a snapshot's, read once per
        read transaction); otherwise it is loaded from ``conn``."""
        parsed = self._parser.parse(sql, namespace)
        info = parsed.info
        if catalog is None:
            catalog = Catalog.load(conn)
        tables = list(info.tables)
        if info.is_ddl:
            return self._run_ddl(conn, parsed, catalog, rewrite, tables)
        translated = self._translation(sql, parsed, catalog, rewrite)
        if not info.is_write:
            columns, typed = ReadPlan(translated, catalog).run(conn, params, limits)
            return Outcome(
                columns,
                typed,
                len(typed),
                statement={"sql": sql},
                tables=tables,
                types=translated.types,
            )
        bindings = bind(params, translated)
        return self._run_dml(conn, sql, translated, bindings, catalog, tables, limits)

    def read_plan(
        self, sql: str, namespace: str, rewrite: Rewrite | None, catalog: Catalog
    ) -> ReadPlan | None:
        """The plan of a read statement under ``catalog`` (see ``api.sql.plan``), or None
        when the statement writes (DML, DDL, a sequence step); raises SqlError subclasses
        for statements refused or wrong, as ``execute`` would."""
        parsed = self._parser.parse(sql, namespace)
        if parsed.info.is_write:
            return None
        return ReadPlan(self._translation(sql, parsed, catalog, rewrite), catalog)

    def _translation(
        self, sql: str, parsed: Parsed, catalog: Catalog, rewrite: Rewrite | None
    ) -> Translated:
        """Translated statement; cached per (text, namespace, catalogue) and, for a rewrite,
        per its ``cache_key`` (everything the rewrite depends on); a rewrite without a
        ``cache_key`` is applied afresh every time. Only work done is a span (a cache hit
        is a lookup, not worth a span's cost)."""
        info = parsed.info
        rewrite_key: object = () if rewrite is None else getattr(rewrite, "cache_key", None)
        if rewrite is not None and rewrite_key is None:
            with span("sql.rls_rewrite"):
                expanded = inline(parsed.expression.copy(), info.namespace, catalog)
                return translate(rewrite(expanded, info), info, catalog)
        key = (sql, info.namespace, catalog.token, rewrite_key)
        cached = self._translations.get(key)
        if cached is None:
            with span("sql.rls_rewrite" if rewrite is not None else "sql.translate"):
                expression = inline(parsed.expression.copy(), info.namespace, catalog)
                if rewrite is not None:
                    expression = rewrite(expression, info)
                cached = translate(expression, info, catalog)
            self._translations.put(key, cached)
        return cached

    def _run_dml(
        self,
        conn: sqlite3.Connection,
        sql: str,
        translated: Translated,
        bindings: dict[str, Any] | tuple[Any, ...],
        catalog: Catalog,
        tables: list[str],
        limits: ResultLimits,
    ) -> Outcome:
        """Run a DML statement in a savepoint, capturing its row images."""
        target = translated.target
        if translated.images_sql is not None and target is not None:
            return self._run_insert(conn, sql, translated, bindings, target, tables)
        with span("sql.execute", {"db.operation": "DML"}), _savepoint(conn):
            position = ensure_capture(conn, catalog)
            pins = translated.pins_sequence and target is not None
            sequence = sequence_value(conn, target) if pins and target else None
            cursor = conn.execute(translated.sql, bindings)
            rows = fetch_bounded(cursor, limits)
            columns = [d[0] for d in cursor.description or []]
            rowcount = len(rows) if columns else cursor.rowcount
            changes = collect(conn, catalog, position)
            if pins and target is not None:
                pin_sequence(conn, target, sequence, changes)
        typed = typed_rows(rows, translated.families)
        return Outcome(
            columns,
            typed,
            rowcount,
            changes,
            {"sql": sql},
            is_write=True,
            tables=tables,
            target=target.name if target is not None else None,
            types=translated.types,
        )

    def _run_insert(
        self,
        conn: sqlite3.Connection,
        sql: str,
        translated: Translated,
        bindings: dict[str, Any] | tuple[Any, ...],
        target: TableDef,
        tables: list[str],
    ) -> Outcome:
        """A single-row INSERT that returns its own row image (`capture.images_statement`).
        One statement is atomic in SQLite, so it needs no savepoint: if it fails, it changed
        nothing (an interrupt ends the whole transaction, which the caller sees)."""
        with span("sql.execute", {"db.operation": "DML"}):
            try:
                rows = conn.execute(cast(str, translated.images_sql), bindings).fetchall()
            except sqlite3.Error as exc:
                raise translate_error(exc) from exc
        return Outcome(
            [],
            [],
            len(rows),
            [inserted(target, row) for row in rows],
            {"sql": sql},
            is_write=True,
            tables=tables,
            target=target.name,
            types=translated.types,
        )

    def _run_ddl(
        self,
        conn: sqlite3.Connection,
        parsed: Parsed,
        catalog: Catalog,
        rewrite: Rewrite | None,
        tables: list[str],
    ) -> Outcome:
        """Plan a DDL statement and apply its changes the way replay will."""
        statement = parsed.expression.copy()
        if rewrite is not None:
            statement = rewrite(statement, parsed.info)
        kind = str(statement.args.get("kind")).upper()
        describe = functools.partial(_describe, conn, parsed.info.namespace)
        if isinstance(statement, exp.Create) and kind == "VIEW":
            changes = plan_create_view(statement, parsed.info, catalog, describe)
        elif isinstance(statement, exp.Create) and kind == "FUNCTION":
            changes = plan_create_function(statement, parsed.info, catalog, describe)
        elif isinstance(statement, exp.Create) and isinstance(statement.expression, exp.Query):
            return self._create_table_as(conn, statement, parsed.info, catalog, tables)
        else:
            changes = plan_ddl(statement, parsed.info, catalog)
        with _savepoint(conn):
            for change in changes:
                apply_ddl(conn, change)
        logged = changes[0]["sql"] if changes else statement.sql("postgres")
        return Outcome(
            [], [], 0, changes, {"sql": logged}, is_write=True, is_ddl=True, tables=tables
        )

    def _create_table_as(
        self,
        conn: sqlite3.Connection,
        statement: exp.Create,
        info: StatementInfo,
        catalog: Catalog,
        tables: list[str],
    ) -> Outcome:
        """CREATE TABLE name AS query: a create_table change typed by the query's result,
        then the rows as an INSERT ... SELECT (row images), in one savepoint."""
        check_options(statement)
        name = info.target or ""
        if catalog.relation_exists(name):
            if statement.args.get("exists"):
                return Outcome([], [], 0, [], {"sql": ""}, is_write=True, is_ddl=True)
            raise with_sqlstate(ConflictError(f"relation {name} already exists"), "42P07")
        query = statement.expression.copy()
        select = StatementInfo("select", None, info.tables_read, info.namespace)
        translated = translate(inline(query.copy(), info.namespace, catalog), select, catalog)
        cursor = _run(conn, f"SELECT * FROM ({translated.sql}) LIMIT {SAMPLE_ROWS}", ())
        sample = _fetch(cursor, UNLIMITED)
        columns = [d[0] for d in cursor.description or []]
        change = plan_create_table_as(name, columns, translated.types, sample)
        with _savepoint(conn):
            apply_ddl(conn, change)
            insert = f"INSERT INTO {name} SELECT * FROM ({query.sql('postgres')}) AS _q"
            filled = self.execute(conn, insert, namespace=info.namespace)
        return Outcome(
            [],
            [],
            filled.rowcount,
            [change, *filled.changes],
            {"sql": change["sql"]},
            is_write=True,
            is_ddl=True,
            tables=tables,
        )


def _describe(
    conn: sqlite3.Connection, namespace: str, query: exp.Expr, catalog: Catalog
) -> list[str]:
    """Output column names of a query (a view's), checked by preparing it on ``conn``."""
    info = StatementInfo("select", None, (), namespace)
    expanded = inline(cast(exp.Expression, query), namespace, catalog)
    translated = translate(expanded, info, catalog)
    cursor = _run(conn, f"SELECT * FROM ({translated.sql}) LIMIT 0", ())
    return [d[0] for d in cursor.description or []]


def _run(
    conn: sqlite3.Connection, sql: str, bindings: dict[str, Any] | tuple[Any, ...]
) -> sqlite3.Cursor:
    """Execute a read, mapping SQLite errors."""
    try:
        return conn.execute(sql, bindings)
    except sqlite3.Error as exc:
        raise translate_error(exc) from exc


def _fetch(cursor: sqlite3.Cursor, limits: ResultLimits) -> list[tuple[Any, ...]]:
    """A read's rows within ``limits``, mapping SQLite errors raised while stepping."""
    try:
        return fetch_bounded(cursor, limits)
    except sqlite3.Error as exc:
        raise translate_error(exc) from exc


@contextlib.contextmanager
def _savepoint(conn: sqlite3.Connection) -> Iterator[None]:
    """Run a write so that, if it fails, everything it did is undone (SQLite errors mapped).

    An interrupted write makes SQLite roll back the whole transaction itself (savepoints
    included); there is then nothing left to roll back here, and the caller, who owns the
    transaction, sees it ended."""
    conn.execute(f"SAVEPOINT {_SAVEPOINT}")
    try:
        yield
    except BaseException as exc:
        if conn.in_transaction:
            conn.execute(f"ROLLBACK TO {_SAVEPOINT}")
            conn.execute(f"RELEASE {_SAVEPOINT}")
        if isinstance(exc, sqlite3.Error):
            raise translate_error(exc) from exc
        raise
    conn.execute(f"RELEASE {_SAVEPOINT}")
