"""PostgREST's query-string grammar: `select=`, filters, `or=`/`and=`, `order=`, limits.

Every function either returns the typed form (`api.rest.ast`) or raises `GrammarError`
(PGRST100); no input makes it fail otherwise. Input is bounded here (nesting depth, list
lengths) so that a hostile query string costs linear time and bounded memory; the route
bounds the query string's total length first.

Names are kept as written (quoted names lose their quotes); they are checked against the
catalogue only by the SQL builder, so a name never reaches SQL unvalidated.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Literal

from api.rest.ast import (
    OPERATORS,
    TEXT_SEARCH,
    Column,
    Condition,
    Embed,
    Field,
    Filter,
    JsonOp,
    JsonStep,
    Logic,
    LogicOp,
    Operator,
    OrderTerm,
    Path,
    ReadQuery,
    SelectItem,
    Star,
)
from api.rest.errors import GrammarError

MAX_DEPTH = 16
"""Deepest nesting of embeds or of and/or groups."""
MAX_ITEMS = 1000
"""Most select items, conditions of a group, order terms or `in.()` values in one list."""
RESERVED = frozenset({"select", "order", "limit", "offset", "or", "and", "columns", "on_conflict"})
LOGIC_KEYS: dict[str, tuple[LogicOp, bool]] = {
    "or": ("or", False),
    "and": ("and", False),
    "not.or": ("or", True),
    "not.and": ("and", True),
}
GROUP_PREFIXES: tuple[tuple[str, tuple[LogicOp, bool]], ...] = tuple(
    (f"{key}(", value) for key, value in sorted(LOGIC_KEYS.items(), key=lambda kv: -len(kv[0]))
)
IS_VALUES = frozenset({"null", "not_null", "true", "false", "unknown"})

_NAME = re.compile(r"[^\W]|[$]", re.UNICODE)
_TYPE = re.compile(r"[A-Za-z_][A-Za-z0-9_]*( [A-Za-z_][A-Za-z0-9_]*)*(\[\])?")
_INDEX = re.compile(r"-?[0-9]+")
_INTEGER = re.compile(r"[0-9]{1,18}")


class _Scanner:
    """A cursor over one parameter's text; `fail` raises PGRST100 naming the parameter."""

    def __init__(self, what: str, text: str) -> None:
        self.what, self.text, self.pos = what, text, 0

    def fail(self, expected: str) -> GrammarError:
        found = repr(self.text[self.pos]) if self.pos < len(self.text) else "end of input"
        details = f"unexpected {found} expecting {expected} (column {self.pos + 1})"
        return GrammarError(self.what, self.text, details)

    def at_end(self) -> bool:
        return self.pos >= len(self.text)

    def peek(self, literal: str) -> bool:
        return self.text.startswith(literal, self.pos)

    def take(self, literal: str) -> bool:
        if self.peek(literal):
            self.pos += len(literal)
            return True
        return False

    def expect(self, literal: str) -> None:
        if not self.take(literal):
            raise self.fail(repr(literal))

    def skip_spaces(self) -> None:
        while self.pos < len(self.text) and self.text[self.pos] == " ":
            self.pos += 1

    def name(self) -> str:
        """A quoted (`"a b"`) or unquoted (letters, digits, `_`, `$`) identifier."""
        if self.take('"'):
            end = self.text.find('"', self.pos)
            if end <= self.pos:
                raise self.fail("a closing '\"' after a non-empty name")
            found, self.pos = self.text[self.pos : end], end + 1
            return found
        start = self.pos
        while self.pos < len(self.text) and _NAME.match(self.text[self.pos]):
            self.pos += 1
        if self.pos == start:
            raise self.fail("a name")
        return self.text[start : self.pos]

    def field(self) -> Field:
        """A column name and its JSON path: `data->a->>0`."""
        name = self.name()
        steps: list[JsonStep] = []
        while self.peek("->"):
            op: JsonOp = "->>" if self.take("->>") else "->"
            if op == "->":
                self.expect("->")
            match = _INDEX.match(self.text, self.pos)
            if match and not _NAME.match(self.text[match.end() : match.end() + 1] or " "):
                key, self.pos = match.group(), match.end()
            else:
                key = self.name()
            steps.append(JsonStep(op, key))
            if len(steps) > MAX_DEPTH:
                raise self.fail("a shorter JSON path")
        return Field(name, tuple(steps))

    def finish(self) -> None:
        self.skip_spaces()
        if not self.at_end():
            raise self.fail("end of input")


