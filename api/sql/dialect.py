"""sqlglot's SQLite dialect, adjusted so Postgres functions and types run on SQLite.

Timestamps are stored as text ``YYYY-MM-DD HH:MM:SS.SSS`` (UTC), the format SQLite's date
functions read and write.  Everything here is plain SQL except divisors and the arguments of
`api.sql.quadratic`, which go through the two functions ``projections.meta.configure``
registers on every projection connection (with the pragmas that make LIKE case-sensitive and
foreign keys enforced).

Postgres semantics kept here: LIKE is case-sensitive (the pragma) with ``\\`` as its default
escape character, ILIKE compares ``lower()`` of both sides, ``x / 0`` and ``x % 0`` fail with
``division by zero``, ``starts_with(s, prefix)`` is an exact prefix test.
"""

from __future__ import annotations

from sqlglot import exp
from sqlglot.dialects.sqlite import SQLite
from sqlglot.generators.sqlite import SQLiteGenerator

from api.sql.aggregates import rewrite_ordered_aggregates
from api.sql.errors import NotSupportedError
from api.sql.quadratic import guard_arguments
from projections.arrayfuncs import (
    ARRAY_GET_FUNCTION,
    ARRAY_IN_FUNCTION,
    CONTAINS_FUNCTION,
    OVERLAP_FUNCTION,
)
from projections.meta import DIVISOR_FUNCTION
from projections.regexfuncs import REGEX_FUNCTION, SIMILAR_FUNCTION, SUBSTRING_FUNCTION
from projections.sequences import CURRVAL_FUNCTION, NEXTVAL_FUNCTION, SETVAL_FUNCTION
from projections.textsearch import MATCH_FUNCTION as TS_MATCH_FUNCTION

NOW_SQL = "STRFTIME('%Y-%m-%d %H:%M:%f', 'now')"
# A version-4 UUID from random() and printf() only (functions every principal may call).
UUID_SQL = (
    "PRINTF('%08x-%04x-4%03x-%04x-%012x', RANDOM() & 4294967295, RANDOM() & 65535,"
    " RANDOM() & 4095, (RANDOM() & 16383) | 32768, RANDOM() & 281474976710655)"
)
# Postgres random() is a double in [0, 1); SQLite's is a 64-bit integer. 53 random bits
# over 2**53 give every double in that range the same chance.
RANDOM_SQL = "((RANDOM() & 9007199254740991) / 9007199254740992.0)"
_TRUNC_FORMATS = {
    "YEAR": "%Y-01-01 00:00:00",
    "MONTH": "%Y-%m-01 00:00:00",
    "DAY": "%Y-%m-%d 00:00:00",
    "HOUR": "%Y-%m-%d %H:00:00",
    "MINUTE": "%Y-%m-%d %H:%M:00",
    "SECOND": "%Y-%m-%d %H:%M:%S",
}
_EXTRACT_FORMATS = {
    "YEAR": "%Y",
    "MONTH": "%m",
    "DAY": "%d",
    "HOUR": "%H",
    "MINUTE": "%M",
    "DOW": "%w",
    "DOY": "%j",
    "EPOCH": "%s",
}
# Postgres functions with a direct SQLite equivalent (by lower-case name).
_RENAMES = {
    "json_build_object": "JSON_OBJECT",
    "jsonb_build_object": "JSON_OBJECT",
    "json_build_array": "JSON_ARRAY",
    "jsonb_build_array": "JSON_ARRAY",
    "jsonb_agg": "JSON_GROUP_ARRAY",
    "json_object_agg": "JSON_GROUP_OBJECT",
    "jsonb_object_agg": "JSON_GROUP_OBJECT",
    "jsonb_array_length": "JSON_ARRAY_LENGTH",
    # Sequence names are schema-qualified by api.sql.sequences before generation.
    "nextval": NEXTVAL_FUNCTION,
    "currval": CURRVAL_FUNCTION,
    "setval": SETVAL_FUNCTION,
}
_TEXT_TYPES = (exp.DType.JSON, exp.DType.JSONB, exp.DType.UUID, exp.DType.TIMESTAMPTZ)


