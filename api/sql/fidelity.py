"""Postgres's answers where SQLite's would differ, fixed on the parsed statement.

- ``LIMIT``/``OFFSET`` of a negative literal are errors (2201W, 2201X), not "no limit";
- a string literal cast to ``json``/``jsonb`` must be valid JSON (22P02), a literal interval
  must read as one (22007), ``'...+02'::timestamptz`` is converted to UTC text;
- a cast to an integer type rounds (``2.99::int`` is 3, half away from zero) instead of
  truncating;
- ``date ± integer`` adds days and ``date - date`` counts them; ``make_date(y, m, d)``;
- ``#>``/``#>>`` paths (``'{a,0}'``) become the JSON paths SQLite reads;
- integer arithmetic on two integer literals outside bigint is 22003.
"""

from __future__ import annotations

import datetime
import decimal
import json
import re

import sqlglot
from sqlglot import exp

from api.sql.errors import SqlValidationError, with_sqlstate
from api.sql.reader import BkgPostgres
from api.sql.typemap import coerce

_INT_TYPES = (exp.DType.INT, exp.DType.BIGINT, exp.DType.SMALLINT, exp.DType.TINYINT)
_JSON_TYPES = (exp.DType.JSON, exp.DType.JSONB)
_INTERVAL_WORD = re.compile(
    r"^(?:[+-]?\d+(?:\.\d+)?\s*(?:years?|y|mons?|months?|weeks?|w|days?|d|hours?|h|hrs?"
    r"|minutes?|mins?|m|seconds?|secs?|s|milliseconds?|ms|microseconds?|us)?\s*"
    r"|[+-]?\d+:\d{2}(?::\d{2}(?:\.\d+)?)?\s*|ago\s*)+$",
    re.IGNORECASE,
)
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}(?:$|[ T])")
_ROUND_TO_INT = (
    "CASE WHEN typeof(_x) = 'real' THEN CAST(round(_x) AS BIGINT) ELSE CAST(_x AS BIGINT) END"
)


def apply_fidelity(expression: exp.Expr) -> None:
    """Rewrite (in place) the constructs listed in the module docstring."""
    for bound in list(expression.find_all(exp.Limit, exp.Offset)):
        if isinstance(bound, exp.Limit | exp.Offset):
            _check_bound(bound)
    for interval in list(expression.find_all(exp.Interval)):
        _check_interval(interval)
    for cast in list(expression.find_all(exp.Cast)):
        _cast(cast)
    for path in list(expression.find_all(exp.JSONBExtract, exp.JSONBExtractScalar)):
        if isinstance(path, exp.JSONBExtract | exp.JSONBExtractScalar):
            _json_path(path)
    for call in list(expression.find_all(exp.Anonymous)):
        if call.name.lower() == "make_date" and len(call.expressions) == 3:
            text = exp.Anonymous(
                this="printf",
                expressions=[exp.Literal.string("%04d-%02d-%02d"), *call.expressions],
            )
            call.replace(exp.Cast(this=text, to=exp.DataType.build("date")))
    for arithmetic in list(expression.find_all(exp.Add, exp.Sub)):
        if isinstance(arithmetic, exp.Add | exp.Sub):
            _date_arithmetic(arithmetic)
    for operation in list(expression.find_all(exp.Add, exp.Sub, exp.Mul)):
        _check_constant_overflow(operation)


_BIGINT = (-(2**63), 2**63 - 1)


def _integer_literal(node: exp.Expr) -> int | None:
    negative = False
    while isinstance(node, exp.Neg | exp.Paren):
        negative ^= isinstance(node, exp.Neg)
        node = node.this
    if isinstance(node, exp.Literal) and not node.is_string and node.this.lstrip("-").isdigit():
        return -int(node.this) if negative else int(node.this)
    return None


def _check_constant_overflow(node: exp.Expr) -> None:
    """Integer arithmetic on two integer literals outside bigint is 22003, as in Postgres
    (SQLite would quietly answer a float)."""
    left, right = _integer_literal(node.this), _integer_literal(node.expression)
    if left is None or right is None:
        return
    if isinstance(node, exp.Add):
        result = left + right
    elif isinstance(node, exp.Sub):
        result = left - right
    else:
        result = left * right
    if not _BIGINT[0] <= result <= _BIGINT[1]:
        raise with_sqlstate(SqlValidationError("bigint out of range"), "22003")


