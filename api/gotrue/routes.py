"""The `/auth/v1` router (GoTrue's routes the Supabase clients call); errors leave in
GoTrue's shape, whatever raised them."""

from __future__ import annotations

import logging
from typing import Any

from litestar import Request, Response, Router, route
from litestar.exceptions import HTTPException
from litestar.params import FromPath

from api.auth.errors import AuthError, RateLimitedError
from api.gotrue import admin, flows, recovery
from api.gotrue.door import Door
from api.gotrue.errors import GoTrueError, rate_limited
from api.gotrue.inputs import parse_object
from api.http.backend import Backend
from api.http.errors import ApiError

log = logging.getLogger("bkgdb.gotrue")


def _door(request: Request[Any, Any, Any]) -> Door:
    backend: Backend = request.app.state.backend
    return Door(request, backend)


async def _body(request: Request[Any, Any, Any]) -> dict[str, Any]:
    return parse_object(await request.body())


@route("/settings", http_method=["GET"])
async def settings(request: Request[Any, Any, Any]) -> dict[str, Any]:
    """What the server offers: email and password sign-in, nothing else."""
    backend: Backend = request.app.state.backend
    external = {
        p: False for p in ("anonymous_users", "apple", "azure", "github", "google", "phone")
    }
    return {
        "external": {**external, "email": True},
        "disable_signup": False,
        "mailer_autoconfirm": backend.config.accounts.autoconfirm,
        "phone_autoconfirm": False,
        "sms_provider": "",
        "saml_enabled": False,
    }


@route("/signup", http_method=["POST"], status_code=200)
async def signup(request: Request[Any, Any, Any]) -> dict[str, Any]:
    door = _door(request)
    return await flows.sign_up(door, await _body(request))


@route("/token", http_method=["POST"], status_code=200)
async def token(request: Request[Any, Any, Any]) -> dict[str, Any]:
    """`grant_type=password` or `refresh_token`; errors also carry OAuth's fields."""
    door = _door(request)
    grant = request.query_params.get("grant_type")
    try:
        body = await _body(request)
        if grant == "password":
            return await flows.password_grant(door, body)
        if grant == "refresh_token":
            return await flows.refresh_grant(door, body)
        raise GoTrueError(400, "validation_failed", "unsupported_grant_type")
    except GoTrueError as exc:
        exc.extra = {"error": _oauth_error(exc), "error_description": exc.msg, **exc.extra}
        raise


def _oauth_error(exc: GoTrueError) -> str:
    if exc.status == 429:
        return "over_request_rate_limit"
    return "invalid_grant" if exc.error_code != "validation_failed" else "invalid_request"


@route("/user", http_method=["GET"])
async def user(request: Request[Any, Any, Any]) -> dict[str, Any]:
    return await flows.get_user(_door(request))


@route("/user", http_method=["PUT"])
async def update_user(request: Request[Any, Any, Any]) -> dict[str, Any]:
    door = _door(request)
    return await flows.update_user(door, await _body(request))


@route("/logout", http_method=["POST"], status_code=204)
async def logout(request: Request[Any, Any, Any]) -> None:
    door = _door(request)
    await flows.logout(door, request.query_params.get("scope") or "global")


@route("/recover", http_method=["POST"], status_code=200)
async def recover(request: Request[Any, Any, Any]) -> dict[str, Any]:
    door = _door(request)
    return await recovery.recover(door, await _body(request))


@route("/verify", http_method=["POST"], status_code=200)
async def verify(request: Request[Any, Any, Any]) -> dict[str, Any]:
    door = _door(request)
    return await recovery.verify(door, await _body(request))


@route("/admin/users", http_method=["GET"])
async def list_users(request: Request[Any, Any, Any]) -> Response[dict[str, Any]]:
    door = _door(request)
    page, per_page = _int(request, "page", 1), _int(request, "per_page", 50)
    body, headers = await admin.list_users(door, page, per_page)
    return Response(body, headers=headers)


@route("/admin/users", http_method=["POST"], status_code=200)
async def create_user(request: Request[Any, Any, Any]) -> dict[str, Any]:
    door = _door(request)
    return await admin.create_user(door, await _body(request))


@route("/admin/users/{user_id:str}", http_method=["GET"])
async def get_user(request: Request[Any, Any, Any], user_id: FromPath[str]) -> dict[str, Any]:
    return await admin.get_user(_door(request), user_id)


@route("/admin/users/{user_id:str}", http_method=["PUT"])
async def put_user(request: Request[Any, Any, Any], user_id: FromPath[str]) -> dict[str, Any]:
    door = _door(request)
    return await admin.update_user(door, user_id, await _body(request))


@route("/admin/users/{user_id:str}", http_method=["DELETE"], status_code=200)
async def delete_user(request: Request[Any, Any, Any], user_id: FromPath[str]) -> dict[str, Any]:
    return await admin.delete_user(_door(request), user_id)


def _int(request: Request[Any, Any, Any], name: str, default: int) -> int:
    raw = request.query_params.get(name)
    if raw is None or raw == "":
        return default
    try:
        return int(raw)
    except ValueError as exc:
        raise GoTrueError(400, "validation_failed", f"{name} must be an integer") from exc


# -- errors in GoTrue's shape --------------------------------------------------------------


def _gotrue_error(_: Request[Any, Any, Any], exc: GoTrueError) -> Response[Any]:
    return Response(
        exc.body(), status_code=exc.status, headers=exc.headers, media_type="application/json"
    )


def _auth_error(request: Request[Any, Any, Any], exc: AuthError) -> Response[Any]:
    if isinstance(exc, RateLimitedError):
        return _gotrue_error(request, rate_limited(exc.retry_after))
    return _gotrue_error(request, GoTrueError(401, "bad_jwt", str(exc)))


def _api_error(request: Request[Any, Any, Any], exc: ApiError) -> Response[Any]:
    status = 503 if exc.code == "UNAVAILABLE" else 400
    return _gotrue_error(request, GoTrueError(status, exc.code.lower(), exc.message))


def _http_error(request: Request[Any, Any, Any], exc: HTTPException) -> Response[Any]:
    code = {404: "not_found", 405: "method_not_allowed", 413: "request_too_large"}
    error_code = code.get(exc.status_code, "validation_failed")
    return _gotrue_error(request, GoTrueError(exc.status_code, error_code, str(exc.detail)))


def gotrue_router() -> Router:
    """The router mounted at `/auth/v1` (in `api.http.app`)."""
    return Router(
        path="/auth/v1",
        route_handlers=[
            settings, signup, token, user, update_user, logout, recover, verify,
            list_users, create_user, get_user, put_user, delete_user,
        ],
        exception_handlers={
            GoTrueError: _gotrue_error,
            AuthError: _auth_error,
            ApiError: _api_error,
            HTTPException: _http_error,
        },
        include_in_schema=False,
    )  # fmt: skip
