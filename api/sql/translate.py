"""Turn a parsed Postgres query or DML statement into SQLite text for the projection.

Table references become physical names (``"ns.t"``) aliased to what the statement called
them, so column qualifiers keep working; ``$n`` parameters become SQLite's numbered ``?n``
(``:name`` stays as it is) so values are always bound, never interpolated.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass

import sqlglot
from sqlglot import exp
from sqlglot.errors import ErrorLevel, UnsupportedError

from api.sql.capture import images_statement
from api.sql.catalog import Catalog, ColumnDef, TableDef
from api.sql.coerce import assignments, coerce_assignments
from api.sql.dialect import BkgSQLite
from api.sql.enums import check_assigned_labels, rewrite_enums
from api.sql.errors import BadRequestError, NotSupportedError, SqlValidationError
from api.sql.fidelity import apply_fidelity
from api.sql.jsonops import rewrite_json_operators
from api.sql.parse import StatementInfo, logical_name, table_refs
from api.sql.printf import guard_printf
from api.sql.results import UNKNOWN, client_families, declared_types, expression_family
from api.sql.sequences import qualify_sequence_calls
from api.sql.series import expand_any, expand_series
from projections.datetimefuncs import DIFF_FUNCTION

_DIALECT = BkgSQLite()


@dataclass(frozen=True)
class Translated:
    """SQLite text plus what is needed to bind and type it."""

    sql: str
    types: tuple[str | None, ...] | None
    params: tuple[str, ...]
    positional: int
    target: TableDef | None
    pins_sequence: bool = False
    coercions: tuple[tuple[int | str, str], ...] = ()
    images_sql: str | None = None
    """For a single-row ``INSERT ... VALUES`` whose only effect is that row: the statement
    with ``RETURNING rowid`` and every column, whose one row is the row image
    (``api.sql.capture.inserted``), so no capture trigger is needed."""

    @functools.cached_property
    def families(self) -> tuple[str | None, ...] | None:
        """What `typed_rows` converts result values by (None: nothing to convert)."""
        return client_families(self.types)


def translate(expression: exp.Expression, info: StatementInfo, catalog: Catalog) -> Translated:
    """Translate a (private, mutable) statement; raises SqlError subclasses."""
    expand_series(expression)
    expand_any(expression)
    qualify_sequence_calls(expression, info.namespace, catalog)
    guard_printf(expression)
    scope = _resolve_tables(expression, info.namespace, catalog)
    params, positional = _rename_params(expression)
    target = catalog.table(info.target) if info.target else None
    apply_fidelity(expression)
    rewrite_json_operators(expression, lambda node: expression_family(node, scope) == "json")
    _timestamp_differences(expression, scope)
    _name_outputs(expression)
    rewrite_enums(expression, scope, catalog, info.namespace)
    _rewrite_intervals(expression)
    if isinstance(expression, exp.Insert) and target is not None:
        _prepare_insert(expression, target, catalog)
    coercions: tuple[tuple[int | str, str], ...] = ()
    if target is not None:
        _refuse_rowid_assignment(expression, target)
        columns = _insert_columns(expression, target) if isinstance(expression, exp.Insert) else []
        written = assignments(expression, target, columns)
        check_assigned_labels([(column.type, node) for column, node in written], catalog)
        coercions = coerce_assignments(expression, target, columns)
    if isinstance(expression, exp.Delete) and expression.args.get("using"):
        _using_to_exists(expression)
    types = _result_types(expression, scope, target)
    pins = _may_skip_counter(expression) and target is not None and target.autoincrement
    sql = generate(expression)
    images = images_statement(sql, expression, target)
    return Translated(sql, types, params, positional, target, pins, coercions, images)


_TIMESTAMPS = ("timestamp", "timestamptz")


def _timestamp_differences(expression: exp.Expr, scope: dict[str, TableDef]) -> None:
    """``ts - ts`` is an interval (Postgres's text output), not SQLite's text subtraction."""
    for node in list(expression.find_all(exp.Sub)):
        left, right = node.this, node.expression
        if isinstance(right, exp.Interval):
            continue
        if (
            expression_family(left, scope) in _TIMESTAMPS
            and expression_family(right, scope) in _TIMESTAMPS
        ):
            node.replace(exp.Anonymous(this=DIFF_FUNCTION, expressions=[left, right]))


def _may_skip_counter(expression: exp.Expr) -> bool:
    """True for inserts after which SQLite's AUTOINCREMENT counter may not match the rows
    inserted (conflict handling, or INSERT ... SELECT of possibly no rows)."""
    if not isinstance(expression, exp.Insert):
        return False
    source = expression.expression
    plain = isinstance(source, exp.Values) or source is None
    return not plain or bool(expression.args.get("conflict") or expression.args.get("alternative"))


def generate(expression: exp.Expr) -> str:
    """SQLite text of an expression; constructs SQLite cannot express are refused."""
    try:
        return expression.sql(dialect=_DIALECT, unsupported_level=ErrorLevel.RAISE)
    except UnsupportedError as exc:
        raise NotSupportedError(str(exc)) from exc


def _resolve_tables(expression: exp.Expr, namespace: str, catalog: Catalog) -> dict[str, TableDef]:
    """Point table references at physical tables; returns alias -> table for typing."""
    scope: dict[str, TableDef] = {}
    for table in table_refs(expression):
        definition = catalog.table(logical_name(table, namespace))
        alias = table.alias or table.name
        table.set("this", exp.to_identifier(definition.name, quoted=True))
        table.set("db", None)
        table.set("alias", exp.TableAlias(this=exp.to_identifier(alias)))
        scope.setdefault(alias.lower(), definition)
    for column in expression.find_all(exp.Column):
        if column.args.get("db"):
            column.set("db", None)
            column.set("catalog", None)
    return scope


def _rename_params(expression: exp.Expr) -> tuple[tuple[str, ...], int]:
    """Rewrite ``$n`` and ``?`` to SQLite's ``?n``; ``:name`` stays.

    Returns the named parameters and the number of positional ones; mixing both is refused.
    """
    names: list[str] = []
    count = 0
    counter = 0
    for node in list(expression.find_all(exp.Parameter, exp.Placeholder)):
        if isinstance(node, exp.Placeholder) and node.name and not node.args.get("jdbc"):
            names.append(node.name)
            continue
        if isinstance(node, exp.Parameter):
            if not node.name.isdigit():
                raise BadRequestError(f"parameter ${node.name} is not a number")
            number = int(node.name)
        else:
            counter += 1
            number = counter
        count = max(count, number)
        node.replace(exp.Var(this=f"?{number}"))
    if names and count:
        raise BadRequestError("mixing $n and :name parameters is not supported")
    return tuple(dict.fromkeys(names)), count


def _rewrite_intervals(expression: exp.Expr) -> None:
    """``ts +/- interval 'n unit'`` -> ``strftime(..., ts, '+n unit')``; adding months or
    years ends on the last day of a shorter month, as in Postgres (Jan 31 + 1 month is Feb
    29 or 28, where SQLite would overflow into March)."""
    for node in list(expression.find_all(exp.Add, exp.Sub)):
        interval = node.expression
        if not isinstance(interval, exp.Interval):
            continue
        amount = interval.this.name if interval.this else ""
        unit = interval.args.get("unit")
        modifier = f"{amount} {unit.name}" if unit else amount
        sign = "-" if isinstance(node, exp.Sub) else "+"
        shifted = _strftime(node.this, f"{sign}{modifier.lower()}")
        if re.search(r"\b(mon|month|year)", modifier.lower()):
            shifted = _clamp_month_end(node.this, shifted)
        node.replace(shifted)


TIMESTAMP_FORMAT = "%Y-%m-%d %H:%M:%f"


def _strftime(value: exp.Expr, *modifiers: str | exp.Expr) -> exp.Expr:
    args = [m if isinstance(m, exp.Expr) else exp.Literal.string(m) for m in modifiers]
    return exp.Anonymous(
        this="STRFTIME", expressions=[exp.Literal.string(TIMESTAMP_FORMAT), value.copy(), *args]
    )


def _clamp_month_end(start: exp.Expr, shifted: exp.Expr) -> exp.Expr:
    """``shifted`` moved back to the end of the previous month when its day overflowed."""
    day = exp.Anonymous(this="STRFTIME", expressions=[exp.Literal.string("%d"), shifted.copy()])
    start_day = exp.Anonymous(this="STRFTIME", expressions=[exp.Literal.string("%d"), start.copy()])
    back = exp.DPipe(
        this=exp.DPipe(this=exp.Literal.string("-"), expression=exp.cast(day.copy(), "int")),
        expression=exp.Literal.string(" days"),
    )
    clamped = _strftime(shifted, back)
    return exp.Case(
        ifs=[exp.If(this=exp.NEQ(this=day, expression=start_day), true=clamped)],
        default=shifted,
    )


def _prepare_insert(insert: exp.Insert, target: TableDef, catalog: Catalog) -> None:
    """Fill DEFAULT and missing trailing values, fix ON CONFLICT keys, unqualify RETURNING."""
    columns = _insert_columns(insert, target)
    values = insert.expression
    if isinstance(values, exp.Values):
        for row in values.expressions:
            _fill_defaults(row, columns, target)
    conflict = insert.args.get("conflict")
    if conflict is not None and isinstance(values, exp.Query):
        # SQLite reads "SELECT ... ON CONFLICT" as a join constraint unless a WHERE ends it.
        source = (
            values
            if isinstance(values, exp.Select)
            else exp.select("*").from_(values.subquery("s"))
        )
        insert.set("expression", source.where("TRUE") if not source.args.get("where") else source)
    if conflict is not None:
        keys = conflict.args.get("conflict_keys") or []
        conflict.set("conflict_keys", [k.this if isinstance(k, exp.Ordered) else k for k in keys])
    _add_sequence_defaults(insert, target)
    _unqualify_returning(insert, target)


def _add_sequence_defaults(insert: exp.Insert, target: TableDef) -> None:
    """Columns left out of ``INSERT ... VALUES`` whose default steps a sequence get it
    explicitly: SQLite ignores the default of its rowid column, and the step must be taken
    by the statement (and logged) either way."""
    schema, values = insert.this, insert.expression
    if not isinstance(schema, exp.Schema) or not isinstance(values, exp.Values):
        return
    named = {c.name.lower() for c in schema.expressions}
    for column in target.columns:
        default = column.default or ""
        if column.name.lower() in named or "nextval(" not in default.lower():
            continue
        schema.append("expressions", exp.to_identifier(column.name))
        for row in values.expressions:
            row.append("expressions", default_expression(default, column.type))


def _refuse_rowid_assignment(statement: exp.Expr, target: TableDef) -> None:
    """Row images address rows by rowid; only a declared key column may move a row."""
    assignments = list(statement.args.get("expressions") or [])
    conflict = statement.args.get("conflict")
    if conflict is not None:
        assignments.extend(conflict.args.get("expressions") or [])
    for assignment in assignments:
        column = assignment.this if isinstance(assignment, exp.EQ) else None
        name = column.name.lower() if isinstance(column, exp.Column) else ""
        if name in ("rowid", "oid", "_rowid_") and target.column(name) is None:
            raise NotSupportedError("assigning the implicit rowid column is not supported")


def _using_to_exists(delete: exp.Delete) -> None:
    """``DELETE FROM t USING u WHERE c`` -> ``DELETE FROM t WHERE EXISTS (SELECT 1 FROM u
    WHERE c)``: the same rows, in a form SQLite runs."""
    using = delete.args["using"]
    where = delete.args.get("where")
    probe = exp.select("1").from_(using[0])
    for table in using[1:]:
        probe = probe.join(table, join_type="cross")
    if where is not None:
        probe = probe.where(where.this)
    delete.set("using", None)
    delete.set("where", exp.Where(this=exp.Exists(this=probe)))


def _insert_columns(insert: exp.Insert, target: TableDef) -> list[str]:
    """Explicit column list, or the leading table columns the VALUES rows fill."""
    if isinstance(insert.this, exp.Schema):
        return [c.name for c in insert.this.expressions]
    values = insert.expression
    width = len(target.columns)
    if isinstance(values, exp.Values) and values.expressions:
        width = max(len(row.expressions) for row in values.expressions)
        if width > len(target.columns):
            raise SqlValidationError(f"INSERT has more expressions than {target.name} has columns")
        if width < len(target.columns):
            names = target.column_names()[:width]
            insert.set(
                "this",
                exp.Schema(this=insert.this, expressions=[exp.to_identifier(n) for n in names]),
            )
    return target.column_names()[:width]


def _fill_defaults(row: exp.Expr, columns: list[str], target: TableDef) -> None:
    """Replace the DEFAULT keyword in a VALUES row by the column's default expression."""
    for position, value in enumerate(list(row.expressions)):
        if not (isinstance(value, exp.Var) and value.name.upper() == "DEFAULT"):
            continue
        column = target.column(columns[position]) if position < len(columns) else None
        if column is None:
            raise SqlValidationError(f"DEFAULT for an unknown column of {target.name}")
        value.replace(default_expression(column.default, column.type))


def default_expression(default: str | None, declared: str) -> exp.Expr:
    """The expression a column default evaluates to (NULL: none, or a serial column)."""
    if default is None or declared.lower().endswith("serial"):
        return exp.Null()
    return parse_fragment(default).copy()


@functools.lru_cache(maxsize=256)
def parse_fragment(text: str) -> exp.Expression:
    """Parsed stored expression text (defaults, checks); shared, copy before use."""
    parsed = sqlglot.parse_one(text, read="postgres")
    if not isinstance(parsed, exp.Expression):
        raise NotSupportedError(f"expression {text!r} is not supported")
    return parsed


def _unqualify_returning(statement: exp.Expr, target: TableDef) -> None:
    """SQLite's RETURNING only sees the target table, and only unqualified."""
    returning = statement.args.get("returning")
    if returning is None:
        return
    for column in list(returning.find_all(exp.Column)):
        if isinstance(column.this, exp.Star):
            column.replace(exp.Star())
        else:
            column.set("table", None)


def _result_types(
    expression: exp.Expr, scope: dict[str, TableDef], target: TableDef | None
) -> tuple[str | None, ...] | None:
    """Declared type of each result column, or None when it cannot be known."""
    returning = expression.args.get("returning")
    if returning is not None and target is not None:
        if not isinstance(expression, exp.Insert):
            _unqualify_returning(expression, target)
        return declared_types(returning.expressions, {target.short_name: target}, [target])
    query = expression
    while isinstance(query, exp.SetOperation):
        query = query.this
    if not isinstance(query, exp.Select):
        return None
    sources = _from_sources(query, scope)
    if sources is None:
        return declared_types(query.expressions, {}, None)
    local = {alias: d for alias, d in sources}
    return declared_types(query.expressions, local, [d for _, d in sources])


def _from_sources(
    query: exp.Select, scope: dict[str, TableDef]
) -> list[tuple[str, TableDef]] | None:
    """(alias, table) of the FROM and JOIN items (a subquery as a table of its outputs'
    types), or None if any is something else."""
    items: list[exp.Expr] = []
    from_ = query.args.get("from_")
    if from_ is not None:
        items.append(from_.this)
    items.extend(join.this for join in query.args.get("joins") or [])
    sources: list[tuple[str, TableDef]] = []
    for item in items:
        definition = (
            scope.get(item.alias_or_name.lower())
            if isinstance(item, exp.Table)
            else _subquery_table(item, scope)
        )
        if definition is None:
            return None
        sources.append((item.alias_or_name.lower(), definition))
    return sources


def _subquery_table(item: exp.Expr, scope: dict[str, TableDef]) -> TableDef | None:
    """A derived table as a TableDef whose column types are its outputs' types."""
    if not isinstance(item, exp.Subquery) or not item.alias:
        return None
    inner = item.this
    while isinstance(inner, exp.SetOperation):
        inner = inner.this
    if not isinstance(inner, exp.Select):
        return None
    types = _result_types(inner, scope, None)
    names = [e.alias_or_name for e in inner.expressions]
    if types is None or len(types) != len(names) or any(e.is_star for e in inner.expressions):
        return None
    columns = [ColumnDef(n, t or UNKNOWN, "ANY") for n, t in zip(names, types, strict=True)]
    return TableDef(f"_.{item.alias}", columns)


def _name_outputs(expression: exp.Expr) -> None:
    """Give unnamed output expressions the column names Postgres would give them, in the
    statement's result and in every derived table (whose names ``*`` shows)."""
    returning = expression.args.get("returning")
    selects = [returning] if returning is not None else []
    selects.extend(expression.find_all(exp.Select))
    for query in selects:
        parent = query.parent
        if isinstance(parent, exp.SetOperation) and query is not parent.this:
            continue
        query.set(
            "expressions",
            [
                node
                if isinstance(node, exp.Alias | exp.Column | exp.Star)
                else exp.alias_(node, postgres_name(node), quoted=True, copy=False)
                for node in query.expressions
            ],
        )


def postgres_name(node: exp.Expr) -> str:
    """Postgres's name for an unaliased output expression (``count``, ``?column?``)."""
    if isinstance(node, exp.Paren | exp.Window):
        return postgres_name(node.this)
    if isinstance(node, exp.Column):
        return node.name
    if isinstance(node, exp.Cast):
        inner = postgres_name(node.this)
        return inner if inner != "?column?" else node.to.sql("postgres").lower()
    if isinstance(node, exp.Anonymous):
        return node.name.lower()
    if isinstance(node, exp.Pad):
        return "lpad" if node.args.get("is_left") else "rpad"
    if isinstance(node, exp.Func) and not isinstance(node, exp.JSONExtract | exp.JSONExtractScalar):
        return _function_name(type(node))
    return "?column?"


_FUNCTION_NAMES: dict[type[exp.Func], str] = {exp.GroupConcat: "string_agg"}


def _function_name(kind: type[exp.Func]) -> str:
    """The Postgres spelling of a function class (``JSONArrayAgg`` -> ``json_agg``)."""
    name = _FUNCTION_NAMES.get(kind)
    if name is None:
        try:
            head = kind().sql("postgres")
        except Exception:  # some classes cannot be rendered without arguments
            head = kind.sql_name()
        name = _FUNCTION_NAMES[kind] = head.split("(", 1)[0].strip().lower() or "?column?"
    return name