# -- select= -------------------------------------------------------------------------------


def parse_select(text: str, what: str = "select") -> tuple[SelectItem, ...]:
    """`select=` items: columns, `alias:col`, `col::type`, `data->a->>b`, `rel(...)`, `*`."""
    scan = _Scanner(what, text)
    items = _items(scan, 0)
    scan.finish()
    return items


def _items(scan: _Scanner, depth: int) -> tuple[SelectItem, ...]:
    if depth > MAX_DEPTH:
        raise scan.fail("fewer nested embeds")
    items: list[SelectItem] = []
    while True:
        scan.skip_spaces()
        items.append(_item(scan, depth))
        if len(items) > MAX_ITEMS:
            raise scan.fail("fewer select items")
        scan.skip_spaces()
        if not scan.take(","):
            return tuple(items)


def _item(scan: _Scanner, depth: int) -> SelectItem:
    if scan.take("*"):
        return Star()
    alias: str | None = None
    start = scan.pos
    name = scan.name()
    if scan.peek(":") and not scan.peek("::"):
        scan.pos += 1
        start = scan.pos
        alias, name = name, scan.name()
    if scan.peek("!") or scan.peek("("):
        return _embed(scan, name, alias, depth)
    scan.pos = start
    field = scan.field()
    cast_to = _cast(scan)
    return Column(field, alias, cast_to)


def _cast(scan: _Scanner) -> str | None:
    if not scan.take("::"):
        return None
    match = _TYPE.match(scan.text, scan.pos)
    if match is None:
        raise scan.fail("a type name")
    scan.pos = match.end()
    return match.group().lower()


def _embed(scan: _Scanner, name: str, alias: str | None, depth: int) -> Embed:
    hint: str | None = None
    join: Literal["left", "inner"] = "left"
    while scan.take("!"):
        word = scan.name()
        if word == "inner":
            join = "inner"
        elif word == "left":
            join = "left"
        elif hint is None:
            hint = word
        else:
            raise scan.fail("one hint")
    scan.expect("(")
    scan.skip_spaces()
    items: tuple[SelectItem, ...] = () if scan.peek(")") else _items(scan, depth + 1)
    scan.expect(")")
    return Embed(name, items, alias, hint, join)


# -- filters ---------------------------------------------------------------------------------


def parse_filter(field: Field, text: str) -> Filter:
    """The value side of a filter: `[not.]op[(lang)].value`, `in.(a,"b,c")`, `is.null`."""
    scan = _Scanner("filter", text)
    negated = scan.take("not.")
    start = scan.pos
    while scan.pos < len(text) and text[scan.pos] not in ".(":
        scan.pos += 1
    op = text[start : scan.pos]
    if op not in OPERATORS:
        scan.pos = start
        raise scan.fail("an operator (" + " ".join(OPERATORS) + ")")
    modifier = None
    if scan.take("("):
        if op not in TEXT_SEARCH:
            raise scan.fail("'.'")
        modifier = scan.name()
        scan.expect(")")
    scan.expect(".")
    operator: Operator = op
    value = text[scan.pos :]
    if operator == "in":
        scan_list = _Scanner("filter", value)
        values = _in_list(scan_list)
        return Filter(field, operator, "", values, negated)
    if operator == "is" and value.lower() not in IS_VALUES:
        raise scan.fail("null, not_null, true, false or unknown")
    return Filter(field, operator, value, (), negated, modifier)


