"""Input-size limits of the SQL layer, checked before and right after sqlglot runs.

sqlglot's parser recurses per nesting level (about twenty Python frames per parenthesis)
and takes 20-40 µs per token through parse, row-level security and translation, so a
hostile statement can raise ``RecursionError`` or hold a thread for seconds. A cheap
lexical scan (linear: an unterminated string or comment runs to the end of the text)
refuses over-long, over-long-in-tokens and too deeply parenthesised text before the
parser sees it; a walk of the parsed tree refuses over-deep expressions (left-deep chains
such as ``1+1+...`` parse without recursion) and over-long identifiers. Every refusal is
a ``LimitExceededError`` whose detail names the limit and its value.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from typing import TypeVar

from sqlglot import exp

from api.sql.errors import LimitExceededError, OutOfRangeError
from eventlog import RecordTooLargeError

MAX_SQL_LENGTH = 1_000_000
MAX_SQL_TOKENS = 32_768
MAX_NESTING_DEPTH = 32
MAX_EXPRESSION_DEPTH = 1000
MAX_IDENTIFIER_BYTES = 63
MAX_PARAM_DEPTH = 64
BIGINT = range(-(2**63), 2**63)
"""The integers SQLite can bind (Postgres' bigint)."""

_LEXEME = re.compile(
    r"""
      (?P<skip>'[^']*(?:''[^']*)*'?                    # string literal
        | "[^"]*(?:""[^"]*)*"?                          # quoted identifier
        | --[^\n]*                                      # line comment
        | /\*.*?(?:\*/|\Z)                              # block comment
        | \$(?P<tag>(?:[^\W\d]\w*)?)\$.*?(?:\$(?P=tag)\$|\Z)  # dollar-quoted string
        | [^\W\d][\w$]* | \d[\w.]*)                     # word or number
      | (?P<open>[(\[])
      | (?P<close>[)\]])
      | \S                                              # any other punctuation
    """,
    re.VERBOSE | re.DOTALL,
)
T = TypeVar("T")


def limit_error(message: str, limit: str, value: int) -> LimitExceededError:
    """The error for one exceeded limit: ``detail`` names it and its value."""
    return LimitExceededError(message, {"limit": limit, "value": value})


def record_too_large(exc: RecordTooLargeError) -> LimitExceededError:
    """The client's error for a transaction whose log record the log refused as too large:
    nothing was appended, and the same transaction can never fit."""
    return limit_error(
        f"the transaction's log record is {exc.size} bytes, over the limit of {exc.limit}",
        "max_record_bytes",
        exc.limit,
    )


def check_text(sql: str) -> None:
    """Refuse statement text over the length, token or parenthesis-nesting limits."""
    if len(sql) > MAX_SQL_LENGTH:
        raise limit_error(
            f"statement is longer than {MAX_SQL_LENGTH} characters",
            "max_sql_length",
            MAX_SQL_LENGTH,
        )
    depth = 0
    for count, match in enumerate(_LEXEME.finditer(sql), 1):
        if count > MAX_SQL_TOKENS:
            raise limit_error(
                f"statement has more than {MAX_SQL_TOKENS} tokens", "max_sql_tokens", MAX_SQL_TOKENS
            )
        if match.lastgroup == "open":
            depth += 1
            if depth > MAX_NESTING_DEPTH:
                raise nesting_error()
        elif match.lastgroup == "close":
            depth = max(0, depth - 1)


def nesting_error() -> LimitExceededError:
    """The error for a statement nested deeper than the parser can follow."""
    return limit_error(
        f"statement is nested more than {MAX_NESTING_DEPTH} levels deep",
        "max_nesting_depth",
        MAX_NESTING_DEPTH,
    )


def guarded(parse: Callable[[], T]) -> T:
    """Run ``parse``, turning a recursion overflow (e.g. a long ``NOT NOT ...`` chain,
    which no parenthesis announces) into the nesting-limit error."""
    try:
        return parse()
    except RecursionError as exc:
        raise nesting_error() from exc


def check_tree(expression: exp.Expr) -> None:
    """Refuse a parsed statement deeper than SQLite's expression limit or naming an
    identifier longer than Postgres' (NAMEDATALEN - 1 bytes); iterative, so a deep tree
    cannot overflow the check itself."""
    for node, depth in _walk(expression):
        if depth > MAX_EXPRESSION_DEPTH:
            raise limit_error(
                f"expression is nested more than {MAX_EXPRESSION_DEPTH} levels deep",
                "max_expression_depth",
                MAX_EXPRESSION_DEPTH,
            )
        if isinstance(node, exp.Identifier):
            check_name_length(node.name)


def check_name_length(name: str) -> None:
    """Refuse a name longer than ``MAX_IDENTIFIER_BYTES`` in UTF-8 (Postgres would
    truncate it silently; a log that records names must not keep a different one)."""
    if len(name.encode("utf-8", "surrogatepass")) > MAX_IDENTIFIER_BYTES:
        shown = name[:24] + "..."
        raise limit_error(
            f"identifier {shown!r} is longer than {MAX_IDENTIFIER_BYTES} bytes",
            "max_identifier_bytes",
            MAX_IDENTIFIER_BYTES,
        )


def _walk(root: exp.Expr) -> Iterator[tuple[exp.Expr, int]]:
    """Every node with its depth (root = 1), depth first, without recursion."""
    stack = [(root, 1)]
    while stack:
        node, depth = stack.pop()
        yield node, depth
        stack.extend((child, depth + 1) for child in node.iter_expressions())


def check_param(label: str, value: object) -> None:
    """Refuse a parameter SQLite cannot bind (an integer beyond 64 bits, Postgres' 22003)
    or a JSON value nested deeper than ``MAX_PARAM_DEPTH`` (serialising it would recurse).
    Integers inside arrays and objects are JSON text and keep their precision."""
    if type(value) is int and value not in BIGINT:
        raise OutOfRangeError(
            f"value out of range for type bigint in parameter {label}", {"parameter": label}
        )
    if not isinstance(value, list | dict):  # the common case, on every execution
        return
    stack = [(value, 0)]
    while stack:
        item, depth = stack.pop()
        if not isinstance(item, list | dict):
            continue
        if depth >= MAX_PARAM_DEPTH:
            raise limit_error(
                f"parameter {label} is nested more than {MAX_PARAM_DEPTH} levels deep",
                "max_param_depth",
                MAX_PARAM_DEPTH,
            )
        children = item.values() if isinstance(item, dict) else item
        stack.extend((child, depth + 1) for child in children)
