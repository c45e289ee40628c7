"""Principals: who is asking, resolved from a bearer string (API key or JWT).

A principal is the only thing the SQL layer, RLS and storage learn about a caller. Its ``id``
is the actor recorded in the log: ``admin`` (embedded use), ``key:<id>`` (API keys),
``user:<sub>`` and ``admin:<sub>`` (tokens).
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, Literal

from api.auth.apikeys import looks_like_api_key
from api.auth.errors import UnauthorizedError
from api.auth.registry import KeyRegistry
from api.auth.tokens import TokenService

PrincipalKind = Literal["admin", "namespace", "user"]
DEFAULT_NAMESPACE = "public"


@dataclass(frozen=True)
class Principal:
    """An authenticated caller.

    ``namespace`` is None only for admins; ``sub`` and ``claims`` come from a JWT and are what
    ``auth.uid()`` and ``auth.jwt() ->> 'claim'`` see in policies.
    """

    kind: PrincipalKind
    id: str
    namespace: str | None = None
    sub: str | None = None
    claims: Mapping[str, Any] = field(default_factory=lambda: MappingProxyType({}))

    @property
    def default_namespace(self) -> str:
        """Where unqualified table names resolve: the principal's namespace, admin: public."""
        return self.namespace or DEFAULT_NAMESPACE

    @property
    def bypasses_rls(self) -> bool:
        """Admins and namespace keys are not subject to row-level security."""
        return self.kind != "user"


ADMIN = Principal(kind="admin", id="admin")


def user_principal(sub: str, namespace: str, claims: Mapping[str, Any] | None = None) -> Principal:
    """A user principal, as a verified token with ``role: user`` produces it."""
    all_claims = {"sub": sub, "role": "user", "ns": namespace, **(claims or {})}
    return Principal(
        kind="user",
        id=f"user:{sub}",
        namespace=namespace,
        sub=sub,
        claims=MappingProxyType(all_claims),
    )


def resolve_principal(
    bearer: str | None,
    keys: KeyRegistry,
    tokens: TokenService,
    now_s: float | None = None,
) -> Principal:
    """The principal a bearer string stands for; :class:`UnauthorizedError` if none."""
    if not bearer:
        raise UnauthorizedError("missing bearer token")
    now = time.time() if now_s is None else now_s
    if looks_like_api_key(bearer):
        record = keys.verify(bearer, now)
        kind: PrincipalKind = "admin" if record.scope == "admin" else "namespace"
        return Principal(kind=kind, id=f"key:{record.id}", namespace=record.namespace)
    claims = tokens.verify(bearer, now_s=now_s)
    sub = str(claims["sub"])
    if claims["role"] == "admin":
        return Principal(
            kind="admin", id=f"admin:{sub}", sub=sub, claims=MappingProxyType(dict(claims))
        )
    return user_principal(sub, str(claims["ns"]), claims)
