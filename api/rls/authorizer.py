"""The second wall: a SQLite authorizer that refuses what the rewrite should never let through.

SQLite consults the authorizer while it *prepares* a statement, for every table and column it
reads or writes, every function it calls and every schema change, so whatever the rewrite
missed, the principal's statement cannot reach another namespace, a system table, a PRAGMA,
ATTACH or a function outside the allow-list. (``set_authorizer`` expires the connection's
prepared statements, so a statement cached before the authorizer was set is prepared again.)

The SQL engine's own bookkeeping runs on the same connection while the authorizer is set:
reading the catalogue (``_bkg_sql_*``), its TEMP capture table and triggers (``_bkg_cap*``),
the AUTOINCREMENT counters (``sqlite_sequence``) and — for namespace keys running DDL — the
schema tables. Those accesses are allowed by name,
and accesses made from inside the capture triggers are recognised by the trigger's name.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterable

from api.auth.principal import Principal
from api.rls.names import split_physical
from projections.aggfuncs import AGGREGATE_FUNCTIONS
from projections.arrayfuncs import ARRAY_FUNCTIONS
from projections.bounds import BOUND_FUNCTION, MATCH_FUNCTION
from projections.datetimefuncs import DATETIME_FUNCTIONS
from projections.jsonfuncs import JSON_FUNCTIONS
from projections.meta import DIVISOR_FUNCTION
from projections.numeric import NUMERIC_FUNCTION
from projections.regexfuncs import REGEX_FUNCTIONS
from projections.sequences import CURRVAL_FUNCTION, NEXTVAL_FUNCTION, SETVAL_FUNCTION
from projections.textfuncs import TEXT_FUNCTIONS
from projections.textsearch import TEXT_SEARCH_FUNCTIONS

Authorizer = Callable[[int, str | None, str | None, str | None, str | None], int]

ALLOWED_FUNCTIONS = frozenset(
    [
        NEXTVAL_FUNCTION,
        CURRVAL_FUNCTION,
        SETVAL_FUNCTION,
        *TEXT_FUNCTIONS,
        NUMERIC_FUNCTION,
        *JSON_FUNCTIONS,
        *DATETIME_FUNCTIONS,
        *REGEX_FUNCTIONS,
        *AGGREGATE_FUNCTIONS,
        *ARRAY_FUNCTIONS,
        *TEXT_SEARCH_FUNCTIONS,
        "abs",
        "avg",
        "count",
        "max",
        "min",
        "sum",
        "total",
        "group_concat",
        "string_agg",
        "coalesce",
        "ifnull",
        "nullif",
        "iif",
        "lower",
        "upper",
        "length",
        "octet_length",
        "substr",
        "substring",
        "trim",
        "ltrim",
        "rtrim",
        "replace",
        "instr",
        "round",
        "typeof",
        "like",
        "glob",
        "date",
        "time",
        "datetime",
        "julianday",
        "strftime",
        "unixepoch",
        "current_timestamp",
        "current_date",
        "current_time",
        "printf",
        "format",
        "char",
        "unicode",
        "hex",
        "quote",
        "random",
        "ceil",
        "ceiling",
        "floor",
        "sqrt",
        "pow",
        "power",
        "mod",
        "exp",
        "ln",
        "log",
        "log10",
        "log2",
        "sign",
        "pi",
        "json",
        "json_array",
        "json_object",
        "json_extract",
        "json_type",
        "json_valid",
        "json_array_length",
        "json_group_array",
        "json_group_object",
        "json_quote",
        "json_patch",
        "json_insert",
        "json_replace",
        "json_set",
        "json_remove",
        "jsonb",
        "->",
        "->>",
        "row_number",
        "rank",
        "dense_rank",
        "percent_rank",
        "cume_dist",
        "ntile",
        "lag",
        "lead",
        "first_value",
        "last_value",
        "nth_value",
        DIVISOR_FUNCTION,  # the dialect's guard on every divisor (division by zero fails)
        BOUND_FUNCTION,  # the dialect's bound on arguments that make string functions quadratic
        MATCH_FUNCTION,  # the same for LIKE/GLOB patterns, weighed against the value
    ]
)
_ROW_ACTIONS = {
    sqlite3.SQLITE_READ,
    sqlite3.SQLITE_INSERT,
    sqlite3.SQLITE_UPDATE,
    sqlite3.SQLITE_DELETE,
}
_ALWAYS_OK = {
    sqlite3.SQLITE_SELECT,
    sqlite3.SQLITE_RECURSIVE,
    sqlite3.SQLITE_TRANSACTION,
    sqlite3.SQLITE_SAVEPOINT,
}
_TABLE_DDL = {
    sqlite3.SQLITE_CREATE_TABLE,
    sqlite3.SQLITE_DROP_TABLE,
    sqlite3.SQLITE_CREATE_VIEW,
    sqlite3.SQLITE_DROP_VIEW,
}
_INDEX_DDL = {sqlite3.SQLITE_CREATE_INDEX, sqlite3.SQLITE_DROP_INDEX}
_REINDEX = sqlite3.SQLITE_REINDEX
_TEMP_DDL = {
    sqlite3.SQLITE_CREATE_TEMP_TABLE,
    sqlite3.SQLITE_DROP_TEMP_TABLE,
    sqlite3.SQLITE_CREATE_TEMP_TRIGGER,
    sqlite3.SQLITE_DROP_TEMP_TRIGGER,
    sqlite3.SQLITE_CREATE_TEMP_INDEX,
    sqlite3.SQLITE_DROP_TEMP_INDEX,
}
_SCHEMA_TABLES = {"sqlite_master", "sqlite_schema", "sqlite_temp_master", "sqlite_temp_schema"}
# SQLite's internal helpers that ALTER TABLE runs (not callable from application SQL).
_SCHEMA_FUNCTION_PREFIXES = ("sqlite_rename_", "sqlite_drop_column")
# The engine reads and pins AUTOINCREMENT counters of the tables a statement writes; SQLite
# creates the table when the first AUTOINCREMENT table is created.
_SEQUENCE_TABLE = "sqlite_sequence"
_CATALOG_TABLES = {"_bkg_sql_catalog", "_bkg_sql_meta"}
_INTERNAL_PREFIX = "_bkg"
_CAPTURE_TRIGGER_PREFIX = "_bkg_cap_"
_DECISIONS_KEPT = 4096
"""Decisions an authorizer remembers (each is a pure function of the question:
the principal, its namespace and the allowed functions are fixed when it is made)."""


def make_authorizer(principal: Principal, extra_functions: Iterable[str] = ()) -> Authorizer:
    """An authorizer callback for ``principal`` (admins get one that only refuses ATTACH,
    extensions and PRAGMA, which no principal may use through SQL)."""
    functions = ALLOWED_FUNCTIONS | {f.lower() for f in extra_functions}
    namespace = principal.default_namespace
    may_ddl = principal.kind in ("admin", "namespace")
    decided: dict[tuple[int, str | None, str | None, str | None], int] = {}

    def authorize(
        action: int, arg1: str | None, arg2: str | None, db: str | None, source: str | None
    ) -> int:
        if source is not None and source.startswith(_CAPTURE_TRIGGER_PREFIX):
            return sqlite3.SQLITE_OK
        if principal.kind == "admin":
            return _admin_decision(action)
        # SQLite asks again each time it prepares a statement (installing an authorizer
        # expires the prepared ones), so the same few questions come on every request.
        key = (action, arg1, arg2, db)
        answer = decided.get(key)
        if answer is None:
            ok = _decide(action, arg1, arg2, db, namespace, may_ddl, functions)
            answer = sqlite3.SQLITE_OK if ok else sqlite3.SQLITE_DENY
            if len(decided) >= _DECISIONS_KEPT:
                decided.clear()
            decided[key] = answer
        return answer

    return authorize


def _admin_decision(action: int) -> int:
    refused = {sqlite3.SQLITE_ATTACH, sqlite3.SQLITE_DETACH, sqlite3.SQLITE_PRAGMA}
    return sqlite3.SQLITE_DENY if action in refused else sqlite3.SQLITE_OK


def _decide(
    action: int,
    arg1: str | None,
    arg2: str | None,
    db: str | None,
    namespace: str,
    may_ddl: bool,
    functions: frozenset[str],
) -> bool:
    """True when a non-admin principal's statement may perform this access."""
    if action in _ALWAYS_OK:
        return True
    if action == sqlite3.SQLITE_FUNCTION:
        name = (arg2 or "").lower()
        return name in functions or (may_ddl and name.startswith(_SCHEMA_FUNCTION_PREFIXES))
    if action == sqlite3.SQLITE_ALTER_TABLE:
        return may_ddl and _in_namespace(arg2, namespace)
    if action in _ROW_ACTIONS:
        return _table_ok(action, arg1, db, namespace, may_ddl)
    if action in _TEMP_DDL:
        return arg1 is not None and arg1.startswith(_INTERNAL_PREFIX)
    if action in _TABLE_DDL and may_ddl:
        return _in_namespace(arg1, namespace) or arg1 == _SEQUENCE_TABLE
    if action == _REINDEX and may_ddl:
        return _in_namespace(arg1, namespace)
    if action in _INDEX_DDL and may_ddl:
        return _in_namespace(arg1, namespace) and _in_namespace(arg2, namespace)
    return False


def _table_ok(action: int, table: str | None, db: str | None, namespace: str, ddl: bool) -> bool:
    """Rows of the principal's namespace; internal tables only as the engine uses them.

    SQLite reads and writes the schema table itself while it runs DDL (ALTER TABLE reads every
    column of it), so principals that may change their schema may read it; users may not.
    Writes to it are allowed for everyone: SQL cannot write the schema table directly (SQLite
    refuses it without ``writable_schema``, a PRAGMA), so a write is always SQLite carrying out
    DDL that was authorized on its own — for users only the engine's TEMP capture triggers.
    """
    if table is None:
        return False
    name = table.lower()
    if db == "temp":
        return name.startswith(_INTERNAL_PREFIX) or name in _SCHEMA_TABLES
    if name in _CATALOG_TABLES:
        return action == sqlite3.SQLITE_READ or ddl
    if name == _SEQUENCE_TABLE:
        return True
    if name in _SCHEMA_TABLES:
        return ddl or action != sqlite3.SQLITE_READ
    return _in_namespace(name, namespace)


def _in_namespace(table: str | None, namespace: str) -> bool:
    parts = split_physical(table) if table else None
    return parts is not None and parts[0] == namespace
