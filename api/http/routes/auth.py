"""`/auth/token`, `/auth/keys` and the JWKS document.

Keys are events in the log (`Entry(kind="auth")`); these handlers mint, append and answer.
Admins manage every key; a namespace key manages the namespace keys of its own namespace;
users manage none. A key outside the caller's reach is reported as unknown (404), so that
callers learn nothing about other tenants' keys.
"""

from __future__ import annotations

import time
from typing import Any

from litestar import Request, Response, delete, get, post
from litestar.params import FromPath, JSONBody

from api.auth.apikeys import new_api_key
from api.auth.errors import ForbiddenError, UnauthorizedError
from api.auth.principal import Principal
from api.auth.registry import KeyState, revoke_event
from api.auth.tokens import HS256
from api.auth.webhook import rotation_payload
from api.http.backend import Backend
from api.http.deps import (
    AUTHED_ERRORS,
    GUARDS,
    SECURITY,
    BackendDep,
    Caller,
    bearer_of,
    error_responses,
    idempotent,
    json_response,
)
from api.http.errors import ApiError
from api.http.models import (
    CreatedKey,
    KeyCreateRequest,
    KeyInfo,
    KeyList,
    KeyRotateRequest,
    TokenRequest,
    TokenResponse,
)
from api.sql.names import namespace_problem

MAX_TOKEN_TTL_S = 7 * 24 * 3600
MAX_ADMIN_TOKEN_TTL_S = 3600
"""Admin tokens are short-lived: they act with every power of the key they came from."""


@post(
    "/auth/token",
    status_code=200,
    summary="Exchange an API key for a token, or mint a user token",
    responses=error_responses(400, 401, 403, 413, 422, 429),
    security=[{}, *SECURITY],
)
async def token(
    request: Request[Any, Any, Any], data: JSONBody[TokenRequest], backend: BackendDep
) -> TokenResponse:
    """`{"api_key"}`: an admin key's admin token (at most 1 h). With `sub`: a user token in
    the caller's namespace, the caller being `api_key` or the bearer (a namespace or admin
    key, or a token derived from one). Either token works only while the key it derives
    from is active."""
    bearer = data.api_key if data.api_key is not None else bearer_of(request)
    if data.api_key is not None and not data.api_key.startswith("bkg_"):
        raise UnauthorizedError("api_key must be an API key")
    caller = backend.principal(bearer)
    claims = data.claims or {}
    if data.sub is None:
        if data.api_key is None or caller.kind != "admin" or data.ns or claims:
            raise ApiError("VALIDATION_ERROR", "give 'sub' to mint a user token")
        default = min(backend.config.token_ttl_s, MAX_ADMIN_TOKEN_TTL_S)
        ttl = _token_ttl(data.ttl_seconds, default, MAX_ADMIN_TOKEN_TTL_S)
        minted = _mint(backend, caller, caller.id, "admin", None, ttl, claims)
    else:
        ttl = _token_ttl(data.ttl_seconds, backend.config.token_ttl_s, MAX_TOKEN_TTL_S)
        ns = _user_namespace(caller, data.ns)
        minted = _mint(backend, caller, data.sub, "user", ns, ttl, claims)
    return TokenResponse(access_token=minted, token_type="bearer", expires_in=ttl)


@post(
    "/auth/keys",
    status_code=201,
    summary="Create an API key (shown once)",
    responses=AUTHED_ERRORS,
    security=SECURITY,
    guards=GUARDS,
)
async def create_key(
    request: Request[Any, Any, Any],
    data: JSONBody[KeyCreateRequest],
    principal: Caller,
    backend: BackendDep,
) -> Response[CreatedKey]:
    """A new key; admins create any, namespace keys only keys of their own namespace; 409
    beyond `--max-keys-per-namespace` / `--max-keys` active keys."""
    namespace = data.namespace
    if principal.kind == "namespace":
        namespace = principal.namespace if namespace is None else namespace
        if data.scope not in ("namespace", "anon") or namespace != principal.namespace:
            raise ForbiddenError("a namespace key creates only keys of its own namespace")
    _require_manager(principal)

    async def run() -> Response[Any]:
        _check_key_caps(backend, namespace)
        plaintext, record = new_api_key(
            data.scope, namespace, data.name, data.ttl_seconds, time.time()
        )
        await backend.append("auth", record.to_event_payload(), principal)
        created = CreatedKey(
            id=record.id,
            key=plaintext,
            prefix=record.prefix,
            scope=record.scope,
            namespace=record.namespace,
            name=record.name,
            expires_at=record.expires_at,
        )
        return json_response(created, 201)

    return await idempotent(request, principal, run)


@get(
    "/auth/keys", summary="List API keys", responses=AUTHED_ERRORS, security=SECURITY, guards=GUARDS
)
async def list_keys(principal: Caller, backend: BackendDep) -> KeyList:
    """Every key the caller manages, oldest first; never a plaintext or hash."""
    _require_manager(principal)
    now = time.time()
    states = [s for s in backend.bearers.keys.states() if _visible(principal, s)]
    return KeyList(keys=[_info(s, now, backend.key_usage.last_used(s.record.id)) for s in states])


@delete(
    "/auth/keys/{key_id:str}",
    status_code=200,
    summary="Revoke an API key",
    responses=AUTHED_ERRORS,
    security=SECURITY,
    guards=GUARDS,
)
async def revoke_key(
    request: Request[Any, Any, Any], key_id: FromPath[str], principal: Caller, backend: BackendDep
) -> Response[KeyInfo]:
    """The key stops working at once."""
    state = _find(principal, backend, key_id)
    if state.revoked_at is not None:
        raise ApiError("CONFLICT", f"key {key_id} is already revoked")

    async def run() -> Response[Any]:
        now = time.time()
        await backend.append("auth", revoke_event(key_id, now), principal)
        return json_response(_info(_find(principal, backend, key_id), now))

    return await idempotent(request, principal, run)