def _unit(node: exp.Expr | None) -> str:
    """Upper-case unit name of a DATE_TRUNC / EXTRACT unit argument."""
    if node is None:
        raise NotSupportedError("date_trunc without a unit is not supported")
    return node.name.upper().rstrip("S")


def _trunc_sql(gen: SQLiteGenerator, node: exp.TimestampTrunc | exp.DateTrunc) -> str:
    """date_trunc(unit, ts) via strftime; weeks start on Monday as in Postgres."""
    unit = _unit(node.args.get("unit"))
    value = gen.sql(node, "this")
    if unit == "WEEK":
        return (
            f"STRFTIME('%Y-%m-%d 00:00:00', {value}, "
            f"'-' || ((CAST(STRFTIME('%w', {value}) AS INTEGER) + 6) % 7) || ' days')"
        )
    fmt = _TRUNC_FORMATS.get(unit)
    if fmt is None:
        raise NotSupportedError(f"date_trunc unit {unit.lower()!r} is not supported")
    return f"STRFTIME('{fmt}', {value})"


def _extract_sql(gen: SQLiteGenerator, node: exp.Extract) -> str:
    """extract(field FROM ts) via strftime."""
    unit = _unit(node.this)
    value = gen.sql(node, "expression")
    if unit == "SECOND":
        return f"CAST(STRFTIME('%f', {value}) AS REAL)"
    fmt = _EXTRACT_FORMATS.get(unit)
    if fmt is None:
        raise NotSupportedError(f"extract field {unit.lower()!r} is not supported")
    return f"CAST(STRFTIME('{fmt}', {value}) AS INTEGER)"


def _concat_sql(gen: SQLiteGenerator, node: exp.Concat) -> str:
    """concat(a, b, ...): NULL arguments count as empty strings, as in Postgres."""
    parts = [f"COALESCE(CAST({gen.sql(arg)} AS TEXT), '')" for arg in node.expressions]
    return "(" + " || ".join(parts) + ")" if parts else "''"


def _at_time_zone_sql(gen: SQLiteGenerator, node: exp.AtTimeZone) -> str:
    """``ts AT TIME ZONE 'UTC'`` is ``ts``: timestamps are stored in UTC."""
    zone = node.args.get("zone")
    if not (isinstance(zone, exp.Literal) and zone.this.upper() in ("UTC", "Z", "GMT")):
        raise NotSupportedError("AT TIME ZONE is supported for 'UTC' only")
    return gen.sql(node, "this")


def _needs_guard(divisor: exp.Expr) -> bool:
    """False for divisors that cannot be zero (non-zero number literals) or already guarded."""
    if isinstance(divisor, exp.Anonymous) and divisor.name == DIVISOR_FUNCTION:
        return False
    if isinstance(divisor, exp.Literal) and not divisor.is_string:
        try:
            return float(divisor.this) == 0
        except ValueError:
            return True
    return True


def _guard_divisor(node: exp.Binary) -> None:
    """Route the divisor of ``node`` through the divisor function (in place, idempotent).

    The function also sees the dividend: Postgres' division is strict, so ``NULL / 0`` is
    NULL, and only a non-NULL dividend over zero is an error."""
    divisor = node.expression
    if _needs_guard(divisor):
        guard = exp.Anonymous(this=DIVISOR_FUNCTION, expressions=[divisor, _dividend(node)])
        node.set("expression", guard)


def _dividend(node: exp.Binary) -> exp.Expr:
    """What the guard tests for NULL: a copy of the dividend, or ``1`` when copying it could
    multiply work (a dividend holding a division would be copied once per nesting level, a
    subquery run twice); such a dividend over zero is an error even when it is NULL."""
    dividend: exp.Expr = node.this
    if dividend.find(exp.Div, exp.Mod, exp.IntDiv, exp.Query) is not None:
        return exp.Literal.number(1)
    return dividend.copy()


def _starts_with_sql(gen: SQLiteGenerator, node: exp.StartsWith) -> str:
    """starts_with(s, prefix): an exact, case-sensitive prefix test (instr finds the first
    occurrence, so it is 1 exactly when ``prefix`` starts ``s``); each side runs once."""
    return f"(INSTR({gen.sql(node, 'this')}, {gen.sql(node, 'expression')}) = 1)"


