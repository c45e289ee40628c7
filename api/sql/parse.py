"""Parse one Postgres statement, refuse what is forbidden and classify what is left.

Parsing is the expensive step of a short statement, so ``Parser.parse`` keeps an LRU cache
of parsed and analysed statements keyed by (text, namespace).  Cached expressions are
shared and must never be mutated: callers work on ``.copy()``.
"""

from __future__ import annotations

import functools
import logging
import re
from dataclasses import dataclass

import sqlglot
from sqlglot import exp
from sqlglot.errors import ParseError, TokenError

from api.sql.errors import BadRequestError, ForbiddenError, NotSupportedError, SqlSyntaxError
from api.sql.functions import read_setof
from api.sql.limits import check_text, check_tree, guarded
from api.sql.lru import LRU
from api.sql.reader import BkgPostgres
from projections.tracing import span

_LEADING_COMMENTS = r"^\s*(?:--[^\n]*\n\s*|/\*.*?\*/\s*)*"
_FORBIDDEN_START = re.compile(
    _LEADING_COMMENTS + r"(PRAGMA|ATTACH|DETACH|VACUUM)\b", re.IGNORECASE | re.DOTALL
)
_UNSUPPORTED_START = re.compile(
    _LEADING_COMMENTS
    + r"((?:CREATE\s+(?:TEMP\s+|TEMPORARY\s+)?|DROP\s+)(?:TRIGGER|VIRTUAL\s+TABLE)"
    + r"|CREATE\s+(?:OR\s+REPLACE\s+)?(?:TEMP|TEMPORARY)\s+VIEW"
    + r"|REPLACE\s+INTO|REINDEX|ANALYZE)\b",
    re.IGNORECASE | re.DOTALL,
)
_FORBIDDEN_FUNCTIONS = frozenset({"load_extension", "fts3_tokenizer", "readfile", "writefile"})
_FORBIDDEN_PREFIXES = ("sqlite_", "_bkg", "pragma_")
# sqlglot logs a warning whenever it falls back to an opaque Command; such statements are
# refused with an error of their own, so the warning is noise.
logging.getLogger("sqlglot").setLevel(logging.ERROR)
_DML = {exp.Insert: "insert", exp.Update: "update", exp.Delete: "delete"}
_SEQUENCE_STEPS = ("nextval", "setval")


@dataclass(frozen=True)
class StatementInfo:
    """What a statement is: ``kind`` is select/insert/update/delete/ddl, or call (a query that
    steps a sequence, so it writes); names are logical."""

    kind: str
    target: str | None
    tables_read: tuple[str, ...]
    namespace: str

    @functools.cached_property
    def tables(self) -> tuple[str, ...]:
        """Every logical table the statement touches, target first."""
        return tuple(dict.fromkeys([*([self.target] if self.target else []), *self.tables_read]))

    @property
    def is_write(self) -> bool:
        """True for DML and DDL: the statement must go through the serialised writer."""
        return self.kind != "select"

    @property
    def is_ddl(self) -> bool:
        """True for schema changes."""
        return self.kind == "ddl"


@dataclass(frozen=True)
class Parsed:
    """A parsed statement (shared, read-only) and its analysis."""

    expression: exp.Expression
    info: StatementInfo


def logical_name(table: exp.Table, namespace: str) -> str:
    """The logical ``ns.name`` of a table reference; unqualified names use ``namespace``."""
    if table.catalog:
        raise NotSupportedError("three-part table names are not supported")
    schema, name = (table.db or namespace).lower(), table.name.lower()
    if "." in schema or "." in name:
        raise BadRequestError("schema and table names may not contain '.'")
    return f"{schema}.{name}"


def cte_names(expression: exp.Expr) -> set[str]:
    """Names bound by WITH clauses anywhere in the statement."""
    return {cte.alias_or_name.lower() for cte in expression.find_all(exp.CTE)}