@post(
    "/auth/keys/{key_id:str}/rotate",
    status_code=201,
    summary="Rotate an API key (the old one works for a grace period)",
    responses=AUTHED_ERRORS,
    security=SECURITY,
    guards=GUARDS,
)
async def rotate_key(
    request: Request[Any, Any, Any],
    key_id: FromPath[str],
    principal: Caller,
    backend: BackendDep,
    data: JSONBody[KeyRotateRequest | None] = None,
) -> Response[CreatedKey]:
    """A successor key; the old key keeps working until `old_key_valid_until`."""
    _find(principal, backend, key_id)
    spec = data or KeyRotateRequest()
    grace = backend.config.rotation_grace_s if spec.grace_seconds is None else spec.grace_seconds

    async def run() -> Response[Any]:
        now = time.time()
        plaintext, payload = backend.bearers.keys.rotate_event(key_id, grace, spec.ttl_seconds, now)
        await backend.append("auth", payload, principal)
        backend.notify("key.rotated", rotation_payload(payload))
        new = payload["new"]
        created = CreatedKey(
            id=new["id"],
            key=plaintext,
            prefix=new["prefix"],
            scope=new["scope"],
            namespace=new["namespace"],
            name=new["name"],
            expires_at=new["expires_at"],
            rotated_from=key_id,
            old_key_valid_until=payload["grace_until"],
        )
        return json_response(created, 201)

    return await idempotent(request, principal, run)


@get("/.well-known/jwks.json", summary="Public keys that verify bkg-db tokens", security=[{}])
async def jwks(backend: BackendDep) -> dict[str, Any]:
    """The JWKS document (Ed25519 keys for EdDSA tokens)."""
    return backend.tokens.jwks()


def _check_key_caps(backend: Backend, namespace: str | None) -> None:
    """409 when one more key would exceed the active keys allowed in the namespace or in all
    (revoked and expired keys do not count; rotation replaces a key and is not capped)."""
    now = time.time()
    active = [s for s in backend.bearers.keys.states() if s.valid_at(now)]
    caps = [("max_keys", backend.config.max_keys, active)]
    if namespace is not None:
        mine = [s for s in active if s.record.namespace == namespace]
        caps.append(("max_keys_per_namespace", backend.config.max_keys_per_namespace, mine))
    for limit, value, counted in caps:
        if value > 0 and len(counted) >= value:
            where = "in all" if limit == "max_keys" else f"in namespace {namespace}"
            raise ApiError(
                "CONFLICT",
                f"{len(counted)} active API keys {where} already: revoke one first",
                {"limit": limit, "value": value},
            )


def _require_manager(principal: Principal) -> None:
    if principal.is_end_user:
        raise ForbiddenError("users and anon keys cannot manage API keys")


def _visible(principal: Principal, state: KeyState) -> bool:
    if principal.kind == "admin":
        return True
    return principal.kind == "namespace" and state.record.namespace == principal.namespace


def _find(principal: Principal, backend: Backend, key_id: str) -> KeyState:
    _require_manager(principal)
    state = backend.bearers.keys.get(key_id)
    if state is None or not _visible(principal, state):
        raise ApiError("NOT_FOUND", f"no key with id {key_id!r}")
    return state


def _info(state: KeyState, now: float, last_used_at: float | None = None) -> KeyInfo:
    r = state.record
    return KeyInfo(
        id=r.id,
        prefix=r.prefix,
        scope=r.scope,
        namespace=r.namespace,
        name=r.name,
        created_at=r.created_at,
        expires_at=r.expires_at,
        revoked_at=state.revoked_at,
        rotated_to=state.rotated_to,
        grace_until=state.grace_until,
        active=state.valid_at(now),
        last_used_at=last_used_at,
    )


def _token_ttl(requested: int | None, default: int, most: int) -> int:
    ttl = default if requested is None else requested
    if not 0 < ttl <= most:
        raise ApiError("VALIDATION_ERROR", f"ttl_seconds must be 1..{most}")
    return ttl


def _user_namespace(caller: Principal, requested: str | None) -> str:
    """Where a minted user token lives: the caller's namespace (admins choose, default public)."""
    if caller.is_end_user:
        raise ForbiddenError("users and anon keys cannot mint tokens")
    if caller.kind == "namespace":
        if requested not in (None, caller.namespace):
            raise ForbiddenError("a namespace key mints tokens for its own namespace only")
        return str(caller.namespace)
    ns = caller.default_namespace if requested is None else requested
    problem = namespace_problem(ns)
    if problem is not None:
        raise ApiError("VALIDATION_ERROR", f"bad namespace: {problem}")
    return ns


def _mint(
    backend: Backend,
    caller: Principal,
    sub: str,
    role: str,
    ns: str | None,
    ttl: int,
    claims: dict[str, Any],
) -> str:
    """A token derived from the caller's credential: it names the caller's API key (if
    any), so that it stops working when that key is revoked, expires or is rotated out."""
    try:
        return backend.tokens.mint(
            sub, role, ns, ttl, claims, algorithm=HS256, key_id=caller.key_id
        )
    except (ValueError, UnauthorizedError) as exc:
        raise ApiError("VALIDATION_ERROR", str(exc)) from exc
