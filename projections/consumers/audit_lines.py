"""One audit line per log record: who did what, to which tables, how many rows.

A line is a pure function of its record, so `audit verify` can rebuild it from the log and
compare. Statement text is what the log holds: parameters are never logged, and literal
values in DML text are replaced by `?` (redacted) so that the trail carries no row data.
Non-SQL records (keys, policies, storage) get a line without statements: their payloads
may carry secrets' hashes and stay out of the trail.
"""

from __future__ import annotations

import datetime
import functools
from typing import Any

import sqlglot
from sqlglot import exp
from sqlglot.errors import SqlglotError

from eventlog.record import Record

UNPARSED = "<statement not parseable; redacted>"


def audit_line(record: Record) -> dict[str, Any]:
    """The audit line of a record (a JSON object)."""
    payload = record.payload if isinstance(record.payload, dict) else {}
    sql_record = record.kind in ("ddl", "dml")
    changes = payload.get("changes") or [] if sql_record else []
    statements = payload.get("statements") or [] if sql_record else []
    return {
        "lsn": record.lsn,
        "time": iso_time(record.ts_us),
        "actor": record.actor,
        "principal": principal_kind(record.actor, record.namespace),
        "namespace": record.namespace,
        "kind": record.kind,
        "statements": [_statement_text(s, record.kind) for s in statements],
        "tables": sorted({str(c.get("table")) for c in changes if c.get("table")}),
        "rows": sum(1 for c in changes if c.get("op") != "ddl"),
        "chain": record.chain_hash.hex(),
    }


def principal_kind(actor: str, namespace: str | None) -> str:
    """admin, namespace, user or system, from the actor the log records."""
    if actor == "admin" or actor.startswith("admin:"):
        return "admin"
    if actor.startswith("user:"):
        return "user"
    if actor.startswith("key:"):
        return "namespace" if namespace else "admin"
    return "system" if actor == "system" else "unknown"


def iso_time(ts_us: int) -> str:
    moment = datetime.datetime.fromtimestamp(ts_us / 1e6, tz=datetime.UTC)
    return moment.isoformat(timespec="microseconds").replace("+00:00", "Z")


def _statement_text(statement: Any, kind: str) -> str:
    sql = str(statement.get("sql", "")) if isinstance(statement, dict) else str(statement)
    return sql if kind == "ddl" else redact_literals(sql)


@functools.lru_cache(maxsize=4096)
def redact_literals(sql: str) -> str:
    """The statement with every literal value replaced by `?` ($n parameters are kept).

    Cached: applications repeat the same parameterised statements, and parsing is the
    trail's main cost."""
    try:
        tree = sqlglot.parse_one(sql, read="postgres")
    except SqlglotError:
        return UNPARSED
    return tree.transform(_redact).sql(dialect="postgres")


def _redact(node: exp.Expression) -> exp.Expression:
    if isinstance(node, exp.Literal) and not isinstance(node.parent, exp.Parameter):
        return exp.Var(this="?")
    return node
