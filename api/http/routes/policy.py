"""`GET/POST /policy` and `DELETE /policy/{name}`: row-level security policies.

Policies are events in the log (`Entry(kind="policy")`), validated by `api.rls.policy` before
they are appended. Admins manage policies of every namespace; a namespace key those of its
own namespace; users none. Names are unique per namespace, so a delete names the namespace
with `?namespace=` (default: the caller's namespace, `public` for admins).
"""

from __future__ import annotations

from functools import partial
from typing import Any

from litestar import Request, Response, delete, get, post
from litestar.params import FromPath, FromQuery, JSONBody

from api.auth.errors import ForbiddenError
from api.auth.principal import Principal
from api.http.deps import (
    AUTHED_ERRORS,
    GUARDS,
    SECURITY,
    BackendDep,
    Caller,
    idempotent,
    json_response,
)
from api.http.errors import ApiError
from api.http.models import PolicyDocument, PolicyList
from api.rls.policy import (
    OBJECT_POLICY_TABLE,
    Policy,
    created_event,
    dropped_event,
    parse_policy,
)


@get("/policy", summary="List policies", responses=AUTHED_ERRORS, security=SECURITY, guards=GUARDS)
async def list_policies(principal: Caller, backend: BackendDep) -> PolicyList:
    """Policies the caller manages, by namespace and name."""
    _require_manager(principal)
    found = backend.layer.policies.all(principal.namespace)
    return PolicyList(policies=[_document(p) for p in found])


@post(
    "/policy",
    status_code=201,
    summary="Create or replace a policy",
    responses=AUTHED_ERRORS,
    security=SECURITY,
    guards=GUARDS,
)
async def create_policy(
    request: Request[Any, Any, Any],
    data: JSONBody[PolicyDocument],
    principal: Caller,
    backend: BackendDep,
) -> Response[PolicyDocument]:
    """Validate and record a policy; one with the same name in the namespace is replaced."""
    _require_manager(principal)
    document = {
        "name": data.name,
        "table": data.table,
        "actions": data.actions,
        "roles": data.roles,
        "using": data.using,
        "check": data.check,
    }
    policy = await backend.off_loop(principal, partial(parse_policy, document))  # parses SQL
    _require_namespace(principal, policy.namespace)
    if policy.qualified_table == OBJECT_POLICY_TABLE and principal.kind != "admin":
        raise ForbiddenError("object policies apply to every namespace's buckets: admins only")

    async def run() -> Response[Any]:
        await backend.append("policy", created_event(policy), principal)
        return json_response(_document(policy), 201)

    return await idempotent(request, principal, run)


@delete(
    "/policy/{name:str}",
    status_code=200,
    summary="Drop a policy",
    responses=AUTHED_ERRORS,
    security=SECURITY,
    guards=GUARDS,
)
async def drop_policy(
    request: Request[Any, Any, Any],
    name: FromPath[str],
    principal: Caller,
    backend: BackendDep,
    namespace: FromQuery[str | None] = None,
) -> Response[PolicyDocument]:
    """Drop the policy `name` of `namespace` (default: the caller's)."""
    _require_manager(principal)
    ns = namespace or principal.default_namespace
    _require_namespace(principal, ns)
    policy = backend.layer.policies.get(ns, name)
    if policy is None:
        raise ApiError("NOT_FOUND", f"no policy {name!r} in namespace {ns!r}")

    async def run() -> Response[Any]:
        await backend.append("policy", dropped_event(ns, name), principal)
        return json_response(_document(policy))

    return await idempotent(request, principal, run)


def _require_manager(principal: Principal) -> None:
    if principal.is_end_user:
        raise ForbiddenError("users and anon keys cannot manage policies")


def _require_namespace(principal: Principal, namespace: str) -> None:
    """Admins manage every policy; a namespace key those on its own namespace's tables, never
    object policies (`storage.objects` spans every namespace's buckets)."""
    if principal.kind == "namespace" and namespace != principal.namespace:
        raise ForbiddenError("a namespace key manages the policies of its own namespace only")


def _document(policy: Policy) -> PolicyDocument:
    return PolicyDocument(**policy.to_json())
