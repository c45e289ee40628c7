"""Lower-layer errors as PostgREST reports them: the SQLSTATE as `code`, PostgREST's status.

PostgREST's table (docs: references/errors): 23503 and 23505 → 409, 42501 → 401 for the
anonymous role and 403 otherwise, 42P01 and 42883 → 404, 25006 → 405, 53* → 503, 54*/55*/
57*/58*/XX* → 500, everything else → 400. Our own limits (54000) stay 413 as in `/query`.
"""

from __future__ import annotations

import msgspec

from api.auth.errors import AuthError, RateLimitedError, UnauthorizedError
from api.auth.principal import Principal
from api.rest.errors import RestError
from api.rls.errors import RlsError
from api.sql.errors import SqlError


def status_of(sqlstate: str, anonymous: bool) -> int:
    """PostgREST's HTTP status for a SQLSTATE."""
    if sqlstate in ("23503", "23505"):
        return 409
    if sqlstate == "42501":
        return 401 if anonymous else 403
    if sqlstate in ("42P01", "42883"):
        return 404
    if sqlstate == "54000":
        return 413
    if sqlstate.startswith("53"):
        return 503
    if sqlstate[:2] in ("54", "55", "57", "58", "XX"):
        return 500
    return 400


def from_sql(exc: SqlError, principal: Principal | None) -> RestError:
    anonymous = principal is not None and principal.kind == "anon"
    details = None if exc.detail is None else msgspec.json.encode(exc.detail).decode()
    return RestError(status_of(exc.sqlstate, anonymous), exc.sqlstate, exc.message, details)


def from_rls(exc: RlsError, principal: Principal | None) -> RestError:
    anonymous = principal is not None and principal.kind == "anon"
    return RestError(status_of("42501", anonymous), "42501", str(exc))


def from_auth(exc: AuthError) -> RestError:
    if isinstance(exc, RateLimitedError):
        retry = str(max(1, round(exc.retry_after + 0.5)))
        return RestError(429, "PGRST429", str(exc), headers={"Retry-After": retry})
    if isinstance(exc, UnauthorizedError):
        return RestError(401, "PGRST301", str(exc), headers={"WWW-Authenticate": "Bearer"})
    return RestError(403, "42501", str(exc))