def _regex_sql(gen: SQLiteGenerator, node: exp.RegexpLike | exp.RegexpILike) -> str:
    """``a ~ b`` / ``a ~* b`` / regexp_like through the bounded matcher."""
    flag = node.args.get("flag")
    flags: exp.Expr = flag if flag is not None else exp.Literal.string("")
    if isinstance(node, exp.RegexpILike):
        flags = exp.DPipe(this=exp.Literal.string("i"), expression=flags)
    return gen.func(REGEX_FUNCTION, node.this, node.expression, flags)


def _regexp_replace_sql(gen: SQLiteGenerator, node: exp.RegexpReplace) -> str:
    """regexp_replace(s, pattern, replacement [, flags])."""
    if node.args.get("position") is not None or node.args.get("occurrence") is not None:
        raise NotSupportedError("regexp_replace with a start position is not supported")
    replacement = node.args.get("replacement") or exp.Literal.string("")
    return gen.func(
        "REGEXP_REPLACE", node.this, node.expression, replacement, node.args.get("modifiers")
    )


def _regexp_count_sql(gen: SQLiteGenerator, node: exp.RegexpCount) -> str:
    """regexp_count(s, pattern)."""
    if any(node.args.get(key) is not None for key in ("position", "parameters")):
        raise NotSupportedError("regexp_count with a start position or flags is not supported")
    return gen.func("REGEXP_COUNT", node.this, node.expression)


def _similar_sql(gen: SQLiteGenerator, node: exp.SimilarTo) -> str:
    """``a SIMILAR TO b`` (``\\`` escapes, as in Postgres)."""
    return gen.func(SIMILAR_FUNCTION, node.this, node.expression, exp.Literal.string("\\"))


def _substring_sql(gen: SQLiteGenerator, node: exp.Substring) -> str:
    """substring(s FROM n [FOR m]); ``substring(s FROM 'pattern')`` (a text literal where
    the start would be) takes the regular expression's match."""
    start, length = node.args.get("start"), node.args.get("length")
    if isinstance(start, exp.Literal) and start.is_string:
        if length is not None:
            raise NotSupportedError("substring(... FROM pattern FOR escape) is not supported")
        return gen.func(SUBSTRING_FUNCTION, node.this, start)
    return gen.func("SUBSTRING", node.this, start, length)


_ELEMENT_KINDS = {
    **dict.fromkeys(exp.DataType.INTEGER_TYPES, "int"),
    **dict.fromkeys(exp.DataType.REAL_TYPES, "float"),
    exp.DType.BOOLEAN: "bool",
}


def array_kind(to: exp.DataType) -> str:
    """How ``_bkg_array_in`` converts the elements of a cast to ``to`` (an array type)."""
    element = to.expressions[0] if to.expressions else None
    kind = element.this if isinstance(element, exp.DataType) else None
    return _ELEMENT_KINDS.get(kind, "text") if kind is not None else "text"


def _subscript_sql(gen: SQLiteGenerator, node: exp.Bracket) -> str:
    """``a[i]``: 1-based, NULL outside the array (the reader made a literal index 0-based)."""
    if len(node.expressions) != 1 or isinstance(node.expressions[0], exp.Slice):
        raise NotSupportedError("array slices and several subscripts are not supported")
    index = node.expressions[0]
    if isinstance(index, exp.Literal) and not index.is_string:
        index = exp.Literal.number(int(index.this) + 1)
    return gen.func(ARRAY_GET_FUNCTION, node.this, index)


def _array_concat_sql(gen: SQLiteGenerator, node: exp.ArrayConcat) -> str:
    """array_cat(a, b) (and ``a || b`` of arrays, which the reader makes the same node)."""
    text = gen.sql(node, "this")
    for other in node.expressions:
        text = f"ARRAY_CAT({text}, {gen.sql(other)})"
    return text