def table_refs(expression: exp.Expr) -> list[exp.Table]:
    """Table references to real tables (CTE references excluded)."""
    ctes = cte_names(expression)
    return [
        t
        for t in expression.find_all(exp.Table)
        if t.name and not (not t.db and t.name.lower() in ctes)
    ]


class Parser:
    """Parses, checks and classifies statements, with an LRU cache."""

    def __init__(self, cache_size: int = 1024) -> None:
        self._cache: LRU[tuple[str, str], Parsed] = LRU(cache_size)
        self.parses = 0

    def parse(self, sql: str, namespace: str) -> Parsed:
        """The parsed statement; raises SqlError subclasses for refused statements. A parse
        (not a cache hit) is a span of the current trace."""
        key = (sql, namespace)
        cached = self._cache.get(key)
        if cached is not None:
            return cached
        with span("sql.parse"):
            parsed = self._analyse(sql, namespace)
        self._cache.put(key, parsed)
        return parsed

    def _analyse(self, sql: str, namespace: str) -> Parsed:
        """Parse without the cache; input limits are checked before sqlglot runs."""
        check_text(sql)
        match = _FORBIDDEN_START.match(sql)
        if match:
            raise ForbiddenError(f"{match.group(1).upper()} is not allowed")
        match = _UNSUPPORTED_START.match(sql)
        if match:
            construct = " ".join(match.group(1).upper().split())
            raise NotSupportedError(f"{construct} is not supported")
        expression = guarded(lambda: _parse_one(read_setof(sql)))
        self.parses += 1
        check_tree(expression)
        _check_forbidden(expression)
        expression = _normalise(expression)
        return Parsed(expression, classify(expression, namespace))


def _parse_one(sql: str) -> exp.Expression:
    """Exactly one statement, or a SqlError."""
    try:
        statements = [s for s in sqlglot.parse(sql, read=BkgPostgres) if s is not None]
    except ParseError as exc:
        first = exc.errors[0] if exc.errors else {}
        detail = {"line": first.get("line"), "col": first.get("col")}
        reason = first.get("description", "invalid statement")
        raise SqlSyntaxError(
            f"syntax error at line {detail['line']}, column {detail['col']}: {reason}", detail
        ) from exc
    except TokenError as exc:
        raise SqlSyntaxError(f"syntax error: {exc}") from exc
    if not statements:
        raise BadRequestError("empty statement")
    if len(statements) > 1:
        raise ForbiddenError("several statements in one string; send them as a batch")
    statement = statements[0]
    if not isinstance(statement, exp.Expression):
        raise NotSupportedError("statement is not supported")
    return statement


def _check_forbidden(expression: exp.Expr) -> None:
    """Refuse system tables, internal tables and dangerous functions anywhere in the tree."""
    for table in expression.find_all(exp.Table):
        for part in (table.name, table.db, table.catalog):
            if part and part.lower().startswith(_FORBIDDEN_PREFIXES):
                raise ForbiddenError(f"access to {part} is not allowed")
    for func in expression.find_all(exp.Anonymous):
        name = func.name.lower()
        if name in _FORBIDDEN_FUNCTIONS or name.startswith(_FORBIDDEN_PREFIXES):
            raise ForbiddenError(f"function {name} is not allowed")


def _normalise(expression: exp.Expression) -> exp.Expression:
    """Postgres and SQLite spellings with a direct equivalent, rewritten before anyone
    (classification, row-level security) looks at the statement."""
    _expand_in_table(expression)
    while isinstance(expression, exp.Subquery) and not expression.alias:
        inner = expression.this
        if not isinstance(inner, exp.Expression):
            break
        expression = inner  # "(SELECT 1)" is a statement too
    for select in expression.find_all(exp.Select):
        select.set("locks", None)  # one serialised writer: FOR UPDATE/SHARE locks nothing more
    if isinstance(expression, exp.TruncateTable):
        tables = expression.expressions
        if len(tables) != 1 or expression.args.get("identity") or expression.args.get("option"):
            raise NotSupportedError("TRUNCATE of several tables or with options is not supported")
        return exp.Delete(this=tables[0])
    return expression


