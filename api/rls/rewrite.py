"""The statement rewrite that enforces namespaces and row-level security.

It works on the parsed Postgres-dialect AST before the SQL layer translates it for SQLite:

1. Every real table reference is resolved (unqualified names: the principal's namespace) and
   qualified; one outside the principal's namespace, an internal table or a table function is
   :class:`AccessDeniedError`. References to CTEs are recognised by the scoping rule SQLite
   uses (a name defined by the WITH of any enclosing query) and left alone.
2. For users, every table *read* — in FROM and JOINs, subqueries, CTE bodies, each branch of a
   set operation, EXISTS, INSERT ... SELECT sources, UPDATE ... FROM, DELETE ... USING and
   RETURNING — is replaced by ``(SELECT * FROM N.t WHERE <using>) AS <alias>``, where
   ``<using>`` ORs the select policies of the table (no policy: FALSE). Whatever the query
   shape, it can only ever see filtered rows.
3. The write target is not wrapped: UPDATE and DELETE get ``AND <action using> AND <select
   using>`` in their WHERE, so they only touch (and RETURNING only returns) visible rows;
   INSERT and UPDATE produce a :class:`RowCheck` that the SQL layer evaluates on the written
   rows (by rowid, inside the statement's transaction) before it commits.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sqlglot import exp

from api.auth.principal import Principal
from api.rls.errors import AccessDeniedError
from api.rls.names import check_identifier
from api.rls.policy import PolicySet
from api.rls.predicates import bind_predicate

_USER_STATEMENTS = (exp.Query, exp.Insert, exp.Update, exp.Delete)
_NAMESPACE_DDL = (exp.Create, exp.Drop, exp.Alter, exp.TruncateTable)
_DDL_KINDS = {"TABLE", "INDEX", "VIEW"}
_TABLE_ARGS = {"this", "db", "alias", "only"}


@dataclass(frozen=True)
class RowCheck:
    """A predicate that every row written to ``table`` by the statement must satisfy."""

    table: str
    action: str
    predicate: exp.Expr

    def violation_query(self, rowids: Sequence[int]) -> exp.Select:
        """``SELECT rowid FROM N.t WHERE rowid IN (..) AND NOT COALESCE(pred, FALSE) LIMIT 1``:
        a row in its result means the statement must be rolled back."""
        ns, name = self.table.split(".", 1)
        passes = exp.Coalesce(this=exp.paren(self.predicate.copy()), expressions=[exp.false()])
        rowid_in = exp.In(
            this=exp.column("rowid"), expressions=[exp.Literal.number(r) for r in rowids]
        )
        return (
            exp.select("rowid")
            .from_(exp.table_(name, db=ns))
            .where(exp.and_(rowid_in, exp.not_(passes)))
            .limit(1)
        )


@dataclass(frozen=True)
class Rewritten:
    """The statement to run and the checks its written rows must pass."""

    statement: exp.Expr
    checks: tuple[RowCheck, ...] = ()


@dataclass(frozen=True)
class _Ref:
    table: exp.Table
    namespace: str
    name: str

    @property
    def logical(self) -> str:
        return f"{self.namespace}.{self.name}"


class RlsRewriter:
    """Rewrites statements for one principal under one set of policies."""

    def __init__(self, policies: PolicySet, principal: Principal) -> None:
        self._policies = policies
        self._principal = principal

    def rewrite(self, statement: exp.Expr) -> Rewritten:
        """The statement as the principal may run it (a copy; the input is not changed)."""
        if self._principal.kind == "admin":
            return Rewritten(statement)
        stmt = statement.copy()
        self._check_kind(stmt)
        target = _write_target(stmt)
        refs = [self._resolve(table, table is target) for table in _real_tables(stmt, target)]
        self._check_columns(stmt)
        if self._principal.bypasses_rls:
            return Rewritten(stmt)
        for ref in refs:
            if ref.table is not target:
                self._wrap(ref)
        target_ref = next((ref for ref in refs if ref.table is target), None)
        if target_ref is None:
            return Rewritten(stmt)
        return self._guard_write(stmt, target_ref)

    def _check_kind(self, stmt: exp.Expr) -> None:
        """Users run queries and DML; namespace keys also DDL on tables, indexes and views."""
        if isinstance(stmt, _USER_STATEMENTS):
            return
        if self._principal.kind == "namespace" and isinstance(stmt, _NAMESPACE_DDL):
            kind = str(stmt.args.get("kind") or "TABLE").upper()
            if kind in _DDL_KINDS or isinstance(stmt, exp.Alter | exp.TruncateTable):
                return
        raise AccessDeniedError(f"{stmt.key.upper()} statements are not allowed for this principal")

    def _resolve(self, table: exp.Table, is_target: bool) -> _Ref:
        """Qualify a real table reference, refusing anything outside the namespace."""
        if not isinstance(table.this, exp.Identifier):
            raise AccessDeniedError("table functions are not allowed")
        unexpected = {k for k, v in table.args.items() if v} - _TABLE_ARGS
        if unexpected or table.args.get("catalog"):
            raise AccessDeniedError("this form of table reference is not allowed")
        check_identifier(table.name, AccessDeniedError)
        namespace = (table.db or self._principal.default_namespace).lower()
        if namespace != self._principal.default_namespace:
            raise AccessDeniedError(f"namespace {namespace!r} is outside this principal's")
        table.set("db", exp.to_identifier(namespace))
        return _Ref(table, namespace, table.name.lower())

    def _check_columns(self, stmt: exp.Expr) -> None:
        """Schema-qualified column references must name the principal's own namespace."""
        for column in stmt.find_all(exp.Column):
            db = column.args.get("db")
            if column.args.get("catalog") or (
                db is not None and db.name.lower() != self._principal.default_namespace
            ):
                raise AccessDeniedError("column reference outside this principal's namespace")
            if db is not None:
                column.set("db", None)

    def _using(self, table: str, action: str) -> exp.Expr:
        """OR of the bound ``using`` predicates of the policies for ``action`` (or FALSE)."""
        policies = self._policies.applicable(table, action, self._principal.kind)
        preds = [p.using_expr for p in policies if p.using_expr is not None]
        return self._any_of(preds)

    def _any_of(self, predicates: Sequence[exp.Expr]) -> exp.Expr:
        if not predicates:
            return exp.false()
        bound = [
            exp.paren(bind_predicate(p, self._principal.sub, self._principal.claims))
            for p in predicates
        ]
        return exp.or_(*bound) if len(bound) > 1 else bound[0]

    def _wrap(self, ref: _Ref) -> None:
        """Replace a table read by the subquery of its visible rows, under the same alias."""
        alias = ref.table.args.get("alias") or exp.TableAlias(this=exp.to_identifier(ref.name))
        visible = (
            exp.select("*")
            .from_(exp.table_(ref.name, db=ref.namespace))
            .where(self._using(ref.logical, "select"))
        )
        ref.table.replace(exp.Subquery(this=visible, alias=alias.copy()))

    def _guard_write(self, stmt: exp.Expr, target: _Ref) -> Rewritten:
        """Restrict UPDATE/DELETE to visible rows; build the check for written rows."""
        returning = bool(stmt.args.get("returning"))
        if isinstance(stmt, exp.Insert):
            _refuse_upsert(stmt)
            return Rewritten(stmt, (self._row_check(target, "insert", returning),))
        action = "update" if isinstance(stmt, exp.Update) else "delete"
        allowed = exp.and_(
            exp.paren(self._using(target.logical, action)),
            exp.paren(self._using(target.logical, "select")),
        )
        _add_where(stmt, _qualify(allowed, target.table.alias_or_name))
        if action == "delete":
            return Rewritten(stmt)
        return Rewritten(stmt, (self._row_check(target, "update", returning),))

    def _row_check(self, target: _Ref, action: str, returning: bool) -> RowCheck:
        """New rows must pass a write check; with RETURNING they must also be visible."""
        policies = self._policies.applicable(target.logical, action, self._principal.kind)
        if not policies:
            raise AccessDeniedError(f"no {action} policy allows writing to {target.logical}")
        checks = [c for c in (p.write_check() for p in policies) if c is not None]
        predicate: exp.Expr = exp.paren(self._any_of(checks))
        if returning:
            predicate = exp.and_(predicate, exp.paren(self._using(target.logical, "select")))
        return RowCheck(target.logical, action, predicate)


