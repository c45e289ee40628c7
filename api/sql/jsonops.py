"""jsonb operators SQLite has no spelling for, rewritten over its JSON functions:
``j ? key``, ``j ?| keys``, ``j ?& keys`` and ``j @> 'literal'`` (containment of a literal
JSON value, as Postgres defines it: objects by their keys, arrays by their elements, scalars
by equality); ``j || j`` and ``j - key`` over the functions of ``projections.jsonfuncs``.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import sqlglot
from sqlglot import exp

from api.sql.errors import NotSupportedError, SqlValidationError, with_sqlstate
from api.sql.reader import BkgPostgres
from projections.jsonfuncs import CONCAT_FUNCTION, DELETE_FUNCTION

_HAS_KEY = (
    "EXISTS (SELECT 1 FROM json_each(_j) AS _e WHERE CASE json_type(_j)"
    " WHEN 'object' THEN _e.key IN (_k) WHEN 'array' THEN _e.type = 'text' AND _e.value IN (_k)"
    " ELSE 0 END)"
)
_HAS_ALL = (
    "(SELECT count(DISTINCT CASE json_type(_j) WHEN 'object' THEN _e.key ELSE _e.value END)"
    " FROM json_each(_j) AS _e WHERE CASE json_type(_j) WHEN 'object' THEN _e.key IN (_k)"
    " WHEN 'array' THEN _e.type = 'text' AND _e.value IN (_k) ELSE 0 END) = _n"
)
_KEY_NODES = (exp.JSONBContainsTopKey, exp.JSONBContainsAnyTopKeys, exp.JSONBContainsAllTopKeys)


def rewrite_json_operators(expression: exp.Expr, is_json: Callable[[exp.Expr], bool]) -> None:
    """Rewrite (in place) the operators listed in the module docstring; ``is_json`` tells
    whether an operand is a json/jsonb value (a cast, a JSON column, a JSON function)."""
    for node in list(expression.find_all(exp.DPipe, exp.Sub)):
        left, right = node.this, node.expression
        if isinstance(node, exp.DPipe) and (is_json(left) or is_json(right)):
            node.replace(exp.Anonymous(this=CONCAT_FUNCTION, expressions=[left, right]))
        elif isinstance(node, exp.Sub) and is_json(left):
            node.replace(exp.Anonymous(this=DELETE_FUNCTION, expressions=[left, right]))
    for node in list(expression.find_all(*_KEY_NODES)):
        _key_test(node)
    for node in list(expression.find_all(exp.ArrayContainsAll)):
        pattern = _literal_json(node.expression)
        if pattern is not None:
            node.replace(exp.paren(_contains(node.this, "$", pattern)))


def _key_test(node: exp.Expr) -> None:
    keys = node.expression
    values = keys.expressions if isinstance(keys, exp.Array) else [keys]
    if isinstance(node, exp.JSONBContainsAllTopKeys):
        text = _HAS_ALL.replace("_n", str(len({v.sql() for v in values})))
    else:
        text = _HAS_KEY
    template = sqlglot.parse_one(text, read=BkgPostgres)
    for membership in list(template.find_all(exp.In)):
        membership.set("expressions", [v.copy() for v in values])
    for column in list(template.find_all(exp.Column)):
        if column.name == "_j" and not column.table:
            column.replace(exp.paren(node.this.copy()))
    node.replace(template)


def _literal_json(node: exp.Expr) -> Any:
    """The JSON value of a string literal (or its cast to json/jsonb), else None."""
    while isinstance(node, exp.Cast):
        node = node.this
    if not isinstance(node, exp.Literal) or not node.is_string:
        return None
    try:
        return json.loads(node.this)
    except ValueError:
        error = SqlValidationError("invalid input syntax for type json")
        raise with_sqlstate(error, "22P02") from None


def _contains(value: exp.Expr, path: str, pattern: Any) -> exp.Expr:
    """A condition: the JSON at ``path`` of ``value`` contains ``pattern``."""
    here = exp.Literal.string(path)
    kind = exp.Anonymous(this="json_type", expressions=[value.copy(), here])
    if isinstance(pattern, dict):
        conditions: list[exp.Expr] = [exp.EQ(this=kind, expression=exp.Literal.string("object"))]
        for key, inner in pattern.items():
            conditions.append(_contains(value, f'{path}."{_escape(key)}"', inner))
        return exp.and_(*conditions)
    if isinstance(pattern, list):
        conditions = [exp.EQ(this=kind, expression=exp.Literal.string("array"))]
        for element in pattern:
            if isinstance(element, dict | list):
                raise NotSupportedError("@> with nested values inside an array")
            probe = sqlglot.parse_one(
                "EXISTS (SELECT 1 FROM json_each(_j, _p) AS _e WHERE _e.atom = _v)",
                read=BkgPostgres,
            )
            for column in list(probe.find_all(exp.Column)):
                if column.name == "_j" and not column.table:
                    column.replace(exp.paren(value.copy()))
                elif column.name == "_p" and not column.table:
                    column.replace(here.copy())
                elif column.name == "_v" and not column.table:
                    column.replace(_scalar(element))
            conditions.append(probe)
        return exp.and_(*conditions)
    extract = exp.Anonymous(this="json_extract", expressions=[value.copy(), here])
    if pattern is None:
        return exp.EQ(this=kind, expression=exp.Literal.string("null"))
    if isinstance(pattern, bool):
        return exp.EQ(this=kind, expression=exp.Literal.string("true" if pattern else "false"))
    expected = "text" if isinstance(pattern, str) else None
    same = exp.EQ(this=extract, expression=_scalar(pattern))
    if expected is None:
        return exp.and_(
            exp.In(
                this=kind, expressions=[exp.Literal.string("integer"), exp.Literal.string("real")]
            ),
            same,
        )
    return exp.and_(exp.EQ(this=kind, expression=exp.Literal.string(expected)), same)


def _scalar(value: Any) -> exp.Expr:
    if isinstance(value, bool):
        return exp.Literal.number(1 if value else 0)
    if isinstance(value, int | float):
        return exp.Literal.number(value)
    if value is None:
        return exp.Null()
    return exp.Literal.string(str(value))


def _escape(key: str) -> str:
    return key.replace('"', '\\\\"')
