"""The security layer as the rest of bkg-db sees it: how to run a principal's statements.

:class:`SecurityLayer` caches the policy set folded into the projection (``api.rls.store``)
and reloads it when the projection's change counter moves; who a bearer is, it leaves to
its ``bearers`` (``api.auth.bearers``), refreshed with it. It implements the
``AccessControl`` hooks of ``api.database``: a statement rewrite (namespaces and RLS), a
SQLite authorizer (the second wall) and the check of the rows a write produced
(``api.rls.checks``) per principal.
"""

from __future__ import annotations

import json
import sqlite3
import threading
from collections import OrderedDict
from typing import Any

from sqlglot import exp

from api.auth.bearers import Bearers
from api.auth.errors import UnauthorizedError
from api.auth.principal import Principal
from api.auth.store import read_version
from api.auth.tokens import TokenService
from api.rls.authorizer import Authorizer, make_authorizer
from api.rls.checks import WriteChecker
from api.rls.policy import PolicySet
from api.rls.rewrite import RlsRewriter
from api.rls.store import load_policies
from api.sql import Rewrite, StatementInfo

_HOOK_CACHE = 4096


class SecurityLayer:
    """Keys, policies and tokens of one data directory, and the per-principal hooks."""

    def __init__(self, tokens: TokenService, extra_functions: tuple[str, ...] = ()) -> None:
        self.bearers = Bearers(tokens)
        self._extra_functions = extra_functions
        self._lock = threading.Lock()
        self._policies = PolicySet()
        self._version = -1
        self._hooks: OrderedDict[tuple[str, ...], tuple[RlsRewriter, WriteChecker]] = OrderedDict()
        self._authorizers: dict[tuple[bool, str], Authorizer] = {}

    @property
    def policies(self) -> PolicySet:
        return self._policies

    def refresh(self, conn: sqlite3.Connection) -> None:
        """Reload keys and policies from a projection connection if they changed there."""
        self.bearers.refresh(conn)
        version = read_version(conn, "policies")
        if version == self._version:
            return
        policies = load_policies(conn)
        with self._lock:
            self._policies, self._version = policies, version
            self._hooks.clear()

    def rewrite_for(self, principal: Any) -> Rewrite | None:
        """Namespace and RLS rewrite for a principal; None for admins (nothing to rewrite)."""
        checked = _principal(principal)
        if checked.kind == "admin":
            return None
        key, rewriter, _ = self._hooks_of(checked)
        return RlsHook(rewriter, key)

    def check_writes(self, principal: Any) -> WriteChecker | None:
        """The check of the rows a principal's writes produce; None for principals that
        bypass row-level security (admins, namespace keys)."""
        checked = _principal(principal)
        if checked.bypasses_rls:
            return None
        return self._hooks_of(checked)[2]

    def _hooks_of(self, checked: Principal) -> tuple[tuple[str, ...], RlsRewriter, WriteChecker]:
        """The principal's rewriter and write checker under the current policies, built once
        per identity and policy version, and the rewrite's cache key."""
        claims = json.dumps(dict(checked.claims), sort_keys=True, default=str)
        key = (checked.kind, checked.id, checked.default_namespace, claims)
        with self._lock:
            hooks = self._hooks.get(key)
            if hooks is None:
                policies = self._policies
                hooks = self._hooks[key] = (
                    RlsRewriter(policies, checked),
                    WriteChecker(policies, checked),
                )
                if len(self._hooks) > _HOOK_CACHE:
                    self._hooks.popitem(last=False)
            else:
                self._hooks.move_to_end(key)
            version = self._version
        return (*key, str(version)), hooks[0], hooks[1]

    def authorizer_for(self, principal: Any) -> Authorizer | None:
        """The SQLite authorizer installed while the principal's statements run; None for
        admins, who may touch everything the SQL engine lets through (installing one would
        only cost them the connection's prepared-statement cache).

        Its answers depend only on the principal's namespace and on whether it may change
        that namespace's schema (a namespace key) or not (users, anon keys), so principals
        alike in both share one authorizer object: a pooled connection keeps the
        authorizer installed between reads, and the statements SQLite prepared under it
        stay prepared for the next principal it serves."""
        checked = _principal(principal)
        if checked.kind == "admin":
            return None
        key = (checked.kind == "namespace", checked.default_namespace)
        found = self._authorizers.get(key)
        if found is None:
            if len(self._authorizers) >= _HOOK_CACHE:
                self._authorizers.clear()
            found = self._authorizers[key] = make_authorizer(checked, self._extra_functions)
        return found


class RlsHook:
    """The SQL engine's rewrite hook for one principal.

    ``cache_key`` names everything the rewrite depends on besides the statement: principal
    identity, namespace, claims and the policy version. Translations of a statement may be
    cached under (statement, namespace, catalogue token, ``cache_key``) and reused as long as
    the key is equal.
    """

    def __init__(self, rewriter: RlsRewriter, cache_key: tuple[str, ...]) -> None:
        self._rewriter = rewriter
        self.cache_key = cache_key

    def __call__(self, expression: exp.Expression, info: StatementInfo) -> exp.Expression:
        rewritten = self._rewriter.rewrite(expression)
        if not isinstance(rewritten, exp.Expression):
            raise TypeError("the rewrite must produce a statement")
        return rewritten


def _principal(principal: Any) -> Principal:
    """Only principals made by ``api.auth`` carry what enforcement needs (kind, claims)."""
    if not isinstance(principal, Principal):
        raise UnauthorizedError("statements must run as a principal resolved by api.auth")
    return principal
