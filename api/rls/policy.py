"""Policies: the JSON documents of ``/policy``, validated, and the set folded from the log.

A policy is ``{"name", "table": "N.t", "actions", "roles", "using", "check"}``. Policies are
permissive: a row passes when any applicable policy passes. ``using`` filters the rows a
statement reads, updates or deletes; ``check`` must hold for rows an INSERT or UPDATE writes
(an UPDATE policy without ``check`` uses its ``using``, as in Postgres).

Policy events (``Entry(kind="policy")``): ``{"type": "policy.created", "policy": {...}}`` and
``{"type": "policy.dropped", "namespace", "name"}``. Names are unique per namespace.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from sqlglot import exp

from api.rls.errors import PolicyError
from api.rls.names import check_identifier
from api.rls.predicates import parse_predicate
from api.sql.names import namespace_problem

ACTIONS = ("select", "insert", "update", "delete")
ROLES = ("user", "anon")
ROLE_ALIASES = {"authenticated": "user"}
"""Supabase's name of the signed-in role, accepted and stored as ``user``."""
POLICY_CREATED = "policy.created"
POLICY_DROPPED = "policy.dropped"
_NAME_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_ -]{0,62}$")
OBJECT_POLICY_TABLE = "storage.objects"
"""The one table outside every namespace that takes policies: storage objects (admins only)."""


@dataclass(frozen=True)
class Policy:
    """A validated policy with its predicates parsed once."""

    name: str
    namespace: str
    table: str
    actions: tuple[str, ...]
    roles: tuple[str, ...]
    using: str | None
    check: str | None
    using_expr: exp.Expr | None = field(default=None, compare=False, repr=False)
    check_expr: exp.Expr | None = field(default=None, compare=False, repr=False)

    @property
    def qualified_table(self) -> str:
        """The logical table name ``N.t`` the policy protects."""
        return f"{self.namespace}.{self.table}"

    def to_json(self) -> dict[str, Any]:
        """The policy as ``/policy`` returns it (and as its event stores it)."""
        return {
            "name": self.name,
            "table": self.qualified_table,
            "actions": list(self.actions),
            "roles": list(self.roles),
            "using": self.using,
            "check": self.check,
        }

    def write_check(self) -> exp.Expr | None:
        """The predicate new rows must satisfy: ``check``, else ``using``."""
        return self.check_expr if self.check_expr is not None else self.using_expr


def parse_policy(document: Mapping[str, Any]) -> Policy:
    """Validate a policy document; :class:`PolicyError` names the first problem found."""
    name = document.get("name")
    if not isinstance(name, str) or not _NAME_RE.match(name):
        raise PolicyError("policy name must be 1-63 letters, digits, '_', '-' or spaces")
    namespace, table = _parse_table(document.get("table"))
    actions = _parse_choices(document.get("actions"), ACTIONS, "actions")
    roles = _parse_choices(_roles(document.get("roles", ["user"])), ROLES, "roles")
    using = _optional_text(document, "using")
    check = _optional_text(document, "check")
    reads = {"select", "update", "delete"}.intersection(actions)
    if reads and using is None:
        raise PolicyError(f"a policy for {', '.join(sorted(reads))} needs a 'using' predicate")
    if "insert" in actions and using is None and check is None:
        raise PolicyError("a policy for insert needs a 'check' predicate")
    if check is not None and not {"insert", "update"}.intersection(actions):
        raise PolicyError("'check' only applies to insert and update")
    return Policy(
        name=name,
        namespace=namespace,
        table=table,
        actions=actions,
        roles=roles,
        using=using,
        check=check,
        using_expr=None if using is None else parse_predicate(using, namespace),
        check_expr=None if check is None else parse_predicate(check, namespace),
    )


def _parse_table(value: Any) -> tuple[str, str]:
    if not isinstance(value, str) or value.count(".") != 1:
        raise PolicyError("policy table must be qualified: 'namespace.table'")
    namespace, table = (part.lower() for part in value.split("."))
    if f"{namespace}.{table}" == OBJECT_POLICY_TABLE:
        return namespace, table
    problem = namespace_problem(namespace)
    if problem is not None:
        raise PolicyError(f"bad namespace: {problem}")
    check_identifier(table, PolicyError)
    return namespace, table


def _parse_choices(value: Any, allowed: tuple[str, ...], what: str) -> tuple[str, ...]:
    if not isinstance(value, list) or not value or not all(isinstance(v, str) for v in value):
        raise PolicyError(f"policy {what} must be a non-empty list of strings")
    chosen = {v.lower() for v in value}
    unknown = chosen.difference(allowed)
    if unknown:
        raise PolicyError(f"unknown {what}: {', '.join(sorted(unknown))}")
    return tuple(v for v in allowed if v in chosen)


def _roles(value: Any) -> Any:
    """The roles with Supabase's aliases replaced (anything else is left for the check)."""
    if not isinstance(value, list):
        return value
    return [ROLE_ALIASES.get(v.lower(), v) if isinstance(v, str) else v for v in value]


def _optional_text(document: Mapping[str, Any], key: str) -> str | None:
    value = document.get(key)
    if value is None:
        return None
    if not isinstance(value, str) or not value.strip():
        raise PolicyError(f"policy {key!r} must be a non-empty SQL predicate")
    return value


def created_event(policy: Policy) -> dict[str, Any]:
    """Payload of the policy event that creates (or replaces) ``policy``."""
    return {"type": POLICY_CREATED, "policy": policy.to_json()}


def dropped_event(namespace: str, name: str) -> dict[str, Any]:
    """Payload of the policy event that drops the policy ``name`` of ``namespace``."""
    return {"type": POLICY_DROPPED, "namespace": namespace, "name": name}


class PolicySet:
    """Every policy by (namespace, name), folded from policy events."""

    def __init__(self, policies: Iterable[Policy] = ()) -> None:
        self._lock = threading.Lock()
        self._by_name: dict[tuple[str, str], Policy] = {}
        self._by_table: dict[str, list[Policy]] | None = None
        for policy in policies:
            self._by_name[(policy.namespace, policy.name)] = policy

    def apply(self, payload: Mapping[str, Any]) -> None:
        """Fold one policy event payload."""
        with self._lock:
            self._by_table = None
            if payload.get("type") == POLICY_CREATED:
                policy = parse_policy(payload["policy"])
                self._by_name[(policy.namespace, policy.name)] = policy
            elif payload.get("type") == POLICY_DROPPED:
                self._by_name.pop((str(payload["namespace"]), str(payload["name"])), None)

    def get(self, namespace: str, name: str) -> Policy | None:
        """The policy ``name`` of ``namespace``, or None."""
        return self._by_name.get((namespace, name))

    def all(self, namespace: str | None = None) -> list[Policy]:
        """Policies sorted by namespace and name, optionally of one namespace only."""
        found = [p for (ns, _), p in self._by_name.items() if namespace in (None, ns)]
        return sorted(found, key=lambda p: (p.namespace, p.name))

    def applicable(self, table: str, action: str, role: str) -> list[Policy]:
        """Policies on logical table ``N.t`` for this action and role, sorted by name."""
        by_table = self._by_table
        if by_table is None:
            by_table = {}
            for policy in self.all():
                by_table.setdefault(policy.qualified_table, []).append(policy)
            self._by_table = by_table
        found = by_table.get(table, [])
        return [p for p in found if action in p.actions and role in p.roles]
