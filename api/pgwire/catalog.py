"""Answers to what clients ask Postgres about itself: `version()`, `current_schema()` and
the like, and queries over `pg_catalog` and `information_schema`, run on an in-memory
catalogue built from ours and filtered by principal (`api.pgwire.pg_catalog`)."""

from __future__ import annotations

import re
from typing import Any

import sqlglot
from sqlglot import exp
from sqlglot.errors import ParseError, TokenError

from api.pgwire.answers import Answer
from api.pgwire.errors import PgError
from api.pgwire.pg_catalog import BOOLEAN_COLUMNS, EMPTY_TABLES, CatalogDb
from api.pgwire.runner import Runner
from api.pgwire.settings import SERVER_VERSION
from api.pgwire.startup import Startup
from api.sql.catalog import Catalog

VERSION = f"PostgreSQL {SERVER_VERSION} (bkg-db)"
_FUNCTION_SELECT = re.compile(
    r"^\s*select\s+((?:pg_catalog\.)?[a-z_]+)\s*(?:\(\s*\))?\s*(?:as\s+(\w+))?\s*;?\s*$", re.I
)
_CATALOGUE = re.compile(
    r"\b(?:pg_catalog|information_schema)\s*\.|\bpg_(?:class|namespace|type|attribute|index"
    r"|constraint|attrdef|description|database|roles|user|settings|am|proc|tables|inherits"
    r"|policy|trigger|tablespace|collation|extension|enum|range|sequence|depend)\b"
    r"|\b(?:format_type|to_regtype|pg_get_\w+|pg_table_is_visible|obj_description)\s*\(",
    re.IGNORECASE,
)
_OPERATOR = re.compile(r"OPERATOR\s*\(\s*pg_catalog\s*\.\s*([^)\s]+)\s*\)", re.IGNORECASE)
_COLLATE = re.compile(r"\s+COLLATE\s+(?:pg_catalog\s*\.\s*)?(?:\"?default\"?|\"C\")", re.I)
_OID_TYPES = {"regclass", "regtype", "regproc", "regprocedure", "regnamespace", "regrole", "oid"}
_QUALIFIER = re.compile(r"\bpg_catalog\s*\.\s*", re.IGNORECASE)


class Emulator:
    """Answers the catalogue questions of one session (None: not one of them)."""

    def __init__(self, runner: Runner, startup: Startup) -> None:
        self.runner = runner
        self.startup = startup
        principal = startup.principal
        self.database = principal.namespace or startup.database or "postgres"
        self._functions = {
            "version": VERSION,
            "current_schema": principal.default_namespace,
            "current_database": self.database,
            "current_user": startup.user,
            "session_user": startup.user,
            "current_role": startup.user,
        }
        self._cached: tuple[tuple[str, ...], CatalogDb] | None = None

    async def answer(self, sql: str, params: list[Any] | None) -> Answer | None:
        match = _FUNCTION_SELECT.match(sql)
        if match is not None:
            name = match.group(1).lower().removeprefix("pg_catalog.")
            value = self._functions.get(name)
            if value is not None:
                return Answer.text("SELECT 1", [match.group(2) or name], [[value]])
        if _CATALOGUE.search(sql) is None:
            return None
        principal = self.startup.principal
        return await self.runner.call(principal, lambda: self._query(sql, params or []))

    def _query(self, sql: str, params: list[Any]) -> Answer:
        statement = parse(sql)
        catalogue = self._catalogue()
        try:
            columns, rows = catalogue.run(
                statement.sql("sqlite"), {str(i): v for i, v in enumerate(params, 1)}
            )
        except Exception as exc:  # any SQLite failure of an emulated query is "not supported"
            if not _over_empty(statement):
                raise PgError("0A000", f"catalogue query not supported: {exc}") from exc
            columns, rows = _names(statement), []
        return Answer.of_rows(f"SELECT {len(rows)}", columns, rows, BOOLEAN_COLUMNS)

    def _catalogue(self) -> CatalogDb:
        db = self.runner.db
        with db.store.snapshot() as snap:
            catalog = Catalog.load(snap.conn)
        principal = self.startup.principal
        admin = principal.kind == "admin"
        schemas = sorted(catalog.schemas) if admin else [principal.default_namespace]
        key = (catalog.token, *schemas)
        if self._cached is None or self._cached[0] != key:
            catalogue = CatalogDb(catalog, schemas, self.database, principal.default_namespace)
            self._cached = (key, catalogue)
        return self._cached[1]


def parse(sql: str) -> exp.Expr:
    """A client's catalogue query, rewritten to run on SQLite over the in-memory catalogue
    (`.sql("sqlite")`)."""
    text = _QUALIFIER.sub("", _COLLATE.sub("", _OPERATOR.sub(r"\1", sql)))
    try:
        statement = sqlglot.parse_one(text, read="postgres")
    except (ParseError, TokenError) as exc:
        raise PgError("0A000", "catalogue query not supported (it does not parse)") from exc
    return statement.transform(_portable)


def _over_empty(statement: exp.Expr) -> bool:
    """Whether a query is driven by a catalogue we keep empty (publications, statistics,
    ...: the first table of its every SELECT): then, if SQLite cannot run it, its answer is
    known to be empty anyway."""
    selects = list(statement.find_all(exp.Select))
    for select in selects:
        if select.parent_select is not None:
            continue
        source = select.args.get("from_") or select.args.get("from")
        table = source.this if isinstance(source, exp.From) else None
        if not isinstance(table, exp.Table) or table.name.lower() not in EMPTY_TABLES:
            return False
    return bool(selects)


def _names(statement: exp.Expr) -> list[str]:
    query = statement
    while isinstance(query, exp.SetOperation):
        query = query.this
    if not isinstance(query, exp.Select):
        raise PgError("0A000", "catalogue query not supported")
    return [e.alias_or_name or "?column?" for e in query.expressions]


def _portable(node: exp.Expr) -> exp.Expr:
    """Postgres-only constructs of catalogue queries, as functions the catalogue defines."""
    if isinstance(node, exp.Cast) and node.to.sql("postgres").lower() in _OID_TYPES:
        kind = exp.Literal.string(node.to.sql("postgres").lower())
        return exp.Anonymous(this="bkg_oid", expressions=[kind, node.this])
    if isinstance(node, exp.Order) and isinstance(node.parent, exp.AggFunc):
        ordered: exp.Expr = node.this  # array_agg(x ORDER BY y): drop the input's order
        return ordered
    if isinstance(node, exp.ByteString):
        return exp.Literal.string(node.this.encode().decode("unicode_escape"))
    if isinstance(node, exp.Array):
        if any(isinstance(e, exp.Query) for e in node.expressions):
            return exp.Null()  # ARRAY(SELECT ...): only over catalogues we keep empty
        return exp.Anonymous(this="bkg_array", expressions=list(node.expressions))
    if isinstance(node, exp.EQ) and isinstance(node.expression, exp.Any):
        members = node.expression.this.transform(_portable)  # not revisited otherwise
        call = exp.Anonymous(this="bkg_in", expressions=[node.this.transform(_portable), members])
        return exp.EQ(this=call, expression=exp.Literal.number(1))
    return node
