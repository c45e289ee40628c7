"""Bound the arguments that make SQLite's string functions quadratic (see
`projections.bounds`): the needle of instr/position/strpos/starts_with and replace, the set
of the trim family, the pattern of LIKE/ILIKE/GLOB, the patch of json_patch.

A literal argument is measured here, when the statement is generated (no cost at run time):
one beyond its bound is refused as LIMIT_EXCEEDED. Any other is routed through the bound
function, which passes it unchanged or fails the statement the same way when it is run.
Every statement, policy predicate and row filter is generated through the dialect, so each
gets the same guard.
"""

from __future__ import annotations

from sqlglot import exp

from api.sql.sqlite_errors import bound_error
from projections.bounds import BOUND_FUNCTION, MATCH_FUNCTION, within

# node type -> (argument holding the bounded value, limit name)
_BOUNDED: dict[type[exp.Expr], tuple[str, str]] = {
    exp.StrPosition: ("substr", "needle_bytes"),
    exp.StartsWith: ("expression", "needle_bytes"),
    exp.Replace: ("expression", "needle_bytes"),
    exp.Trim: ("expression", "trim_characters"),
    exp.Like: ("expression", "like_tail_characters"),
    exp.ILike: ("expression", "like_tail_characters"),
    exp.Glob: ("expression", "glob_tail_characters"),
}
# SQLite functions sqlglot keeps by name -> (index of the bounded argument, limit name)
_BOUNDED_CALLS = {
    "json_patch": (1, "json_patch_bytes"),
    "jsonb_patch": (1, "json_patch_bytes"),
}


_WEIGHED = frozenset({"like_tail_characters", "glob_tail_characters"})


def guard_arguments(expression: exp.Expr) -> None:
    """Check or wrap the bounded argument of every such call in `expression` (in place,
    idempotent)."""
    for node in list(expression.find_all(*_BOUNDED)):
        key, limit = _BOUNDED[type(node)]
        argument = node.args.get(key)
        if isinstance(argument, exp.Expr) and _needs_guard(argument, limit):
            node.set(key, _guard(argument, limit, node))
    for call in list(expression.find_all(exp.Anonymous)):
        bounded = _BOUNDED_CALLS.get(call.name.lower())
        if bounded is not None and len(call.expressions) > bounded[0]:
            index, limit = bounded
            argument = call.expressions[index]
            if _needs_guard(argument, limit):
                arguments = list(call.expressions)
                arguments[index] = _guard(argument, limit)
                call.set("expressions", arguments)


def _guard(argument: exp.Expr, limit: str, node: exp.Expr | None = None) -> exp.Expr:
    """``_bkg_bound(argument, 'limit')``; for a LIKE/GLOB pattern
    ``_bkg_bound_match(value, pattern, 'limit')``, which weighs the pattern against the
    value it is matched with."""
    name = exp.Literal.string(limit)
    if isinstance(node, exp.Like | exp.ILike | exp.Glob):
        value = node.this.copy()
        return exp.Anonymous(this=MATCH_FUNCTION, expressions=[value, argument, name])
    return exp.Anonymous(this=BOUND_FUNCTION, expressions=[argument, name])


def _needs_guard(argument: exp.Expr, limit: str) -> bool:
    """False for NULL, numbers, quantified patterns (LIKE ANY is expanded into single
    LIKEs before this) and arguments already guarded; a string literal is measured now."""
    if isinstance(argument, exp.Null | exp.All | exp.Any):
        return False
    if isinstance(argument, exp.Anonymous) and argument.name in (BOUND_FUNCTION, MATCH_FUNCTION):
        return False
    if isinstance(argument, exp.Literal):
        if argument.is_string and not within(limit, argument.this):
            if limit in _WEIGHED:
                return True  # a long pattern may still be matched against short values
            raise bound_error(limit)
        return False
    return True