def _expand_in_table(expression: exp.Expr) -> None:
    """SQLite's ``x IN table`` -> ``x IN (SELECT * FROM table)``, so every reader sees it."""
    for node in list(expression.find_all(exp.In)):
        field = node.args.get("field")
        if isinstance(field, exp.Column):
            table = exp.Table(this=field.this.copy(), db=field.args.get("table"))
            node.set("field", None)
            node.set("query", exp.select("*").from_(table).subquery())


def classify(expression: exp.Expression, namespace: str) -> StatementInfo:
    """Kind, target and tables read of a statement; refuses statements we do not run."""
    if isinstance(expression, exp.Pragma):
        raise ForbiddenError("PRAGMA is not allowed")
    for cte in expression.find_all(exp.CTE):
        if isinstance(cte.this, exp.Insert | exp.Update | exp.Delete):
            raise NotSupportedError("data-modifying statements in WITH are not supported")
    reads = tuple(dict.fromkeys(logical_name(t, namespace) for t in table_refs(expression)))
    if isinstance(expression, exp.Query | exp.Values):
        # nextval/setval step a sequence: a write, run by the writer and logged.
        steps = any(f.name.lower() in _SEQUENCE_STEPS for f in expression.find_all(exp.Anonymous))
        return StatementInfo("call" if steps else "select", None, reads, namespace)
    kind = _DML.get(type(expression))
    if kind is not None and expression.args.get("alternative") == "REPLACE":
        raise NotSupportedError("INSERT OR REPLACE is not supported (use ON CONFLICT DO UPDATE)")
    if kind is not None:
        target = expression.this
        if isinstance(target, exp.Schema):
            target = target.this
        if not isinstance(target, exp.Table):
            raise NotSupportedError(f"{kind.upper()} target must be a table")
        return StatementInfo(kind, logical_name(target, namespace), reads, namespace)
    if isinstance(expression, exp.Create | exp.Drop | exp.Alter):
        return StatementInfo("ddl", _ddl_target(expression, namespace), reads, namespace)
    if isinstance(expression, exp.Condition):
        raise SqlSyntaxError("syntax error: an expression is not a statement (SELECT it)")
    raise NotSupportedError(f"{_construct_name(expression)} is not supported")


def _ddl_target(expression: exp.Create | exp.Drop | exp.Alter, namespace: str) -> str | None:
    """Logical name of the object a DDL statement is about (schema name for CREATE SCHEMA)."""
    kind = str(expression.args.get("kind") or "").upper()
    if kind == "SCHEMA":
        tables = (expression.args.get("tables") or []) if isinstance(expression, exp.Drop) else []
        if len(tables) > 1:
            raise NotSupportedError("DROP SCHEMA of several schemas is not supported")
        node = tables[0] if tables else expression.this
        if not isinstance(node, exp.Table):
            raise SqlSyntaxError("syntax error: a schema name is missing")
        name = str(node.db or node.name).lower()
        if "." in name:
            raise BadRequestError("schema names may not contain '.'")
        return name
    node = expression.this
    if isinstance(node, exp.Schema):
        node = node.this
    if isinstance(node, exp.Index):
        node = node.args.get("table")
    if isinstance(expression, exp.Drop):
        tables = expression.args.get("tables") or []
        node = tables[0] if tables else node
    return logical_name(node, namespace) if isinstance(node, exp.Table) else None


def _construct_name(expression: exp.Expr) -> str:
    """A readable name for a statement type in error messages."""
    if isinstance(expression, exp.Command):
        return str(expression.this).upper()
    if isinstance(expression, exp.Transaction | exp.Commit | exp.Rollback):
        return "transaction control (send an atomic batch instead)"
    return type(expression).__name__.upper()
