"""Postgres set-returning and array constructs rewritten into SQL that SQLite runs:
``generate_series`` in FROM and ``= ANY(...)``.

A zero step is refused as Postgres refuses it (22023, "step size cannot equal zero") when it
is a literal; a step known only at run time is guarded in the recursion (a zero or NULL step
yields the first value once instead of looping forever), and the statement's deadline bounds
everything else."""

from __future__ import annotations

import sqlglot
from sqlglot import exp

from api.sql.errors import BadRequestError, NotSupportedError
from api.sql.reader import BkgPostgres

_TEMPLATE = (
    "SELECT * FROM (WITH RECURSIVE _series(value) AS (SELECT {start} UNION ALL"
    " SELECT value + {step} FROM _series WHERE {step} <> 0 AND value + {step} {cmp} {stop})"
    " SELECT value AS {column} FROM _series)"
)


def expand_series(expression: exp.Expr) -> None:
    """Replace ``generate_series`` table functions by an equivalent subquery (a negative
    literal step counts down)."""
    for table in list(expression.find_all(exp.Table)):
        series = table.this
        if not isinstance(series, exp.ExplodingGenerateSeries | exp.GenerateSeries):
            continue
        alias = table.args.get("alias")
        columns = alias.columns if alias else []
        if len(columns) > 1:
            raise NotSupportedError("generate_series with several column aliases")
        column = columns[0].name if columns else "generate_series"
        if _is_zero(series.args.get("step")):
            raise BadRequestError("step size cannot equal zero")
        parts = {
            key: (series.args.get(key) or exp.Literal.number(1)).sql("postgres")
            for key in ("start", "end", "step")
        }
        query = sqlglot.parse_one(
            _TEMPLATE.format(
                start=parts["start"],
                stop=parts["end"],
                step=parts["step"],
                cmp=">=" if parts["step"].lstrip("(").startswith("-") else "<=",
                column=exp.to_identifier(column).sql("postgres"),
            ),
            read=BkgPostgres,
        )
        name = alias.name if alias and alias.name else "generate_series"
        table.replace(exp.Subquery(this=query, alias=exp.TableAlias(this=exp.to_identifier(name))))


def _is_zero(step: exp.Expr | None) -> bool:
    """True for a literal step of zero (``0``, ``0.0``, ``-0``, ``(0)``)."""
    while isinstance(step, exp.Paren | exp.Neg):
        step = step.this
    if not isinstance(step, exp.Literal) or step.is_string:
        return False
    try:
        return float(step.this) == 0
    except ValueError:
        return False


def expand_any(expression: exp.Expr) -> None:
    """``x = ANY(ARRAY[...])`` -> ``x IN (...)``; ``x = ANY(json_array_param)`` ->
    ``x IN (SELECT value FROM json_each(param))`` (list parameters are stored as JSON);
    ``x <> ALL(ARRAY[...])`` -> ``NOT x IN (...)``."""
    for call in list(expression.find_all(exp.Anonymous)):
        if call.name.lower() == "all" and isinstance(call.parent, exp.NEQ):
            inner = call.expressions[0] if len(call.expressions) == 1 else None
            if isinstance(inner, exp.Array):
                call.parent.replace(
                    exp.Not(this=exp.In(this=call.parent.this, expressions=inner.expressions))
                )
    for node in list(expression.find_all(exp.Any)):
        comparison = node.parent
        if not isinstance(comparison, exp.EQ) or comparison.expression is not node:
            raise NotSupportedError("ANY is supported as = ANY(...) only")
        inner = node.this.unnest() if isinstance(node.this, exp.Paren) else node.this
        if isinstance(inner, exp.Array):
            replacement = exp.In(this=comparison.this, expressions=inner.expressions)
        else:
            values = exp.select("value").from_(
                exp.Table(this=exp.Anonymous(this="json_each", expressions=[inner]))
            )
            replacement = exp.In(this=comparison.this, query=values.subquery())
        comparison.replace(replacement)
