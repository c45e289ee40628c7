"""GoTrue's error bodies: `{"code": <status>, "error_code", "msg"}`; the token endpoint adds
OAuth's `{"error", "error_description"}`. The Supabase clients read `error_code` (and
`weak_password.reasons`) into their `AuthApiError`."""

from __future__ import annotations

from typing import Any


class GoTrueError(Exception):
    """An `/auth/v1` request refused; `extra` joins the body (e.g. `weak_password`)."""

    def __init__(
        self,
        status: int,
        error_code: str,
        msg: str,
        extra: dict[str, Any] | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(msg)
        self.status, self.error_code, self.msg = status, error_code, msg
        self.extra = extra or {}
        self.headers = headers or {}

    def body(self) -> dict[str, Any]:
        return {"code": self.status, "error_code": self.error_code, "msg": self.msg, **self.extra}


def invalid_credentials() -> GoTrueError:
    """The one answer to a wrong password, an unknown email or an unconfirmed user: the
    message never tells which (GoTrue's)."""
    return GoTrueError(400, "invalid_credentials", "Invalid login credentials")


def bad_json(msg: str) -> GoTrueError:
    return GoTrueError(400, "validation_failed", msg)


def no_session() -> GoTrueError:
    return GoTrueError(
        403, "session_not_found", "Session from session_id claim in JWT does not exist"
    )


def bad_jwt(msg: str = "invalid JWT: unable to parse or verify signature") -> GoTrueError:
    return GoTrueError(403, "bad_jwt", msg)


def not_admin() -> GoTrueError:
    return GoTrueError(403, "not_admin", "User not allowed")


def user_not_found() -> GoTrueError:
    return GoTrueError(404, "user_not_found", "User not found")


def rate_limited(wait_s: float) -> GoTrueError:
    return GoTrueError(
        429,
        "over_request_rate_limit",
        "Request rate limit reached",
        headers={"Retry-After": str(max(1, int(wait_s + 0.999)))},
    )