def _ts_match_sql(gen: SQLiteGenerator, node: exp.MatchAgainst) -> str:
    """``vector @@ query`` (the reader puts the query first); a text on the left is read
    with the default configuration, as Postgres' ``text @@ tsquery`` does."""
    vector = node.expressions[0] if len(node.expressions) == 1 else None
    if vector is None:
        raise NotSupportedError("MATCH ... AGAINST is not supported")
    if not (isinstance(vector, exp.Anonymous) and vector.name.lower() == "to_tsvector"):
        vector = exp.Anonymous(this="to_tsvector", expressions=[vector])
    return gen.func(TS_MATCH_FUNCTION, vector, node.this)


class BkgSQLiteGenerator(SQLiteGenerator):
    """SQLite generator with Postgres function and type translations."""

    TYPE_MAPPING = {
        **SQLiteGenerator.TYPE_MAPPING,
        **dict.fromkeys(_TEXT_TYPES, "TEXT"),
        exp.DType.VARBINARY: "BLOB",
    }

    TRANSFORMS = {
        **{k: v for k, v in SQLiteGenerator.TRANSFORMS.items() if k is not exp.ILike},
        exp.Uuid: lambda *_: UUID_SQL,
        exp.CurrentTimestamp: lambda *_: NOW_SQL,
        exp.JSONBObjectAgg: lambda gen, e: gen.func("JSON_GROUP_OBJECT", e.this, e.expression),
        exp.TimestampTrunc: _trunc_sql,
        exp.DateTrunc: _trunc_sql,
        exp.Extract: _extract_sql,
        exp.Concat: _concat_sql,
        exp.Rand: lambda self, e: RANDOM_SQL,
        exp.AtTimeZone: _at_time_zone_sql,
        exp.StartsWith: _starts_with_sql,
        exp.ArrayAgg: lambda self, e: self.func("JSON_GROUP_ARRAY", e.this),
        exp.Left: lambda self, e: self.func("SUBSTR", e.this, exp.Literal.number(1), e.expression),
        exp.Right: lambda self, e: self.func("SUBSTR", e.this, exp.Neg(this=e.expression)),
        exp.Array: lambda self, e: self.func("JSON_ARRAY", *e.expressions),
        exp.Bracket: _subscript_sql,
        exp.ArrayContainsAll: lambda self, e: self.func(CONTAINS_FUNCTION, e.this, e.expression),
        exp.ArrayContainedBy: lambda self, e: self.func(CONTAINS_FUNCTION, e.expression, e.this),
        exp.ArrayOverlaps: lambda self, e: self.func(OVERLAP_FUNCTION, e.this, e.expression),
        exp.ArraySize: lambda self, e: self.func(
            "ARRAY_LENGTH", e.this, e.expression or exp.Literal.number(1)
        ),
        exp.ArrayAppend: lambda self, e: self.func("ARRAY_APPEND", e.this, e.expression),
        exp.ArrayPrepend: lambda self, e: self.func("ARRAY_PREPEND", e.expression, e.this),
        exp.ArrayConcat: _array_concat_sql,
        exp.ArrayRemove: lambda self, e: self.func("ARRAY_REMOVE", e.this, e.expression),
        exp.ArrayPosition: lambda self, e: self.func("ARRAY_POSITION", e.this, e.expression),
        exp.ArrayToString: lambda self, e: self.func(
            "ARRAY_TO_STRING", e.this, e.expression, e.args.get("null")
        ),
        exp.StringToArray: lambda self, e: self.func("STRING_TO_ARRAY", e.this, e.expression),
        exp.MatchAgainst: _ts_match_sql,
        exp.RegexpLike: _regex_sql,
        exp.RegexpILike: _regex_sql,
        exp.RegexpReplace: _regexp_replace_sql,
        exp.RegexpCount: _regexp_count_sql,
        exp.SimilarTo: _similar_sql,
        exp.Substring: _substring_sql,
        exp.UnixToTime: lambda self, e: self.func(
            "DATETIME", e.this, exp.Literal.string("unixepoch")
        ),
    }

    def preprocess(self, expression: exp.Expr) -> exp.Expr:
        """Guard every divisor and every argument that makes a string function quadratic
        (on the generator's own copy of the tree; not in ``div_sql``, because chains such as
        ``a / b / c`` are generated without visiting the inner divisions one by one)."""
        expression = super().preprocess(expression)
        for node in list(expression.find_all(exp.Div, exp.Mod, exp.IntDiv)):
            _guard_divisor(node)
        guard_arguments(expression)
        rewrite_ordered_aggregates(expression)
        return expression

    def like_sql(self, expression: exp.Like) -> str:
        """LIKE with Postgres' default escape character (``\\``) unless ESCAPE names one."""
        return self._pattern_sql(expression, fold=False)

    def ilike_sql(self, expression: exp.ILike) -> str:
        """ILIKE as ``lower(a) LIKE lower(b)`` (LIKE itself is case-sensitive)."""
        return self._pattern_sql(expression, fold=True)

    def _pattern_sql(self, expression: exp.Like | exp.ILike, fold: bool) -> str:
        """One [NOT] LIKE; quantified patterns (LIKE ANY (...)) expand into several."""
        if isinstance(expression.expression, exp.All | exp.Any):
            return super()._like_sql(expression)
        this, pattern = self.sql(expression, "this"), self.sql(expression, "expression")
        if fold:
            this, pattern = f"LOWER({this})", f"LOWER({pattern})"
        op = "NOT LIKE" if expression.args.get("negate") else "LIKE"
        escape = "" if isinstance(expression.parent, exp.Escape) else " ESCAPE '\\'"
        return f"{this} {op} {pattern}{escape}"

    def escape_sql(self, expression: exp.Escape) -> str:
        """``a SIMILAR TO b ESCAPE e`` through the matcher; LIKE ... ESCAPE as SQLite's."""
        similar = expression.this
        if isinstance(similar, exp.SimilarTo):
            return self.func(
                SIMILAR_FUNCTION, similar.this, similar.expression, expression.expression
            )
        return super().escape_sql(expression)

    def jsonextractscalar_sql(self, expression: exp.JSONExtractScalar) -> str:
        """`->>` yields text in Postgres (`'5'`, `'true'`), where SQLite's yields the JSON
        value's SQL type (5, 1) -- which would make `meta->>'n' = '5'` false."""
        value = super().jsonextractscalar_sql(expression)
        kind = self.func("JSON_TYPE", expression.this, expression.expression)
        return (
            f"CASE {kind} WHEN 'true' THEN 'true' WHEN 'false' THEN 'false' "
            f"ELSE CAST({value} AS TEXT) END"
        )

    def anonymous_sql(self, expression: exp.Anonymous) -> str:
        """Postgres functions SQLite knows under another name."""
        name = expression.name.lower()
        if name in ("uuid_generate_v4", "gen_random_uuid"):
            return UUID_SQL
        if name == "now" and not expression.expressions:
            return NOW_SQL
        if name in ("jsonb_typeof", "json_typeof") and len(expression.expressions) == 1:
            kind = self.func("JSON_TYPE", expression.expressions[0])
            return (
                f"CASE {kind} WHEN 'integer' THEN 'number' WHEN 'real' THEN 'number' "
                f"WHEN 'text' THEN 'string' WHEN 'true' THEN 'boolean' "
                f"WHEN 'false' THEN 'boolean' ELSE {kind} END"
            )
        renamed = _RENAMES.get(name)
        if renamed is not None:
            return self.func(renamed, *expression.expressions)
        return super().anonymous_sql(expression)

    def cast_sql(self, expression: exp.Cast, safe_prefix: str | None = None) -> str:
        """Casts to timestamp and timestamptz give UTC text, with the fraction of a second
        when there is one (to the millisecond: SQLite's `%f`; `DATETIME` would drop it)."""
        if expression.is_type("timestamptz", "timestamp"):
            text = self.func("STRFTIME", exp.Literal.string("%Y-%m-%d %H:%M:%f"), expression.this)
            return f"RTRIM(RTRIM({text}, '0'), '.')"
        if expression.to.this == exp.DType.ARRAY:
            kind = exp.Literal.string(array_kind(expression.to))
            return self.func(ARRAY_IN_FUNCTION, expression.this, kind)
        return super().cast_sql(expression, safe_prefix)


class BkgSQLite(SQLite):
    """The dialect statements are generated in."""

    Generator = BkgSQLiteGenerator
