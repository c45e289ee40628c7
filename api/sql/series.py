"""Postgres set-returning and array constructs rewritten into SQL that SQLite runs:
``generate_series`` (numbers; timestamps with an interval step), ``unnest``, the JSON
set-returning functions (``jsonb_array_elements[_text]``, ``jsonb_each[_text]``),
``regexp_matches`` (one row per match, each a JSON array of the groups) and ``= ANY(...)``.

A zero step is refused as Postgres refuses it (22023, "step size cannot equal zero") when it
is a literal; a step known only at run time is guarded in the recursion (a zero or NULL step
yields the first value once instead of looping forever), and the statement's deadline bounds
everything else."""

from __future__ import annotations

import sqlglot
from sqlglot import exp

from api.sql.errors import BadRequestError, NotSupportedError
from api.sql.reader import BkgPostgres
from projections.arrayfuncs import ANY_FUNCTION
from projections.regexfuncs import MATCHES_FUNCTION

_TEMPLATE = (
    "SELECT * FROM (WITH RECURSIVE _series(value) AS (SELECT {start} WHERE {start} {cmp} {stop}"
    " UNION ALL SELECT value + {step} FROM _series WHERE {step} <> 0 AND value + {step} {cmp}"
    " {stop}) SELECT value AS {column} FROM _series)"
)
_TIME_TEMPLATE = (
    "WITH RECURSIVE _series(value) AS (SELECT DATETIME({start})"
    " WHERE DATETIME({start}) {cmp} DATETIME({stop}) UNION ALL SELECT DATETIME(value, {mods})"
    " FROM _series WHERE DATETIME(value, {mods}) {cmp} DATETIME({stop}))"
    " SELECT CAST(value AS TIMESTAMP) AS {column} FROM _series"
)
# JSON set-returning functions over SQLite's json_each: (columns, template of the select list).
_JSON_FUNCTIONS = {
    "jsonb_array_elements": "(j) -> fullkey AS {value}",
    "json_array_elements": "(j) -> fullkey AS {value}",
    "jsonb_array_elements_text": "{text} AS {value}",
    "json_array_elements_text": "{text} AS {value}",
    "jsonb_each": "key AS key, (j) -> fullkey AS value",
    "json_each": "key AS key, (j) -> fullkey AS value",
    "jsonb_each_text": "key AS key, {text} AS value",
    "json_each_text": "key AS key, {text} AS value",
}
_AS_TEXT = (
    "CAST(CASE type WHEN 'true' THEN 'true' WHEN 'false' THEN 'false' ELSE value END AS TEXT)"
)
_UNITS = {
    "year": "years",
    "years": "years",
    "mon": "months",
    "mons": "months",
    "month": "months",
    "months": "months",
    "day": "days",
    "days": "days",
    "hour": "hours",
    "hours": "hours",
    "minute": "minutes",
    "minutes": "minutes",
    "min": "minutes",
    "mins": "minutes",
    "second": "seconds",
    "seconds": "seconds",
    "sec": "seconds",
    "secs": "seconds",
}


def expand_series(expression: exp.Expr) -> None:
    """Replace set-returning functions in FROM (``generate_series``, ``unnest``, the JSON
    ones) by equivalent subqueries; a set-returning function with constant arguments in
    the select list of a query without FROM becomes its FROM."""
    _lift_from_select_list(expression)
    for table in list(expression.find_all(exp.Table, exp.Unnest)):
        if isinstance(table, exp.Unnest):
            if isinstance(table.parent, exp.From | exp.Join):
                _replace(table, _unnest(table), "unnest")
            continue
        call = table.this
        if isinstance(call, exp.ExplodingGenerateSeries | exp.GenerateSeries):
            _replace(
                table, _series(call, _column_name(table, "generate_series")), "generate_series"
            )
        elif isinstance(call, exp.Anonymous) and call.name.lower() in _JSON_FUNCTIONS:
            _replace(table, _json_rows(call, _column_name(table, "value")), call.name.lower())
        elif _is_matches(call):
            column = _column_name(table, "regexp_matches")
            _replace(table, _matches_rows(call, column), "regexp_matches")


def _lift_from_select_list(expression: exp.Expr) -> None:
    """``SELECT generate_series(1, 3)`` -> ``SELECT generate_series FROM generate_series(1, 3)``."""
    for select in list(expression.find_all(exp.Select)):
        if select.args.get("from_") is not None:
            continue
        for position, node in enumerate(list(select.expressions)):
            call = node.unalias()
            if isinstance(call, exp.Explode):
                call = exp.Unnest(expressions=[call.this])
            if not (
                isinstance(call, exp.ExplodingGenerateSeries | exp.GenerateSeries | exp.Unnest)
                or _is_matches(call)
            ):
                continue
            if call.find(exp.Column) is not None:
                raise NotSupportedError("set-returning functions in a select list")
            name = node.alias if isinstance(node, exp.Alias) else _srf_name(call)
            alias = exp.TableAlias(this=exp.to_identifier(name))
            source = (
                exp.Table(this=call.copy(), alias=alias)
                if not isinstance(call, exp.Unnest)
                else exp.Unnest(expressions=call.expressions, alias=alias)
            )
            select.from_(source, copy=False)
            select.expressions[position] = exp.column(name)
            select.expressions[position].parent = select
            break


def _srf_name(call: exp.Expr) -> str:
    if _is_matches(call):
        return "regexp_matches"
    return "unnest" if isinstance(call, exp.Unnest) else "generate_series"


def _is_matches(call: exp.Expr) -> bool:
    return isinstance(call, exp.Anonymous) and call.name.lower() == "regexp_matches"