def _in_list(scan: _Scanner) -> tuple[str, ...]:
    """`(a,"b,c",d)`: items split at commas outside double quotes (`\\` escapes in quotes)."""
    scan.expect("(")
    values: list[str] = []
    if scan.take(")"):
        scan.finish()
        return ()
    while True:
        values.append(_list_value(scan))
        if len(values) > MAX_ITEMS:
            raise scan.fail(f"at most {MAX_ITEMS} values")
        if scan.take(")"):
            scan.finish()
            return tuple(values)
        scan.expect(",")


def _list_value(scan: _Scanner) -> str:
    text = scan.text
    if scan.take('"'):
        chars: list[str] = []
        while scan.pos < len(text) and text[scan.pos] != '"':
            if text[scan.pos] == "\\" and scan.pos + 1 < len(text):
                scan.pos += 1
            chars.append(text[scan.pos])
            scan.pos += 1
        scan.expect('"')
        return "".join(chars)
    start = scan.pos
    while scan.pos < len(text) and text[scan.pos] not in ',)"(':
        scan.pos += 1
    return text[start : scan.pos]


# -- or= / and= ------------------------------------------------------------------------------


def parse_logic(op: LogicOp, negated: bool, text: str, what: str | None = None) -> Logic:
    """`or=(a.eq.1,and(b.gt.2,not.c.is.null))`: a tree of conditions."""
    scan = _Scanner(what or op, text)
    logic = _group(scan, op, negated, 0)
    scan.finish()
    return logic


def _group(scan: _Scanner, op: LogicOp, negated: bool, depth: int) -> Logic:
    if depth > MAX_DEPTH:
        raise scan.fail("fewer nested groups")
    scan.expect("(")
    children: list[Condition] = []
    while True:
        scan.skip_spaces()
        children.append(_condition(scan, depth))
        if len(children) > MAX_ITEMS:
            raise scan.fail("fewer conditions")
        scan.skip_spaces()
        if scan.take(")"):
            return Logic(op, tuple(children), negated)
        scan.expect(",")


def _condition(scan: _Scanner, depth: int) -> Condition:
    for prefix, (op, negated) in GROUP_PREFIXES:
        if scan.peek(prefix):
            scan.pos += len(prefix) - 1
            return _group(scan, op, negated, depth + 1)
    field = scan.field()
    scan.expect(".")
    start = scan.pos
    _skip_value(scan)
    raw = scan.text[start : scan.pos]
    try:
        found = parse_filter(field, _unquote_value(raw))
    except GrammarError as exc:
        raise GrammarError(scan.what, scan.text, str(exc.details)) from exc
    return found


def _skip_value(scan: _Scanner) -> None:
    """Move past a condition's value: up to a `,` or `)` outside quotes and parentheses."""
    text, depth, quoted = scan.text, 0, False
    while scan.pos < len(text):
        char = text[scan.pos]
        if quoted:
            if char == "\\":
                scan.pos += 1
            elif char == '"':
                quoted = False
        elif char == '"':
            quoted = True
        elif char == "(":
            depth += 1
        elif char in ",)" and depth == 0:
            return
        elif char == ")":
            depth -= 1
        scan.pos += 1
    if quoted or depth:
        raise scan.fail("a closing quote or parenthesis")


def _unquote_value(raw: str) -> str:
    """`eq."a,b"` inside a group means the value `a,b` (the list of `in` keeps its quotes)."""
    head, dot, value = raw.rpartition(".")
    if dot and len(value) >= 2 and value[0] == '"' and value[-1] == '"' and "(" not in head:
        return f"{head}.{value[1:-1]}"
    return raw


# -- order= ----------------------------------------------------------------------------------


