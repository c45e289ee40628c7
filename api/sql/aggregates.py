"""Aggregates with an order, rewritten for SQLite 3.40 (which has no ``ORDER BY`` inside an
aggregate call and no ordered-set aggregates) into the functions of
`projections.aggfuncs`:

- ``string_agg(x, sep ORDER BY k ...)`` -> ``_bkg_agg_text(x, sep, spec, k, ...)``;
- ``array_agg``/``jsonb_agg``/``json_agg(x ORDER BY k ...)`` ->
  ``_bkg_agg_json(JSON_QUOTE(x), spec, k, ...)`` (the same JSON array the unordered forms
  build with ``JSON_GROUP_ARRAY``);
- ``percentile_cont(f)``/``percentile_disc(f)``/``mode()`` ``WITHIN GROUP (ORDER BY x)``.

``spec`` is a constant: ``u`` for DISTINCT (else ``a``), then per key its direction and
where its NULLs go, as the Postgres reader made them explicit (``ORDER BY k DESC`` puts
NULLs first, as Postgres does). ``FILTER (WHERE ...)`` stays on the call, which SQLite
applies to any aggregate.
"""

from __future__ import annotations

from sqlglot import exp

from api.sql.errors import NotSupportedError
from projections.aggfuncs import (
    JSON_AGGREGATE,
    MODE_AGGREGATE,
    PERCENTILE_CONT,
    PERCENTILE_DISC,
    TEXT_AGGREGATE,
)

_JSON_NAMES = frozenset({"jsonb_agg", "json_agg", "array_agg"})


def rewrite_ordered_aggregates(expression: exp.Expr) -> None:
    """Rewrite every ordered aggregate call of ``expression`` in place."""
    for group in list(expression.find_all(exp.WithinGroup)):
        group.replace(_within_group(group))
    for order in list(expression.find_all(exp.Order)):
        call = order.parent
        if isinstance(call, exp.GroupConcat) and order.arg_key == "this":
            separator = call.args.get("separator") or exp.Literal.string(",")
            value, spec = _value_and_spec(order)
            keys = [o.this.copy() for o in order.expressions]
            call.replace(_call(TEXT_AGGREGATE, [value, separator.copy(), spec, *keys]))
        elif call is not None and _is_json_aggregate(call, order):
            value, spec = _value_and_spec(order)
            quoted = exp.Anonymous(this="JSON_QUOTE", expressions=[value])
            keys = [o.this.copy() for o in order.expressions]
            call.replace(_call(JSON_AGGREGATE, [quoted, spec, *keys]))


def _is_json_aggregate(call: exp.Expr, order: exp.Order) -> bool:
    if isinstance(call, exp.ArrayAgg | exp.JSONArrayAgg):
        return order.arg_key == "this"
    return (
        isinstance(call, exp.Anonymous)
        and call.name.lower() in _JSON_NAMES
        and len(call.expressions) == 1
        and call.expressions[0] is order
    )


def _value_and_spec(order: exp.Order) -> tuple[exp.Expr, exp.Literal]:
    """The aggregated value and the sort spec of ``agg(value ORDER BY keys)``."""
    value = order.this
    unique = isinstance(value, exp.Distinct)
    if unique:
        if len(value.expressions) != 1:
            raise NotSupportedError("DISTINCT over several values in an aggregate")
        value = value.expressions[0]
    spec = ("u" if unique else "a") + _keys_spec(order.expressions)
    return value.copy(), exp.Literal.string(spec)


def _keys_spec(keys: list[exp.Expr]) -> str:
    parts = []
    for key in keys:
        descending = bool(key.args.get("desc"))
        nulls_first = key.args.get("nulls_first")
        first = descending if nulls_first is None else bool(nulls_first)
        parts.append(("D" if descending else "A") + ("F" if first else "L"))
    return "".join(parts)


def _within_group(group: exp.WithinGroup) -> exp.Expr:
    """An ordered-set aggregate over its one sort key."""
    order = group.expression
    keys = order.expressions if isinstance(order, exp.Order) else []
    if len(keys) != 1:
        raise NotSupportedError("WITHIN GROUP with other than one ORDER BY key")
    key = keys[0].this.copy()
    spec = exp.Literal.string(_keys_spec(keys))
    function = group.this
    if isinstance(function, exp.Mode):
        return _call(MODE_AGGREGATE, [key, spec])
    if isinstance(function, exp.PercentileCont | exp.PercentileDisc):
        fraction = function.this
        if isinstance(fraction, exp.Array):
            raise NotSupportedError(f"{function.sql('postgres')} over an array of fractions")
        name = PERCENTILE_CONT if isinstance(function, exp.PercentileCont) else PERCENTILE_DISC
        return _call(name, [fraction.copy(), key, spec])
    raise NotSupportedError(f"{function.sql('postgres')} WITHIN GROUP is not supported")


def _call(name: str, arguments: list[exp.Expr]) -> exp.Expr:
    return exp.Anonymous(this=name, expressions=arguments)
