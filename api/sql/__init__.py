"""SQL for bkg-db: Postgres dialect in (sqlglot), SQLite out, changes for the log.

Entry point::

    engine = SqlEngine(cache_size=1024)
    outcome = engine.execute(conn, sql, params=None, namespace="public", rewrite=None)
    engine.check_read_only(sql)      # True: may run on a snapshot connection
    engine.analyse(sql)              # StatementInfo(kind, target, tables_read, namespace)

``execute`` runs ONE statement on ``conn``; the caller owns the transaction and each write
runs in a SAVEPOINT, so a failing statement changes nothing.  ``Outcome`` carries typed
``columns``/``rows``/``rowcount`` for the client and ``changes`` (row images and DDL records
per the payload contract), ``statement`` (``{"sql": ...}`` for the log), ``is_write``,
``is_ddl`` and the logical ``tables`` touched.  ``rewrite(expression, info)`` is called with
each parsed Postgres statement (a private copy) before translation and may return a
rewritten statement or raise.  Replaying ``changes`` with
``projections.apply.apply_changes`` on a connection prepared by
``projections.apply.ensure_internal_schema`` rebuilds the same state; the connection must be
prepared the same way before ``execute`` is used on it.

Physical naming: one SQLite database, no ATTACH.  The logical table ``ns.t`` (schema
``ns``, unqualified names resolve to the caller's namespace, default ``public``) is the
SQLite table named by the single quoted identifier ``"ns.t"``; index ``ns.i`` is ``"ns.i"``.
Names are folded to lower case.  Such names cannot collide across namespaces (namespace
names contain no dot) nor with internal tables (``_bkg*``, ``sqlite_*``, which users may
not name).  User tables are STRICT; the catalogue keeps the declared Postgres types.

Exceptions (``api.sql.errors``), each with ``.code``, ``.message`` and optional ``.detail``::

    SqlError (BAD_REQUEST)
    ├── SqlSyntaxError       SYNTAX_ERROR              detail: line, col
    ├── BadRequestError      BAD_REQUEST               parameters missing or malformed
    ├── ForbiddenError       FORBIDDEN                 PRAGMA, ATTACH, system tables, ...
    ├── NotSupportedError    CAPABILITY_NOT_SUPPORTED  names the construct
    ├── NotFoundError        NOT_FOUND                 unknown table / schema / index
    ├── SqlValidationError   VALIDATION_ERROR          column, type, NOT NULL, CHECK
    └── ConflictError        CONFLICT                  UNIQUE, PRIMARY KEY, FOREIGN KEY
"""

from api.sql.catalog import Catalog, ColumnDef, IndexDef, TableDef, ViewDef
from api.sql.engine import Outcome, Rewrite, SqlEngine
from api.sql.errors import (
    BadRequestError,
    ConflictError,
    ForbiddenError,
    LimitExceededError,
    NotFoundError,
    NotSupportedError,
    QueryCanceledError,
    SqlError,
    SqlSyntaxError,
    SqlValidationError,
)
from api.sql.functions import Argument, FunctionDef
from api.sql.parse import StatementInfo

__all__ = [
    "Argument",
    "BadRequestError",
    "Catalog",
    "ColumnDef",
    "ConflictError",
    "ForbiddenError",
    "FunctionDef",
    "IndexDef",
    "LimitExceededError",
    "NotFoundError",
    "NotSupportedError",
    "Outcome",
    "QueryCanceledError",
    "Rewrite",
    "SqlEngine",
    "SqlError",
    "SqlSyntaxError",
    "SqlValidationError",
    "StatementInfo",
    "TableDef",
    "ViewDef",
]
