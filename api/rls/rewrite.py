"""The statement rewrite that enforces namespaces and row-level security.

It works on the parsed Postgres-dialect AST before the SQL layer translates it for SQLite:

0. ``auth.uid()`` and ``auth.jwt() ->> 'claim'`` in the statement become literals of the
   principal's values, as in policy predicates (NULL for namespace keys).
1. Every real table reference is resolved (unqualified names: the principal's namespace) and
   qualified; one outside the principal's namespace, an internal table or a table function is
   :class:`AccessDeniedError`. References to CTEs are recognised by the scoping rule SQLite
   uses (a name defined by the WITH of any enclosing query) and left alone.
2. For users, every table *read* — in FROM and JOINs, subqueries, CTE bodies, each branch of a
   set operation, EXISTS, INSERT ... SELECT sources, UPDATE ... FROM, DELETE ... USING and
   RETURNING — is filtered by ``<using>``, the OR of the table's select policies (no policy:
   FALSE), in place or by wrapping it in a subquery (``api.rls.reads``). Whatever the query
   shape, it can only ever see filtered rows.
3. The write target is not wrapped but guarded inside the statement (``api.rls.writes``):
   UPDATE and DELETE only touch (and RETURNING only returns) visible rows. The rows INSERT
   and UPDATE write are checked after the statement ran, on the row images it produced
   (``api.rls.checks``); here a write no policy allows at all is refused outright.
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
from api.rls.reads import guard_read, is_guarded, mark_guarded
from api.rls.writes import guard_existing, refuse_upsert

_USER_STATEMENTS = (exp.Query, exp.Insert, exp.Update, exp.Delete)
_NAMESPACE_DDL = (exp.Create, exp.Drop, exp.Alter, exp.TruncateTable)
_DDL_KINDS = {"TABLE", "INDEX", "VIEW"}
_TABLE_ARGS = {"this", "db", "alias", "only"}


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
        self._bound: dict[tuple[str, str], exp.Expr] = {}

    def rewrite(self, stmt: exp.Expr) -> exp.Expr:
        """The statement as the principal may run it. The statement is changed in place (the
        SQL engine hands every rewrite a private copy) and returned."""
        if self._principal.kind == "admin":
            return stmt
        self._check_kind(stmt)
        if stmt.find(exp.Dot) is not None:
            stmt = bind_predicate(stmt, self._principal.sub, self._principal.claims)
        target = _write_target(stmt)
        refs = [self._resolve(table) for table in _real_tables(stmt, target)]
        self._check_columns(stmt)
        if self._principal.bypasses_rls:
            return stmt
        for ref in refs:
            if ref.table is not target:
                guard_read(ref.table, ref.namespace, ref.name, self._using(ref.logical, "select"))
        target_ref = next((ref for ref in refs if ref.table is target), None)
        if target_ref is not None:
            mark_guarded(target_ref.table)
            self._guard_write(stmt, target_ref)
        _check_all_guarded(stmt)
        return stmt

    def _check_kind(self, stmt: exp.Expr) -> None:
        """Users run queries and DML; namespace keys also DDL on tables, indexes and views."""
        if isinstance(stmt, _USER_STATEMENTS):
            return
        if self._principal.kind == "namespace" and isinstance(stmt, _NAMESPACE_DDL):
            kind = str(stmt.args.get("kind") or "TABLE").upper()
            if kind in _DDL_KINDS:
                return
        raise AccessDeniedError(f"{stmt.key.upper()} statements are not allowed for this principal")

    def _resolve(self, table: exp.Table) -> _Ref:
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
        """OR of the bound ``using`` predicates of the policies for ``action`` (or FALSE); a
        fresh copy each time, bound once per rewriter."""
        key = (table, action)
        if key not in self._bound:
            policies = self._policies.applicable(table, action, self._principal.kind)
            preds = [p.using_expr for p in policies if p.using_expr is not None]
            self._bound[key] = self._any_of(preds)
        return self._bound[key].copy()

    def _any_of(self, predicates: Sequence[exp.Expr]) -> exp.Expr:
        if not predicates:
            return exp.false()
        bound = [
            exp.paren(bind_predicate(p, self._principal.sub, self._principal.claims))
            for p in predicates
        ]
        for table in (t for p in bound for t in p.find_all(exp.Table)):
            mark_guarded(table)
        return exp.or_(*bound) if len(bound) > 1 else bound[0]

    def _guard_write(self, stmt: exp.Expr, target: _Ref) -> None:
        """Guard the written table inside the statement (see ``api.rls.writes``)."""
        table = target.logical
        if isinstance(stmt, exp.Insert):
            refuse_upsert(stmt)
            self._require_policy(table, "insert")
            return
        action = "update" if isinstance(stmt, exp.Update) else "delete"
        if action == "update":
            self._require_policy(table, action)
        allowed = exp.and_(
            exp.paren(self._using(table, action)), exp.paren(self._using(table, "select"))
        )
        guard_existing(stmt, target.table.alias_or_name, allowed)

    def _require_policy(self, table: str, action: str) -> None:
        """A write no policy allows is refused outright, before it runs."""
        if not self._policies.applicable(table, action, self._principal.kind):
            raise AccessDeniedError(f"no {action} policy allows writing to {table}")


def _check_all_guarded(stmt: exp.Expr) -> None:
    """Post-condition: every real table of the final statement carries a guard's mark, so a
    guard placed on a node that a later step had already copied away cannot go unnoticed."""
    for table in stmt.find_all(exp.Table):
        if table.args.get("db") and not is_guarded(table):
            raise AccessDeniedError(f"internal error: {table.sql()} was left unfiltered")


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