def parse_order(text: str, what: str = "order") -> tuple[OrderTerm, ...]:
    """`order=a.desc.nullslast,data->>x,rel(col).asc`."""
    scan = _Scanner(what, text)
    terms: list[OrderTerm] = []
    while True:
        scan.skip_spaces()
        terms.append(_order_term(scan))
        if len(terms) > MAX_ITEMS:
            raise scan.fail("fewer order terms")
        if not scan.take(","):
            scan.finish()
            return tuple(terms)


def _order_term(scan: _Scanner) -> OrderTerm:
    relation: str | None = None
    field = scan.field()
    if not field.path and scan.take("("):
        relation, field = field.name, scan.field()
        scan.expect(")")
    descending = scan.take(".desc")
    if not descending:
        scan.take(".asc")
    nulls: Literal["first", "last"] | None = None
    if scan.take(".nullsfirst"):
        nulls = "first"
    elif scan.take(".nullslast"):
        nulls = "last"
    return OrderTerm(field, relation, descending, nulls)


# -- the whole query string ------------------------------------------------------------------


def parse_columns(text: str, what: str = "columns") -> tuple[str, ...]:
    """`columns=a,b` and `on_conflict=a,b`: a list of plain names."""
    scan = _Scanner(what, text)
    names: list[str] = []
    while True:
        scan.skip_spaces()
        names.append(scan.name())
        if len(names) > MAX_ITEMS:
            raise scan.fail("fewer names")
        scan.skip_spaces()
        if not scan.take(","):
            scan.finish()
            return tuple(names)


def parse_count(text: str, what: str) -> int:
    """A non-negative integer (`limit`, `offset`)."""
    if not _INTEGER.fullmatch(text):
        raise GrammarError(what, text, "expecting a non-negative integer")
    return int(text)


def parse_query(params: Iterable[tuple[str, str]]) -> ReadQuery:
    """Every parameter of a request: reserved ones (maybe under an embed's path, as in
    `rel.limit=2`) and filters (`col=op.value`, `rel.col=op.value`)."""
    query = ReadQuery()
    for key, value in params:
        path, last = _split_key(key)
        if (*path, last)[-2:] in (("not", "or"), ("not", "and")):
            path, last = path[:-1], "not." + last
        if last in LOGIC_KEYS:
            op, negated = LOGIC_KEYS[last]
            query.conditions.setdefault(path, []).append(parse_logic(op, negated, value, key))
        elif last in RESERVED:
            _reserved(query, path, last, key, value)
        else:
            scan = _Scanner("filter", last)
            field = scan.field()
            scan.finish()
            query.conditions.setdefault(path, []).append(parse_filter(field, value))
    return query


def _reserved(query: ReadQuery, path: Path, name: str, key: str, value: str) -> None:
    if name == "order":
        query.order[path] = parse_order(value, key)
    elif name == "limit":
        query.limit[path] = parse_count(value, key)
    elif name == "offset":
        query.offset[path] = parse_count(value, key)
    elif path:
        raise GrammarError(key, value, f"{name} applies to the table, not to an embed")
    elif name == "select":
        query.select = parse_select(value) if value else (Star(),)
    elif name == "columns":
        query.columns = parse_columns(value, "columns")
    else:
        query.on_conflict = parse_columns(value, "on_conflict")


def _split_key(key: str) -> tuple[Path, str]:
    """`rel.sub.col->a` → (("rel", "sub"), "col->a"): dots before any JSON arrow separate
    embeds; a quoted name keeps its dots."""
    arrow = key.find("->")
    head, tail = (key, "") if arrow < 0 else (key[:arrow], key[arrow:])
    parts = _dotted(head)
    if len(parts) > MAX_DEPTH:
        raise GrammarError("filter", key, "too deeply nested")
    return tuple(parts[:-1]), parts[-1] + tail


def _dotted(head: str) -> list[str]:
    parts: list[str] = []
    current: list[str] = []
    quoted = False
    for char in head:
        if char == '"':
            quoted = not quoted
        if char == "." and not quoted:
            parts.append("".join(current))
            current = []
        else:
            current.append(char)
    parts.append("".join(current))
    return parts
