"""Answers to what clients ask Postgres about itself: `version()`, `current_schema()` and
the like, and queries over `pg_catalog` and `information_schema`, run on an in-memory
catalogue built from ours and filtered by principal (`api.pgwire.pg_catalog`)."""

from __future__ import annotations

import re
from typing import Any

import sqlglot
from sqlglot import exp
from sqlglot.errors import ParseError, TokenError

from api.pgwire import types as t
from api.pgwire.answers import Answer
from api.pgwire.errors import PgError
from api.pgwire.pg_catalog import (
    BOOLEAN_COLUMNS,
    EMPTY_TABLES,
    ORDERED_ARRAY_AGG,
    CatalogDb,
)
from api.pgwire.runner import Runner
from api.pgwire.settings import SERVER_VERSION
from api.pgwire.startup import Startup
from api.sql.catalog import snapshot_catalog

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
        answer = Answer.of_rows(f"SELECT {len(rows)}", columns, rows, BOOLEAN_COLUMNS)
        _type_arrays(answer, _array_columns(statement))
        _type_vectors(answer)
        return answer

    def _catalogue(self) -> CatalogDb:
        db = self.runner.db
        with db.store.snapshot() as snap:
            catalog = snapshot_catalog(snap)
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
    return _set_returning(statement).transform(_portable)


def _set_returning(statement: exp.Expr) -> exp.Expr:
    """`unnest(arr)` and `generate_subscripts(arr, 1)` in a select list (SQLAlchemy's
    reflection of keys and indexes) as a join of the array's elements: `json_each` over the
    array, one row per element, zipped as Postgres zips set-returning functions."""
    joined = 0
    for select in list(statement.find_all(exp.Select)):
        aliases: dict[str, str] = {}
        for projection in select.expressions:
            for node in list(projection.find_all(exp.Explode, exp.Anonymous)):
                subscripts = isinstance(node, exp.Anonymous)
                if subscripts and node.name.lower() != "generate_subscripts":
                    continue
                array = node.expressions[0] if subscripts else node.this
                alias = aliases.get(array.sql())
                if alias is None:
                    alias = aliases[array.sql()] = f"_bkg_elements{joined}"
                    joined += 1
                    elements = exp.Anonymous(this="bkg_json_array", expressions=[array.copy()])
                    source = exp.Anonymous(this="json_each", expressions=[elements])
                    table = exp.Table(
                        this=source, alias=exp.TableAlias(this=exp.to_identifier(alias))
                    )
                    select.append("joins", exp.Join(this=table))
                if subscripts:
                    key = exp.column("key", table=alias)
                    node.replace(
                        exp.Paren(this=exp.Add(this=key, expression=exp.Literal.number(1)))
                    )
                else:
                    node.replace(exp.column("value", table=alias))
    return statement


def _array_columns(statement: exp.Expr) -> set[int]:
    """Positions of the result columns that are arrays: an `array_agg(...)`, or a column
    named as one is in a subquery (SQLAlchemy aggregates in a subquery, then selects it)."""
    query = statement
    while isinstance(query, exp.SetOperation):
        query = query.this
    if not isinstance(query, exp.Select):
        return set()
    aggregated = {
        node.parent.alias
        for node in statement.find_all(exp.ArrayAgg, exp.Anonymous)
        if _is_array_agg(node) and isinstance(node.parent, exp.Alias)
    }
    found = set()
    for index, projection in enumerate(query.expressions):
        node = projection.unalias()
        if _is_array_agg(node) or (isinstance(node, exp.Column) and node.name in aggregated):
            found.add(index)
    return found


def _is_array_agg(node: exp.Expr) -> bool:
    if isinstance(node, exp.Anonymous):
        return node.name.lower() == ORDERED_ARRAY_AGG
    return isinstance(node, exp.ArrayAgg)


def _type_arrays(answer: Answer, positions: set[int]) -> None:
    """Array columns as `int4[]` (every item an integer) or `text[]`, in the `{a,b}` form."""
    for index in positions:
        values = [t.array_items(row[index]) for row in answer.rows if row[index] is not None]
        numeric = all(item.lstrip("-").isdigit() for items in values for item in items)
        answer.oids[index] = t.INT4_ARRAY if numeric else t.TEXT_ARRAY
        for row in answer.rows:
            if row[index] is not None:
                row[index] = "{" + ",".join(t.array_items(row[index])) + "}"


_VECTORS = frozenset({"indkey", "indoption", "indclass", "indcollation"})
"""int2vector columns: text (`1 2`) even when SQLite made a lone number of one."""


def _type_vectors(answer: Answer) -> None:
    for index, name in enumerate(answer.columns):
        if name in _VECTORS:
            answer.oids[index] = t.TEXT
            for row in answer.rows:
                row[index] = None if row[index] is None else str(row[index])


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


def _unaliased_parent(node: exp.Expr) -> exp.Expr | None:
    parent = node.parent
    return parent.parent if isinstance(parent, exp.Alias) else parent


def _portable(node: exp.Expr) -> exp.Expr:
    """Postgres-only constructs of catalogue queries, as functions the catalogue defines."""
    if isinstance(node, exp.Cast) and node.to.sql("postgres").lower() in _OID_TYPES:
        kind = exp.Literal.string(node.to.sql("postgres").lower())
        named = kind.this in ("regclass", "regtype")
        shown = named and isinstance(_unaliased_parent(node), exp.Select)  # answered: a name
        return exp.Anonymous(this="bkg_name" if shown else "bkg_oid", expressions=[kind, node.this])
    if isinstance(node, exp.ArrayAgg) and isinstance(node.this, exp.Order):
        order = node.this  # array_agg(x ORDER BY y [DESC]), which SQLite 3.40 cannot run
        first = order.expressions[0]
        descending = exp.Literal.number(int(bool(first.args.get("desc"))))
        arguments = [order.this, first.this, descending]
        return exp.Anonymous(this=ORDERED_ARRAY_AGG, expressions=arguments)
    if isinstance(node, exp.Order) and isinstance(node.parent, exp.AggFunc):
        ordered: exp.Expr = node.this  # other aggregates do not vary by their input's order
        return ordered
    if (
        isinstance(node, exp.Table)
        and isinstance(node.this, exp.Anonymous)
        and node.this.name.lower() == "pg_partition_ancestors"
    ):  # a table is its own only ancestor (psql's \d lists foreign keys through it)
        relid = exp.Anonymous(
            this="bkg_oid", expressions=[exp.Literal.string("regclass"), *node.this.expressions]
        )
        ancestors = exp.select(exp.alias_(relid, "relid"))
        return ancestors.subquery(node.alias or "pg_partition_ancestors")
    if isinstance(node, exp.Anonymous) and node.name.lower() == "pg_partition_ancestors":
        return exp.Anonymous(  # in a select list: the one row of its one ancestor
            this="bkg_oid", expressions=[exp.Literal.string("regclass"), *node.expressions]
        )
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