def _json_path(node: exp.JSONBExtract | exp.JSONBExtractScalar) -> None:
    """``j #> '{a,0}'`` (json) and ``j #>> '{a,0}'`` (text) as ``->``/``->>`` with the
    equivalent JSON path, which SQLite reads."""
    path = node.expression
    if not isinstance(path, exp.Literal) or not path.is_string:
        return
    steps = [p.strip().strip('"') for p in path.this.strip().strip("{}").split(",") if p.strip()]
    text = "$" + "".join(f"[{p}]" if p.isdigit() else f'."{p}"' for p in steps)
    kind = exp.JSONExtract if isinstance(node, exp.JSONBExtract) else exp.JSONExtractScalar
    node.replace(kind(this=node.this.copy(), expression=exp.Literal.string(text)))


def _check_bound(node: exp.Limit | exp.Offset) -> None:
    value = node.expression
    if isinstance(value, exp.Neg) and isinstance(value.this, exp.Literal):
        if isinstance(node, exp.Limit):
            raise with_sqlstate(SqlValidationError("LIMIT must not be negative"), "2201W")
        raise with_sqlstate(SqlValidationError("OFFSET must not be negative"), "2201X")


def _check_interval(interval: exp.Interval) -> None:
    amount = interval.this
    if not isinstance(amount, exp.Literal):
        return
    unit = interval.args.get("unit")
    text = f"{amount.this} {unit.name if unit else ''}".strip()
    if not text or not _INTERVAL_WORD.match(text):
        error = SqlValidationError(f'invalid input syntax for type interval: "{amount.this[:40]}"')
        raise with_sqlstate(error, "22007")


def _cast(cast: exp.Cast) -> None:
    target = cast.to.this
    value = cast.this
    if target in _JSON_TYPES and isinstance(value, exp.Literal) and value.is_string:
        try:
            json.loads(value.this)
        except ValueError:
            error = SqlValidationError("invalid input syntax for type json")
            raise with_sqlstate(error, "22P02") from None
    elif target == exp.DType.TIMESTAMPTZ and isinstance(value, exp.Literal) and value.is_string:
        stored = coerce(value.this, "timestamptz")
        if stored != value.this:
            cast.set("this", exp.Literal.string(stored))
    elif target == exp.DType.DATE and isinstance(value, exp.Literal) and value.is_string:
        _check_date(value.this)
    elif target in _INT_TYPES:
        _round_to_integer(cast, value)


def _check_date(text: str) -> None:
    """A date literal must name a real day (22008) in a form we read (22007)."""
    if not _DATE.match(text.strip()):
        return  # other spellings are left to SQLite's date functions
    try:
        datetime.date.fromisoformat(text.strip()[:10])
    except ValueError:
        error = SqlValidationError(f'date/time field value out of range: "{text[:40]}"')
        raise with_sqlstate(error, "22008") from None


def _round_to_integer(cast: exp.Cast, value: exp.Expr) -> None:
    """``x::int`` rounds half away from zero, as Postgres casts numerics."""
    negative, inner = False, value
    while isinstance(inner, exp.Neg | exp.Paren):
        negative ^= isinstance(inner, exp.Neg)
        inner = inner.this
    if isinstance(inner, exp.Literal):
        if inner.is_string:
            return
        number = decimal.Decimal(inner.this)
        if number != number.to_integral_value():
            rounded = int(number.to_integral_value(rounding=decimal.ROUND_HALF_UP))
            cast.set("this", exp.Literal.number(-rounded if negative else rounded))
        return
    if isinstance(inner, exp.Subquery | exp.Null):
        return  # evaluated once as it is (a scalar subquery would run twice)
    template = sqlglot.parse_one(_ROUND_TO_INT, read=BkgPostgres)
    for column in list(template.find_all(exp.Column)):
        if column.name == "_x":
            column.replace(exp.paren(value.copy()))
    cast.set("this", template)  # the outer cast keeps the result's declared type


def _is_date(node: exp.Expr) -> bool:
    return isinstance(node, exp.Cast) and node.to.this == exp.DType.DATE


def _date_arithmetic(node: exp.Add | exp.Sub) -> None:
    left, right = node.this, node.expression
    if _is_date(left) and isinstance(right, exp.Literal) and not right.is_string:
        count = int(right.this) if isinstance(node, exp.Add) else -int(right.this)
        shifted = exp.Anonymous(
            this="DATE", expressions=[left.this.copy(), exp.Literal.string(f"{count:+d} days")]
        )
        node.replace(exp.Cast(this=shifted, to=exp.DataType.build("date")))
    elif isinstance(node, exp.Sub) and _is_date(left) and _is_date(right):
        days = exp.Sub(
            this=exp.Anonymous(this="JULIANDAY", expressions=[left.this.copy()]),
            expression=exp.Anonymous(this="JULIANDAY", expressions=[right.this.copy()]),
        )
        node.replace(exp.Cast(this=exp.paren(days), to=exp.DataType.build("int")))