def _write_target(stmt: exp.Expr) -> exp.Table | None:
    """The table an INSERT, UPDATE or DELETE writes (never a CTE, whatever its name)."""
    if not isinstance(stmt, exp.Insert | exp.Update | exp.Delete):
        return None
    node = stmt.this
    if isinstance(node, exp.Schema):
        node = node.this
    if not isinstance(node, exp.Table):
        raise AccessDeniedError("unsupported write target")
    return node


def _real_tables(stmt: exp.Expr, target: exp.Table | None) -> list[exp.Table]:
    """Every table reference that is not a CTE reference; CTE names are checked on the way."""
    for cte in stmt.find_all(exp.CTE):
        check_identifier(cte.alias, AccessDeniedError)
    return [t for t in stmt.find_all(exp.Table) if t is target or not _is_cte_reference(t)]


def _is_cte_reference(table: exp.Table) -> bool:
    """True when an unqualified name is defined by the WITH of an enclosing query."""
    if table.args.get("db"):
        return False
    name = table.name.lower()
    node = table.parent
    while node is not None:
        with_ = node.args.get("with_")
        if isinstance(with_, exp.With) and any(
            cte.alias.lower() == name for cte in with_.expressions
        ):
            return True
        node = node.parent
    return False


def _refuse_upsert(stmt: exp.Insert) -> None:
    """ON CONFLICT DO UPDATE and INSERT OR REPLACE could change rows the user cannot see."""
    conflict = stmt.args.get("conflict")
    updates = isinstance(conflict, exp.OnConflict) and (
        conflict.args.get("expressions") or "UPDATE" in str(conflict.args.get("action")).upper()
    )
    if stmt.args.get("alternative") or updates:
        raise AccessDeniedError("upserts are not available under row-level security")


def _qualify(predicate: exp.Expr, table_ref: str) -> exp.Expr:
    """Qualify the predicate's own column references with the target's name or alias, so
    that UPDATE ... FROM and DELETE ... USING cannot make them resolve to another table."""
    for column in list(predicate.find_all(exp.Column)):
        if not column.table and column.find_ancestor(exp.Select) is None:
            column.set("table", exp.to_identifier(table_ref))
    return predicate


def _add_where(stmt: exp.Expr, condition: exp.Expr) -> None:
    where = stmt.args.get("where")
    combined = condition if where is None else exp.and_(exp.paren(where.this), condition)
    stmt.set("where", exp.Where(this=combined))
