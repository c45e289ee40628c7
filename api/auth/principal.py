"""Principals: who is asking, resolved from a bearer string (API key or JWT).

A principal is the only thing the SQL layer, RLS and storage learn about a caller. Its ``id``
is the actor recorded in the log: ``admin`` (embedded use), ``key:<id>`` (API keys),
``user:<sub>`` and ``admin:<sub>`` (tokens); the log entry's namespace completes it.

Everything kept *per principal* (idempotency records, rate-limit buckets, upload ownership,
stream caps) is keyed by :attr:`Principal.key` instead: the (kind, namespace, id) identity
in one string, so user ``u1`` of one namespace never meets user ``u1`` of another.

A credential derived from an API key (the key itself, or a token minted with it by
``POST /auth/token``) carries the key's id as :attr:`Principal.key_id`, and resolves only
while that key is active: revoking a key, its expiry, or the end of its rotation grace
ends every token minted from it too.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cached_property
from types import MappingProxyType
from typing import Any, Literal
from urllib.parse import quote

from api.auth.apikeys import ApiKeyRecord, looks_like_api_key
from api.auth.errors import UnauthorizedError
from api.auth.registry import KeyRegistry
from api.auth.tokens import KEY_CLAIM, USER_ROLES, TokenService

PrincipalKind = Literal["admin", "namespace", "user", "anon"]
DEFAULT_NAMESPACE = "public"
_NO_NAMESPACE = "*"
_KEY_KINDS: Mapping[str, PrincipalKind] = MappingProxyType(
    {"admin": "admin", "namespace": "namespace", "anon": "anon"}
)
"""The principal an API key of each scope stands for: an anon key (publishable, per
namespace) is subject to row-level security with the role ``anon``."""


def identity_key(kind: str, namespace: str | None, principal_id: str) -> str:
    """``kind:namespace:id`` with each part percent-encoded (``:`` and ``%`` included), and
    ``*`` (which encoding never yields) for no namespace: distinct identities never share a
    key, whatever characters a subject or namespace contains."""
    ns = _NO_NAMESPACE if namespace is None else quote(namespace, safe="")
    return f"{quote(kind, safe='')}:{ns}:{quote(principal_id, safe='')}"


@dataclass(frozen=True)
class Principal:
    """An authenticated caller.

    ``namespace`` is None only for admins; ``sub`` and ``claims`` come from a JWT and are what
    ``auth.uid()`` and ``auth.jwt() ->> 'claim'`` see in policies. ``key_id`` names the API
    key the credential stands on (None for tokens signed outside bkg-db).
    """

    kind: PrincipalKind
    id: str
    namespace: str | None = None
    sub: str | None = None
    claims: Mapping[str, Any] = field(default_factory=lambda: MappingProxyType({}))
    key_id: str | None = None

    @cached_property
    def key(self) -> str:
        """The identity (kind, namespace, id) as one unambiguous string: see
        :func:`identity_key` (computed once: remembered principals serve many requests)."""
        return identity_key(self.kind, self.namespace, self.id)

    @property
    def default_namespace(self) -> str:
        """Where unqualified table names resolve: the principal's namespace, admin: public."""
        return self.namespace or DEFAULT_NAMESPACE

    @property
    def bypasses_rls(self) -> bool:
        """Admins and namespace keys are not subject to row-level security."""
        return self.kind in ("admin", "namespace")

    @property
    def is_end_user(self) -> bool:
        """Users and anon keys: they read and write rows under policies, and manage
        nothing (keys, tokens, policies, buckets)."""
        return self.kind in ("user", "anon")


ADMIN = Principal(kind="admin", id="admin")


def user_principal(
    sub: str,
    namespace: str,
    claims: Mapping[str, Any] | None = None,
    key_id: str | None = None,
) -> Principal:
    """A user principal, as a verified token with ``role: user`` produces it."""
    all_claims = {"sub": sub, "role": "user", "ns": namespace, **(claims or {})}
    return Principal(
        kind="user",
        id=f"user:{sub}",
        namespace=namespace,
        sub=sub,
        claims=MappingProxyType(all_claims),
        key_id=key_id,
    )


def key_principal(record: ApiKeyRecord) -> Principal:
    """The principal an API key stands for, once the key was proven."""
    return Principal(
        kind=_KEY_KINDS[record.scope],
        id=f"key:{record.id}",
        namespace=record.namespace,
        key_id=record.id,
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
        return key_principal(keys.verify(bearer, now))
    claims = tokens.verify(bearer, now_s=now_s)
    sub = str(claims["sub"])
    key_id = check_derived(claims, keys, now)
    if claims["role"] == "admin":
        return Principal(
            kind="admin",
            id=f"admin:{sub}",
            sub=sub,
            claims=MappingProxyType(dict(claims)),
            key_id=key_id,
        )
    return user_principal(sub, str(claims["ns"]), claims, key_id)


def check_derived(claims: Mapping[str, Any], keys: KeyRegistry, now_s: float) -> str | None:
    """The id of the key a token was minted from (None if it names none), provided that key
    is active now and the token stays within its reach: an admin token needs an admin key,
    a user token an admin key or a namespace key of the token's namespace."""
    key_id = claims.get(KEY_CLAIM)
    if key_id is None:
        return None
    state = keys.get(str(key_id))
    if state is None or not state.valid_at(now_s):
        raise UnauthorizedError("the API key this token was minted from is no longer active")
    record = state.record
    if record.scope != "admin" and (
        claims["role"] not in USER_ROLES or claims["ns"] != record.namespace
    ):
        raise UnauthorizedError("the token reaches beyond the API key it was minted from")
    return record.id