def _matches_rows(call: exp.Expr, column: str) -> exp.Expr:
    """regexp_matches(s, pattern [, flags]): a row per match over the matcher's JSON array."""
    arguments = list(call.expressions)
    if len(arguments) not in (2, 3):
        raise NotSupportedError("regexp_matches takes two or three arguments")
    if len(arguments) == 2:
        arguments.append(exp.Literal.string(""))
    rows = exp.Anonymous(this=MATCHES_FUNCTION, expressions=[a.copy() for a in arguments])
    source = exp.Table(this=exp.Anonymous(this="json_each", expressions=[rows]))
    value = exp.Cast(this=exp.column("value"), to=exp.DataType.build("text[]"))
    return exp.select(exp.alias_(value, column, quoted=True)).from_(source)


def _column_name(table: exp.Expr, default: str) -> str:
    """A scalar set-returning function's column: the alias's column, else the alias (as in
    Postgres), else the function's name."""
    alias = table.args.get("alias")
    columns = alias.columns if alias else []
    if len(columns) > 1:
        raise NotSupportedError("a set-returning function with several column aliases")
    if columns:
        return str(columns[0].name)
    return str(alias.name) if alias is not None and alias.name else default


def _replace(table: exp.Expr, query: exp.Expr, default: str) -> None:
    """Put ``query`` where the function call was, under the call's alias."""
    alias = table.args.get("alias")
    name = alias.name if alias is not None and alias.name else default
    table.replace(exp.Subquery(this=query, alias=exp.TableAlias(this=exp.to_identifier(name))))


def _series(series: exp.Expr, column: str) -> exp.Expr:
    """generate_series over numbers, or over timestamps with an interval step."""
    step = series.args.get("step")
    if _is_zero(step):
        raise BadRequestError("step size cannot equal zero")
    parts = {
        key: (series.args.get(key) or exp.Literal.number(1)).sql("postgres")
        for key in ("start", "end", "step")
    }
    quoted = exp.to_identifier(column).sql("postgres")
    if isinstance(step, exp.Interval):
        modifiers = _modifiers(step)
        text = _TIME_TEMPLATE.format(
            start=parts["start"],
            stop=parts["end"],
            mods=", ".join(f"'{m}'" for m in modifiers),
            cmp=">=" if modifiers[0].startswith("-") else "<=",
            column=quoted,
        )
    else:
        text = _TEMPLATE.format(
            start=parts["start"],
            stop=parts["end"],
            step=parts["step"],
            cmp=">=" if parts["step"].lstrip("(").startswith("-") else "<=",
            column=quoted,
        )
    return sqlglot.parse_one(text, read=BkgPostgres)


def _modifiers(interval: exp.Interval) -> list[str]:
    """SQLite date modifiers (``+1 months``) of a literal interval; zero is refused."""
    text = interval.this.name if interval.this else ""
    unit = interval.args.get("unit")
    words = f"{text} {unit.name if unit else ''}".lower().split()
    if len(words) % 2:
        raise NotSupportedError(f"interval {interval.sql('postgres')} as a series step")
    modifiers = []
    for amount, name in zip(words[::2], words[1::2], strict=True):
        factor = 7 if name.startswith("week") else 1
        unit_name = "days" if factor == 7 else _UNITS.get(name)
        try:
            number = float(amount) * factor
        except ValueError:
            number = None
        if unit_name is None or number is None:
            raise NotSupportedError(f"interval {interval.sql('postgres')} as a series step")
        if number:
            modifiers.append(f"{number:+g} {unit_name}")
    if not modifiers:
        raise BadRequestError("step size cannot equal zero")
    return modifiers


def _unnest(unnest: exp.Unnest) -> exp.Expr:
    """unnest(ARRAY[...]) as a union of its elements; unnest(list parameter) over json_each."""
    if len(unnest.expressions) != 1:
        raise NotSupportedError("unnest of several arrays")
    column = _column_name(unnest, "unnest")
    array = unnest.expressions[0]
    while isinstance(array, exp.Cast) and array.to.this == exp.DataType.Type.ARRAY:
        array = array.this  # a list parameter is stored as a JSON array
    if isinstance(array, exp.Array):
        rows = [exp.select(exp.alias_(e.copy(), column, quoted=True)) for e in array.expressions]
        if not rows:
            return exp.select(exp.alias_(exp.Null(), column, quoted=True)).where(exp.false())
        query: exp.Expr = rows[0]
        for row in rows[1:]:
            query = exp.union(query, row, distinct=False)
        return exp.select("*").from_(
            exp.Subquery(this=query, alias=exp.TableAlias(this=exp.to_identifier("_u")))
        )
    source = exp.Table(this=exp.Anonymous(this="json_each", expressions=[array.copy()]))
    return exp.select(exp.alias_(exp.column("value"), column, quoted=True)).from_(source)


def _json_rows(call: exp.Anonymous, column: str) -> exp.Expr:
    """A JSON set-returning function over SQLite's json_each."""
    if len(call.expressions) != 1:
        raise NotSupportedError(f"{call.name} takes one argument")
    argument = call.expressions[0].sql("postgres")
    outputs = _JSON_FUNCTIONS[call.name.lower()].format(
        value=exp.to_identifier(column).sql("postgres"), text=_AS_TEXT
    )
    text = f"SELECT {outputs.replace('(j)', f'({argument})')} FROM json_each({argument})"
    return sqlglot.parse_one(text, read=BkgPostgres)


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
        replacement: exp.Expr
        if isinstance(inner, exp.Array):
            replacement = exp.In(this=comparison.this, expressions=inner.expressions)
        else:
            replacement = exp.Anonymous(
                this=ANY_FUNCTION, expressions=[inner.copy(), comparison.this.copy()]
            )
        comparison.replace(replacement)
