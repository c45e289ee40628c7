"""``printf``/``format`` calls bounded by the length limit before SQLite runs them.

SQLite builds a formatted string up to the connection's length limit (64 MiB) and then
returns NULL, but a repeated-character conversion (``printf('%.*c', 1e9, 'x')``) keeps
counting to the width it was given: seconds of CPU inside one VM step, which no deadline
can interrupt. So widths and precisions are checked here: a literal one beyond the limit
is refused as LIMIT_EXCEEDED; one taken from a column or parameter is clamped to just
above the limit, where SQLite gives up at once (and answers NULL, as it does for any
result beyond the limit). A format string that is not a literal is refused: its widths
cannot be found before it runs, and one `%.*c` would hold a reader for seconds.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from sqlglot import exp

from api.sql.errors import NotSupportedError
from api.sql.sqlite_errors import limit_error
from projections.limits import LENGTH_LIMIT

_SPEC = re.compile(r"%[-+ 0#!,]*(\*|\d+)?(?:\.(\*|\d+))?([a-zA-Z%])")
_NAMES = ("printf", "format")


def guard_printf(expression: exp.Expr) -> None:
    """Check or clamp the widths of every ``printf``/``format`` call in `expression`."""
    for call in list(expression.find_all(exp.Anonymous, exp.Format)):
        if isinstance(call, exp.Format):
            _guard([call.this, *call.expressions], call, "expressions", 1)
        elif call.name.lower() in _NAMES:
            _guard(list(call.expressions), call, "expressions", 0)


def _guard(args: list[exp.Expr], call: exp.Expr, key: str, offset: int) -> None:
    """`args` are (format, values...); `offset` maps an index of `args` to one of the
    call's `key` list."""
    if not args:
        return
    if not (isinstance(args[0], exp.Literal) and args[0].is_string):
        raise NotSupportedError("printf/format with a format string that is not a literal")
    values = call.args.get(key) or []
    for index, literal in _width_args(args[0].this):
        if literal is not None:
            _check(literal)
            continue
        position = index - offset
        if 0 <= position < len(values):
            _check_or_clamp(values, position)


def _width_args(fmt: str) -> Iterator[tuple[int, int | None]]:
    """For each width or precision of `fmt`: (index in args of a `*` argument, None) or
    (-1, the literal number)."""
    argument = 1
    for match in _SPEC.finditer(fmt):
        width, precision, conversion = match.groups()
        for part in (width, precision):
            if part == "*":
                yield argument, None
                argument += 1
            elif part:
                yield -1, int(part)
        if conversion != "%":
            argument += 1


def _check(value: float) -> None:
    if abs(value) > LENGTH_LIMIT:
        raise limit_error("length")


def _check_or_clamp(values: list[exp.Expr], position: int) -> None:
    """A literal width argument is checked; any other is clamped into ±(limit + 1)."""
    node = values[position]
    number = _literal_number(node)
    if number is not None:
        _check(number)
        return
    bound = exp.Literal.number(LENGTH_LIMIT + 1)
    clamped = exp.func("MAX", exp.func("MIN", node.copy(), bound), exp.Neg(this=bound.copy()))
    node.replace(clamped)


def _literal_number(node: exp.Expr) -> float | None:
    sign = 1.0
    while isinstance(node, exp.Neg | exp.Paren):
        sign = -sign if isinstance(node, exp.Neg) else sign
        node = node.this
    if isinstance(node, exp.Literal) and not node.is_string:
        try:
            return sign * float(node.this)
        except ValueError:
            return None
    return None
